"""Defects found by probing vae_utils with bad inputs, diverging runs, stale files and threads
(the first probe). The second probe's defects are in tests/test_reliability_second_probe.py.

Each test here failed before the fix it guards.
"""
import os
import re
import sys
import threading

import pytest
import torch

from vae_utils import set_seed
from vae_utils.models import VAE
from vae_utils.checkpoints import load_checkpoint, load_or_train, save_checkpoint
from vae_utils.training import TrainingDiverged, train_vae


@pytest.fixture(scope="module")
def x(digits):
    (images, _), _ = digits
    return images


# --- no host syncs per step ---------------------------------------------------------------


class SyncCounter:
    """Counts conversions of tensors to Python values: each one waits for the device.

    Adam's own reads of its step counters (``torch/optim``) are not counted: torch keeps those
    counters on the CPU even when the model trains on a GPU, so reading them never waits for it.
    """

    NAMES = ("item", "__bool__", "__float__", "__int__", "tolist")

    def __init__(self, monkeypatch):
        self.count = 0
        for name in self.NAMES:
            original = getattr(torch.Tensor, name)

            def counted(*args, _original=original, **kwargs):
                caller = sys._getframe(1).f_code.co_filename
                if f"torch{os.sep}optim{os.sep}" not in caller:
                    self.count += 1
                return _original(*args, **kwargs)

            monkeypatch.setattr(torch.Tensor, name, counted)


@pytest.mark.parametrize("train", ["train_vae", "train_together"])
def test_host_syncs_per_epoch_do_not_grow_with_the_steps(x, monkeypatch, train):
    from vae_utils.ensemble import train_together

    counts = {}
    for batch_size in (256, 64):  # 4 steps, then 16 steps
        set_seed(0)
        model = VAE(hidden=(64, 32))
        counter = SyncCounter(monkeypatch)
        if train == "train_vae":
            train_vae(model, x[:1024], epochs=1, batch_size=batch_size, device="cpu", progress=False)
        else:
            train_together([model, VAE(hidden=(64, 32))], x[:1024], betas=[1.0, 0.0], epochs=1,
                           batch_size=batch_size, device="cpu", progress=False)
        counts[batch_size] = counter.count
        monkeypatch.undo()
    assert counts[256] == counts[64] <= 6, counts


# --- divergence ---------------------------------------------------------------------------


def test_divergence_is_reported_as_divergence(x):
    set_seed(0)
    model = VAE()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged) as caught:
        train_vae(model, x[:512], epochs=2, lr=1.0, device="cpu", progress=False)
    message = str(caught.value)
    assert "diverged in epoch" in message and "step" in message and "lr" in message and "beta" in message
    assert not model.training
    assert all(torch.isfinite(p).all() for p in model.parameters())
    if "epoch 1," in message:  # restored to the weights before the diverging epoch
        assert all(torch.equal(v, initial[k]) for k, v in model.state_dict().items())


def test_load_checkpoint_refuses_weights_that_are_not_finite(tmp_path, tiny_vae):
    with torch.no_grad():
        tiny_vae.decoder[0].weight[0, 0] = float("nan")
    path = save_checkpoint(tmp_path / "nan.pt", tiny_vae, {}, {})
    with pytest.raises(ValueError, match="^path: .*not finite"):
        load_checkpoint(path)


# --- float64 everywhere the same way ------------------------------------------------------


def test_float64_inputs_work_like_float32(x, tiny_vae):
    from vae_utils.losses import bernoulli_reconstruction_loss, vae_loss

    batch = x[:32]
    set_seed(0)
    a = VAE(hidden=(32, 16))
    set_seed(0)
    b = VAE(hidden=(32, 16))
    ha = train_vae(a, batch, epochs=1, device="cpu", progress=False)
    hb = train_vae(b, batch.double(), epochs=1, device="cpu", progress=False)
    assert ha == hb
    x_hat, mu, logvar = tiny_vae(batch.double())
    assert x_hat.dtype == torch.float32
    assert tiny_vae.decode(torch.zeros(3, 2, dtype=torch.float64)).shape == (3, 1, 28, 28)
    assert torch.isfinite(bernoulli_reconstruction_loss(x_hat, batch.double()))  # torch's BCE wants one dtype
    assert torch.isfinite(vae_loss(x_hat, batch.double(), mu, logvar, likelihood="bernoulli")[0])


# --- stale checkpoints --------------------------------------------------------------------


