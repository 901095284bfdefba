r"""The ELBO where everything is exact, and the importance-weighted bound where it is not.

:class:`LinearGaussian` is the latent-variable model of chapter 00,

.. math::
    z \sim \mathcal N(0, I_J), \qquad x \mid z \sim \mathcal N(Wz + b,\ \sigma_x^2 I_D),

whose evidence :math:`p(x)`, true posterior :math:`p(z \mid x)` and the ELBO of any Gaussian
:math:`q(z) = \mathcal N(m, S)` are exact formulas, so the identity
:math:`\log p(x) = \mathrm{ELBO}(q) + D_{KL}(q \,\|\, p(z \mid x))` can be checked to float
precision. All computations are in float64 and in the :math:`J \times J` form (matrix
determinant lemma and Woodbury identity), so :math:`D` may be large. The formulas trust their
callers, except for a covariance :math:`S` of :math:`q`: a reader builds those by hand, and one
that is not symmetric positive definite would give a wrong number rather than an error.

:func:`importance_weighted_bound` and :func:`vae_log_likelihood` estimate the bound
:math:`\mathcal L_K` by Monte Carlo: for the linear-Gaussian model, and for the book's trained VAEs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch.distributions import MultivariateNormal, Normal

from . import _checks
from .losses import LIKELIHOODS, bernoulli_reconstruction_loss, reconstruction_loss
from .models import device_of

CHUNK = 2**24  # numbers in one chunk of samples (128 MB in float64): memory stays bounded whatever K is


def _covariance(S: torch.Tensor, name: str) -> torch.Tensor:
    """``S`` in float64, refused unless symmetric positive definite (else the KL is silently wrong)."""
    S = S.double()
    if not torch.allclose(S, S.T) or torch.linalg.cholesky_ex(S).info != 0:
        raise ValueError(f"{name} must be a symmetric positive definite matrix")
    return S


def gaussian_kl(m0: torch.Tensor, S0: torch.Tensor, m1: torch.Tensor, S1: torch.Tensor) -> torch.Tensor:
    r"""KL divergence between two multivariate Gaussians (float64 scalar).

    .. math:: D_{KL}(\mathcal N(m_0, S_0) \,\|\, \mathcal N(m_1, S_1)) = \tfrac12\Big[
        \operatorname{tr}(S_1^{-1}S_0) + (m_1 - m_0)^\top S_1^{-1}(m_1 - m_0) - J
        + \log\det S_1 - \log\det S_0\Big]
    """
    m0, m1, J = m0.double(), m1.double(), m0.shape[0]
    S0, S1 = _covariance(S0, "S0"), _covariance(S1, "S1")
    diff = m1 - m0
    return 0.5 * (torch.trace(torch.linalg.solve(S1, S0)) + diff @ torch.linalg.solve(S1, diff) - J
                  + torch.logdet(S1) - torch.logdet(S0))


def importance_weighted_bound(log_weights: torch.Tensor) -> torch.Tensor:
    r""":math:`\log \frac1K \sum_{k=1}^K w_k` from the log-weights ``[..., K]``: one estimate of
    :math:`\mathcal L_K` per row, computed stably as ``logsumexp - log K``."""
    return torch.logsumexp(log_weights, dim=-1) - math.log(log_weights.shape[-1])


@dataclass(frozen=True)
class LinearGaussian:
    r"""The model :math:`z \sim \mathcal N(0, I_J)`, :math:`x \mid z \sim \mathcal N(Wz + b, \sigma_x^2 I_D)`.

    ``W`` is ``[D, J]``, ``b`` is ``[D]`` and ``sigma`` (:math:`\sigma_x`) a positive number.
    """

    W: torch.Tensor
    b: torch.Tensor
    sigma: float

    def __post_init__(self):
        object.__setattr__(self, "W", self.W.double())
        object.__setattr__(self, "b", self.b.double())
        object.__setattr__(self, "sigma", float(self.sigma))

    @property
    def D(self) -> int:
        return self.W.shape[0]

    @property
    def J(self) -> int:
        return self.W.shape[1]

    def _x(self, x) -> torch.Tensor:
        return x.double()

    def _precision(self) -> torch.Tensor:
        r""":math:`M = I_J + W^\top W / \sigma_x^2`, the posterior precision."""
        return torch.eye(self.J, dtype=torch.float64) + self.W.T @ self.W / self.sigma**2

    def log_evidence(self, x: torch.Tensor) -> torch.Tensor:
        r"""The exact :math:`\log p(x)`: :math:`x \sim \mathcal N(b,\ C)` with :math:`C = WW^\top + \sigma_x^2 I_D`, so

        .. math:: \log p(x) = -\tfrac12\big[D\log 2\pi + \log\det C + (x - b)^\top C^{-1} (x - b)\big],

        evaluated with only :math:`J \times J` matrices: :math:`\log\det C = D\log\sigma_x^2 + \log\det M`
        (matrix determinant lemma, :math:`M = I_J + W^\top W/\sigma_x^2`) and
        :math:`(x-b)^\top C^{-1}(x-b) = \lVert x - b - Wm^*\rVert^2/\sigma_x^2 + \lVert m^*\rVert^2` (Woodbury, with
        the posterior mean :math:`m^*`), a sum of squares that loses no digits to cancellation.
        """
        r = self._x(x) - self.b
        L, m = self._posterior_mean(r)
        residual = r - self.W @ m
        quadratic = residual @ residual / self.sigma**2 + m @ m
        logdet = self.D * math.log(self.sigma**2) + 2 * torch.log(torch.diagonal(L)).sum()
        return -0.5 * (self.D * math.log(2 * math.pi) + logdet + quadratic)

    def _posterior_mean(self, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The Cholesky factor of M and the posterior mean m* = M^{-1} W^T r / sigma_x^2."""
        L = torch.linalg.cholesky(self._precision())
        return L, torch.cholesky_solve((self.W.T @ r / self.sigma**2).unsqueeze(1), L).squeeze(1)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""The true posterior :math:`p(z \mid x) = \mathcal N(m^*, S^*)` as ``(m_star, S_star)``:

        .. math:: S^* = \big(I_J + W^\top W / \sigma_x^2\big)^{-1}, \qquad m^* = S^* W^\top (x - b) / \sigma_x^2 .
        """
        L, m = self._posterior_mean(self._x(x) - self.b)
        S = torch.cholesky_inverse(L)
        return m, 0.5 * (S + S.T)  # exactly symmetric

    def expected_log_likelihood(self, x: torch.Tensor, m: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
        r""":math:`\mathbb E_{q}[\log p(x \mid z)]` for :math:`q = \mathcal N(m, S)`:

        .. math:: -\tfrac D2 \log(2\pi\sigma_x^2) - \frac{1}{2\sigma_x^2}\Big[\lVert x - Wm - b\rVert^2
            + \operatorname{tr}(W S W^\top)\Big]
        """
        x, m, S = self._x(x), m.double(), _covariance(S, "S")
        residual = x - self.W @ m - self.b
        trace = torch.trace(S @ (self.W.T @ self.W))  # tr(W S W^T), in J x J
        return (-0.5 * self.D * math.log(2 * math.pi * self.sigma**2)
                - (residual @ residual + trace) / (2 * self.sigma**2))

    def elbo(self, x: torch.Tensor, m: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
        r"""The exact ELBO of :math:`q = \mathcal N(m, S)`:
        :math:`\mathbb E_q[\log p(x \mid z)] - D_{KL}(q \,\|\, \mathcal N(0, I_J))`."""
        prior = torch.zeros(self.J, dtype=torch.float64), torch.eye(self.J, dtype=torch.float64)
        return self.expected_log_likelihood(x, m, S) - gaussian_kl(m, S, *prior)

    def gap(self, x: torch.Tensor, m: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
        r"""The gap :math:`D_{KL}(q \,\|\, p(z \mid x))` for :math:`q = \mathcal N(m, S)`."""
        return gaussian_kl(m, S, *self.posterior(x))

    def importance_weighted_bound(self, x: torch.Tensor, m: torch.Tensor, S: torch.Tensor, K: int, *,
                                  n_estimates: int = 2000, seed: int = 0) -> tuple[float, float]:
        r"""Monte Carlo estimate of the importance-weighted bound with ``K`` samples, and its standard error.

        .. math:: \mathcal L_K = \mathbb E\Big[\log \frac1K \sum_{k=1}^K \frac{p(x, z_k)}{q(z_k)}\Big],
            \qquad z_k \sim q = \mathcal N(m, S).

        :math:`\mathcal L_1` is the ELBO; :math:`\mathcal L_K` rises towards :math:`\log p(x)` as ``K`` grows.
        The densities come from ``torch.distributions``, not from this class's formulas. The samples
        are drawn in chunks, so memory stays bounded whatever ``K``, ``n_estimates`` and ``D`` are.
        """
        x, m, S = self._x(x), m.double(), _covariance(S, "S")
        q = MultivariateNormal(m, covariance_matrix=S)
        prior = MultivariateNormal(torch.zeros(self.J, dtype=torch.float64),
                                   covariance_matrix=torch.eye(self.J, dtype=torch.float64))
        g = torch.Generator().manual_seed(seed)
        chol = torch.linalg.cholesky(S)
        rows = max(1, CHUNK // (K * max(self.D, self.J)))
        estimates = []
        for start in range(0, n_estimates, rows):
            eps = torch.randn(min(rows, n_estimates - start), K, self.J, generator=g, dtype=torch.float64)
            z = m + eps @ chol.T  # [rows, K, J]
            log_lik = Normal(z @ self.W.T + self.b, self.sigma).log_prob(x).sum(-1)
            estimates.append(importance_weighted_bound(prior.log_prob(z) + log_lik - q.log_prob(z)))
        estimates = torch.cat(estimates)
        return float(estimates.mean()), float(estimates.std() / math.sqrt(n_estimates))


@torch.no_grad()
def vae_log_likelihood(model, images: torch.Tensor, K: int, *, likelihood: str = "gaussian",
                       seed: int = 0) -> torch.Tensor:
    r"""One estimate of :math:`\mathcal L_K` per image for one of the book's VAEs, in nats (float64).

    .. math:: \mathcal L_K(x) = \log \frac1K \sum_{k=1}^K \frac{p_\theta(x \mid z_k)\, p(z_k)}{q_\phi(z_k \mid x)},
        \qquad z_k \sim q_\phi(z \mid x),

    with the *full* log-likelihood of the decoder: a Gaussian with :math:`\sigma_x = 1`, constant
    :math:`\tfrac D2\log 2\pi` included, or a Bernoulli. ``K=1`` is a one-sample estimate of the
    ELBO; as ``K`` grows the estimates rise towards :math:`\log p_\theta(x)`. Samples are drawn in
    chunks, so memory stays bounded (a few hundred MB) whatever ``K`` is.
    """
    model.eval()
    _checks.one_of(likelihood, "likelihood", LIKELIHOODS)  # any other value would silently be the Bernoulli's
    g = torch.Generator().manual_seed(seed)
    dev, D = device_of(model), 784
    per_chunk = max(1, CHUNK // (K * D))  # images per chunk: K decodes of 784 pixels each, about 200 MB
    out = []
    for x in images.split(per_chunk):
        x = x.to(dev)
        mu, logvar = model.encode(x)  # [n, J]
        sigma = torch.exp(0.5 * logvar)
        eps = torch.randn(K, *mu.shape, generator=g).to(dev, mu.dtype)
        z = mu + sigma * eps  # [K, n, J]
        x_hat = model.decoder(z.flatten(0, 1)).view(K, x.shape[0], 1, 28, 28)
        # Each image as a batch of its own (the unsqueezes), so the losses give one value per (k, image).
        if likelihood == "gaussian":
            err = 2 * reconstruction_loss(x_hat.unsqueeze(2), x.unsqueeze(1)).double()  # per image: ||x - x_hat||^2
            log_lik = -0.5 * err - D / 2 * math.log(2 * math.pi)
        else:
            log_lik = -bernoulli_reconstruction_loss(x_hat.unsqueeze(2), x.unsqueeze(1)).double()
        log_prior = Normal(0.0, 1.0).log_prob(z.double()).sum(-1)
        log_q = Normal(mu.double(), sigma.double()).log_prob(z.double()).sum(-1)
        out.append(importance_weighted_bound((log_lik + log_prior - log_q).T).cpu())  # [n]
    return torch.cat(out)


class GridLikelihood(NamedTuple):
    """:func:`grid_log_likelihood`'s result, per image: log p(x), and the checks of the grid."""

    log_px: torch.Tensor  # [n] nats, float64
    coarse: torch.Tensor  # [n] the same sum with twice the spacing: the spacing is fine enough where they agree
    edge_mass: torch.Tensor  # [n] share of the posterior within one unit of the square's edge: small if wide enough
    mean: torch.Tensor  # [n, 2] posterior mean
    cov: torch.Tensor  # [n, 2, 2] posterior covariance


