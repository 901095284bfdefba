"""The linear-Gaussian helpers of chapter 00, checked against torch.distributions and Monte Carlo,
and kept small (and exact) at scale; a covariance that is not one is refused."""
import math

import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from vae_utils.elbo import LinearGaussian, gaussian_kl


@pytest.fixture
def model():
    g = torch.Generator().manual_seed(0)
    return LinearGaussian(torch.randn(5, 2, generator=g, dtype=torch.float64),
                          torch.randn(5, generator=g, dtype=torch.float64), sigma=0.7)


@pytest.fixture
def x(model):
    return model.W @ torch.tensor([0.5, -1.0], dtype=torch.float64) + model.b + 0.3


def test_log_evidence_matches_torch_distributions(model, x):
    marginal = MultivariateNormal(model.b, covariance_matrix=model.W @ model.W.T + 0.49 * torch.eye(5, dtype=torch.float64))
    assert model.log_evidence(x).item() == pytest.approx(marginal.log_prob(x).item(), abs=1e-12)


def test_posterior_is_bayes_rule(model, x):
    m_star, S_star = model.posterior(x)
    post = MultivariateNormal(m_star, covariance_matrix=S_star)
    prior = MultivariateNormal(torch.zeros(2, dtype=torch.float64), covariance_matrix=torch.eye(2, dtype=torch.float64))
    for z in torch.randn(4, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64):
        lik = MultivariateNormal(model.W @ z + model.b, covariance_matrix=0.49 * torch.eye(5, dtype=torch.float64))
        # log p(z | x) = log p(z) + log p(x | z) - log p(x), at every z
        assert post.log_prob(z).item() == pytest.approx(
            (prior.log_prob(z) + lik.log_prob(x) - model.log_evidence(x)).item(), abs=1e-10)


@pytest.mark.parametrize("m, S", [
    ([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]]),
    ([1.0, -2.0], [[0.3, 0.1], [0.1, 0.2]]),
    ([-0.5, 0.4], [[2.0, -0.5], [-0.5, 0.6]]),
])
def test_elbo_plus_gap_is_the_log_evidence(model, x, m, S):
    m, S = torch.tensor(m, dtype=torch.float64), torch.tensor(S, dtype=torch.float64)
    assert (model.elbo(x, m, S) + model.gap(x, m, S)).item() == pytest.approx(model.log_evidence(x).item(), abs=1e-10)
    assert model.elbo(x, m, S) < model.log_evidence(x)
    # The gap is torch's own KL to the true posterior.
    post = MultivariateNormal(*model.posterior(x))
    assert model.gap(x, m, S).item() == pytest.approx(kl_divergence(MultivariateNormal(m, S), post).item(), abs=1e-10)


def test_elbo_is_maximal_at_the_posterior(model, x):
    m_star, S_star = model.posterior(x)
    assert model.gap(x, m_star, S_star).item() == pytest.approx(0.0, abs=1e-12)
    assert model.elbo(x, m_star, S_star).item() == pytest.approx(model.log_evidence(x).item(), abs=1e-10)
    for dm in ([0.05, 0.0], [0.0, -0.05]):
        assert model.elbo(x, m_star + torch.tensor(dm, dtype=torch.float64), S_star) < model.elbo(x, m_star, S_star)
    assert model.elbo(x, m_star, 1.1 * S_star) < model.elbo(x, m_star, S_star)


def test_monte_carlo_bounds_agree_and_climb(model, x):
    m, S = torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)  # q = the prior
    elbo_mc, se = model.importance_weighted_bound(x, m, S, K=1, n_estimates=20_000)
    assert abs(elbo_mc - model.elbo(x, m, S).item()) <= 4 * se
    bounds = [model.importance_weighted_bound(x, m, S, K=k, n_estimates=2000)[0] for k in (1, 10, 100, 1000)]
    assert bounds == sorted(bounds) and bounds[-1] <= model.log_evidence(x).item() + 0.05
    assert model.log_evidence(x).item() - bounds[-1] < 0.2 * (model.log_evidence(x).item() - bounds[0])


