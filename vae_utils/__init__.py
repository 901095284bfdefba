"""Helpers for the book *Variational autoencoders and the KL term*.

The chapters import modules and call them qualified, e.g. ``from vae_utils import data, metrics``
and then ``metrics.summarize(...)``. One idea per module: the book's API page, ``book/api.md``,
lists them and documents each.
"""
from __future__ import annotations

__version__ = "0.2.0"

from .training import pick_device, set_seed  # noqa: E402,F401
