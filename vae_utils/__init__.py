"""Helpers for the book *Variational autoencoders and the KL term*.

Modules: ``data`` (MNIST), ``models`` (the VAE), ``losses`` (reconstruction and KL),
``training`` (loop, seeds, checkpoints), ``latent`` (encode/decode/grids),
``plotting`` (figures), ``metrics`` (continuity and completeness), ``book`` (quick mode,
checkpoint paths, progress bars); imported on demand: ``elbo`` (the linear-Gaussian model of
chapter 00), ``ensemble`` (several VAEs trained as one batched model), ``explore`` and ``dial``
(latent sliders and the beta dial, live with ipywidgets or static HTML) and ``symbolic`` (SymPy
helpers).
"""
from __future__ import annotations

from . import data, latent, losses, metrics, models, plotting, training  # noqa: F401
from .book import QUICK_ENV, chapter_epochs, checkpoint_path, quick_mode  # noqa: F401
from .training import pick_device, set_seed  # noqa: F401

__version__ = "0.1.0"
