"""log p(x) of a 2-D model computed exactly on a grid, a second way with a heavy-tailed proposal,
and the Fréchet distance of completeness: each checked against an independent computation."""
import numpy as np
import pytest
import torch
from scipy import linalg

from vae_utils import aggregate, elbo, metrics, plotting, set_seed
from vae_utils.models import VAE


@pytest.fixture(scope="module")
def linear_model():
    """A VAE whose decoder is linear, x̂(z) = W z + b: then p(x) = N(x; b, W Wᵀ + I) in closed form
    (elbo.LinearGaussian.log_evidence), the truth for the grid to meet."""
    set_seed(0)
    model = VAE(hidden=(32, 16)).eval()
    model.decoder = torch.nn.Sequential(torch.nn.Linear(2, 784), torch.nn.Unflatten(1, (1, 28, 28)))
    with torch.no_grad():
        model.decoder[0].weight.mul_(0.5)  # a posterior sd of about 0.2: four cells of 0.05 per sd
    W, b = model.decoder[0].weight.detach().double(), model.decoder[0].bias.detach().double()
    return model, elbo.LinearGaussian(W, b, 1.0)


def test_the_grid_meets_the_closed_form_log_evidence(linear_model, small_batch):
    model, exact = linear_model
    images = small_batch[0][:8]
    grid = elbo.grid_log_likelihood(model, images, radius=8.0, spacing=0.05)
    truth = torch.stack([exact.log_evidence(x.flatten().double()) for x in images])
    assert torch.allclose(grid.log_px, truth, atol=1e-6), (grid.log_px - truth).abs().max()
    assert (grid.log_px - grid.coarse).abs().max() < 1e-3 and grid.edge_mass.max() < 1e-6
    post_mean, _ = exact.posterior(images[0].flatten().double())
    assert torch.allclose(grid.mean[0], post_mean, atol=1e-6)


def test_the_heavy_tailed_proposal_meets_the_grid(linear_model, small_batch):
    model, _ = linear_model
    images = small_batch[0][:8]
    grid = elbo.grid_log_likelihood(model, images)
    second = elbo.student_t_log_likelihood(model, images, grid.mean, grid.cov, K=4000, seed=1)
    assert (second - grid.log_px).abs().max() < 0.02


def test_a_too_small_square_or_too_coarse_a_grid_shows_in_the_checks(linear_model, small_batch):
    model, _ = linear_model
    grid = elbo.grid_log_likelihood(model, small_batch[0][:4], radius=1.0, spacing=0.05)
    assert grid.edge_mass.max() > 0.5
    sharp, _ = linear_model[0], None
    with torch.no_grad():
        sharp.decoder[0].weight.mul_(6.0)  # posterior sd about 0.03: below the coarse grid's 0.1
    try:
        grid = elbo.grid_log_likelihood(sharp, small_batch[0][:4], spacing=0.05)
        assert (grid.log_px - grid.coarse).abs().max() > 0.01
    finally:
        with torch.no_grad():
            sharp.decoder[0].weight.div_(6.0)


def test_the_frechet_distance_is_the_one_scipy_computes():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(300, 4, generator=g, dtype=torch.float64) @ torch.randn(4, 4, generator=g, dtype=torch.float64)
    b = 0.5 + torch.randn(200, 4, generator=g, dtype=torch.float64) * torch.tensor([1.0, 2.0, 0.5, 1.5])
    ca, cb = np.cov(a.numpy().T), np.cov(b.numpy().T)
    root = linalg.sqrtm(ca @ cb).real
    expected = ((a.mean(0) - b.mean(0)).pow(2).sum().item() + np.trace(ca) + np.trace(cb) - 2 * np.trace(root))
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    # One dimension: (m_a - m_b)^2 + (s_a - s_b)^2
    x, y = torch.tensor([[0.0], [2.0]], dtype=torch.float64), torch.tensor([[1.0], [5.0]], dtype=torch.float64)
    assert metrics.frechet_distance(x, y) == pytest.approx((1 - 3) ** 2 + (2 ** 0.5 - 8 ** 0.5) ** 2)


def test_prior_frechet_distance_reports_its_floor_and_the_reconstructions(small_batch):
    set_seed(0)
    model = VAE(hidden=(32, 16)).eval()
    classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    found = metrics.prior_frechet_distance(model, classifier, small_batch[0], n_samples=64)
    assert all(v >= -1e-9 for v in (found.prior, found.reconstructions, found.real))


def test_subsets_of_the_aggregate_posterior_are_disjoint_slices():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(1100, 2, generator=g), torch.randn(1100, 2, generator=g) - 2
    found = aggregate.subset_decompositions(mu, logvar, 200)
    assert found["size"] == 200 and len(found["mismatch"]) == 5
    second = aggregate.kl_decomposition(mu[200:400], logvar[200:400])
    assert found["mismatch"][1] == second["mismatch"] and found["information"][1] == second["information"]


def test_the_rate_distortion_lines_keep_their_slopes_and_never_go_below_rate_zero():
    import matplotlib.pyplot as plt

    rates = {0.0: 40.0, 1.0: 4.0, 8.0: 0.01}
    distortions = {0.0: 14.0, 1.0: 16.0, 8.0: 26.0}
    fig, ax = plt.subplots()
    plotting.rate_distortion(rates, distortions, ax=ax)
    segments = [line for line in ax.get_lines() if len(line.get_xdata()) == 2]
    assert len(segments) == 3
    for beta, line in zip(sorted(rates), segments):
        (x0, x1), (y0, y1) = line.get_xdata(), line.get_ydata()
        assert min(x0, x1) >= 0 and (y1 - y0) / (x1 - x0) == pytest.approx(-beta)
    plt.close(fig)


def test_a_grid_whose_coarse_check_would_not_tile_the_square_is_refused(small_vae, small_batch):
    """With an odd number of cells, every other cell no longer tiles the square: the coarse sum, the
    check that the spacing is fine enough, would be wrong without a word."""
    with pytest.raises(ValueError, match="^spacing must divide 2 [*] radius into an even number of cells"):
        elbo.grid_log_likelihood(small_vae().eval(), small_batch[0][:2], radius=1.0, spacing=2 / 41)
