"""Checkpoints as readers meet them: a folder they cannot write, a truncated file, an interrupted
training or save, and a file whose configuration is not its weights'. Each case recovers, or says
in one line what happened and what to do."""
import errno
import os
import subprocess
import sys
import tempfile

import pytest
import torch

from vae_utils import checkpoints, set_seed
from vae_utils.checkpoints import FORMAT, load_checkpoint, load_or_train, save_checkpoint, training_config
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


class _StopsInEpoch2(VAE):
    """A VAE whose forward pass is interrupted (as by Jupyter's stop button) in its second epoch."""

    calls = 0

    def forward(self, x):
        type(self).calls += 1
        if type(self).calls == 3:
            raise KeyboardInterrupt
        return super().forward(x)


def test_an_interrupted_training_says_so_in_one_line(x):
    _StopsInEpoch2.calls = 0
    set_seed(0)
    model = _StopsInEpoch2(hidden=(32, 16))
    with pytest.raises(TrainingInterrupted) as stopped:
        train_vae(model, x, epochs=3, batch_size=128, progress=False)  # 2 steps an epoch
    assert isinstance(stopped.value, KeyboardInterrupt) and stopped.value.__suppress_context__
    assert str(stopped.value) == ("training of beta=1 was stopped after 1 of 3 epochs: nothing was saved; "
                                  "run the cell again to train from the start")
    assert not model.training


def test_an_interrupted_sweep_saves_nothing(tmp_path, x, monkeypatch):
    from vae_utils import ensemble

    real = ensemble.StackedVAE.forward

    def interrupted(self, images, calls=[0]):
        calls[0] += 1
        if calls[0] == 2:
            raise KeyboardInterrupt
        return real(self, images)

    monkeypatch.setattr(ensemble.StackedVAE, "forward", interrupted)
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
    with pytest.raises(ValueError, match=r"config: its model .* is not the saved model's"):
        save_checkpoint(tmp_path / "m.pt", other, {}, config)
    # A file written that way by hand is refused on loading, and load_or_train trains the right model.
    state = other.state_dict()
    torch.save({"format": FORMAT, "model_config": other.config, "state_dict": state,
                "digest": checkpoints.weights_digest(state), "history": {}, "config": config}, tmp_path / "m.pt")
    with pytest.raises(ValueError, match="its training configuration names the model"):
        load_checkpoint(tmp_path / "m.pt")
    found = load_or_train(tmp_path / "m.pt", x, beta=1.0, epochs=EPOCHS, progress=False, use_published=False)
    assert found.model.config == VAE().config and load_checkpoint(tmp_path / "m.pt").model.config == VAE().config


def test_the_loss_of_an_empty_batch_is_refused(tiny_vae):
    from vae_utils.losses import vae_loss

    x = torch.zeros(0, 1, 28, 28)
    with pytest.raises(ValueError, match="x must hold at least one image"):
        vae_loss(x, x, torch.zeros(0, 2), torch.zeros(0, 2))