def test_load_or_train_never_reuses_a_model_trained_otherwise(tmp_path, x, capsys):
    path = tmp_path / "m.pt"
    first = load_or_train(path, x[:256], beta=1.0, epochs=1, progress=False, use_published=False)
    assert "no checkpoint at" in capsys.readouterr().out
    again = load_or_train(path, x[:256], beta=1.0, epochs=1, progress=False, use_published=False)
    assert capsys.readouterr().out == f"beta=1: loaded from {tmp_path} (trained earlier with these settings and data)\n"
    assert all(torch.equal(p, q) for p, q in zip(first.model.parameters(), again.model.parameters()))
    other = load_or_train(path, x[:256], beta=0.0, epochs=2, seed=7, progress=False, use_published=False)
    said = capsys.readouterr().out
    assert "trained otherwise" in said and "beta" in said and "epochs" in said and "seed" in said
    assert {k: other.config[k] for k in ("beta", "epochs", "seed")} == {"beta": 0.0, "epochs": 2, "seed": 7}
    assert load_checkpoint(path).config == other.config
    load_or_train(path, x[256:512], beta=0.0, epochs=2, seed=7, progress=False, use_published=False)  # other images
    assert "data" in capsys.readouterr().out


def test_checkpoints_of_different_data_sizes_live_apart():
    from vae_utils import checkpoint_path

    offline, full = checkpoint_path("with KL", n_train=4000), checkpoint_path("with KL", n_train=60000)
    assert offline != full and offline.name == full.name == "with_kl.pt"


def test_threads_saving_the_same_checkpoint_never_collide(tmp_path, tiny_vae):
    errors = []

    def save_many():
        for _ in range(15):
            try:
                save_checkpoint(tmp_path / "shared.pt", tiny_vae, {}, {})
            except Exception as err:  # noqa: BLE001 - any failure is the defect
                errors.append(err)

    threads = [threading.Thread(target=save_many) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert load_checkpoint(tmp_path / "shared.pt").model.config == tiny_vae.config
    assert [p.name for p in tmp_path.iterdir()] == ["shared.pt"]


# --- the static explorer's budget, names and degenerate boxes -----------------------------


@pytest.fixture(scope="module")
def noisy_models():
    out = {}
    for k, name in enumerate(("a", "<b>&amp;</b>")):
        set_seed(10 + k)
        model = VAE(hidden=(64, 32)).eval()
        with torch.no_grad():
            model.decoder[-3].bias.copy_(torch.randn(784) * 4)  # speckled decodes compress badly
        out[name] = model
    return out


def test_explorer_size_is_decided_before_any_decoding(noisy_models, monkeypatch):
    from vae_utils import explore, pictures

    calls = []
    real = pictures.grid_sprite
    monkeypatch.setattr(pictures, "grid_sprite", lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.raises(ValueError, match=r"^grid=80 cannot fit"):
        explore.static_explorer(noisy_models, grid=80)
    assert calls == []
    page = explore.static_explorer(noisy_models).data  # the default fits any two models
    assert len(page.encode()) <= explore.MAX_STATIC_BYTES
    assert re.search(r"on a \d+ × \d+ grid per model, (16|256) grey levels", page)


def test_explorer_escapes_names_and_checks_ranges(noisy_models):
    from vae_utils.explore import static_explorer

    page = static_explorer(noisy_models, grid=5).data
    assert "<b>" not in page and "\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e" in page  # names are escaped data
    with pytest.raises(ValueError, match="^ranges names no model"):
        static_explorer(noisy_models, grid=5, ranges={"c": ((0, 1), (0, 1))})


def test_degenerate_boxes_and_broken_models(x, noisy_models):
    from vae_utils.explore import latent_explorer, static_explorer
    from vae_utils.latent import latent_box

    ui = latent_explorer({"a": noisy_models["a"]}, x[:1])  # one image: a box of width 0
    assert ui.z1.max - ui.z1.min == pytest.approx(0.5)
    static_explorer({"a": noisy_models["a"]}, grid=5, images=x[:1].repeat(5, 1, 1, 1))  # identical images
    assert latent_box(torch.zeros(4, 2)) == [(-0.25, 0.25), (-0.25, 0.25)]
    broken = VAE(hidden=(64, 32)).eval()
    with torch.no_grad():
        broken.decoder[0].weight.fill_(float("nan"))
    with pytest.raises(ValueError, match=r"^models\['n'\] has non-finite weights"):
        latent_explorer({"n": broken})
