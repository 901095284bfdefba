import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import Normal, kl_divergence as torch_kl

from vae_utils.losses import bernoulli_reconstruction_loss, kl_divergence, reconstruction_loss, vae_loss


def random_moments(n=16, j=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, j, generator=g) * 2, torch.randn(n, j, generator=g) * 1.5


def test_kl_matches_torch_distributions():
    mu, logvar = random_moments()
    expected = torch_kl(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(1).mean()
    torch.testing.assert_close(kl_divergence(mu, logvar), expected)


@pytest.mark.parametrize("mu, sigma", [(0.0, 1.0), (1.5, 0.5), (-2.0, 2.0), (0.3, 0.1)])
def test_kl_matches_monte_carlo_within_four_standard_errors(mu, sigma):
    mu_t = torch.tensor([[mu, -mu / 2]], dtype=torch.float64)
    sigma_t = torch.tensor([[sigma, 1.3 * sigma]], dtype=torch.float64)
    q, p = Normal(mu_t, sigma_t), Normal(0.0, 1.0)
    eps = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    z = mu_t + sigma_t * eps  # 200,000 draws from q
    log_ratio = (q.log_prob(z) - p.log_prob(z)).sum(-1).squeeze()
    estimate, stderr = log_ratio.mean(), log_ratio.std() / math.sqrt(len(log_ratio))
    closed = kl_divergence(mu_t, 2 * torch.log(sigma_t))
    assert abs(float(closed - estimate)) <= 4 * float(stderr) + 1e-12


def test_kl_is_exactly_zero_at_the_prior():
    assert kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0


@settings(max_examples=300, deadline=None)
@given(
    mu=st.lists(st.floats(-1e3, 1e3, width=32), min_size=1, max_size=6),
    logvar=st.lists(st.floats(-30, 30, width=32), min_size=6, max_size=6),
)
def test_kl_is_nonnegative_and_finite(mu, logvar):
    mu_t = torch.tensor(mu).unsqueeze(0)
    lv_t = torch.tensor(logvar[: len(mu)]).unsqueeze(0)
    kl = kl_divergence(mu_t, lv_t)
    assert torch.isfinite(kl) and kl.item() >= 0.0


def test_reconstruction_is_unit_gaussian_nll_minus_its_constant(small_batch):
    x, _ = small_batch
    x_hat = torch.rand(x.shape, generator=torch.Generator().manual_seed(0))
    n, d = x.shape[0], 784
    nll = torch.nn.GaussianNLLLoss(full=True, reduction="sum")(x_hat, x, torch.ones_like(x)) / n
    torch.testing.assert_close(reconstruction_loss(x_hat, x), nll - d / 2 * math.log(2 * math.pi))
    own = -Normal(x_hat, 1.0).log_prob(x).flatten(1).sum(1).mean()
    torch.testing.assert_close(reconstruction_loss(x_hat, x), own - d / 2 * math.log(2 * math.pi))


def test_bernoulli_reconstruction_is_summed_cross_entropy(small_batch):
    x, _ = small_batch
    x_hat = torch.rand(x.shape, generator=torch.Generator().manual_seed(0)).clamp(0.01, 0.99)
    manual = -(x * x_hat.log() + (1 - x) * (1 - x_hat).log()).flatten(1).sum(1).mean()
    torch.testing.assert_close(bernoulli_reconstruction_loss(x_hat, x), manual)


def test_vae_loss_is_reconstruction_plus_beta_kl(small_batch):
    x, _ = small_batch
    x_hat = torch.rand(x.shape, generator=torch.Generator().manual_seed(0))
    mu, logvar = random_moments(n=x.shape[0], j=2)
    for beta in (0.0, 1.0, 4.0):
        total, recon, kl = vae_loss(x_hat, x, mu, logvar, beta=beta)
        torch.testing.assert_close(total, recon + beta * kl)
    assert vae_loss(x_hat, x, mu, logvar, beta=0)[0] == reconstruction_loss(x_hat, x)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda x, m: vae_loss(x, x[:, :, :14], m, m), "x_hat"),
        (lambda x, m: vae_loss(x[:2], x[:3], m, m), "x_hat"),
        (lambda x, m: vae_loss(x, x, m, m, beta=-1.0), "beta"),
        (lambda x, m: vae_loss(x, x, m, m, beta=float("nan")), "beta"),
        (lambda x, m: vae_loss(x, x, m, m, beta=True), "beta"),
        (lambda x, m: vae_loss(x, x, m, m, beta=float("inf")), "beta"),
        (lambda x, m: vae_loss(x, x, m, m, beta="1"), "beta"),
        (lambda x, m: vae_loss(x, x, m, m, likelihood="laplace"), "likelihood"),
        (lambda x, m: vae_loss(x, x, m, m, likelihood=None), "likelihood"),
        (lambda x, m: vae_loss(None, x, m, m), "x_hat"),
        (lambda x, m: vae_loss(x[:0], x[:0], m[:0], m[:0]), "x"),  # an empty batch has no average loss
    ],
)
def test_the_readers_choices_are_checked(small_batch, call, name):
    """The formulas trust their callers (the model checks the images); the choices a reader makes
    in a call, beta and the likelihood, and the pairing of x_hat with x, are checked."""
    x, _ = small_batch
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call(x[:4], torch.zeros(4, 2))


def test_stacked_models_get_one_loss_each(small_batch):
    x, _ = small_batch
    x_hat = torch.rand(3, *x.shape, generator=torch.Generator().manual_seed(0))
    mu, logvar = random_moments(n=x.shape[0], j=2)
    beta = torch.tensor([0.0, 1.0, 4.0])
    total, recon, kl = vae_loss(x_hat, x, mu.expand(3, -1, -1), logvar.expand(3, -1, -1), beta=beta)
    assert total.shape == recon.shape == kl.shape == (3,)
    for k in range(3):
        alone = vae_loss(x_hat[k], x, mu, logvar, beta=float(beta[k]))
        torch.testing.assert_close(torch.stack([total[k], recon[k], kl[k]]), torch.stack(alone))
    bce = vae_loss(x_hat, x, mu.expand(3, -1, -1), logvar.expand(3, -1, -1), likelihood="bernoulli")[1]
    torch.testing.assert_close(bce[2], vae_loss(x_hat[2], x, mu, logvar, likelihood="bernoulli")[1])


def test_kl_per_dimension_sums_to_the_kl():
    from vae_utils.losses import kl_divergence, kl_per_dimension

    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(7, 3, generator=g), torch.randn(7, 3, generator=g)
    per_dim = kl_per_dimension(mu, logvar)
    assert per_dim.shape == (7, 3) and bool((per_dim >= 0).all())
    torch.testing.assert_close(per_dim.sum(1).mean(), kl_divergence(mu, logvar))
    # a coordinate at the prior costs nothing
    assert kl_per_dimension(torch.zeros(2, 1), torch.zeros(2, 1)).abs().max() == 0
