r"""A latent-variable model where everything is closed-form: the linear-Gaussian model.

.. math::
    z \sim \mathcal N(0, I_J), \qquad x \mid z \sim \mathcal N(Wz + b,\ \sigma^2 I_D).

Its evidence :math:`p(x)`, its true posterior :math:`p(z \mid x)` and the ELBO of any Gaussian
:math:`q(z) = \mathcal N(m, S)` are exact formulas, so the identity
:math:`\log p(x) = \mathrm{ELBO}(q) + D_{KL}(q \,\|\, p(z \mid x))` can be checked to float
precision. All computations are in float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import _checks


def _vector(v, name: str, size: int | None = None) -> torch.Tensor:
    _checks.float_tensor(v, name, ndim=1)
    if size is not None and v.shape[0] != size:
        raise ValueError(f"{name} must have shape [{size}], got {tuple(v.shape)}")
    if not bool(torch.isfinite(v).all()):
        raise ValueError(f"{name} must hold finite values")
    return v.double()


def _covariance(S, name: str, size: int) -> torch.Tensor:
    _checks.float_tensor(S, name, ndim=2)
    if tuple(S.shape) != (size, size):
        raise ValueError(f"{name} must have shape [{size}, {size}], got {tuple(S.shape)}")
    S = S.double()
    if not bool(torch.isfinite(S).all()) or not torch.allclose(S, S.T):
        raise ValueError(f"{name} must be a finite symmetric matrix")
    if torch.linalg.cholesky_ex(S).info != 0:
        raise ValueError(f"{name} must be positive definite")
    return S


def gaussian_kl(m0: torch.Tensor, S0: torch.Tensor, m1: torch.Tensor, S1: torch.Tensor) -> torch.Tensor:
    r"""KL divergence between two multivariate Gaussians (float64 scalar).

    .. math:: D_{KL}(\mathcal N(m_0, S_0) \,\|\, \mathcal N(m_1, S_1)) = \tfrac12\Big[
        \operatorname{tr}(S_1^{-1}S_0) + (m_1 - m_0)^\top S_1^{-1}(m_1 - m_0) - J
        + \log\det S_1 - \log\det S_0\Big]
    """
    m0 = _vector(m0, "m0")
    J = m0.shape[0]
    m1 = _vector(m1, "m1", J)
    S0, S1 = _covariance(S0, "S0", J), _covariance(S1, "S1", J)
    diff = m1 - m0
    return 0.5 * (torch.trace(torch.linalg.solve(S1, S0)) + diff @ torch.linalg.solve(S1, diff) - J
                  + torch.logdet(S1) - torch.logdet(S0))


@dataclass(frozen=True)
class LinearGaussian:
    r"""The model :math:`z \sim \mathcal N(0, I_J)`, :math:`x \mid z \sim \mathcal N(Wz + b, \sigma^2 I_D)`.

    ``W`` is ``[D, J]``, ``b`` is ``[D]`` and ``sigma`` a positive number.
    """

    W: torch.Tensor
    b: torch.Tensor
    sigma: float

    def __post_init__(self):
        _checks.float_tensor(self.W, "W", ndim=2)
        if not bool(torch.isfinite(self.W).all()):
            raise ValueError("W must hold finite values")
        object.__setattr__(self, "W", self.W.double())
        object.__setattr__(self, "b", _vector(self.b, "b", self.W.shape[0]))
        object.__setattr__(self, "sigma", _checks.finite_number(self.sigma, "sigma", minimum=0.0, strict=True))

    @property
    def D(self) -> int:
        return self.W.shape[0]

    @property
    def J(self) -> int:
        return self.W.shape[1]

    def _x(self, x) -> torch.Tensor:
        return _vector(x, "x", self.D)

    def log_evidence(self, x: torch.Tensor) -> torch.Tensor:
        r"""The exact :math:`\log p(x)`: :math:`x \sim \mathcal N(b,\ WW^\top + \sigma^2 I_D)`, so

        .. math:: \log p(x) = -\tfrac12\big[D\log 2\pi + \log\det C + (x - b)^\top C^{-1} (x - b)\big],
            \quad C = WW^\top + \sigma^2 I_D.
        """
        r = self._x(x) - self.b
        C = self.W @ self.W.T + self.sigma**2 * torch.eye(self.D, dtype=torch.float64)
        return -0.5 * (self.D * math.log(2 * math.pi) + torch.logdet(C) + r @ torch.linalg.solve(C, r))

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""The true posterior :math:`p(z \mid x) = \mathcal N(m^*, S^*)` as ``(m_star, S_star)``:

        .. math:: S^* = \big(I_J + W^\top W / \sigma^2\big)^{-1}, \qquad m^* = S^* W^\top (x - b) / \sigma^2 .
        """
        r = self._x(x) - self.b
        S = torch.linalg.inv(torch.eye(self.J, dtype=torch.float64) + self.W.T @ self.W / self.sigma**2)
        S = 0.5 * (S + S.T)  # exactly symmetric
        return S @ self.W.T @ r / self.sigma**2, S

    def expected_log_likelihood(self, x: torch.Tensor, m: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
        r""":math:`\mathbb E_{q}[\log p(x \mid z)]` for :math:`q = \mathcal N(m, S)`:

        .. math:: -\tfrac D2 \log(2\pi\sigma^2) - \frac{1}{2\sigma^2}\Big[\lVert x - Wm - b\rVert^2
            + \operatorname{tr}(W S W^\top)\Big]
        """
        x = self._x(x)
        m, S = _vector(m, "m", self.J), _covariance(S, "S", self.J)
        residual = x - self.W @ m - self.b
        return (-0.5 * self.D * math.log(2 * math.pi * self.sigma**2)
                - (residual @ residual + torch.trace(self.W @ S @ self.W.T)) / (2 * self.sigma**2))

    def elbo(self, x: torch.Tensor, m: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
        r"""The exact ELBO of :math:`q = \mathcal N(m, S)`:
        :math:`\mathbb E_q[\log p(x \mid z)] - D_{KL}(q \,\|\, \mathcal N(0, I_J))`."""
        prior = torch.zeros(self.J, dtype=torch.float64), torch.eye(self.J, dtype=torch.float64)
        return self.expected_log_likelihood(x, m, S) - gaussian_kl(m, S, *prior)

    def gap(self, x: torch.Tensor, m: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
        r"""The gap :math:`D_{KL}(q \,\|\, p(z \mid x))` for :math:`q = \mathcal N(m, S)`."""
        m, S = _vector(m, "m", self.J), _covariance(S, "S", self.J)
        return gaussian_kl(m, S, *self.posterior(x))

    def importance_weighted_bound(self, x: torch.Tensor, m: torch.Tensor, S: torch.Tensor, K: int, *,
                                  n_estimates: int = 2000, seed: int = 0) -> tuple[float, float]:
        r"""Monte Carlo estimate of the importance-weighted bound with ``K`` samples, and its standard error.

        .. math:: \mathcal L_K = \mathbb E\Big[\log \frac1K \sum_{k=1}^K \frac{p(x, z_k)}{q(z_k)}\Big],
            \qquad z_k \sim q = \mathcal N(m, S).

        :math:`\mathcal L_1` is the ELBO; :math:`\mathcal L_K` rises towards :math:`\log p(x)` as ``K`` grows.
        The densities come from ``torch.distributions``, not from this class's formulas.
        """
        from torch.distributions import MultivariateNormal, Normal

        x = self._x(x)
        m, S = _vector(m, "m", self.J), _covariance(S, "S", self.J)
        K = _checks.positive_int(K, "K")
        n_estimates = _checks.positive_int(n_estimates, "n_estimates", minimum=2)
        seed = _checks.seed(seed, "seed")
        q = MultivariateNormal(m, covariance_matrix=S)
        prior = MultivariateNormal(torch.zeros(self.J, dtype=torch.float64),
                                   covariance_matrix=torch.eye(self.J, dtype=torch.float64))
        g = torch.Generator().manual_seed(seed)
        eps = torch.randn(n_estimates, K, self.J, generator=g, dtype=torch.float64)
        z = m + eps @ torch.linalg.cholesky(S).T  # [n_estimates, K, J]
        log_lik = Normal(z @ self.W.T + self.b, self.sigma).log_prob(x).sum(-1)
        log_w = prior.log_prob(z) + log_lik - q.log_prob(z)
        estimates = torch.logsumexp(log_w, dim=1) - math.log(K)
        return float(estimates.mean()), float(estimates.std() / math.sqrt(n_estimates))
