"""Checkpoints: saving and loading them, and load_or_train as readers meet it (a folder they cannot
write, a truncated, altered or foreign file, an interrupted sweep or save, a file trained otherwise
or whose configuration is not its weights'). Each case recovers, or says in one line what happened
and what to do. Published weights: tests/test_published.py."""
import errno
import os
import subprocess
import sys
import tempfile
import threading

import pytest
import torch

from vae_utils import set_seed
from vae_utils.book import checkpoints
from vae_utils.book.checkpoints import FORMAT, load_checkpoint, load_or_train, save_checkpoint, training_config
from vae_utils.models import VAE
from vae_utils.training import TrainingInterrupted, train_vae

EPOCHS = 1


@pytest.fixture(scope="module")
def x(digits):
    (images, _), _ = digits
    return images[:256]


def _loaded(folder, beta="1"):
    return f"beta={beta}: loaded from {folder} (trained earlier with these settings and data)\n"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache home, so the fallback folder lies inside the test's own folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def read_only_folder(tmp_path, monkeypatch):
    """A folder that cannot be written: a read-only tmpfs mount where this user may mount one (root
    here and in CI: permission bits do not stop root), else a folder without write permission."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode == 0:
        yield folder
        subprocess.run(["umount", str(folder)], check=True)
        return
    # No mount allowed: the OS call that a read-only mount refuses is refused here the same way.
    real = tempfile.NamedTemporaryFile

    def refuse(*args, dir=None, **kwargs):
        if dir is not None and os.path.realpath(dir).startswith(str(folder)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(checkpoints.tempfile, "NamedTemporaryFile", refuse)
    yield folder


def test_loading_says_where_the_model_came_from(tmp_path, x, capsys):
    path = tmp_path / "beta_1.pt"
    load_or_train(path, x, beta=1.0, epochs=EPOCHS, progress=False, use_published=False)
    assert capsys.readouterr().out == f"beta=1: training here (no checkpoint at {path})\n"
    load_or_train(path, x, beta=1.0, epochs=EPOCHS, progress=False, use_published=False)
    assert capsys.readouterr().out == _loaded(tmp_path)


def test_a_read_only_folder_keeps_the_trained_models_in_the_cache(read_only_folder, cache, x, capsys):
    path = read_only_folder / "beta_1.pt"
    trained = load_or_train(path, x, beta=1.0, epochs=EPOCHS, progress=False, use_published=False)
    out = capsys.readouterr().out
    fallback = checkpoints.fallback_folder(read_only_folder)
    assert fallback.is_relative_to(cache) and (fallback / "beta_1.pt").is_file() and not path.exists()
    assert out.splitlines()[0] == f"{read_only_folder} cannot be written (Read-only file system): " \
                                  f"checkpoints are saved in {fallback} instead" \
        or "cannot be written (Permission denied)" in out.splitlines()[0]
    assert "training here" in out
    again = load_or_train(path, x, beta=1.0, epochs=EPOCHS, progress=False, use_published=False)
    assert capsys.readouterr().out.splitlines()[-1] == _loaded(fallback).strip()  # not trained twice
    assert all(torch.equal(p, q) for p, q in zip(trained.model.parameters(), again.model.parameters()))


def test_with_no_writable_folder_the_models_stay_in_memory(read_only_folder, monkeypatch, x, capsys):
    monkeypatch.setattr(checkpoints, "fallback_folder", lambda folder: read_only_folder / "cache")
    found = load_or_train(read_only_folder / "beta_1.pt", x, beta=1.0, epochs=EPOCHS, progress=False,
                          use_published=False)
    assert isinstance(found.model, VAE) and len(found.history["loss"]) == EPOCHS
    assert "the models stay in memory only and are trained again in a new session" in capsys.readouterr().out


def test_a_truncated_checkpoint_is_trained_again(tmp_path, x, capsys):
    path = tmp_path / "beta_1.pt"
    first = load_or_train(path, x, beta=1.0, epochs=EPOCHS, progress=False, use_published=False)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a copy cut short, under its real name
    capsys.readouterr()
    again = load_or_train(path, x, beta=1.0, epochs=EPOCHS, progress=False, use_published=False)
    said = capsys.readouterr().out
    assert said.startswith(f"beta=1: training here (the checkpoint at {path} cannot be used, so it is trained again")
    assert "not a readable checkpoint" in said
    assert all(torch.equal(p, q) for p, q in zip(first.model.parameters(), again.model.parameters()))
    assert load_checkpoint(path).config == again.config  # the file is whole again


def test_each_model_of_a_sweep_is_the_model_train_vae_trains_alone(tmp_path, x):
    sweep = checkpoints.load_or_train_sweep({0.0: tmp_path / "a.pt", 2.0: tmp_path / "b.pt"}, x, epochs=2, seed=3,
                                            progress=False, use_published=False)
    for beta, found in sweep.items():
        set_seed(3)
        alone = VAE()
        history = train_vae(alone, x, epochs=2, beta=beta, seed=3, progress=False)
        assert found.history == history
        assert all(torch.equal(p, q) for p, q in zip(found.model.parameters(), alone.parameters()))


def test_an_interrupted_sweep_saves_nothing(tmp_path, x, monkeypatch):
    from vae_utils.models import VAE

    real = VAE.forward

    def interrupted(self, images, calls=[0]):
        calls[0] += 1
        if calls[0] == 2:
            raise KeyboardInterrupt
        return real(self, images)

    monkeypatch.setattr(VAE, "forward", interrupted)
    with pytest.raises(TrainingInterrupted, match="nothing was saved"):
        checkpoints.load_or_train_sweep({0.0: tmp_path / "a.pt", 1.0: tmp_path / "b.pt"}, x, epochs=2,
                                        progress=False, use_published=False)
    assert not list(tmp_path.glob("*.pt"))


def test_a_save_killed_half_way_leaves_nothing_that_the_next_save_keeps(tmp_path, tiny_vae):
    path = tmp_path / "m.pt"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, alive = int(gone.stdout), os.getpid()
    leftover = tmp_path / f".m.pt.{dead}.1.{'a' * 32}.tmp"
    writing = tmp_path / f".m.pt.{alive}.1.{'b' * 32}.tmp"  # a live writer's: not ours to delete
    for name in (leftover, writing):
        name.write_bytes(b"half a checkpoint")
    save_checkpoint(path, tiny_vae, {}, {})
    assert path.is_file() and not leftover.exists() and writing.exists()


def test_a_configuration_that_names_another_model_is_refused(tmp_path, x):
    set_seed(0)
    other = VAE(latent_dim=5, hidden=(32, 16))
    config = training_config(x, beta=1.0, epochs=EPOCHS, seed=0)  # names the default VAE()
    # A file that names one model and holds another is refused on loading (the loader checks files,
    # not the writer), and load_or_train trains the right model.
    save_checkpoint(tmp_path / "m.pt", other, {}, config)
    with pytest.raises(ValueError, match="its training configuration names the model"):
        load_checkpoint(tmp_path / "m.pt")
    found = load_or_train(tmp_path / "m.pt", x, beta=1.0, epochs=EPOCHS, progress=False, use_published=False)
    assert found.model.config == VAE().config and load_checkpoint(tmp_path / "m.pt").model.config == VAE().config


# --- saving and loading ---------------------------------------------------------------------


def test_checkpoint_round_trip_restores_identical_outputs(train_x, tmp_path):
    set_seed(0)
    model = VAE(hidden=(128, 64))
    images = train_x[:1000]
    history = train_vae(model, images, epochs=1, progress=False)
    path = save_checkpoint(tmp_path / "sub" / "m.pt", model, history, {"beta": 1.0, "epochs": 1})
    loaded = load_checkpoint(path)
    assert loaded.history == history and loaded.config == {"beta": 1.0, "epochs": 1}
    assert not loaded.model.training
    x = images[:10]
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


def test_load_checkpoint_refuses_weights_that_are_not_finite(tmp_path, tiny_vae):
    with torch.no_grad():
        tiny_vae.decoder[0].weight[0, 0] = float("nan")
    path = save_checkpoint(tmp_path / "nan.pt", tiny_vae, {}, {})
    with pytest.raises(ValueError, match="^path: .*not finite"):
        load_checkpoint(path)


def test_a_bit_flipped_checkpoint_is_refused(tmp_path, small_vae):
    path = save_checkpoint(tmp_path / "m.pt", small_vae(), {}, {})
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["decoder.0.weight"][0, 0] = -1e36  # the file altered, its digest kept
    torch.save(payload, path)
    with pytest.raises(ValueError, match="do not match their digest"):
        load_checkpoint(path)


def test_a_checkpoint_cannot_make_load_allocate_a_huge_model(tmp_path):
    payload = {"format": FORMAT, "model_config": {"latent_dim": 2, "arch": "mlp", "hidden": [40000, 40000]},
               "state_dict": {"w": torch.zeros(1)}, "digest": "0", "history": {}, "config": {}}
    torch.save(payload, tmp_path / "huge.pt")
    with pytest.raises(ValueError, match="do not fit"):  # compared with a skeleton on the meta device
        load_checkpoint(tmp_path / "huge.pt")


def test_unusable_checkpoint_files_and_names_are_named_value_errors(tmp_path, train_x):
    torch.save({"format": FORMAT, "model_config": {"latent_dim": 2}}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="^path: .* not a usable checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=r"^paths\[1.0\]: .* is a folder"):
        load_or_train(tmp_path, train_x[:16], beta=1.0, epochs=1, progress=False)


nan = float("nan")


@pytest.mark.parametrize("kwargs, name", [
    ({"path": None}, "path"), ({"path": 123}, "path"), ({"path": ""}, "path"),
    ({"images": None}, "images"), ({"images": torch.rand(8, 784)}, "images"),
    ({"images": torch.rand(8, 1, 28, 28) * 255}, "images"), ({"images": torch.full((8, 1, 28, 28), nan)}, "images"),
    ({"beta": -1.0}, "beta"), ({"beta": nan}, "beta"), ({"beta": "1"}, "beta"),
    ({"epochs": 0}, "epochs"), ({"epochs": 1.5}, "epochs"), ({"seed": -1}, "seed"), ({"seed": 2**40}, "seed"),
    ({"lr": 0.0}, "lr"), ({"lr": 11.0}, "lr"), ({"batch_size": 0}, "batch_size"),
    ({"likelihood": "poisson"}, "likelihood"), ({"use_published": "no"}, "use_published"),
    ({"progress": "no"}, "progress"), ({"latent_dim": 0}, "latent_dim"), ({"latent_dim": 2.5}, "latent_dim"),
])
def test_load_or_train_refuses_bad_arguments_naming_them(tmp_path, x, kwargs, name):
    call = {"path": tmp_path / "m.pt", "images": x[:16], "beta": 1.0, "epochs": 1, "progress": False,
            "use_published": False, **kwargs}
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        load_or_train(**call)
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize("paths, name", [
    ({}, "paths"), ("m.pt", "paths"), ({1.0: None}, r"paths\[1.0\]"), ({1.0: 3}, r"paths\[1.0\]"),
    ({-1.0: "m.pt"}, "beta"), ({nan: "m.pt"}, "beta"), ({"one": "m.pt"}, "beta"),
])
def test_load_or_train_sweep_refuses_bad_paths_naming_them(tmp_path, x, paths, name):
    if isinstance(paths, dict):
        paths = {beta: tmp_path / p if isinstance(p, str) else p for beta, p in paths.items()}
    with pytest.raises(ValueError, match=rf"^{name}"):
        checkpoints.load_or_train_sweep(paths, x[:16], epochs=1, progress=False, use_published=False)


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


def test_checkpoints_of_different_data_sizes_live_apart():
    from vae_utils.book.settings import checkpoint_path

    offline, full = checkpoint_path("with KL", n_train=4000), checkpoint_path("with KL", n_train=60000)
    assert offline != full and offline.name == full.name == "with_kl.pt"


# --- load_or_train never reuses a model trained otherwise -----------------------------------


def test_load_or_train_never_reuses_a_model_trained_otherwise(tmp_path, train_x, capsys):
    x = train_x
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


def test_load_or_train_compares_the_architecture_and_every_training_argument(tmp_path, train_x, small_vae, capsys):
    x = train_x
    path = tmp_path / "m.pt"
    other = small_vae(latent_dim=5)
    wanted = training_config(x[:128], beta=1.0, epochs=1, seed=0)
    save_checkpoint(path, other, {}, {**wanted, "model": other.config})
    found = load_or_train(path, x[:128], beta=1.0, epochs=1, progress=False, use_published=False)
    assert found.model.latent_dim == 2 and "model:" in capsys.readouterr().out
    for key, value in (("lr", 1e-2), ("batch_size", 64), ("likelihood", "bernoulli")):
        assert found.config[key] != value
        load_or_train(path, x[:128], beta=1.0, epochs=1, progress=False, use_published=False, **{key: value})
        assert f"{key}:" in capsys.readouterr().out


def test_load_or_train_trains_and_keeps_the_latent_dimension_it_is_asked_for(tmp_path, train_x, capsys):
    x = train_x[:128]
    path = tmp_path / "m.pt"
    four = load_or_train(path, x, beta=1.0, epochs=1, progress=False, use_published=False, latent_dim=4)
    assert four.model.latent_dim == 4 and four.config["model"]["latent_dim"] == 4
    capsys.readouterr()
    again = load_or_train(path, x, beta=1.0, epochs=1, progress=False, use_published=False, latent_dim=4)
    assert "loaded from" in capsys.readouterr().out
    assert all(torch.equal(p, q) for p, q in zip(four.model.parameters(), again.model.parameters()))
    two = load_or_train(path, x, beta=1.0, epochs=1, progress=False, use_published=False)
    assert two.model.latent_dim == 2 and "trained otherwise (model:" in capsys.readouterr().out
    with pytest.raises(ValueError, match="^latent_dim"):
        load_or_train(path, x, beta=1.0, epochs=1, progress=False, use_published=False, latent_dim=0)
