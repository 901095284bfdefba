"""A test helper: digits written as the uncompressed IDX files torchvision's MNIST reads.

Lets the torchvision code path of ``vae_utils.data.load_mnist`` run on any digits (the offline
set, a shifted copy of it) with no network. Tests import it as ``mnist_files`` (pytest puts this
folder on the path); the benchmarks, run from the repository's root, as ``tests.mnist_files``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch


def write_torchvision_cache(root: str | os.PathLike, train, test) -> Path:
    """Write ``(images, labels)`` pairs as ``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``.

    ``train`` and ``test`` are ``(images, labels)`` as ``load_mnist`` returns them; returns the folder."""
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, (images, labels) in (("train", train), ("t10k", test)):
        pixels = (images[:, 0] * 255).round().to(torch.uint8).numpy()
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", pixels)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels.to(torch.uint8).numpy())
    return raw


def _write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file: its magic number (unsigned bytes, ``ndim`` axes), each axis as a big-endian int32, the bytes."""
    header = (0x0800 + array.ndim).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())
