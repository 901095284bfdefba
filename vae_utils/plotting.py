"""The book's recurring figures. Each returns the matplotlib ``Axes`` it drew on.

They trust their callers: the model checks the images it encodes and the codes it decodes. A
2-D picture refuses a model of another latent dimension, which it would otherwise draw wrongly."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap

from .aggregate import log_density
from .latent import decode_latents, encode_means, latent_grid, tile_images

# Paul Tol's "muted" palette (nine colours designed to stay apart for colour-blind readers) and
# a pale grey for the tenth digit.
DIGIT_CMAP = ListedColormap(["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
                             "#882255", "#AA4499", "#BBBBBB"], name="digits")


def _axes(ax):
    return plt.subplots(figsize=(5, 4.5))[1] if ax is None else ax


def _two_d(model, name="model"):
    if model.latent_dim != 2:
        raise ValueError(f"{name} must have latent_dim=2 for a 2-D picture, got {model.latent_dim!r}")


def digit_colorbar(mappable, ax):
    bar = plt.colorbar(mappable, ax=ax, ticks=range(10))
    bar.set_label("digit")
    return bar


def latent_scatter(model, images: torch.Tensor, labels: torch.Tensor, ax=None, title: str | None = None, s: float = 3):
    """Scatter the encoder means of ``images`` in the 2-D latent plane, coloured by digit."""
    _two_d(model)
    ax = _axes(ax)
    mu = encode_means(model, images)
    points = ax.scatter(mu[:, 0], mu[:, 1], c=labels, cmap=DIGIT_CMAP, vmin=-0.5, vmax=9.5, s=s, alpha=0.8)
    digit_colorbar(points, ax)
    ax.set(title=title or f"Latent means of {len(labels):,} images", xlabel="$z_1$", ylabel="$z_2$")
    return ax


def decode_grid(model, x_range, y_range, n: int = 20, ax=None, title: str | None = None):
    """Decode an ``n x n`` grid over ``x_range`` x ``y_range`` and show it on latent axes."""
    z = latent_grid(x_range, y_range, n)
    (x0, x1), (y0, y1) = x_range, y_range
    ax = _axes(ax)
    ax.imshow(tile_images(decode_latents(model, z), n), cmap="gray", vmin=0, vmax=1,
              extent=(x0, x1, y0, y1), aspect="auto")
    ax.set(title=title or f"Decoded {n}x{n} grid", xlabel="$z_1$", ylabel="$z_2$")
    return ax


def show_images(images: torch.Tensor, ncol: int = 10, ax=None, title: str = "Images"):
    """Show a batch of images as one tiled picture."""
    ax = _axes(ax)
    ax.imshow(tile_images(images, ncol), cmap="gray", vmin=0, vmax=1)
    ax.set(title=title, xticks=[], yticks=[])
    return ax


def plot_history(history: dict, ax=None, title: str = "Training curves"):
    """Reconstruction, KL and total loss per epoch."""
    ax = _axes(ax)
    epochs = range(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["recon"], label="reconstruction")
    ax.plot(epochs, history["kl"], label="KL")
    ax.plot(epochs, history["loss"], label="total", linestyle="--")
    ax.set(title=title, xlabel="epoch", ylabel="loss per image (nats)")
    ax.legend()
    return ax


def aggregate_density(model, images: torch.Tensor, ax=None, box=((-3.0, 3.0), (-3.0, 3.0)), n: int = 61,
                      title: str | None = None, floor: float = 12.0):
    r"""The aggregate posterior :math:`\bar q(z)` of ``images``' codes over ``box``: its log-density on an
    ``n`` × ``n`` grid (shading, from its maximum down to ``floor`` nats below it), the codes' means
    (dots), and the prior's circles of radius 1 and 2 (where :math:`\mathcal N(0, I)` has 39 % and
    86 % of its mass). The dots matter where the encoder's :math:`\sigma` is far below the grid's
    spacing: each :math:`q(z \mid x)` is then a needle that no grid point hits, and only the dots show
    where the mass is."""
    _two_d(model)
    with torch.no_grad():
        mu, logvar = model.eval().encode(images.to(next(model.parameters()).device))
    log_q = log_density(latent_grid(*box, n), mu, logvar).view(n, n).numpy()
    ax = _axes(ax)
    (x0, x1), (y0, y1) = box
    top = float(np.nanmax(log_q)) if np.isfinite(log_q).any() else 0.0
    ax.imshow(np.clip(log_q, top - floor, top), extent=(x0, x1, y0, y1), cmap="Blues",
              vmin=top - floor, vmax=top)
    codes = mu.detach().cpu().numpy()
    ax.scatter(codes[:, 0], codes[:, 1], s=0.5, color="#222222", alpha=0.4, label="the codes' means")
    angle = np.linspace(0, 2 * np.pi, 200)
    for radius in (1, 2):
        ax.plot(radius * np.cos(angle), radius * np.sin(angle), color="#CC3311", linewidth=1, linestyle="--",
                label="N(0, I): r = 1, 2" if radius == 1 else None)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$z_1$", ylabel="$z_2$",
           title=title if title is not None else f"log q̄(z) (shading, {floor:g} nats) and the codes (dots)")
    return ax


def rate_distortion(rates: dict, distortions: dict, ax=None, title: str = "The sweep on the rate-distortion plane",
                    colour_betas=None):
    r"""One point per :math:`\beta` at (rate, distortion), each on a short line of slope :math:`-\beta`:
    the tangent that a model minimising distortion + :math:`\beta` rate would sit on if it reached the
    frontier. Linear axes, so that the lines keep their slopes; every line has the same length on
    the page and stops at rate 0 (a rate is never negative). Each :math:`\beta` has its own colour in
    the legend, so no labels overlap; ``colour_betas`` (default: these betas) fixes the colours, so
    that two panels of one sweep give each :math:`\beta` the same colour."""
    ax = _axes(ax)
    betas = sorted(rates)
    r_top = max(max(rates.values()), 1.0)
    d_low, d_high = min(distortions.values()), max(distortions.values())
    d_span = max(d_high - d_low, 1.0)
    ax.plot([rates[b] for b in betas], [distortions[b] for b in betas], color="#999999", linewidth=1, zorder=1)
    palette = sorted(colour_betas) if colour_betas is not None else betas
    colour_of = dict(zip(palette, plt.get_cmap("viridis")(np.linspace(0, 0.9, len(palette)))))
    for b in betas:
        colour = colour_of[b]
        r, d = rates[b], distortions[b]
        half = 0.05 / np.hypot(1 / r_top, b / d_span)  # in nats of rate: 5 % of the axes' size either side
        left = max(0.0, r - half)
        ax.plot([left, r + half], [d + b * (r - left), d - b * half], color=colour, linewidth=2, zorder=2)
        ax.plot([r], [d], marker="o", color=colour, linestyle="none", zorder=3, label=f"β = {b:g}")
    ax.set(title=title, xlabel="rate: KL per image (nats)", ylabel="distortion: ½‖x − x̂‖² per image (nats)",
           xlim=(0, 1.1 * r_top), ylim=(d_low - 0.1 * d_span, d_high + 0.1 * d_span))
    ax.legend(title="each on a line of slope −β", fontsize=8, title_fontsize=8)
    return ax
