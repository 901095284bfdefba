"""The book's recurring figures. Each returns the matplotlib ``Axes`` it drew on."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap

from . import _checks
from .latent import decode_latents, encode_means, latent_grid, tile_images

# Paul Tol's "muted" palette (nine colours designed to stay apart for colour-blind readers) and
# a pale grey for the tenth digit.
DIGIT_CMAP = ListedColormap(["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
                             "#882255", "#AA4499", "#BBBBBB"], name="digits")
MAX_GRID_PLOT = 100  # decodes per axis of a plotted grid


def _axes(ax):
    return plt.subplots(figsize=(5, 4.5))[1] if ax is None else ax


def _two_d(model, name="model"):
    _checks.vae(model, name)
    if model.latent_dim != 2:
        raise ValueError(f"{name} must have latent_dim=2 for a 2-D picture, got {model.latent_dim!r}")


def digit_colorbar(mappable, ax):
    bar = plt.colorbar(mappable, ax=ax, ticks=range(10))
    bar.set_label("digit")
    return bar


def latent_scatter(model, images: torch.Tensor, labels: torch.Tensor, ax=None, title: str | None = None, s: float = 3):
    """Scatter the encoder means of ``images`` in the 2-D latent plane, coloured by digit."""
    _two_d(model)
    _checks.images(images, "images")
    _checks.labels(labels, "labels", images.shape[0])
    ax = _axes(ax)
    mu = encode_means(model, images)
    points = ax.scatter(mu[:, 0], mu[:, 1], c=labels, cmap=DIGIT_CMAP, vmin=-0.5, vmax=9.5, s=s, alpha=0.8)
    digit_colorbar(points, ax)
    ax.set(title=title or f"Latent means of {len(labels):,} images", xlabel="$z_1$", ylabel="$z_2$")
    return ax


def decode_grid(model, x_range, y_range, n: int = 20, ax=None, title: str | None = None):
    """Decode an ``n x n`` grid over ``x_range`` x ``y_range`` and show it on latent axes."""
    _two_d(model)
    n = _checks.positive_int(n, "n", minimum=2, maximum=MAX_GRID_PLOT)
    z = latent_grid(x_range, y_range, n)
    (x0, x1), (y0, y1) = x_range, y_range
    ax = _axes(ax)
    ax.imshow(tile_images(decode_latents(model, z), n), cmap="gray", vmin=0, vmax=1,
              extent=(x0, x1, y0, y1), aspect="auto")
    ax.set(title=title or f"Decoded {n}x{n} grid", xlabel="$z_1$", ylabel="$z_2$")
    return ax


def show_images(images: torch.Tensor, ncol: int = 10, ax=None, title: str = "Images"):
    """Show a batch of images as one tiled picture."""
    _checks.images(images, "images")
    ax = _axes(ax)
    ax.imshow(tile_images(images, ncol), cmap="gray", vmin=0, vmax=1)
    ax.set(title=title, xticks=[], yticks=[])
    return ax


def plot_history(history: dict, ax=None, title: str = "Training curves"):
    """Reconstruction, KL and total loss per epoch."""
    if not isinstance(history, dict) or {"loss", "recon", "kl"} - set(history):
        raise ValueError(f"history must be a dict with the keys loss, recon and kl (what train_vae returns), "
                         f"got {type(history).__name__}{sorted(history) if isinstance(history, dict) else ''}")
    ax = _axes(ax)
    epochs = range(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["recon"], label="reconstruction")
    ax.plot(epochs, history["kl"], label="KL")
    ax.plot(epochs, history["loss"], label="total", linestyle="--")
    ax.set(title=title, xlabel="epoch", ylabel="loss per image (nats)")
    ax.legend()
    return ax


def aggregate_density(model, images: torch.Tensor, ax=None, box=((-3.0, 3.0), (-3.0, 3.0)), n: int = 61,
                      title: str | None = None):
    r"""The aggregate posterior :math:`\bar q(z)` of ``images``' codes over ``box`` (shading), with the
    prior's circles of radius 1 and 2 (where :math:`\mathcal N(0, I)` has 39 % and 86 % of its mass)."""
    import numpy as np

    from .aggregate import log_density

    _two_d(model)
    _checks.images(images, "images")
    n = _checks.positive_int(n, "n", minimum=2, maximum=MAX_GRID_PLOT * 3)
    with torch.no_grad():
        mu, logvar = model.eval().encode(images.to(next(model.parameters()).device))
    density = log_density(latent_grid(*box, n), mu, logvar).exp().view(n, n).numpy()
    ax = _axes(ax)
    (x0, x1), (y0, y1) = box
    ax.imshow(density, extent=(x0, x1, y0, y1), cmap="Blues", vmin=0, vmax=max(float(density.max()), 1e-12))
    angle = np.linspace(0, 2 * np.pi, 200)
    for radius in (1, 2):
        ax.plot(radius * np.cos(angle), radius * np.sin(angle), color="#CC3311", linewidth=1, linestyle="--",
                label="N(0, I): r = 1, 2" if radius == 1 else None)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$z_1$", ylabel="$z_2$",
           title=title or "Aggregate posterior (blue) and prior (circles)")
    return ax


def rate_distortion(rates: dict, distortions: dict, ax=None, title: str = "The sweep on the rate-distortion plane"):
    r"""One point per :math:`\beta` at (rate, distortion), each with a short line of slope
    :math:`-\beta`: the tangent that a model minimising distortion + :math:`\beta` rate sits on."""
    if not isinstance(rates, dict) or not rates or set(rates) != set(distortions if isinstance(distortions, dict) else ()):
        raise ValueError("rates must be a non-empty dict of beta -> rate with the keys of distortions")
    ax = _axes(ax)
    betas = sorted(rates)
    ax.plot([rates[b] for b in betas], [distortions[b] for b in betas], color="#555555", marker="o", linewidth=1)
    span = 0.06 * (max(rates.values()) - min(rates.values()) or 1.0)
    for b in betas:
        r, d = rates[b], distortions[b]
        ax.plot([r - span, r + span], [d + b * span, d - b * span], color="#CC3311", linewidth=2)
        ax.annotate(f"β={b:g}", (r, d), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.plot([], [], color="#CC3311", linewidth=2, label="slope −β")
    ax.set(title=title, xlabel="rate: KL per image (nats)", ylabel="distortion: ½‖x − x̂‖² per image")
    ax.legend()
    return ax
