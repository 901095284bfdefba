"""Training: the loss falls, seeds repeat, float64 trains like float32, no host sync per step,
divergence (in the loss or in the weights) is reported and rolled back, an interruption says so,
bad arguments name themselves; quick mode and the chapters' epochs."""
import math
import os
import sys

import pytest
import torch

from vae_utils import data, set_seed
from vae_utils.book import settings
from vae_utils.models import VAE
from vae_utils.training import TrainingDiverged, TrainingInterrupted, _divergence, pick_device, train_vae


@pytest.fixture(scope="module")
def train_images(digits):
    (x, _), _ = digits
    return x[:1000]


def fresh(seed=0):
    set_seed(seed)
    return VAE(hidden=(128, 64))


def test_training_lowers_the_loss(train_images):
    history = train_vae(fresh(), train_images, epochs=5, progress=False)
    assert set(history) == {"loss", "recon", "kl"} and len(history["loss"]) == 5
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    for total, recon, kl in zip(history["loss"], history["recon"], history["kl"]):
        assert total == pytest.approx(recon + kl, rel=1e-5)


def test_same_seed_same_history_other_seed_other_history(train_images):
    a = train_vae(fresh(), train_images, epochs=3, seed=7, progress=False)
    b = train_vae(fresh(), train_images, epochs=3, seed=7, progress=False)
    c = train_vae(fresh(), train_images, epochs=3, seed=8, progress=False)
    assert a == b
    assert a != c


def test_beta_zero_still_reports_the_kl(train_images):
    history = train_vae(fresh(), train_images, epochs=2, beta=0.0, progress=False)
    assert history["loss"] == history["recon"] and all(k > 0 for k in history["kl"])


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


def test_host_syncs_per_epoch_do_not_grow_with_the_steps(train_x, monkeypatch):
    x = train_x
    counts = {}
    for batch_size in (256, 64):  # 4 steps, then 16 steps
        set_seed(0)
        model = VAE(hidden=(64, 32))
        counter = SyncCounter(monkeypatch)
        train_vae(model, x[:1024], epochs=1, batch_size=batch_size, device="cpu", progress=False)
        counts[batch_size] = counter.count
        monkeypatch.undo()
    assert counts[256] == counts[64] <= 6, counts


# --- float64 and saturated pixels -----------------------------------------------------------


def test_float64_inputs_work_like_float32(train_x, tiny_vae):
    from vae_utils.losses import bernoulli_reconstruction_loss, vae_loss

    batch = train_x[:32]
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


def test_bernoulli_training_has_finite_gradients_at_saturated_pixels(train_x, small_vae):
    model = small_vae()
    with torch.no_grad():  # decoded pixels exactly 0 or 1 in float32: a saturated sigmoid
        model.decoder[-3].bias.copy_(torch.where(torch.arange(784) % 2 == 0, 60.0, -60.0))
    binary = data.binarize(train_x[:256])
    history = train_vae(model, binary, epochs=2, likelihood="bernoulli", device="cpu", progress=False)
    assert all(math.isfinite(v) for v in history["loss"])
    assert all(torch.isfinite(p).all() for p in model.parameters())


# --- divergence and interruption --------------------------------------------------------------


