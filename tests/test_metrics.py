"""The metrics on models whose answers are known exactly."""
import math

import pytest
import torch
from torch import nn

from vae_utils import set_seed
from vae_utils.losses import vae_loss
from vae_utils.latent import fitted_draws
from vae_utils.metrics import ACTIVE_VARIANCE, completeness, continuity, heldout_loss, latent_usage
from vae_utils.models import VAE


def always(digit: int) -> nn.Module:
    """A 'classifier' that predicts ``digit`` for every image."""
    layer = nn.Linear(784, 10)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.copy_(torch.arange(10) == digit).mul_(5.0)
    return nn.Sequential(nn.Flatten(), layer).eval()


def test_completeness_of_a_single_class():
    set_seed(0)
    result = completeness(VAE(hidden=(16, 8)).eval(), always(7), n_samples=500)
    assert result.histogram == [0.0] * 7 + [1.0] + [0.0] * 2
    assert result.label_entropy == 0.0
    assert result.tv_distance == pytest.approx(0.9)
    assert result.confidence == pytest.approx(math.exp(5) / (math.exp(5) + 9))


def test_completeness_against_given_class_frequencies():
    set_seed(0)
    freq = torch.zeros(10)
    freq[7] = 1.0
    assert completeness(VAE(hidden=(16, 8)).eval(), always(7), n_samples=50, class_frequencies=freq).tv_distance == 0


def test_continuity_of_a_linear_decoder_is_an_even_morph(small_batch):
    set_seed(0)
    model = VAE(hidden=(16, 8))
    model.decoder = nn.Sequential(nn.Linear(2, 784), nn.Unflatten(1, (1, 28, 28)))  # decode(z) is linear in z
    assert continuity(model.eval(), small_batch[0], n_pairs=20, n_steps=16) == pytest.approx(1 / 16, rel=1e-4)


def test_continuity_is_bounded_by_one(small_batch):
    set_seed(0)
    value = continuity(VAE(hidden=(16, 8)).eval(), small_batch[0], n_pairs=20)
    assert 1 / 32 - 1e-6 <= value <= 1.0


def test_heldout_loss_is_the_seeded_vae_loss(small_batch):
    x, _ = small_batch
    set_seed(0)
    model = VAE(hidden=(16, 8)).eval()
    result = heldout_loss(model, x, seed=3)
    torch.manual_seed(3)
    with torch.no_grad():
        total, recon, kl = vae_loss(*model(x)[:1], x, *model.encode(x))
    assert result["recon"] == pytest.approx(recon.item(), rel=1e-5)
    assert result["kl"] == pytest.approx(kl.item(), rel=1e-5)
    assert result["neg_elbo"] == pytest.approx(total.item(), rel=1e-5)


def test_class_frequencies_are_the_datas_own():
    from vae_utils.metrics import class_frequencies

    labels = torch.tensor([1, 1, 1, 5, 0, 9, 9, 9, 9, 2])
    f = class_frequencies(labels)
    assert f.tolist() == pytest.approx([0.1, 0.3, 0.1, 0, 0, 0.1, 0, 0, 0, 0.4])


def test_float64_is_accepted_by_the_metrics_and_the_figures(train_x, digits, small_vae):
    from vae_utils import digit_classifier, latent, metrics, plotting

    (_, y), _ = digits
    images = train_x[:64].double()
    classifier = digit_classifier.train(images, y[:64], epochs=1)
    assert 0 <= digit_classifier.accuracy(classifier.double(), images, y[:64]) <= 1
    model = small_vae().double().eval()
    assert metrics.completeness(model, classifier, n_samples=20).histogram
    out, _, _ = small_vae().eval()(train_x[:4])  # requires grad
    assert latent.tile_images(out, 2).shape == (56, 56)
    plotting.show_images(out, ncol=2)


def test_latent_usage_splits_the_kl_term_by_dimension_and_counts_active_units(digits):
    (_, _), (xt, _) = digits
    set_seed(0)
    model = VAE(latent_dim=3, hidden=(16, 8)).eval()
    with torch.no_grad():
        model.to_moments.weight[[1, 4]] = 0.0  # dimension 1's mean and log-variance ignore the image
        model.to_moments.bias[[1, 4]] = torch.tensor([0.3, 0.0])
    usage = latent_usage(model, xt[:200])
    with torch.no_grad():
        mu, logvar = model.encode(xt[:200])
    total = (0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)).sum(1).mean()
    assert sum(usage["kl_per_dimension"]) == pytest.approx(float(total), rel=1e-5)
    assert usage["kl_per_dimension"][1] == pytest.approx(0.5 * 0.3 ** 2, rel=1e-5)  # KL(N(0.3, 1) || N(0, 1))
    assert sum(usage["share"]) == pytest.approx(1.0)
    assert usage["activity"][1] == 0.0 and usage["active"] == sum(a > ACTIVE_VARIANCE for a in usage["activity"])
    assert usage["active"] <= 2


def test_fitted_draws_have_the_codes_mean_and_covariance():
    g = torch.Generator().manual_seed(0)
    means = torch.randn(5000, 3, generator=g) @ torch.tensor([[2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, 0.0, 3.0]]) + 4.0
    draws = fitted_draws(means, 200_000, seed=1)
    assert torch.allclose(draws.mean(0), means.mean(0), atol=0.03)
    assert torch.allclose(draws.T.cov(), means.T.cov(), rtol=0.03, atol=0.03)
    assert torch.equal(fitted_draws(means, 10, seed=1), fitted_draws(means, 10, seed=1))  # seeded
