"""Small operations on the latent space that the plots, metrics and explorer share."""
from __future__ import annotations

import numpy as np
import torch

from . import _checks
from .models import VAE, device_of


def _vae(model) -> VAE:
    if not isinstance(model, VAE):
        raise ValueError(f"model must be a vae_utils.models.VAE, got {type(model).__name__}")
    return model


@torch.no_grad()
def encode_means(model: VAE, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    r"""The encoder means :math:`\mu(x)` of ``images``, as a CPU tensor ``[N, latent_dim]``."""
    _vae(model).eval()
    _checks.images(images, "images")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    dev = device_of(model)
    return torch.cat([model.encode(x.to(dev))[0].cpu() for x in images.split(batch_size)])


@torch.no_grad()
def decode_latents(model: VAE, z: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Decoded images ``[N, 1, 28, 28]`` (a CPU tensor) for latent codes ``z``."""
    _vae(model).eval()
    _checks.finite(_checks.latents(z, "z", model.latent_dim), "z")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    return torch.cat([model.decode(b).cpu() for b in z.split(batch_size)])


MIN_BOX_WIDTH = 0.5  # a collapsed model's codes, or a single image's, sit on a point


def latent_box(means: torch.Tensor, percentiles: tuple[float, float] = (1.0, 99.0)) -> list[tuple[float, float]]:
    """Per latent dimension, the ``(low, high)`` percentiles of the encoded means: the data's box.

    A side narrower than ``MIN_BOX_WIDTH`` (0.5) is widened to it about its centre, so that a box
    around one code, or the codes of a collapsed model, can still be drawn and walked."""
    _checks.nonempty(_checks.finite(_checks.float_tensor(means, "means", ndim=2), "means"), "means")
    try:
        low, high = (float(p) for p in percentiles)
    except (TypeError, ValueError):
        raise ValueError(f"percentiles must be a pair (low, high), got {percentiles!r}") from None
    if not 0 <= low < high <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles!r}")
    q = np.percentile(means.detach().cpu().double().numpy(), [low, high], axis=0)
    box = []
    for a, b in q.T:
        centre, half = (a + b) / 2, max(b - a, MIN_BOX_WIDTH) / 2
        box.append((float(centre - half), float(centre + half)) if b - a < MIN_BOX_WIDTH else (float(a), float(b)))
    return box


def latent_grid(x_range, y_range, n: int) -> torch.Tensor:
    """An ``n x n`` grid of 2-D codes, row-major, rows from top (high :math:`z_2`) to bottom.

    Row ``i``, column ``j`` is ``z = (x_j, y_{n-1-i})``, the layout of an image whose
    vertical axis points up.
    """
    x0, x1 = _checks.value_range(x_range, "x_range")
    y0, y1 = _checks.value_range(y_range, "y_range")
    n = _checks.positive_int(n, "n", minimum=2)
    xs = torch.linspace(x0, x1, n)
    ys = torch.linspace(y1, y0, n)
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2)


def tile_images(images: torch.Tensor, ncol: int) -> np.ndarray:
    """Arrange ``[N, 1, 28, 28]`` images row by row into one 2-D array (missing tiles are 0)."""
    ncol = _checks.positive_int(ncol, "ncol")
    if isinstance(images, torch.Tensor) and images.dtype == torch.uint8:  # already 0..255 grey levels
        if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28) or images.shape[0] == 0:
            raise ValueError(f"images must have shape [N, 1, 28, 28] with N >= 1, got {tuple(images.shape)}")
    else:
        _checks.images(images, "images")
    n = images.shape[0]
    nrow = -(-n // ncol)
    canvas = np.zeros((nrow * 28, ncol * 28), dtype=np.float32)
    for k, img in enumerate(images[:, 0].numpy()):
        r, c = divmod(k, ncol)
        canvas[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28] = img
    return canvas


def straight_path(z_start: torch.Tensor, z_end: torch.Tensor, n_steps: int) -> torch.Tensor:
    r"""Points :math:`z(t) = z_0 + t (z_1 - z_0)` for ``n_steps + 1`` evenly spaced :math:`t \in [0, 1]`.

    Batched: ``z_start`` and ``z_end`` are ``[P, J]``; the result is ``[P, n_steps + 1, J]``.
    """
    _checks.float_tensor(z_start, "z_start", ndim=2)
    _checks.float_tensor(z_end, "z_end", ndim=2)
    if z_start.shape != z_end.shape:
        raise ValueError(f"z_end must have the shape of z_start {tuple(z_start.shape)}, got {tuple(z_end.shape)}")
    n_steps = _checks.positive_int(n_steps, "n_steps")
    t = torch.linspace(0, 1, n_steps + 1, dtype=z_start.dtype).view(1, -1, 1)
    return z_start.unsqueeze(1) + t * (z_end - z_start).unsqueeze(1)


@torch.no_grad()
def reconstruct(model: VAE, images: torch.Tensor) -> torch.Tensor:
    r"""Decode each image's encoder mean: :math:`\mathrm{dec}(\mu(x))`, without sampling."""
    return decode_latents(model, encode_means(model, images))


def best_reconstructed_index(models: dict, images: torch.Tensor, labels: torch.Tensor, digit: int) -> int:
    """Index of the image of ``digit`` whose squared reconstruction error, summed over ``models``, is least.

    A fair endpoint for a latent path: every model really encodes it as that digit.
    """
    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict of name -> VAE")
    for name, model in models.items():
        if not isinstance(model, VAE):
            raise ValueError(f"models[{name!r}] must be a vae_utils.models.VAE, got {type(model).__name__}")
    _checks.images(images, "images")
    _checks.labels(labels, "labels", images.shape[0])
    if isinstance(digit, bool) or digit not in range(10) or not bool((labels == digit).any()):
        raise ValueError(f"digit must be a class present in labels, got {digit!r}")
    error = sum((reconstruct(m, images) - images).pow(2).flatten(1).sum(1) for m in models.values())
    candidates = (labels == digit).nonzero().squeeze(1)
    return int(candidates[error[candidates].argmin()])
