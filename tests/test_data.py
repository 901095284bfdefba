"""The MNIST loader: the offline digits, the torchvision cache (complete, partial, corrupt, not
writable), the download and its fallbacks, binarisation."""
import http.server
import threading
import time

import pytest
import torch
import torchvision

from mnist_files import write_torchvision_cache
from vae_utils import data
from vae_utils.data import load_mnist


def test_offline_split_is_real_balanced_and_disjoint(digits):
    (x, y), (xt, yt) = digits
    assert x.shape == (4000, 1, 28, 28) and xt.shape == (1000, 1, 28, 28)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert torch.bincount(y).tolist() == [400] * 10
    assert torch.bincount(yt).tolist() == [100] * 10
    # Not sorted in blocks: the first 100 training labels cover every digit.
    assert len(set(y[:100].tolist())) == 10
    train_rows = {bytes(r.numpy()) for r in (x * 255).to(torch.uint8).flatten(1)}
    test_rows = {bytes(r.numpy()) for r in (xt * 255).to(torch.uint8).flatten(1)}
    assert not train_rows & test_rows
    # Real digits, not noise: most pixels are background, strokes are bright.
    assert 0.6 < float((x < 0.1).float().mean()) < 0.95
    assert float((x > 0.9).float().mean()) > 0.05


def test_offline_split_is_repeatable(digits):
    (x, y), _ = digits
    x2, y2 = load_mnist("train", source="offline")
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_auto_falls_back_to_offline_when_unreachable(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, "network_reachable", lambda timeout=0: False)
    x, y = load_mnist("test", source="auto", root=tmp_path)
    assert x.shape[0] == 1000
    assert "offline set" in capsys.readouterr().out


@pytest.mark.slow
def test_auto_falls_back_when_the_download_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, "network_reachable", lambda timeout=0: True)
    # Nothing listens on port 9 of the loopback: the real download code fails at once.
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", ["http://127.0.0.1:9/mnist/"])
    x, _ = load_mnist("train", source="auto", root=tmp_path)
    assert x.shape[0] == 4000
    assert "download failed" in capsys.readouterr().out


def test_torchvision_reads_a_complete_cache(tmp_path, digits, capsys):
    (x, y), (xt, yt) = digits
    write_torchvision_cache(tmp_path, (x[:50], y[:50]), (xt[:20], yt[:20]))
    for source in ("torchvision", "auto"):
        images, labels = load_mnist("train", source=source, root=tmp_path)
        assert images.shape == (50, 1, 28, 28) and labels.dtype == torch.int64
        torch.testing.assert_close(images, x[:50], atol=0.5 / 255, rtol=0)
        assert torch.equal(labels, y[:50])
        assert "a torchvision-format cache that is not the full MNIST" in capsys.readouterr().out
    images, _ = load_mnist("test", source="torchvision", root=tmp_path)
    assert images.shape[0] == 20


def test_corrupt_cache_says_what_to_delete(tmp_path, digits):
    (x, y), (xt, yt) = digits
    raw = write_torchvision_cache(tmp_path, (x[:50], y[:50]), (xt[:20], yt[:20]))
    path = raw / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1000])  # truncated, as after an interrupted copy
    with pytest.raises(RuntimeError, match="Delete the folder .*MNIST"):
        load_mnist("train", source="torchvision", root=tmp_path)


def test_partial_cache_offline_says_what_to_delete(tmp_path, digits, monkeypatch):
    (x, y), (xt, yt) = digits
    raw = write_torchvision_cache(tmp_path, (x[:50], y[:50]), (xt[:20], yt[:20]))
    (raw / "t10k-labels-idx1-ubyte").unlink()
    monkeypatch.setattr(data, "network_reachable", lambda timeout=0: False)
    with pytest.raises(RuntimeError, match="partial: it has .* but not t10k-labels-idx1-ubyte. Delete the folder") as err:
        load_mnist("train", source="auto", root=tmp_path)
    assert "network" not in str(err.value)  # the network was never checked: say what was found


