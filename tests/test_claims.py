"""The chapters' claims: computed, not assumed; reported, or a failure; and they must hold for other
random seeds, not only the committed one."""
from types import SimpleNamespace as Fields

import pytest
import torch

from vae_utils import digit_classifier, set_seed
from vae_utils.book import settings as book_settings
from vae_utils.claims import ClaimFailed, dimension_claims, kl_claims, report_claims, sweep_claims
from vae_utils.metrics import class_frequencies, summarize
from vae_utils.models import VAE
from vae_utils.training import train_vae


def sweep_model(x, beta, epochs, seed):
    """One model of the chapter's sweep, as load_or_train_sweep trains it: from set_seed(seed)."""
    set_seed(seed)
    model = VAE()
    train_vae(model, x, epochs=epochs, beta=beta, seed=seed, progress=False)
    return model


@pytest.fixture(scope="module")
def classifier(digits):
    (x, y), (xt, yt) = digits
    clf = digit_classifier.train(x, y, seed=0)
    assert digit_classifier.accuracy(clf, xt, yt) > 0.9
    return clf


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_chapters_claims_hold_for_three_seeds(digits, classifier, seed, monkeypatch):
    """The chapter's quick-mode sweep (its betas and epochs, from chapter_settings) on the offline digits."""
    (x, y), (xt, _) = digits
    monkeypatch.setenv(book_settings.QUICK_ENV, "1")
    settings = book_settings.chapter_settings(len(x))
    models = [sweep_model(x, beta, settings.epochs, seed) for beta in settings.betas]
    sweep = {beta: summarize(m, xt, classifier, seed=seed, class_frequencies=class_frequencies(y))
             for beta, m in zip(settings.betas, models)}
    claims = {**kl_claims(sweep[1.0], sweep[0.0]), **sweep_claims(sweep)}
    assert all(claims.values()), claims


def changed(summary: Fields, **fields) -> Fields:
    """A copy of a stand-in summary with some fields changed."""
    return Fields(**{**vars(summary), **fields})


# The claims read a summary's fields, nothing else: stand-ins (Fields) hold only those they read.
def test_claims_are_computed_not_assumed():
    good = Fields(latent_std=[1.0, 1.1], completeness=Fields(label_entropy=0.95), continuity=0.04,
                  prior_coverage=0.9, information=3.0, mismatch=0.2)
    bad = Fields(latent_std=[3.0, 4.0], completeness=Fields(label_entropy=0.7), continuity=0.06,
                 prior_coverage=0.1, information=7.0, mismatch=25.0)
    assert all(kl_claims(good, bad).values())
    assert not any(kl_claims(bad, good).values())
    collapsed = Fields(completeness=Fields(label_entropy=0.2), continuity=0.03, kl=0.01, information=0.0,
                       mismatch=0.01)
    sweep = {0.0: changed(bad, kl=30.0), 1.0: changed(good, kl=3.0), 8.0: collapsed}
    assert all(sweep_claims(sweep).values())
    assert not sweep_claims({**sweep, 8.0: changed(collapsed, kl=2.0)})[
        "at the largest beta the KL per image is below 0.5 nats: the encoder has collapsed"]


def test_claims_need_every_latent_dimension_in_range():
    good = Fields(latent_std=[1.0, 2.5], completeness=Fields(label_entropy=0.95), continuity=0.04, prior_coverage=0.9)
    bad = Fields(latent_std=[3.0, 4.0], completeness=Fields(label_entropy=0.7), continuity=0.06, prior_coverage=0.1)
    claims = kl_claims(good, bad)
    assert claims["with KL, the latent std of test means is within [0.5, 2]"] is False
    assert claims["with KL, the latent std is smaller than without KL"] is True


def test_dimension_claims_are_computed_not_assumed():
    def model(prior, fitted, recon, active, confidence, inside):
        return Fields(frechet=Fields(prior=prior), frechet_fitted=fitted, recon=recon, active=active,
                      completeness=Fields(confidence=confidence), codes_inside=inside)
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


def test_report_claims_prints_and_fails_on_a_false_claim(capsys):
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
    with pytest.raises(ValueError, match="^claims"):
        report_claims(claims, measured={})
    assert capsys.readouterr().out == ""


def test_report_claims_takes_numpy_and_torch_booleans(capsys):
    import numpy as np

    report_claims({"numpy says": np.bool_(True), "torch says": torch.tensor(True)}, measured={})
    assert capsys.readouterr().out == "numpy says: True\ntorch says: True\n"  # they print as True: they are


@pytest.mark.full
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_chapters_claims_hold_on_full_mnist_for_three_seeds(seed, monkeypatch):
    """The published book's sweep (full mode: every beta of the chapter, its epochs) on full MNIST.
    Needs full MNIST in $VAE_BOOK_DATA; about eleven minutes a seed on 2 cores."""
    from vae_utils import data

    monkeypatch.setenv(book_settings.QUICK_ENV, "0")
    (x, y), (xt, _) = data.load_mnist("train", source="torchvision"), data.load_mnist("test", source="torchvision")
    assert len(x) == 60_000, "this test needs full MNIST (set VAE_BOOK_DATA)"
    settings = book_settings.chapter_settings(len(x))
    models = [sweep_model(x, beta, settings.epochs, seed) for beta in settings.betas]
    classifier = digit_classifier.train(x, y, epochs=settings.classifier_epochs, seed=seed)
    sweep = {beta: summarize(m, xt, classifier, seed=seed, class_frequencies=class_frequencies(y))
             for beta, m in zip(settings.betas, models)}
    claims = {**kl_claims(sweep[1.0], sweep[0.0]), **sweep_claims(sweep)}
    assert all(claims.values()), claims


@pytest.mark.full
def test_the_latent_dimension_studys_claims_hold_on_full_mnist_for_three_seeds(monkeypatch):
    """Chapter 05's study on full MNIST, every J and seed of the chapter. The models come from the
    book's checkpoints where its build saved them (trained with exactly these settings and data:
    load_or_train_sweep checks) and are trained otherwise, about 50 minutes on 2 cores."""
    from pathlib import Path

    from vae_utils import data, metrics
    from vae_utils.book import checkpoints

    monkeypatch.setenv(book_settings.QUICK_ENV, "0")
    (x, y), (xt, _) = data.load_mnist("train", source="torchvision"), data.load_mnist("test", source="torchvision")
    assert len(x) == 60_000, "this test needs full MNIST (set VAE_BOOK_DATA)"
    settings = book_settings.chapter_settings(len(x))
    root = Path(__file__).resolve().parents[1] / "notebooks" / "checkpoints"
    classifier = digit_classifier.train(x, y, epochs=settings.classifier_epochs, seed=0)
    summaries = {}
    for seed in settings.seeds:
        for J in settings.latent_dims:
            paths = {b: book_settings.latent_dim_checkpoint_path(J, b, seed, len(x), root=root) for b in (0.0, 1.0)}
            trained = checkpoints.load_or_train_sweep(paths, x, epochs=settings.epochs, seed=seed, latent_dim=J,
                                                      progress=False, use_published=False)
            summaries.update({(J, seed, b): metrics.dimension_summary(c.model, xt, classifier, seed=seed)
                              for b, c in trained.items()})
    claims = dimension_claims(summaries)
    assert all(claims.values()), claims
