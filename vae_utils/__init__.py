"""Helpers for the book *Variational autoencoders and the KL term*.

The chapters import modules and call them qualified, e.g. ``from vae_utils import data, metrics``
and then ``metrics.summarize(...)``. One idea per module:

``book`` (the chapters' settings, quick mode, checkpoint paths, progress bars), ``data`` (MNIST),
``models`` (the VAE), ``losses`` (reconstruction and KL), ``training`` (the training loop),
``ensemble`` (several VAEs trained as one batched model), ``checkpoints`` (trained models on disk)
and ``published`` (the book's published weights), ``latent`` (encode, decode, grids, paths),
``plotting`` (figures), ``metrics`` (continuity, completeness, the chapters' claims),
``aggregate`` (the aggregate posterior and the two parts of the KL term), ``elbo`` (the
linear-Gaussian model of chapter 00 and importance-weighted bounds), ``pictures`` and ``pages``
(pictures and self-contained pages for the static book), ``explore`` (latent sliders), ``dial``
(the beta dial) and ``symbolic`` (SymPy helpers).
"""
from __future__ import annotations

__version__ = "0.2.0"

from .book import QUICK_ENV, chapter_epochs, checkpoint_path, quick_mode, settings  # noqa: E402,F401
from .training import pick_device, set_seed  # noqa: E402,F401