def test_general_kl_matches_torch():
    m0, m1 = torch.tensor([0.3, -1.0], dtype=torch.float64), torch.tensor([1.0, 0.5], dtype=torch.float64)
    S0 = torch.tensor([[1.0, 0.2], [0.2, 0.5]], dtype=torch.float64)
    S1 = torch.tensor([[2.0, -0.3], [-0.3, 1.5]], dtype=torch.float64)
    expected = kl_divergence(MultivariateNormal(m0, S0), MultivariateNormal(m1, S1)).item()
    assert gaussian_kl(m0, S0, m1, S1).item() == pytest.approx(expected, abs=1e-12)
    assert gaussian_kl(m0, S0, m0, S0).item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("S", [-torch.eye(2), torch.diag(torch.tensor([1.0, -1.0])), -2 * torch.eye(2),
                               torch.tensor([[1.0, 0.5], [0.0, 1.0]])])
def test_a_covariance_that_is_not_symmetric_positive_definite_is_refused(S):
    """A reader builds q = N(m, S) by hand in chapter 00; -2 I would give a finite, wrong KL (its
    log-determinant is that of 2 I), so S is checked where a formula takes it."""
    model = LinearGaussian(torch.ones(3, 2), torch.zeros(3), 1.0)
    x, m = torch.zeros(3), torch.zeros(2)
    for call in (lambda: model.elbo(x, m, S), lambda: model.gap(x, m, S),
                 lambda: model.importance_weighted_bound(x, m, S, K=2, n_estimates=4),
                 lambda: gaussian_kl(torch.zeros(2), S, torch.zeros(2), torch.eye(2))):
        with pytest.raises(ValueError, match="^S0? must be a symmetric positive definite matrix"):
            call()


def test_the_vaes_likelihood_is_one_of_the_two(small_vae):
    from vae_utils.elbo import vae_log_likelihood

    with pytest.raises(ValueError, match="^likelihood"):  # any other name would silently be the Bernoulli's
        vae_log_likelihood(small_vae().eval(), torch.rand(2, 1, 28, 28), K=2, likelihood="gausian")


def test_importance_sampling_and_the_linear_gaussian_model_stay_small_at_scale():
    g = torch.Generator().manual_seed(0)
    big = LinearGaussian(torch.randn(30_000, 2, generator=g, dtype=torch.float64),
                         torch.zeros(30_000, dtype=torch.float64), 1.0)
    x = big.W @ torch.tensor([0.3, -0.2], dtype=torch.float64)
    m, S = big.posterior(x)
    assert abs(float(big.log_evidence(x) - big.elbo(x, m, S))) < 1e-6  # no D x D matrix: seconds, not 7 GB
    mid = LinearGaussian(torch.randn(784, 2, generator=g, dtype=torch.float64),
                         torch.zeros(784, dtype=torch.float64), 1.0)
    value, se = mid.importance_weighted_bound(mid.W @ torch.ones(2, dtype=torch.float64), torch.zeros(2).double(),
                                             torch.eye(2).double(), K=1000, n_estimates=40)  # chunked
    assert math.isfinite(value) and se >= 0


@pytest.mark.parametrize("scale, sigma", [(1e8, 1.0), (1.0, 1e-8)])
def test_the_linear_gaussian_model_keeps_its_identity_at_extreme_scales(scale, sigma):
    g = torch.Generator().manual_seed(1)
    W = torch.randn(5, 2, generator=g, dtype=torch.float64) * scale
    model = LinearGaussian(W, torch.zeros(5, dtype=torch.float64), sigma)
    x = W @ torch.tensor([0.5, -1.0], dtype=torch.float64) + sigma * torch.randn(5, generator=g, dtype=torch.float64)
    m, S = model.posterior(x)
    log_px, at_posterior = float(model.log_evidence(x)), float(model.elbo(x, m, S))
    assert math.isfinite(log_px) and abs(log_px - at_posterior) <= 1e-6 * max(1.0, abs(log_px))
