r"""Measures of the two properties the KL term is said to buy.

* **Completeness**: codes drawn from the prior :math:`\mathcal N(0, I)` decode to the
  whole variety of the data. Measured by classifying decoded prior samples with a digit
  classifier trained on the same data, and looking at how the predicted classes spread.
* **Continuity**: nearby codes decode to similar images. Measured along straight latent
  paths between encoded test digits, as the largest single step's share of the path's
  total pixel change (1 / ``n_steps`` for a perfectly even morph; larger means a jump).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from . import _checks
from .book import progress_bar
from .latent import _vae, decode_latents, encode_means, straight_path
from .losses import LIKELIHOODS, vae_loss
from .models import device_of
from .training import pick_device


def train_digit_classifier(images: torch.Tensor, labels: torch.Tensor, *, epochs: int = 15, seed: int = 0,
                           device: str | torch.device = "auto", progress: bool = False) -> nn.Module:
    """A small MLP (784-256-10) that tells digits apart; the judge of completeness."""
    _checks.images(images, "images")
    _checks.labels(labels, "labels", images.shape[0])
    epochs = _checks.positive_int(epochs, "epochs")
    seed = _checks.seed(seed, "seed")
    progress = _checks.flag(progress, "progress")
    dev = pick_device(device)
    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10)).to(dev)
    optimiser = torch.optim.Adam(classifier.parameters(), lr=1e-3)
    x, y = images.to(dev), labels.to(dev)
    for _ in progress_bar(range(epochs), desc="classifier", unit="epoch", disable=not progress):
        classifier.train()
        for batch in torch.randperm(len(y), generator=order).to(dev).split(128):
            loss = nn.functional.cross_entropy(classifier(x[batch]), y[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    return classifier.eval()


@torch.no_grad()
def classifier_accuracy(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` whose predicted digit is the label."""
    _checks.images(images, "images")
    _checks.labels(labels, "labels", images.shape[0])
    dev = next(classifier.parameters()).device
    predicted = classifier.eval()(images.to(dev)).argmax(1).cpu()
    return float((predicted == labels).float().mean())


def _frequencies(f) -> torch.Tensor:
    try:
        f = torch.as_tensor(f, dtype=torch.float64).float()
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"class_frequencies must be 10 non-negative numbers that sum to 1, got {type(f).__name__}") from None
    if f.shape != (10,) or not bool(torch.isfinite(f).all()) or bool((f < 0).any()) \
            or not math.isclose(float(f.sum()), 1.0, rel_tol=1e-4):
        raise ValueError("class_frequencies must be 10 non-negative numbers that sum to 1")
    return f


def class_frequencies(labels: torch.Tensor) -> torch.Tensor:
    """The share of each digit 0..9 in ``labels``: the data's own class frequencies (MNIST's are not uniform)."""
    _checks.labels(labels, "labels", labels.shape[0] if isinstance(labels, torch.Tensor) else -1)
    if labels.shape[0] == 0:
        raise ValueError("labels must hold at least one label")
    return torch.bincount(labels, minlength=10).float() / labels.shape[0]