def test_divergence_is_reported_as_divergence(train_x):
    set_seed(0)
    model = VAE()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged) as caught:
        train_vae(model, train_x[:512], epochs=2, lr=1.0, device="cpu", progress=False)
    message = str(caught.value)
    assert "diverged in epoch" in message and "step" in message and "lr" in message and "beta" in message
    assert not model.training
    assert all(torch.isfinite(p).all() for p in model.parameters())
    if "epoch 1," in message:  # restored to the weights before the diverging epoch
        assert all(torch.equal(v, initial[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("epochs", [1, 2])
def test_nan_weights_after_finite_losses_are_divergence(train_x, small_vae, monkeypatch, epochs):
    model = small_vae()
    real_step, calls = torch.optim.Adam.step, []

    def poisoned_step(self, *a, **k):  # the last step of the last epoch overflows a weight
        out = real_step(self, *a, **k)
        calls.append(1)
        if len(calls) == 2 * epochs:
            with torch.no_grad():
                self.param_groups[0]["params"][0][0, 0] = float("nan")
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", poisoned_step)
    with pytest.raises(TrainingDiverged, match="weights became NaN or infinite"):
        train_vae(model, train_x[:256], epochs=epochs, batch_size=128, device="cpu", progress=False)
    assert all(torch.isfinite(p).all() for p in model.parameters()), "restored weights must be finite"


def test_huge_finite_losses_accumulate_without_overflow(train_x, small_vae, monkeypatch):
    from vae_utils import training

    real = training.vae_loss
    monkeypatch.setattr(training, "vae_loss", lambda *a, **k: tuple(t * 1e35 for t in real(*a, **k)))
    history = train_vae(small_vae(), train_x[:512], epochs=1, batch_size=64, device="cpu", progress=False)
    assert math.isfinite(history["loss"][0]) and history["loss"][0] > 1e36  # the float32 sum over the epoch would be inf
    message = _divergence(0, [1.0, 2.0], "the model", 1e-3, weights_ok=True)  # never StopIteration
    assert "overflowed" in message


class _StopsInEpoch2(VAE):
    """A VAE whose forward pass is interrupted (as by Jupyter's stop button) in its second epoch."""

    calls = 0

    def forward(self, x):
        type(self).calls += 1
        if type(self).calls == 3:
            raise KeyboardInterrupt
        return super().forward(x)


def test_an_interrupted_training_says_so_in_one_line(train_x):
    _StopsInEpoch2.calls = 0
    set_seed(0)
    model = _StopsInEpoch2(hidden=(32, 16))
    with pytest.raises(TrainingInterrupted) as stopped:
        train_vae(model, train_x[:256], epochs=3, batch_size=128, progress=False)  # 2 steps an epoch
    assert isinstance(stopped.value, KeyboardInterrupt) and stopped.value.__suppress_context__
    assert str(stopped.value) == ("training of beta=1 was stopped after 1 of 3 epochs: nothing was saved; "
                                  "run the cell again to train from the start")
    assert not model.training



# --- arguments ------------------------------------------------------------------------------


def test_auto_device_picks_cuda_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="^device"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="^device"):
        pick_device("tpu")


nan, inf = float("nan"), float("inf")


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"epochs": 0}, "epochs"), ({"epochs": 2.5}, "epochs"), ({"epochs": True}, "epochs"),
        ({"epochs": None}, "epochs"),
        ({"beta": -0.5}, "beta"), ({"beta": nan}, "beta"), ({"beta": inf}, "beta"), ({"beta": "1"}, "beta"),
        ({"batch_size": 0}, "batch_size"), ({"batch_size": "128"}, "batch_size"),
        ({"lr": 0.0}, "lr"), ({"lr": -1e-3}, "lr"), ({"lr": nan}, "lr"), ({"lr": 11.0}, "lr"),
        ({"seed": -1}, "seed"), ({"seed": 2**40}, "seed"), ({"seed": 1.5}, "seed"), ({"seed": None}, "seed"),
        ({"likelihood": "poisson"}, "likelihood"), ({"likelihood": None}, "likelihood"),
        ({"device": "tpu"}, "device"), ({"device": None}, "device"), ({"device": torch.device("meta")}, "device"),
        ({"progress": "no"}, "progress"), ({"progress": 1}, "progress"),
    ],
)
def test_bad_arguments_name_themselves(train_images, tiny_vae, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        train_vae(tiny_vae, train_images[:8], **{"epochs": 1, "progress": False, **kwargs})


@pytest.mark.parametrize("images", [None, torch.rand(8, 784), torch.zeros(0, 1, 28, 28),
                                    torch.full((8, 1, 28, 28), float("nan")), torch.randint(0, 2, (8, 1, 28, 28))])
def test_bad_images_are_refused(tiny_vae, images):
    with pytest.raises(ValueError, match="^images"):
        train_vae(tiny_vae, images, epochs=1, progress=False)


def test_bad_images_and_model(tiny_vae, train_images):
    with pytest.raises(ValueError, match="^images .*divide raw pixels by 255"):
        train_vae(tiny_vae, train_images * 255, epochs=1)
    for model in (torch.nn.Linear(2, 2), None, "VAE"):
        with pytest.raises(ValueError, match="^model must be a vae_utils.models.VAE"):
            train_vae(model, train_images, epochs=1)


def test_an_overflowing_lr_is_a_named_value_error(train_x, small_vae):
    with pytest.raises(ValueError, match="^lr must be at most"):
        train_vae(small_vae(), train_x[:16], epochs=1, lr=1e39, progress=False)


@pytest.mark.parametrize("value, expected", [("1", True), ("0", False), ("", False)])
def test_quick_mode_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(settings.QUICK_ENV, value)
    assert settings.quick_mode() is expected


def test_quick_mode_rejects_other_values(monkeypatch):
    monkeypatch.setenv(settings.QUICK_ENV, "yes")
    with pytest.raises(ValueError, match=settings.QUICK_ENV):
        settings.quick_mode()


def test_chapter_epochs(monkeypatch):
    assert settings.chapter_epochs(4000, quick=True) == 20
    assert settings.chapter_epochs(4000, quick=False) == 60
    assert settings.chapter_epochs(60000, quick=False) == 20
    monkeypatch.setenv(settings.QUICK_ENV, "1")
    assert settings.chapter_epochs(4000) == 20
