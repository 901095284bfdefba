"""Helpers for the book *Variational autoencoders and the KL term*.

The chapters import modules and call them qualified, e.g. ``from vae_utils import data, metrics``
and then ``metrics.summarize(...)``. One idea per module, in two layers: the maths a reader opens
the package to read, here, and what delivers the book (settings, trained models on disk and the
published weights, pages and widgets) in the subpackage ``vae_utils.book``, which imports this
layer and is never imported by it. The book's API page, ``book/api.md``, lists them and documents each.
"""
from __future__ import annotations

__version__ = "0.2.0"

from .training import pick_device, set_seed  # noqa: E402,F401
