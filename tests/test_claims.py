"""Chapter 03's claims must hold for other random seeds, not only the committed one."""
import pytest

from vae_utils import set_seed
from vae_utils.book import settings as book_settings
from vae_utils.metrics import (class_frequencies, classifier_accuracy, kl_claims, summarize, sweep_claims,
                               train_digit_classifier)
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
    clf = train_digit_classifier(x, y, seed=0)
    assert classifier_accuracy(clf, xt, yt) > 0.9
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


def test_claims_are_computed_not_assumed():
    good = {"latent_std": [1.0, 1.1], "completeness": {"label_entropy": 0.95}, "continuity": 0.04,
            "prior_coverage": 0.9, "information": 3.0, "mismatch": 0.2}
    bad = {"latent_std": [3.0, 4.0], "completeness": {"label_entropy": 0.7}, "continuity": 0.06,
           "prior_coverage": 0.1, "information": 7.0, "mismatch": 25.0}
    assert all(kl_claims(good, bad).values())
    assert not any(kl_claims(bad, good).values())
    collapsed = {"completeness": {"label_entropy": 0.2}, "continuity": 0.03, "kl": 0.01, "information": 0.0,
                 "mismatch": 0.01}
    sweep = {0.0: {**bad, "kl": 30.0}, 1.0: {**good, "kl": 3.0}, 8.0: collapsed}
    assert all(sweep_claims(sweep).values())
    assert not sweep_claims({**sweep, 8.0: {**collapsed, "kl": 2.0}})[
        "at the largest beta the KL per image is below 0.5 nats: the encoder has collapsed"]


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
    classifier = train_digit_classifier(x, y, epochs=settings.classifier_epochs, seed=seed)
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
    classifier = train_digit_classifier(x, y, epochs=settings.classifier_epochs, seed=0)
    summaries = {}
    for seed in settings.seeds:
        for J in settings.latent_dims:
            paths = {b: book_settings.latent_dim_checkpoint_path(J, b, seed, len(x), root=root) for b in (0.0, 1.0)}
            trained = checkpoints.load_or_train_sweep(paths, x, epochs=settings.epochs, seed=seed, latent_dim=J,
                                                      progress=False, use_published=False)
            summaries.update({(J, seed, b): metrics.dimension_summary(c.model, xt, classifier, seed=seed)
                              for b, c in trained.items()})
    claims = metrics.dimension_claims(summaries)
    assert all(claims.values()), claims
