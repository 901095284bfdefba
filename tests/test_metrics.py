"""The metrics on models whose answers are known exactly."""
import math

import pytest
import torch
from torch import nn

from vae_utils import set_seed
from vae_utils.losses import vae_loss
from vae_utils.latent import fitted_draws
from vae_utils.metrics import (ACTIVE_VARIANCE, completeness, continuity, dimension_claims, heldout_loss, kl_claims,
                               latent_usage)
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
    assert result["histogram"] == [0.0] * 7 + [1.0] + [0.0] * 2
    assert result["label_entropy"] == 0.0
    assert result["tv_distance"] == pytest.approx(0.9)
    assert result["confidence"] == pytest.approx(math.exp(5) / (math.exp(5) + 9))


def test_completeness_against_given_class_frequencies():
    set_seed(0)
    freq = torch.zeros(10)
    freq[7] = 1.0
    assert completeness(VAE(hidden=(16, 8)).eval(), always(7), n_samples=50, class_frequencies=freq)["tv_distance"] == 0


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


def test_claims_need_every_latent_dimension_in_range():
    good = {"latent_std": [1.0, 2.5], "completeness": {"label_entropy": 0.95}, "continuity": 0.04,
            "prior_coverage": 0.9}
    bad = {"latent_std": [3.0, 4.0], "completeness": {"label_entropy": 0.7}, "continuity": 0.06, "prior_coverage": 0.1}
    claims = kl_claims(good, bad)
    assert claims["with KL, the latent std of test means is within [0.5, 2]"] is False
    assert claims["with KL, the latent std is smaller than without KL"] is True


def test_class_frequencies_are_the_datas_own():
    from vae_utils.metrics import class_frequencies

    labels = torch.tensor([1, 1, 1, 5, 0, 9, 9, 9, 9, 2])
    f = class_frequencies(labels)
    assert f.tolist() == pytest.approx([0.1, 0.3, 0.1, 0, 0, 0.1, 0, 0, 0, 0.4])


def test_report_claims_prints_and_fails_on_a_false_claim(capsys):
    from vae_utils.metrics import ClaimFailed, report_claims

    report_claims({"a holds": True}, measured={"x": 1.0})
    assert capsys.readouterr().out == "a holds: True\n"
    with pytest.raises(ClaimFailed, match=r"b fails.*measured: \{'x': 2\.5\}"):
        report_claims({"a holds": True, "b fails": False}, measured={"x": 2.5})
    assert "b fails: False" in capsys.readouterr().out


@pytest.mark.parametrize("claims", [None, {}, ["a holds"], {"a holds": 1}, {"a holds": 0.7}, {"a holds": "True"},
                                    {"a holds": torch.tensor([True, False])}, {"a holds": None}])
def test_report_claims_refuses_what_is_not_a_claim_and_its_boolean(claims, capsys):
    """A claim that is not a boolean would print and pass as true (bool(0.7) is True): refused, and
    nothing is printed."""
    from vae_utils.metrics import report_claims

    with pytest.raises(ValueError, match="^claims"):
        report_claims(claims, measured={})
    assert capsys.readouterr().out == ""


def test_report_claims_takes_numpy_and_torch_booleans(capsys):
    import numpy as np

    from vae_utils import metrics

    metrics.report_claims({"numpy says": np.bool_(True), "torch says": torch.tensor(True)}, measured={})
    assert capsys.readouterr().out == "numpy says: True\ntorch says: True\n"  # they print as True: they are


def test_float64_is_accepted_by_the_metrics_and_the_figures(train_x, digits, small_vae):
    from vae_utils import latent, metrics, plotting

    (_, y), _ = digits
    images = train_x[:64].double()
    classifier = metrics.train_digit_classifier(images, y[:64], epochs=1)
    assert 0 <= metrics.classifier_accuracy(classifier.double(), images, y[:64]) <= 1
    model = small_vae().double().eval()
    assert metrics.completeness(model, classifier, n_samples=20)["histogram"]
    out, _, _ = small_vae().eval()(train_x[:4])  # requires grad
    assert latent.tile_images(out, 2).shape == (56, 56)
    plotting.show_images(out, ncol=2)


def test_the_judge_refuses_labels_of_another_set(train_x, digits):
    """The labels must be the images': labels of the test set with training images would train the
    classifier on a part of them with the wrong labels, silently."""
    from vae_utils import metrics

    (_, y), (_, y_test) = digits
    with pytest.raises(ValueError, match=r"^labels .*int64 tensor of shape \[64\]"):
        metrics.train_digit_classifier(train_x[:64], y_test[:32], epochs=1)
    with pytest.raises(ValueError, match="^labels"):
        metrics.train_digit_classifier(train_x[:64], y[:64].float(), epochs=1)


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


def test_dimension_claims_are_computed_not_assumed():
    def model(prior, fitted, recon, active, confidence, inside):
        return {"frechet_prior": prior, "frechet_fitted": fitted, "recon": recon, "active": active,
                "confidence": confidence, "codes_inside": inside}
    good = {}
    for seed in (0, 1):
        good[2, seed, 0.0] = model(40.0, 30.0, 15.0, 2, 0.8, 0.3)
        good[2, seed, 1.0] = model(25.0, 26.0, 16.0, 2, 0.8, 0.5)
        good[16, seed, 0.0] = model(140.0, 6.0, 7.0, 16, 0.5, 0.01)
        good[16, seed, 1.0] = model(20.0, 21.0, 17.0, 10, 0.7, 0.5)
    assert all(dimension_claims(good).values())
    bad = dict(good)
    bad[16, 1, 1.0] = model(150.0, 31.0, 17.0, 16, 0.4, 0.5)  # one seed of one model breaks four claims
    broken = [claim for claim, holds in dimension_claims(bad).items() if not holds]
    assert len(broken) == 4, broken
    assert not dimension_claims({**good, (16, 0, 0.0): model(140.0, 6.0, 7.0, 16, 0.5, 0.4)})[
        "without KL, fewer test codes lie as near the codes' mean as the median prior draw at the largest J than at "
        "the smallest"]
