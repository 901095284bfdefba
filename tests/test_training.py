import pytest
import torch

import vae_utils
from vae_utils import set_seed
from vae_utils.models import VAE
from vae_utils.checkpoints import FORMAT, load_checkpoint, save_checkpoint
from vae_utils.training import pick_device, train_vae


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


def test_checkpoint_round_trip_restores_identical_outputs(train_images, tmp_path):
    model = fresh()
    history = train_vae(model, train_images, epochs=1, progress=False)
    path = save_checkpoint(tmp_path / "sub" / "m.pt", model, history, {"beta": 1.0, "epochs": 1})
    loaded = load_checkpoint(path)
    assert loaded.history == history and loaded.config == {"beta": 1.0, "epochs": 1}
    assert not loaded.model.training
    x = train_images[:10]
    assert torch.equal(loaded.model.encode(x)[0], model.encode(x)[0])
    z = torch.randn(5, 2)
    assert torch.equal(loaded.model.decode(z), model.decode(z))
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary file left behind


def test_corrupt_and_mismatched_checkpoints_fail_clearly(tmp_path, tiny_vae):
    path = save_checkpoint(tmp_path / "m.pt", tiny_vae, {"loss": [1.0]}, {})
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="corrupt or partial"):
        load_checkpoint(path)
    payload = {"format": FORMAT, "model_config": {"latent_dim": 3, "arch": "mlp", "hidden": [32, 16]},
               "state_dict": tiny_vae.state_dict(), "digest": "0", "history": {}, "config": {}}
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="do not fit"):
        load_checkpoint(tmp_path / "other.pt")
    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="not a vae_utils.checkpoint.v2"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="^config"):
        save_checkpoint(tmp_path / "x.pt", tiny_vae, {}, {"optimiser": object()})


def test_auto_device_picks_cuda_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="^device"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="^device"):
        pick_device("tpu")


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 1, "beta": -0.5}, "beta"),
        ({"epochs": 1, "batch_size": 0}, "batch_size"),
        ({"epochs": 1, "lr": 0.0}, "lr"),
        ({"epochs": 1, "seed": -1}, "seed"),
        ({"epochs": 1, "likelihood": "poisson"}, "likelihood"),
    ],
)
def test_bad_arguments_name_themselves(train_images, tiny_vae, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        train_vae(tiny_vae, train_images, progress=False, **kwargs)


def test_bad_images_and_model(tiny_vae, train_images):
    with pytest.raises(ValueError, match="^images"):
        train_vae(tiny_vae, train_images * 255, epochs=1)
    with pytest.raises(ValueError, match="^model"):
        train_vae(torch.nn.Linear(2, 2), train_images, epochs=1)


@pytest.mark.parametrize("value, expected", [("1", True), ("0", False), ("", False)])
def test_quick_mode_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(vae_utils.QUICK_ENV, value)
    assert vae_utils.quick_mode() is expected


def test_quick_mode_rejects_other_values(monkeypatch):
    monkeypatch.setenv(vae_utils.QUICK_ENV, "yes")
    with pytest.raises(ValueError, match=vae_utils.QUICK_ENV):
        vae_utils.quick_mode()


def test_chapter_epochs(monkeypatch):
    assert vae_utils.chapter_epochs(4000, quick=True) == 20
    assert vae_utils.chapter_epochs(4000, quick=False) == 60
    assert vae_utils.chapter_epochs(60000, quick=False) == 20
    monkeypatch.setenv(vae_utils.QUICK_ENV, "1")
    assert vae_utils.chapter_epochs(4000) == 20
    with pytest.raises(ValueError, match="^n_train"):
        vae_utils.chapter_epochs(0)