@pytest.mark.parametrize("kwargs, name", [
    ({"split": "validation"}, "split"), ({"split": None}, "split"), ({"split": True}, "split"),
    ({"source": "kaggle"}, "source"), ({"source": 3}, "source"),
    ({"root": 123}, "root"), ({"root": ""}, "root"), ({"root": True}, "root"),
    ({"download_deadline": 0}, "download_deadline"), ({"download_deadline": -1.0}, "download_deadline"),
    ({"download_deadline": float("nan")}, "download_deadline"), ({"download_deadline": "5"}, "download_deadline"),
])
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        load_mnist(**{"split": "test", "source": "offline", **kwargs})


def test_binarize_uses_a_fixed_threshold(digits):
    from vae_utils.data import binarize

    (x, _), _ = digits
    b = binarize(x[:100])
    assert set(b.unique().tolist()) == {0.0, 1.0} and b.dtype == x.dtype
    assert torch.equal(b, (x[:100] > 0.5).float())
    assert torch.equal(binarize(x[:100], threshold=0.2), (x[:100] > 0.2).float())
    for bad in (0.0, 1.0, 2.0, float("nan")):  # every pixel, or none, would be 1
        with pytest.raises(ValueError, match="^threshold"):
            binarize(x[:10], threshold=bad)
    with pytest.raises(ValueError, match="^images .*divide raw pixels by 255"):
        binarize(x[:10] * 255)  # every pixel that is not black would be 1


class _Trickle(http.server.BaseHTTPRequestHandler):
    """A mirror that answers at once, then sends one byte every 0.2 s: no socket timeout fires."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "10000000")
        self.end_headers()
        for _ in range(150):  # bounded: at most 30 s, whatever happens
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.2)

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_a_trickling_mirror_cannot_hold_the_download_past_its_deadline(tmp_path, monkeypatch, capsys):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [f"http://127.0.0.1:{server.server_address[1]}/"])
        start = time.perf_counter()
        x, _ = load_mnist("test", source="auto", root=tmp_path, download_deadline=3.0)
        elapsed = time.perf_counter() - start
    finally:
        server.shutdown()
    assert x.shape[0] == 1000 and elapsed < 15, elapsed
    assert "download failed: not complete after 3 s" in capsys.readouterr().out
    assert not any(p.name.startswith(".mnist-download") for p in tmp_path.iterdir())  # nothing left behind


def test_cache_contents_are_checked(tmp_path, digits):
    (x, y), (xt, yt) = digits
    raw = write_torchvision_cache(tmp_path, (x[:50], y[:50]), (xt[:20], yt[:20]))
    labels = bytearray((raw / "train-labels-idx1-ubyte").read_bytes())
    labels[8] = 255  # the first label
    (raw / "train-labels-idx1-ubyte").write_bytes(bytes(labels))
    with pytest.raises(RuntimeError, match="labels outside 0..9.*Delete the folder"):
        load_mnist("train", source="torchvision", root=tmp_path)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(b"not the published file")
    with pytest.raises(RuntimeError, match="MD5"):
        load_mnist("test", source="torchvision", root=tmp_path)


@pytest.mark.parametrize("where", ["file", "under a file"])
def test_an_unusable_root_falls_back_to_the_offline_digits(tmp_path, monkeypatch, capsys, where):
    monkeypatch.setattr(data, "network_reachable", lambda timeout=0: True)
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    root = blocker if where == "file" else blocker / "sub"
    images, _ = load_mnist("test", source="auto", root=root)
    assert images.shape[0] == 1000 and "cannot write the cache folder" in capsys.readouterr().out
    with pytest.raises(data.DownloadFailed, match="cannot write"):
        load_mnist("test", source="torchvision", root=root)


def test_a_raw_cache_file_that_is_a_folder_is_named(tmp_path, digits):
    (xs, ys), (xt, yt) = digits
    raw = write_torchvision_cache(tmp_path, (xs[:20], ys[:20]), (xt[:10], yt[:10]))
    (raw / "t10k-labels-idx1-ubyte").unlink()
    (raw / "t10k-labels-idx1-ubyte").mkdir()
    with pytest.raises(RuntimeError, match="t10k-labels-idx1-ubyte is not a file"):
        load_mnist("test", source="torchvision", root=tmp_path)
