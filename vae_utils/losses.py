r"""The two terms of the VAE loss: the negative ELBO, up to a constant.

For one image, :math:`-\mathrm{ELBO} = \underbrace{-\mathbb E_q \log p(x|z)}_{\text{reconstruction}}
+ \beta\,\underbrace{D_{KL}(q(z|x)\,\|\,\mathcal N(0, I))}_{\text{KL}}` with :math:`\beta = 1`;
the Gaussian reconstruction term below drops the constant :math:`\tfrac D2 \log 2\pi`.
Every function returns the per-image value averaged over the batch.
"""
from __future__ import annotations

import torch

from . import _checks

LIKELIHOODS = ("gaussian", "bernoulli")


def _pair(x_hat: torch.Tensor, x: torch.Tensor) -> None:
    _checks.images(x, "x")
    _checks.images(x_hat, "x_hat")
    if x_hat.shape != x.shape:
        raise ValueError(f"x_hat must have the shape of x {tuple(x.shape)}, got {tuple(x_hat.shape)}")


# The formulas, unchecked. They reduce over an image's pixels (the last three dimensions) or a
# code's coordinates (the last one), then average over the batch: [N, ...] gives a number,
# [K, N, ...] (K stacked models, see vae_utils.ensemble) gives K numbers. No host sync.

def _squared_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (x_hat - x).pow(2).flatten(-3).sum(-1).mean(-1)


def _binary_cross_entropy(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    # As torch's binary_cross_entropy: logs clamped at -100, so x_hat = 0 or 1 gives a finite loss.
    log_p, log_not_p = torch.log(x_hat).clamp_min(-100), torch.log1p(-x_hat).clamp_min(-100)
    # "0.0 -" rather than a minus sign: a perfect reconstruction costs 0.00 nats, not -0.00.
    return 0.0 - (x * log_p + (1 - x) * log_not_p).flatten(-3).sum(-1).mean(-1)


def _kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu.pow(2) + torch.expm1(logvar) - logvar)


def _vae_loss_terms(x_hat, x, mu, logvar, beta, likelihood: str):
    recon = (_squared_error if likelihood == "gaussian" else _binary_cross_entropy)(x_hat, x)
    kl = _kl_per_dimension(mu, logvar).sum(-1).mean(-1)
    return recon + beta * kl, recon, kl


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""Half the squared error summed over pixels, averaged over the batch.

    .. math:: \frac1N \sum_{n=1}^N \tfrac12 \lVert x_n - \hat x_n \rVert^2

    For a unit-variance Gaussian decoder :math:`p(x|z) = \mathcal N(\hat x, I)` over
    :math:`D = 784` pixels, :math:`-\log p(x|z) = \tfrac12\lVert x - \hat x\rVert^2 + \tfrac D2 \log 2\pi`:
    this loss is that negative log-likelihood minus its constant, so ``vae_loss`` with
    ``beta=1`` is the negative ELBO up to that constant. The blog post's :math:`\frac1N\sum\lVert x - \hat x\rVert^2`
    is twice this; minimising it plus the KL equals minimising this loss plus
    :math:`\tfrac12` KL (:math:`\beta = \tfrac12`, or a decoder variance :math:`\sigma_x^2 = \tfrac12`).
    """
    _pair(x_hat, x)
    return _squared_error(x_hat, x)


def bernoulli_reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""Binary cross-entropy summed over pixels, averaged over the batch.

    .. math:: -\frac1N \sum_n \sum_d \big[x_{nd}\log \hat x_{nd} + (1 - x_{nd})\log(1 - \hat x_{nd})\big]

    The negative log-likelihood of a Bernoulli decoder, in nats per image.
    """
    _pair(x_hat, x)
    return _binary_cross_entropy(x_hat, x)


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""The KL divergence of each latent coordinate, ``[N, J]``, in nats.

    .. math:: D_{KL}\big(\mathcal N(\mu_j, \sigma_j^2) \,\|\, \mathcal N(0, 1)\big)
        = -\tfrac12\left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)

    evaluated as :math:`\tfrac12(\mu_j^2 + \operatorname{expm1}(\log\sigma_j^2) - \log\sigma_j^2)`, which is
    the same number but stays accurate (and non-negative) when :math:`\sigma_j^2 \approx 1`.
    A coordinate whose KL is near 0 for every image carries no information: posterior collapse.
    """
    _moments(mu, logvar)
    return _kl_per_dimension(mu, logvar)


def _moments(mu, logvar) -> None:
    _checks.nonempty(_checks.finite(_checks.float_tensor(mu, "mu", ndim=2), "mu"), "mu")
    _checks.finite(_checks.float_tensor(logvar, "logvar", ndim=2), "logvar")
    if mu.shape != logvar.shape:
        raise ValueError(f"logvar must have the shape of mu {tuple(mu.shape)}, got {tuple(logvar.shape)}")


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""KL divergence from :math:`q = \mathcal N(\mu, \operatorname{diag}\sigma^2)` to :math:`\mathcal N(0, I)`.

    .. math:: D_{KL} = -\frac12 \sum_{j=1}^J \left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)

    per sample (the sum of :func:`kl_per_dimension`), averaged over the batch.
    """
    return kl_per_dimension(mu, logvar).sum(1).mean()


def vae_loss(
    x_hat: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
    likelihood: str = "gaussian",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Return ``(total, reconstruction, kl)`` with total = reconstruction + :math:`\beta` KL.

    ``beta=0`` is the book's model "without KL": a plain autoencoder with a noisy bottleneck.
    ``likelihood`` picks the reconstruction term: ``"gaussian"`` (squared error) or
    ``"bernoulli"`` (binary cross-entropy).
    """
    beta = _checks.finite_number(beta, "beta", minimum=0.0)
    _checks.one_of(likelihood, "likelihood", LIKELIHOODS)
    _pair(x_hat, x)
    _moments(mu, logvar)
    if mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu must have one row per image of x ({x.shape[0]}), got {tuple(mu.shape)}")
    return _vae_loss_terms(x_hat, x, mu, logvar, beta, likelihood)
