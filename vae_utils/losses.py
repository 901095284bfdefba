r"""The two terms of the VAE loss: the negative ELBO, up to a constant.

For one image, :math:`-\mathrm{ELBO} = \underbrace{-\mathbb E_q \log p_\theta(x \mid z)}_{\text{reconstruction}}
+ \underbrace{D_{KL}(q_\phi(z \mid x)\,\|\,\mathcal N(0, I))}_{\text{KL}}`; the loss weighs the KL by
:math:`\beta` (``beta=1`` with a one-sample estimate of the reconstruction term is the negative ELBO
of a decoder with :math:`\sigma_x = 1`, minus the constant :math:`\tfrac D2 \log 2\pi`).

Each function sums over an image's pixels (the last three dimensions) or a code's coordinates
(the last one) and averages over the batch: ``[N, ...]`` gives one number, ``[K, N, ...]`` (the
outputs of K models stacked along a first axis) gives K numbers. The formulas trust their callers:
the model and the training loop check the data where it enters.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import _checks

LIKELIHOODS = ("gaussian", "bernoulli")


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""Half the squared error summed over pixels, averaged over the batch.

    .. math:: \frac1N \sum_{n=1}^N \tfrac12 \lVert x_n - \hat x_n \rVert^2

    For a unit-variance Gaussian decoder :math:`p_\theta(x \mid z) = \mathcal N(\hat x, I)` over
    :math:`D = 784` pixels, :math:`-\log p_\theta(x \mid z) = \tfrac12\lVert x - \hat x\rVert^2 + \tfrac D2 \log 2\pi`:
    this loss is that negative log-likelihood minus its constant. The blog post's
    :math:`\frac1N\sum\lVert x - \hat x\rVert^2` is twice this; minimising it plus the KL equals
    minimising this loss plus :math:`\tfrac12` KL (:math:`\beta = \tfrac12`, or :math:`\sigma_x^2 = \tfrac12`).
    """
    return 0.5 * (x_hat - x).pow(2).flatten(-3).sum(-1).mean(-1)


def bernoulli_reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""Binary cross-entropy summed over pixels, averaged over the batch.

    .. math:: -\frac1N \sum_n \sum_d \big[x_{nd}\log \hat x_{nd} + (1 - x_{nd})\log(1 - \hat x_{nd})\big]

    The negative log-likelihood of a Bernoulli decoder, in nats per image. Computed by
    ``torch.nn.functional.binary_cross_entropy``, whose logs are clamped at -100 and whose gradient
    stays finite where a decoded pixel is exactly 0 or 1 (a saturated sigmoid).
    """
    return F.binary_cross_entropy(x_hat, x.to(x_hat.dtype).expand_as(x_hat), reduction="none").flatten(-3).sum(-1).mean(-1)


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""The KL divergence of each latent coordinate, ``[..., N, J]``, in nats.

    .. math:: D_{KL}\big(\mathcal N(\mu_j, \sigma_j^2) \,\|\, \mathcal N(0, 1)\big)
        = -\tfrac12\left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)

    evaluated as :math:`\tfrac12(\mu_j^2 + \operatorname{expm1}(\log\sigma_j^2) - \log\sigma_j^2)`, which is
    the same number but stays accurate (and non-negative) when :math:`\sigma_j^2 \approx 1`.
    A coordinate whose KL is near 0 for every image carries no information: posterior collapse.
    """
    return 0.5 * (mu.pow(2) + torch.expm1(logvar) - logvar)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""KL divergence from :math:`q = \mathcal N(\mu, \operatorname{diag}\sigma^2)` to :math:`\mathcal N(0, I)`.

    .. math:: D_{KL} = -\frac12 \sum_{j=1}^J \left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)

    per image (the sum of :func:`kl_per_dimension`), averaged over the batch.
    """
    return kl_per_dimension(mu, logvar).sum(-1).mean(-1)


def vae_loss(
    x_hat: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float | torch.Tensor = 1.0,
    likelihood: str = "gaussian",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Return ``(total, reconstruction, kl)`` with total = reconstruction + :math:`\beta` KL.

    ``beta=0`` is the book's model "without KL": an autoencoder with a noisy bottleneck.
    ``likelihood`` picks the reconstruction term: ``"gaussian"`` (squared error) or
    ``"bernoulli"`` (binary cross-entropy). For K stacked models ``beta`` may be a tensor of K
    values.
    """
    if not isinstance(beta, torch.Tensor):
        beta = _checks.finite_number(beta, "beta", minimum=0.0)
    _checks.one_of(likelihood, "likelihood", LIKELIHOODS)
    if not isinstance(x_hat, torch.Tensor) or not isinstance(x, torch.Tensor) or x_hat.shape[-x.dim():] != x.shape:
        raise ValueError(f"x_hat must be a tensor whose last dimensions are x's shape "
                         f"{tuple(getattr(x, 'shape', ()))}, got {tuple(getattr(x_hat, 'shape', ()))}")
    if x.dim() == 0 or x.shape[0] == 0:
        raise ValueError(f"x must hold at least one image: an empty batch has no average loss, got shape {tuple(x.shape)}")
    recon = (reconstruction_loss if likelihood == "gaussian" else bernoulli_reconstruction_loss)(x_hat, x)
    kl = kl_divergence(mu, logvar)
    return recon + beta * kl, recon, kl
