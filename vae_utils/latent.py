"""Small operations on the latent space that the plots, metrics and explorer share.

They trust their callers: the model checks the images it encodes and the codes it decodes."""
from __future__ import annotations

import numpy as np
import torch

from . import _checks
from .models import VAE, device_of

MIN_BOX_WIDTH = 0.5  # a collapsed model's codes, or a single image's, sit on a point


@torch.no_grad()
def encode_means(model: VAE, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    r"""The encoder means :math:`\mu_\phi(x)` of ``images``, as a CPU tensor ``[N, latent_dim]``."""
    model.eval()
    dev = device_of(model)
    return torch.cat([model.encode(x.to(dev))[0].cpu() for x in images.split(batch_size)])


@torch.no_grad()
def decode_latents(model: VAE, z: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Decoded images ``[N, 1, 28, 28]`` (a CPU tensor) for latent codes ``z``."""
    model.eval()
    return torch.cat([model.decode(b).cpu() for b in z.split(batch_size)])


def latent_box(means: torch.Tensor, percentiles: tuple[float, float] = (1.0, 99.0)) -> list[tuple[float, float]]:
    """Per latent dimension, the ``(low, high)`` percentiles of the encoded means: the data's box.

    A side narrower than ``MIN_BOX_WIDTH`` (0.5) is widened to it about its centre, so that a box
    around one code, or the codes of a collapsed model, can still be drawn and walked."""
    q = np.percentile(means.detach().cpu().double().numpy(), list(percentiles), axis=0)
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
    (x0, x1), (y0, y1) = x_range, y_range
    xs = torch.linspace(x0, x1, n)
    ys = torch.linspace(y1, y0, n)
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2)


def tile_images(images: torch.Tensor, ncol: int) -> np.ndarray:
    """Arrange ``[N, 1, 28, 28]`` images row by row into one 2-D array (missing tiles are 0):
    ``torchvision.utils.make_grid`` without padding. ``uint8`` images (0..255) stay ``uint8``."""
    from torchvision.utils import make_grid  # deferred: torchvision (about 1 s) loads only when images are tiled

    return make_grid(images.detach().cpu(), nrow=ncol, padding=0)[0].numpy()


def straight_path(z_start: torch.Tensor, z_end: torch.Tensor, n_steps: int) -> torch.Tensor:
    r"""Points :math:`z(t) = z_0 + t (z_1 - z_0)` for ``n_steps + 1`` evenly spaced :math:`t \in [0, 1]`.

    Batched: ``z_start`` and ``z_end`` are ``[P, J]``; the result is ``[P, n_steps + 1, J]``.
    """
    t = torch.linspace(0, 1, n_steps + 1, dtype=z_start.dtype).view(1, -1, 1)
    return z_start.unsqueeze(1) + t * (z_end - z_start).unsqueeze(1)


@torch.no_grad()
def reconstruct(model: VAE, images: torch.Tensor) -> torch.Tensor:
    r"""Decode each image's encoder mean: :math:`\hat x_\theta(\mu_\phi(x))`, without sampling."""
    return decode_latents(model, encode_means(model, images))


def best_reconstructed_index(models: dict, images: torch.Tensor, labels: torch.Tensor, digit: int) -> int:
    """Index of the image of ``digit`` whose squared reconstruction error, summed over ``models``, is least.

    A fair endpoint for a latent path: every model really encodes it as that digit. The labels
    are checked against the images: labels of another set would pick an image silently.
    """
    _checks.labels(labels, "labels", images.shape[0])
    error = sum((reconstruct(m, images) - images).pow(2).flatten(1).sum(1) for m in models.values())
    candidates = (labels == digit).nonzero().squeeze(1)
    return int(candidates[error[candidates].argmin()])


def fitted_draws(means: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    r"""``n`` codes :math:`z \sim \mathcal N(m, S)` from the Gaussian fitted to ``means`` ``[N, J]``
    (their mean :math:`m` and covariance :math:`S`): draws with the codes' place and scale, in the
    spirit of the density that Ghosh et al. (2020) fit to an autoencoder's codes after training."""
    means = means.double().cpu()
    root = torch.linalg.cholesky(torch.cov(means.T).reshape(means.shape[1], means.shape[1]))
    noise = torch.randn(n, means.shape[1], generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (means.mean(0) + noise @ root.T).float()
