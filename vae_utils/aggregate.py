r"""The aggregate posterior and the two parts of the KL term.

Over a data set of :math:`N` images, the encoder's codes follow the **aggregate posterior**

.. math:: \bar q(z) = \frac1N \sum_{n=1}^N q_\phi(z \mid x_n),

a mixture of :math:`N` Gaussians. The average KL term splits into two non-negative parts
(Hoffman & Johnson, "ELBO surgery"):

.. math:: \frac1N \sum_n D_{KL}\big(q_\phi(z \mid x_n) \,\|\, p(z)\big)
    = \underbrace{I_q(x; z)}_{\text{information}} + \underbrace{D_{KL}\big(\bar q(z) \,\|\, p(z)\big)}_{\text{mismatch}},

where :math:`I_q(x; z) = \frac1N\sum_n \mathbb E_{q(z \mid x_n)}[\log q(z \mid x_n) - \log \bar q(z)]` is the
mutual information between the image index and its code, at most :math:`\log N` (and a lower bound
on the information about an image drawn from the data). Both parts depend on the :math:`N` images
chosen: the mismatch of 2,000 images is not that of 10,000. The mixture is finite, so
:math:`\log \bar q(z)` is exact; only the expectations over :math:`z` are Monte Carlo, and their
standard errors leave out the choice of images.
Everything here takes the encoder's outputs ``mu`` and ``logvar`` (``[N, J]``), e.g. of the
test images, and trusts them: they come from a model, which checked the images it encoded.
"""
from __future__ import annotations

import math

import torch
from torch.distributions import Normal

from .losses import kl_divergence

CHUNK = 2**23  # (code, component) pairs per chunk: memory stays bounded whatever N is


def _moments(mu, logvar) -> tuple[torch.Tensor, torch.Tensor]:
    return mu.detach().double().cpu(), logvar.detach().double().cpu()


def _log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag exp(logvar)) for every pair: z [points, J], mu [N, J] -> [points, N]."""
    J = z.shape[1]
    d2 = ((z.unsqueeze(1) - mu.unsqueeze(0)).pow(2) * torch.exp(-logvar).unsqueeze(0)).sum(-1)
    return -0.5 * (d2 + logvar.sum(-1).unsqueeze(0) + J * math.log(2 * math.pi))


def _log_q(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    rows = max(1, CHUNK // mu.shape[0])
    parts = [torch.logsumexp(_log_normal(zc, mu, logvar), dim=1) for zc in z.split(rows)]
    return torch.cat(parts) - math.log(mu.shape[0])


def log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r""":math:`\log \bar q(z)` of the aggregate posterior at the codes ``z`` (one row per point,
    ``[points, J]``): a log-sum-exp over the :math:`N` components, in float64, computed in chunks."""
    mu, logvar = _moments(mu, logvar)
    return _log_q(z.detach().double().cpu(), mu, logvar)


def _samples(mu, logvar, n_samples: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_samples`` draws per component: z ~ q(z | x_n), and the index n of each."""
    g = torch.Generator().manual_seed(seed)
    index = torch.arange(mu.shape[0]).repeat(n_samples)
    eps = torch.randn(index.shape[0], mu.shape[1], generator=g, dtype=torch.float64)
    return mu[index] + torch.exp(0.5 * logvar[index]) * eps, index


def kl_decomposition(mu: torch.Tensor, logvar: torch.Tensor, *, n_samples: int = 1, seed: int = 0) -> dict:
    r"""The average KL term and its two parts, in nats.

    Returns ``average_kl`` (exact: the closed form averaged over the :math:`N` codes),
    ``information`` (:math:`I_q(x; z)`) and ``mismatch`` (:math:`D_{KL}(\bar q(z) \,\|\, p(z))`), each a
    Monte Carlo estimate with ``n_samples`` draws :math:`z \sim q(z \mid x_n)` per image, their
    standard errors ``information_se`` and ``mismatch_se``, ``sum_se`` (of their sum, which
    estimates ``average_kl``), and ``log_n``, the largest value :math:`I_q` can take. The standard
    errors are those of the Monte Carlo draws for these :math:`N` codes; they leave out which images
    were chosen, and the mismatch itself changes with :math:`N`.
    """
    mu, logvar = _moments(mu, logvar)
    z, index = _samples(mu, logvar, n_samples, seed)
    log_cond = Normal(mu[index], torch.exp(0.5 * logvar[index])).log_prob(z).sum(-1)  # log q(z | x_n)
    log_agg = _log_q(z, mu, logvar)  # log q(z)
    log_prior = Normal(0.0, 1.0).log_prob(z).sum(-1)  # log p(z)
    info, mismatch = log_cond - log_agg, log_agg - log_prior
    se = lambda t: float(t.std() / math.sqrt(t.numel())) if t.numel() > 1 else float("nan")  # noqa: E731
    return {"average_kl": float(kl_divergence(mu, logvar)), "information": float(info.mean()),
            "information_se": se(info), "mismatch": float(mismatch.mean()), "mismatch_se": se(mismatch),
            "sum_se": se(info + mismatch), "log_n": math.log(mu.shape[0])}


def subset_decompositions(mu: torch.Tensor, logvar: torch.Tensor, size: int, *, seed: int = 0) -> dict:
    r""":func:`kl_decomposition` of disjoint subsets of ``size`` codes (as many as fit, at most 5):
    how the two parts change with :math:`N` and with the choice of images.

    Returns ``size``, and ``information`` and ``mismatch`` as lists (one value per subset). Their
    spread includes the choice of images, which the standard errors of :func:`kl_decomposition`
    leave out; their mean is the value at ``size`` images, not at all of them."""
    mu, logvar = _moments(mu, logvar)
    count = min(5, mu.shape[0] // size)
    parts = [kl_decomposition(mu[k * size:(k + 1) * size], logvar[k * size:(k + 1) * size], seed=seed)
             for k in range(count)]
    return {"size": size, "information": [p["information"] for p in parts], "mismatch": [p["mismatch"] for p in parts]}


def prior_coverage(mu: torch.Tensor, logvar: torch.Tensor, *, mass: float = 0.99, n_samples: int = 4_000,
                   seed: int = 0) -> float:
    r"""The book's first measure of completeness: the share of prior draws
    :math:`z \sim \mathcal N(0, I)` that land where the aggregate posterior has its mass.

    "Where it has its mass" is the smallest region holding ``mass`` of the aggregate posterior:
    :math:`\{z : \bar q(z) \ge \tau\}`, with :math:`\tau` the :math:`(1 - \text{mass})` quantile of
    :math:`\bar q(z)` at draws from :math:`\bar q(z)` itself. If :math:`\bar q(z)` were the prior, the
    share would be ``mass``; where the prior puts codes that no image has, it is smaller.

    It measures how well :math:`\bar q` matches the prior, not what the decoder draws. When every
    component is very narrow the region has almost no area and the share is near 0, however densely
    the codes lie; for a collapsed encoder, whose components are all the prior, it is near ``mass``.
    """
    mu, logvar = _moments(mu, logvar)
    g = torch.Generator().manual_seed(seed)
    picks = torch.randint(mu.shape[0], (n_samples,), generator=g)
    from_q = mu[picks] + torch.exp(0.5 * logvar[picks]) * torch.randn(n_samples, mu.shape[1], generator=g,
                                                                      dtype=torch.float64)
    threshold = torch.quantile(_log_q(from_q, mu, logvar), 1.0 - mass)
    from_prior = torch.randn(n_samples, mu.shape[1], generator=g, dtype=torch.float64)
    return float((_log_q(from_prior, mu, logvar) >= threshold).double().mean())
