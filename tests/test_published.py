"""The published-weights path, offline: a release folder served on 127.0.0.1.

Each failure (tampered file, other settings, 404, a server that trickles) must end in training
or a clear message, never in a wrong model.
"""
import functools
import http.server
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
import yaml

from vae_utils import set_seed
from vae_utils.book import checkpoints, published, settings
from vae_utils.models import VAE

EPOCHS = 1
RELEASE_MANIFEST = Path(__file__).resolve().parents[1] / ".ci" / "release_manifest.py"


@pytest.fixture(scope="module")
def images(digits):
    (x, _), _ = digits
    return x[:64]


@pytest.fixture(scope="module")
def release(tmp_path_factory, images):
    """A release folder: the checkpoint of beta = 1 trained with the settings asked below, and its manifest."""
    folder = tmp_path_factory.mktemp("release")
    set_seed(0)
    model = VAE()
    config = checkpoints.training_config(images, beta=1.0, epochs=EPOCHS, seed=0)
    from vae_utils.training import train_vae

    history = train_vae(model, images, epochs=EPOCHS, beta=1.0, seed=0, device="cpu", progress=False)
    checkpoints.save_checkpoint(folder / "beta_1.pt", model, history, config)
    # The manifest, as a release writes it.
    subprocess.run([sys.executable, str(RELEASE_MANIFEST), str(folder)], check=True, capture_output=True)
    return folder, model


class _Handler(http.server.SimpleHTTPRequestHandler):
    trickle = False

    def log_message(self, *args):
        pass

    def copyfile(self, source, outputfile):
        if not self.trickle:
            return super().copyfile(source, outputfile)
        for _ in range(100):  # bounded: at most 10 s, whatever happens
            chunk = source.read(1)
            if not chunk:
                return
            try:
                outputfile.write(chunk)
                outputfile.flush()
            except OSError:
                return
            time.sleep(0.1)


@pytest.fixture
def serve(monkeypatch):
    servers = []

    def _serve(folder, trickle=False):
        handler = type("H", (_Handler,), {"trickle": trickle})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        monkeypatch.setenv(published.WEIGHTS_ENV, f"http://127.0.0.1:{server.server_address[1]}/")
        published._manifest.cache_clear()
        return server

    yield _serve
    for server in servers:
        server.shutdown()
    published._manifest.cache_clear()


@pytest.fixture
def trained(monkeypatch):
    """Records whether the fallback trained a model."""
    calls = []
    real = checkpoints.train_vae
    monkeypatch.setattr(checkpoints, "train_vae", lambda *a, **k: calls.append(k["beta"]) or real(*a, **k))
    return calls


def ask(tmp_path, images, beta=1.0):
    return checkpoints.load_or_train(tmp_path / "beta_1.pt", images, beta=beta, epochs=EPOCHS, seed=0, progress=False)


def test_the_published_weights_are_used_when_they_match(tmp_path, images, release, serve, trained, capsys):
    folder, model = release
    serve(folder)
    found = ask(tmp_path, images)
    assert trained == [] and "published weights from http://127.0.0.1" in capsys.readouterr().out
    assert all(torch.equal(p, q) for p, q in zip(found.model.parameters(), model.parameters()))
    assert (tmp_path / "beta_1.pt").is_file()  # cached: the next call loads it without a download
    assert ask(tmp_path, images).config == found.config
    assert capsys.readouterr().out == f"beta=1: loaded from {tmp_path} (trained earlier with these settings and data)\n"


def test_a_tampered_file_is_refused_and_the_model_trained(tmp_path, images, release, serve, trained, capsys):
    folder, _ = release
    tampered = tmp_path / "served"
    tampered.mkdir()
    (tampered / "manifest.json").write_text((folder / "manifest.json").read_text())
    blob = bytearray((folder / "beta_1.pt").read_bytes())
    blob[-100] ^= 0xFF
    (tampered / "beta_1.pt").write_bytes(bytes(blob))
    serve(tampered)
    ask(tmp_path / "out", images)
    assert trained == [1.0] and "does not match its SHA-256 sum" in capsys.readouterr().out


def test_weights_for_other_settings_are_not_used(tmp_path, images, release, serve, trained, capsys):
    serve(release[0])
    found = ask(tmp_path, images, beta=0.5)  # the release has beta = 1 under that name
    assert trained == [0.5] and found.config["beta"] == 0.5
    assert "trained otherwise" in capsys.readouterr().out


def test_a_missing_release_means_training(tmp_path, images, serve, trained, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    serve(empty)
    ask(tmp_path, images)
    assert trained == [1.0] and "answered 404" in capsys.readouterr().out


def test_a_trickling_server_cannot_hold_the_chapter(tmp_path, images, release, serve, trained, capsys, monkeypatch):
    serve(release[0], trickle=True)
    monkeypatch.setattr(published, "DEADLINE_S", 1.0)
    monkeypatch.setattr(published.fetch, "__defaults__", (1.0,))
    start = time.perf_counter()
    ask(tmp_path, images)
    assert time.perf_counter() - start < 8
    assert trained == [1.0] and "was not complete after 1 s" in capsys.readouterr().out


def test_none_never_downloads_and_the_release_url_is_the_books(monkeypatch):
    import vae_utils

    monkeypatch.setenv(published.WEIGHTS_ENV, "none")
    assert published.release_url() is None
    monkeypatch.delenv(published.WEIGHTS_ENV)
    config = yaml.safe_load(open(Path(__file__).parents[1] / "_config.yml"))
    assert settings.REPOSITORY == config["repository"]["url"]
    assert published.release_url() == f"{config['repository']['url']}/releases/download/v{vae_utils.__version__}/"
    monkeypatch.setenv(published.WEIGHTS_ENV, "ftp://example")
    with pytest.raises(ValueError, match=published.WEIGHTS_ENV):
        published.release_url()