def _gaussian_log_lik(model, z: torch.Tensor, x: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    r""":math:`\log \mathcal N(x; \hat x(z), I)` for every image and code: ``[n, g]`` in float64,
    from :math:`\lVert x\rVert^2 - 2 x^\top\hat x + \lVert\hat x\rVert^2` (one matrix product)."""
    x_hat = model.decoder(z.to(next(model.parameters()))).flatten(1).double().cpu()
    err = x2[:, None] - 2 * x @ x_hat.T + x_hat.pow(2).sum(1)[None, :]
    return -0.5 * err - x.shape[1] / 2 * math.log(2 * math.pi)


@torch.no_grad()
def grid_log_likelihood(model, images: torch.Tensor, *, radius: float = 10.0, spacing: float = 0.05) -> GridLikelihood:
    r""":math:`\log p_\theta(x) = \log \int p_\theta(x \mid z)\, p(z)\, dz` of a 2-D model, per image,
    by a Riemann sum over the square :math:`(-r, r)^2` with cells of side ``spacing``:

    .. math:: \log p_\theta(x) \approx \log \sum_g h^2\, \mathcal N(x; \hat x(z_g), I)\, \mathcal N(z_g; 0, I),

    with the Gaussian decoder of :math:`\sigma_x = 1`, constant included (as in
    :func:`vae_log_likelihood`). No proposal, no encoder: the number is the model's. It is exact up
    to the grid, and the result carries its checks: the same sum with twice the spacing, and the
    posterior's share near the edge. The grid is walked in chunks, so memory stays bounded."""
    model.eval()
    steps = round(2 * radius / spacing)
    if steps % 2:  # the coarse sum's cells would not tile the square: its check would be wrong, silently
        raise ValueError(f"spacing must divide 2 * radius into an even number of cells, got {steps}")
    centres = -radius + spacing * (torch.arange(steps, dtype=torch.float64) + 0.5)
    x = images.flatten(1).double().cpu()
    x2 = x.pow(2).sum(1)
    n = x.shape[0]
    fine, coarse = _StreamingLogSum(n), _StreamingLogSum(n)
    log_cell = 2 * math.log(spacing)
    for row in centres.split(max(1, 4096 // steps)):
        z = torch.cartesian_prod(row, centres)  # [g, 2]
        log_joint = _gaussian_log_lik(model, z, x, x2) - 0.5 * z.pow(2).sum(1) - math.log(2 * math.pi)
        fine.add(log_joint + log_cell, z, edge=(z.abs() > radius - 1).any(1))
        # Every other cell in each direction, with four times the area: the same sum at twice the spacing
        # (the cells of index 1, 3, 5, ...: centred like the cells of a grid of spacing 2h, off by h/2).
        index = ((z + radius) / spacing - 0.5).round().long()
        pick = (index % 2 == 1).all(1)
        coarse.add(log_joint[:, pick] + log_cell + math.log(4), z[pick], edge=None)
    mean, cov = fine.moments()
    return GridLikelihood(fine.total(), coarse.total(), fine.edge_share(), mean, cov)


class _StreamingLogSum:
    """log Σ exp(a_g) over chunks of g, per row, with the weighted mean and covariance of z and the
    weight on an edge set: a running maximum keeps every sum in range."""

    def __init__(self, n: int):
        self.m = torch.full((n,), -math.inf, dtype=torch.float64)
        self.s = torch.zeros(n, dtype=torch.float64)
        self.sz = torch.zeros(n, 2, dtype=torch.float64)
        self.szz = torch.zeros(n, 2, 2, dtype=torch.float64)
        self.edge = torch.zeros(n, dtype=torch.float64)

    def add(self, a: torch.Tensor, z: torch.Tensor, edge: torch.Tensor | None) -> None:
        m = torch.maximum(self.m, a.max(1).values)
        scale = torch.exp(self.m - m)
        w = torch.exp(a - m[:, None])  # [n, g]
        self.s = self.s * scale + w.sum(1)
        self.sz = self.sz * scale[:, None] + w @ z
        self.szz = self.szz * scale[:, None, None] + (w @ (z[:, :, None] * z[:, None, :]).flatten(1)).view(-1, 2, 2)
        if edge is not None:
            self.edge = self.edge * scale + w[:, edge].sum(1)
        self.m = m

    def total(self) -> torch.Tensor:
        return self.m + torch.log(self.s)

    def edge_share(self) -> torch.Tensor:
        return self.edge / self.s

    def moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.sz / self.s[:, None]
        return mean, self.szz / self.s[:, None, None] - mean[:, :, None] * mean[:, None, :]


@torch.no_grad()
def student_t_log_likelihood(model, images: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor, K: int, *,
                             df: int = 3, widen: float = 2.0, seed: int = 0) -> torch.Tensor:
    r"""A second estimate of :math:`\log p_\theta(x)`, per image: importance sampling with ``K`` draws
    from a heavy-tailed proposal, a multivariate Student t with ``df`` degrees of freedom centred on
    ``mean`` with scale matrix ``widen`` × ``cov`` (e.g. the posterior moments of
    :func:`grid_log_likelihood`). Its tails are heavier than the posterior's, so the weights stay
    bounded and the estimate converges, unlike :func:`vae_log_likelihood` with a needle-thin encoder."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    J = model.latent_dim
    scale = torch.linalg.cholesky(widen * cov.double() + 1e-9 * torch.eye(J, dtype=torch.float64))  # [n, J, J]
    x = images.flatten(1).double().cpu()
    n = x.shape[0]
    eps = torch.randn(n, K, J, generator=g, dtype=torch.float64)
    u = torch.randn(n, K, df, generator=g, dtype=torch.float64).pow(2).sum(2)  # chi-squared, df degrees of freedom
    z = mean.double()[:, None, :] + (eps @ scale.transpose(1, 2)) / torch.sqrt(u / df)[:, :, None]  # [n, K, J]
    # log density of the multivariate t: its normaliser, the log-determinant, the Mahalanobis term
    solved = torch.linalg.solve_triangular(scale, (z - mean.double()[:, None, :]).transpose(1, 2), upper=False)
    log_t = (math.lgamma((df + J) / 2) - math.lgamma(df / 2) - J / 2 * math.log(df * math.pi)
             - torch.log(torch.diagonal(scale, dim1=1, dim2=2)).sum(1)[:, None]
             - (df + J) / 2 * torch.log1p(solved.pow(2).sum(1) / df))
    log_lik = torch.empty(n, K, dtype=torch.float64)
    p = next(model.parameters())
    rows = max(1, CHUNK // (K * x.shape[1]))  # images per chunk
    for start in range(0, n, rows):
        zc = z[start:start + rows]
        x_hat = model.decoder(zc.flatten(0, 1).to(p)).flatten(1).double().cpu().view(zc.shape[0], K, -1)
        err = (x_hat - x[start:start + rows, None, :]).pow(2).sum(2)
        log_lik[start:start + rows] = -0.5 * err - x.shape[1] / 2 * math.log(2 * math.pi)
    log_joint = log_lik - 0.5 * z.pow(2).sum(2) - J / 2 * math.log(2 * math.pi)
    return torch.logsumexp(log_joint - log_t, 1) - math.log(K)
