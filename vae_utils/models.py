"""The variational autoencoder used throughout the book."""
from __future__ import annotations

import torch
from torch import nn

from . import _checks

ARCHS = ("mlp", "conv")


class VAE(nn.Module):
    r"""A VAE for 28x28 images with a diagonal Gaussian encoder and a sigmoid decoder.

    The encoder maps an image :math:`x` to :math:`(\mu, \log\sigma^2)` of
    :math:`q_\phi(z \mid x) = \mathcal N(\mu, \operatorname{diag}\sigma^2)`. It predicts the
    *log*-variance because that is unconstrained: the standard deviation :math:`\sigma` is
    recovered as :math:`\sigma = \exp(\tfrac12 \log\sigma^2)`, always positive.

    ``arch="mlp"``: 784-512-256 encoder and the mirror-image decoder (fast on a CPU).
    ``arch="conv"``: the Keras example's two stride-2 convolutions and transposed convolutions.

    ``VAE(...)``, :meth:`encode`, :meth:`decode` and :meth:`forward` are doors where a reader's
    choice or data enters, so they check it: images must be ``[N, 1, 28, 28]`` with values in
    [0, 1] (raw 0-255 pixels are refused), codes ``[N, latent_dim]`` and finite. Inputs are cast
    to the model's dtype and device, so float64 images work like float32 ones. While
    :func:`~vae_utils.training.train_vae` runs the model, only shapes are checked: the loop
    checked its images once, before the first step, and a check of the values at every step
    would make each step wait for the device.
    """

    _inputs_checked = False  # set by the training loop while it feeds checked images

    def __init__(self, latent_dim: int = 2, arch: str = "mlp", hidden: tuple[int, int] = (512, 256)):
        super().__init__()
        self.latent_dim = _checks.positive_int(latent_dim, "latent_dim")
        self.arch = _checks.one_of(arch, "arch", ARCHS)
        if not isinstance(hidden, (tuple, list)) or len(hidden) != 2:
            raise ValueError(f"hidden must be a pair of layer widths, got {hidden!r}")
        h1, h2 = (_checks.positive_int(h, "hidden") for h in hidden)
        self.config = {"latent_dim": self.latent_dim, "arch": self.arch, "hidden": [h1, h2]}

        if arch == "mlp":
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU())
            features = h2
            self.decoder = nn.Sequential(
                nn.Linear(latent_dim, h2), nn.ReLU(), nn.Linear(h2, h1), nn.ReLU(),
                nn.Linear(h1, 784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28)),
            )
        else:
            self.encoder = nn.Sequential(
                nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),  # 28 -> 14
                nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),  # 14 -> 7
                nn.Flatten(), nn.Linear(64 * 7 * 7, 16), nn.ReLU(),
            )
            features = 16
            self.decoder = nn.Sequential(
                nn.Linear(latent_dim, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),  # 7 -> 14
                nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),  # 14 -> 28
                nn.Conv2d(32, 1, 3, padding=1), nn.Sigmoid(),
            )
        # One layer predicts mu and log sigma^2 together; encode() splits them.
        self.to_moments = nn.Linear(features, 2 * latent_dim)

    def _cast(self, t: torch.Tensor) -> torch.Tensor:
        p = next(self.parameters())
        return t.to(device=p.device, dtype=p.dtype)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(mu, logvar)`` of q(z|x), each ``[N, latent_dim]``."""
        _checks.images(x, "x", values=not self._inputs_checked)
        mu, logvar = self.to_moments(self.encoder(self._cast(x))).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        r"""Sample :math:`z = \mu + \sigma \odot \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, I)`.

        The randomness sits in :math:`\varepsilon`, so gradients flow through
        :math:`\mu` and :math:`\sigma` (the reparametrisation trick).
        """
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map latent codes ``[N, latent_dim]`` to images ``[N, 1, 28, 28]`` in [0, 1]."""
        _checks.latents(z, "z", self.latent_dim)
        return self.decoder(self._cast(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode, sample one z per image, decode: ``(x_hat, mu, logvar)``."""
        mu, logvar = self.encode(x)
        return self.decoder(self.reparameterize(mu, logvar)), mu, logvar


def device_of(model: nn.Module) -> torch.device:
    """The device of ``model``'s weights."""
    return next(model.parameters()).device
