"""Chapter 00's "VAE in one screen" is exactly the book's helpers.

The chapter writes the whole VAE out (``OneScreenVAE``, ``one_screen_loss``, ``one_screen_step``)
and says that it is the same network as ``models.VAE``, the same loss as ``losses.vae_loss`` and
the same training as ``training.train_vae``. These tests run the chapter's own cell, taken from
the notebook, against the helpers: same weights in, same loss, same gradients, and the same
weights after one epoch. If either side changes, the page and the code that trains the book's
models would drift apart, and this fails.
"""
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from vae_utils import losses, models, set_seed, training

CHAPTER = Path(__file__).resolve().parents[1] / "notebooks" / "00_the_elbo.ipynb"


@pytest.fixture(scope="module")
def one_screen():
    """The namespace the chapter's one-screen cell defines, executed from the notebook's source."""
    sources = ["".join(c["source"]) for c in json.loads(CHAPTER.read_text())["cells"] if c["cell_type"] == "code"]
    found = [s for s in sources if "class OneScreenVAE" in s]
    assert len(found) == 1, "chapter 00 should have exactly one code cell defining OneScreenVAE"
    namespace = {"torch": torch, "nn": nn}
    exec(compile(found[0], f"{CHAPTER.name}: the one-screen cell", "exec"), namespace)
    for name in ("OneScreenVAE", "one_screen_loss", "one_screen_step"):
        assert name in namespace, f"the one-screen cell no longer defines {name}"
    return namespace


@pytest.fixture(scope="module")
def images(digits):
    (x, _), _ = digits
    return x[:768]


def paired(one_screen):
    """A book VAE and a OneScreenVAE with the same weights."""
    set_seed(0)
    book, mine = models.VAE(), one_screen["OneScreenVAE"]()
    mine.load_state_dict(book.state_dict())  # strict: every layer has the same name and shape
    return book, mine


def test_same_layers_and_weights(one_screen):
    book, mine = paired(one_screen)
    book_params, my_params = dict(book.named_parameters()), dict(mine.named_parameters())
    assert book_params.keys() == my_params.keys()
    assert all(torch.equal(p, my_params[name]) for name, p in book_params.items())


@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_same_loss_and_gradients(one_screen, images, beta):
    book, mine = paired(one_screen)
    batch = images[:256]
    torch.manual_seed(1)
    x_hat, mu, logvar = book(batch)
    book_loss, _, _ = losses.vae_loss(x_hat, batch, mu, logvar, beta=beta)
    torch.manual_seed(1)  # the same noise for the second model
    x_hat, mu, logvar = mine(batch)
    my_loss = one_screen["one_screen_loss"](x_hat, batch, mu, logvar, beta)
    torch.testing.assert_close(my_loss, book_loss, rtol=1e-6, atol=0)
    book_loss.backward()
    my_loss.backward()
    my_params = dict(mine.named_parameters())
    for name, p in book.named_parameters():
        torch.testing.assert_close(my_params[name].grad, p.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_same_weights_after_one_epoch(one_screen, images):
    book, mine = paired(one_screen)
    initial = {name: p.detach().clone() for name, p in book.named_parameters()}
    training.train_vae(book, images, epochs=1, batch_size=256, lr=1e-3, seed=3, device="cpu", progress=False)

    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(3))  # train_vae's order for seed 3
    torch.manual_seed(3)                                                              # and its noise
    optimiser = torch.optim.Adam(mine.parameters(), lr=1e-3)
    for idx in order.split(256):
        one_screen["one_screen_step"](mine, optimiser, images[idx])

    my_params = dict(mine.named_parameters())
    for name, p in book.named_parameters():
        torch.testing.assert_close(my_params[name], p, rtol=1e-4, atol=1e-6, msg=name)
    assert any(not torch.equal(p, initial[name]) for name, p in book.named_parameters()), "training moved nothing"