@torch.no_grad()
def completeness(model, classifier: nn.Module, *, n_samples: int = 4000, seed: int = 0,
                 class_frequencies: torch.Tensor | None = None) -> dict:
    r"""Decode ``n_samples`` codes :math:`z \sim \mathcal N(0, I)` and classify them.

    Returns ``label_entropy``: the entropy of the predicted-class histogram :math:`h` divided by
    :math:`\log 10` (1 = every digit equally often, 0 = a single digit); ``tv_distance``:
    :math:`\tfrac12\sum_c |h_c - f_c|` from the data's class frequencies :math:`f` (pass
    :func:`class_frequencies` of the training labels; uniform if none are given); ``confidence``: the classifier's mean top probability; ``histogram``: :math:`h`.
    """
    _vae(model)
    n_samples = _checks.positive_int(n_samples, "n_samples")
    seed = _checks.seed(seed, "seed")
    f = torch.full((10,), 0.1) if class_frequencies is None else _frequencies(class_frequencies)
    z = torch.randn(n_samples, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    decoded = decode_latents(model, z)
    dev = next(classifier.parameters()).device
    probs = torch.softmax(classifier.eval()(decoded.to(dev)), dim=1).cpu()
    h = torch.bincount(probs.argmax(1), minlength=10).float() / n_samples
    nonzero = h[h > 0]
    return {
        "label_entropy": float(-(nonzero * nonzero.log()).sum() / math.log(10)) + 0.0,  # + 0.0: never "-0.00"
        "tv_distance": float(0.5 * (h - f).abs().sum()),
        "confidence": float(probs.max(1).values.mean()),
        "histogram": h.tolist(),
    }


@torch.no_grad()
def continuity(model, images: torch.Tensor, *, n_pairs: int = 300, n_steps: int = 32, seed: int = 0) -> float:
    r"""Mean over random pairs of encoded ``images`` of :math:`\max_k \Delta_k / \sum_k \Delta_k`.

    :math:`\Delta_k = \lVert \mathrm{dec}(z_{k+1}) - \mathrm{dec}(z_k) \rVert` along the straight path
    between the two encoder means, in ``n_steps`` equal steps. The endpoints are encoded data,
    so each model is measured inside its own data region, whatever its scale.
    """
    _vae(model)
    n_pairs = _checks.positive_int(n_pairs, "n_pairs")
    n_steps = _checks.positive_int(n_steps, "n_steps", minimum=2)
    seed = _checks.seed(seed, "seed")
    _checks.images(images, "images")
    if images.shape[0] < 2:
        raise ValueError(f"images must hold at least two images to walk between, got {images.shape[0]}")
    means = encode_means(model, images)
    g = torch.Generator().manual_seed(seed)
    first = torch.randint(len(means), (n_pairs,), generator=g)
    second = (first + torch.randint(1, len(means), (n_pairs,), generator=g)) % len(means)  # never the same image
    path = straight_path(means[first], means[second], n_steps)
    decoded = decode_latents(model, path.reshape(-1, model.latent_dim)).view(n_pairs, n_steps + 1, -1)
    steps = (decoded[:, 1:] - decoded[:, :-1]).norm(dim=2)
    return float((steps.max(1).values / steps.sum(1).clamp_min(1e-12)).mean())


@torch.no_grad()
def heldout_loss(model, images: torch.Tensor, *, likelihood: str = "gaussian", seed: int = 0) -> dict:
    """Reconstruction, KL and their sum (for beta=1 the negative ELBO, up to the Gaussian constant) per image on ``images``.

    One reparametrized sample per image, from a seeded generator, so the number is repeatable.
    """
    _vae(model).eval()
    _checks.images(images, "images")
    _checks.one_of(likelihood, "likelihood", LIKELIHOODS)
    seed = _checks.seed(seed, "seed")
    torch.manual_seed(seed)
    dev = device_of(model)
    totals = torch.zeros(3)
    for x in images.split(1000):
        x = x.to(dev)
        x_hat, mu, logvar = model(x)
        _, recon, kl = vae_loss(x_hat, x, mu, logvar, likelihood=likelihood)
        totals += torch.tensor([recon.item(), kl.item(), recon.item() + kl.item()]) * len(x)
    recon, kl, total = (totals / len(images)).tolist()
    return {"recon": recon, "kl": kl, "neg_elbo": total}


def kl_claims(with_kl: dict, without_kl: dict) -> dict[str, bool]:
    """The chapter's claims, from each model's ``latent_std`` (per dimension), ``completeness``
    and ``continuity``. They must hold for any seed, so they compare, rather than quote, numbers."""
    std_with, std_without = with_kl["latent_std"], without_kl["latent_std"]
    if len(std_with) != len(std_without):
        raise ValueError(f"without_kl must have the latent dimension of with_kl ({len(std_with)}), "
                         f"got {len(std_without)} latent stds")
    return {
        "prior samples cover the digit classes more evenly with KL":
            with_kl["completeness"]["label_entropy"] > without_kl["completeness"]["label_entropy"],
        "straight latent paths are smoother with KL":
            with_kl["continuity"] < without_kl["continuity"],
        "with KL, the latent std of test means is within [0.5, 2]":
            all(0.5 <= s <= 2.0 for s in std_with),
        "with KL, the latent std is smaller than without KL":
            all(a < b for a, b in zip(std_with, std_without)),
    }


def sweep_claims(sweep: dict[float, dict]) -> dict[str, bool]:
    """The beta sweep's claims, from :func:`summarize` of one model per beta (0 and 1 included).

    Comparisons only, so that they hold for any random seed and data size."""
    if not isinstance(sweep, dict) or not {0.0, 1.0} <= set(sweep) or len(sweep) < 3:
        raise ValueError("sweep must map at least three betas, 0 and 1 among them, to summarize() dicts")
    betas = sorted(sweep)
    largest, smallest_positive = betas[-1], betas[1]
    entropy = {b: sweep[b]["completeness"]["label_entropy"] for b in betas}
    return {
        "completeness rises from beta = 0 to the smallest positive beta": entropy[smallest_positive] > entropy[0.0],
        "completeness rises from beta = 0 to beta = 1": entropy[1.0] > entropy[0.0],
        "every positive beta gives smoother paths than beta = 0":
            all(sweep[b]["continuity"] < sweep[0.0]["continuity"] for b in betas if b > 0),
        "the KL per image falls as beta grows from 1 to the largest beta": sweep[largest]["kl"] < sweep[1.0]["kl"],
        "at the largest beta the KL per image is below 0.5 nats: the encoder has collapsed": sweep[largest]["kl"] < 0.5,
    }


class ClaimFailed(AssertionError):
    """A claim the book prints as holding does not hold for the model that was just trained."""


def report_claims(claims: dict[str, bool], measured: dict) -> None:
    """Print each claim with ``True``/``False``, then raise :class:`ClaimFailed` if any is false.

    ``measured`` holds the numbers behind the claims; they go into the error, so that a build
    that fails (e.g. the published book, trained on other data) says what it measured.
    """
    if not isinstance(claims, dict) or not claims or not all(isinstance(v, bool) for v in claims.values()):
        raise ValueError("claims must be a non-empty dict of claim -> bool")
    for claim, holds in claims.items():
        print(f"{claim}: {holds}")
    failed = [claim for claim, holds in claims.items() if not holds]
    if failed:
        raise ClaimFailed(f"{len(failed)} claim(s) do not hold: {failed}; measured: {measured}")


def summarize(model, test_images: torch.Tensor, classifier: nn.Module, *, seed: int = 0,
              likelihood: str = "gaussian", class_frequencies: torch.Tensor | None = None) -> dict:
    """Everything the chapter reports about one model, in one dict."""
    _checks.images(test_images, "test_images")
    return {
        "latent_std": encode_means(model, test_images).std(0).tolist(),
        "completeness": completeness(model, classifier, seed=seed, class_frequencies=class_frequencies),
        "continuity": continuity(model, test_images, seed=seed),
        **heldout_loss(model, test_images, likelihood=likelihood, seed=seed),
    }
