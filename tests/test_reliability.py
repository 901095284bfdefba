"""Defects found by probing vae_utils with bad inputs, diverging runs, stale files and threads.

Each test here failed before the fix it guards.
"""
import os
import sys
import threading

import pytest
import torch

from vae_utils import set_seed
from vae_utils.models import VAE
from vae_utils.training import (TrainingDiverged, load_checkpoint, load_or_train, save_checkpoint, train_vae)


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
    assert torch.isfinite(bernoulli_reconstruction_loss(x_hat, batch.double()))
    assert torch.isfinite(vae_loss(x_hat, batch.double(), mu, logvar, likelihood="bernoulli")[0])


# --- stale checkpoints --------------------------------------------------------------------


def test_load_or_train_never_reuses_a_model_trained_otherwise(tmp_path, x, capsys):
    path = tmp_path / "m.pt"
    first = load_or_train(path, x[:256], beta=1.0, epochs=1, progress=False)
    assert "No checkpoint" in capsys.readouterr().out
    again = load_or_train(path, x[:256], beta=1.0, epochs=1, progress=False)
    assert capsys.readouterr().out == ""  # the same settings: loaded, not trained
    assert all(torch.equal(p, q) for p, q in zip(first.model.parameters(), again.model.parameters()))
    other = load_or_train(path, x[:256], beta=0.0, epochs=2, seed=7, progress=False)
    said = capsys.readouterr().out
    assert "other settings" in said and "beta" in said and "epochs" in said and "seed" in said
    assert {k: other.config[k] for k in ("beta", "epochs", "seed")} == {"beta": 0.0, "epochs": 2, "seed": 7}
    assert load_checkpoint(path).config == other.config
    load_or_train(path, x[256:512], beta=0.0, epochs=2, seed=7, progress=False)  # other images
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
