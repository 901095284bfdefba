"""Helpers for the book *Variational autoencoders and the KL term*.

Modules: ``data`` (MNIST), ``models`` (the VAE), ``losses`` (reconstruction and KL),
``training`` (loop, seeds, checkpoints), ``latent`` (encode/decode/grids),
``plotting`` (figures), ``metrics`` (continuity and completeness), ``explore``
(latent sliders).
"""
from __future__ import annotations

import os

from . import data, latent, losses, models, plotting, training  # noqa: F401
from .training import pick_device, set_seed  # noqa: F401

__version__ = "0.1.0"
QUICK_ENV = "VAE_BOOK_QUICK"


def quick_mode() -> bool:
    """True when ``$VAE_BOOK_QUICK`` is set to 1: fewer epochs so the tests stay fast."""
    value = os.environ.get(QUICK_ENV, "0").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"{QUICK_ENV} must be 0 or 1, got {value!r}")
    return value == "1"
