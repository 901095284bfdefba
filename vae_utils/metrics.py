r"""Measures of the two properties the KL term is said to buy, and the chapter's claims.

* **Completeness**: a code drawn from the prior :math:`\mathcal N(0, I)` decodes to something
  meaningful. Measured three ways: at the decoder's scale, how far the decodes of prior draws are
  from real test digits in the feature space of a digit classifier (:func:`prior_frechet_distance`,
  the MNIST analogue of the FID of Heusel et al. 2017), and how the classifier spreads them over
  the ten classes (:func:`completeness`: label entropy, distance to the data's class frequencies);
  and in the latent space, the share of prior draws that land where the data's codes are
  (:func:`vae_utils.aggregate.prior_coverage`), a necessary condition, not a sufficient one.
* **Continuity**: nearby codes decode to similar images. Measured along straight latent
  paths between encoded test digits, as the largest single step's share of the path's
  total pixel change (1 / ``n_steps`` for a perfectly even morph; larger means a jump).

The measures trust their callers: the model checks the images it encodes. The chapters' claims
enter through :func:`report_claims`, which checks them.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from . import _checks, aggregate
from .latent import decode_latents, encode_means, fitted_draws, straight_path
from .losses import kl_per_dimension, vae_loss
from .models import device_of
from .training import pick_device, progress_bar

COLLAPSE_NATS = 0.5  # a KL per image below this: the encoder carries (almost) nothing about the image
AGGREGATE_IMAGES = 2_000  # test images whose codes make each q̄ of the subsets in summarize(), and the pictures


def _classify(classifier: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The classifier's logits for ``images`` (cast to its device and dtype), in eval mode."""
    p = next(classifier.parameters())
    return classifier.eval()(images.to(device=p.device, dtype=p.dtype))


def train_digit_classifier(images: torch.Tensor, labels: torch.Tensor, *, epochs: int = 15, seed: int = 0,
                           device: str | torch.device = "auto", progress: bool = False) -> nn.Module:
    """A small MLP (784-256-10) that tells digits apart; the judge of completeness. The labels are
    checked against the images: labels of another set would train on a part of it, silently."""
    _checks.labels(labels, "labels", images.shape[0])
    dev = pick_device(device)
    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10)).to(dev)
    optimiser = torch.optim.Adam(classifier.parameters(), lr=1e-3)
    x, y = images.to(dev, torch.float32), labels.to(dev)
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
    predicted = _classify(classifier, images).argmax(1).cpu()
    return float((predicted == labels).float().mean())


def class_frequencies(labels: torch.Tensor) -> torch.Tensor:
    """The share of each digit 0..9 in ``labels``: the data's own class frequencies (MNIST's are not uniform)."""
    return torch.bincount(labels, minlength=10).float() / labels.shape[0]


@torch.no_grad()
def completeness(model, classifier: nn.Module, *, n_samples: int = 4000, seed: int = 0,
                 class_frequencies: torch.Tensor | None = None) -> dict:
    r"""Decode ``n_samples`` codes :math:`z \sim \mathcal N(0, I)` and classify them.

    Returns ``label_entropy``: the entropy of the predicted-class histogram :math:`h` divided by
    :math:`\log 10` (1 = every digit equally often, 0 = a single digit); ``tv_distance``:
    :math:`\tfrac12\sum_c |h_c - f_c|` from the data's class frequencies :math:`f` (pass
    :func:`class_frequencies` of the training labels; uniform if none are given); ``confidence``:
    the classifier's mean top probability; ``histogram``: :math:`h`.
    """
    f = torch.full((10,), 0.1) if class_frequencies is None else torch.as_tensor(class_frequencies).float()
    z = torch.randn(n_samples, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    probs = torch.softmax(_classify(classifier, decode_latents(model, z)).float(), dim=1).cpu()
    h = torch.bincount(probs.argmax(1), minlength=10).float() / n_samples
    return {
        "label_entropy": float(torch.special.entr(h).sum() / math.log(10)),  # entr(p) = -p log p, entr(0) = 0
        "tv_distance": float(0.5 * (h - f).abs().sum()),
        "confidence": float(probs.max(1).values.mean()),
        "histogram": h.tolist(),
    }


@torch.no_grad()
def classifier_features(classifier: nn.Sequential, images: torch.Tensor) -> torch.Tensor:
    """The digit classifier's penultimate layer (every module but the last, in eval mode) for ``images``:
    ``[N, F]`` in float64. For the book's classifier, the 256 ReLU units before the logits."""
    p = next(classifier.parameters())
    out = [classifier.eval()[:-1](x.to(device=p.device, dtype=p.dtype)).flatten(1) for x in images.split(2000)]
    return torch.cat(out).double().cpu()


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    r"""The Fréchet distance between Gaussians fitted to two sets of features ``[N, F]`` and ``[M, F]``:

    .. math:: \lVert m_a - m_b \rVert^2 + \operatorname{tr}\big(C_a + C_b - 2 (C_a^{1/2} C_b C_a^{1/2})^{1/2}\big),

    the squared 2-Wasserstein distance between :math:`\mathcal N(m_a, C_a)` and :math:`\mathcal N(m_b, C_b)`
    (the FID of Heusel et al. 2017, here in a digit classifier's features). Square roots of the
    symmetric positive semi-definite matrices by eigendecomposition, in float64."""
    a, b = a.double(), b.double()
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = torch.cov(a.T).reshape(a.shape[1], a.shape[1]), torch.cov(b.T).reshape(b.shape[1], b.shape[1])
    values, vectors = torch.linalg.eigh(ca)
    root_a = vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
    middle = torch.linalg.eigvalsh(root_a @ cb @ root_a).clamp_min(0).sqrt().sum()
    return float((ma - mb).pow(2).sum() + torch.trace(ca) + torch.trace(cb) - 2 * middle)


@torch.no_grad()
def prior_frechet_distance(model, classifier: nn.Sequential, images: torch.Tensor, *, n_samples: int = 4000,
                           seed: int = 0) -> dict:
    r"""Completeness at the decoder's scale: :func:`frechet_distance` in the classifier's features
    between the decodes of ``n_samples`` prior draws :math:`z \sim \mathcal N(0, I)` (the draws of
    :func:`completeness` with the same seed) and the real ``images``.

    Returns ``prior`` (that distance), ``reconstructions`` (the same distance for the decoder's
    means at the encoder means of ``images``: what this decoder reaches on codes of real images,
    its blur included) and ``real`` (between two random halves of ``images``: roughly the floor
    that the sample sizes set). A prior distance near the reconstructions' says the prior's codes decode
    like the data's; far above it says they do not."""
    z = torch.randn(n_samples, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    real = classifier_features(classifier, images)
    prior = classifier_features(classifier, decode_latents(model, z))
    rebuilt = classifier_features(classifier, decode_latents(model, encode_means(model, images)))
    # Two random halves: in MNIST's own order the halves come from different writers.
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed))
    half = images.shape[0] // 2
    return {"prior": frechet_distance(prior, real), "reconstructions": frechet_distance(rebuilt, real),
            "real": frechet_distance(real[order[:half]], real[order[half:]])}


@torch.no_grad()
def continuity(model, images: torch.Tensor, *, n_pairs: int = 300, n_steps: int = 32, seed: int = 0) -> float:
    r"""Mean over random pairs of encoded ``images`` of :math:`\max_k \Delta_k / \sum_k \Delta_k`.

    :math:`\Delta_k = \lVert \hat x(z_{k+1}) - \hat x(z_k) \rVert` along the straight path between the
    two encoder means, in ``n_steps`` equal steps. The endpoints are encoded data, so each model
    is measured inside its own data region, whatever its scale.
    """
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
    """Reconstruction, KL and their sum per image on ``images`` (the loss with beta = 1: for the
    Gaussian decoder, the one-sample negative ELBO of sigma_x = 1 minus the constant (D/2) log 2 pi).

    One reparametrized sample per image, from a seeded generator, so the number is repeatable.
    """
    model.eval()
    torch.manual_seed(seed)
    dev = device_of(model)
    totals = torch.zeros(2, dtype=torch.float64)
    for x in images.split(1000):
        x = x.to(dev)
        x_hat, mu, logvar = model(x)
        _, recon, kl = vae_loss(x_hat, x, mu, logvar, likelihood=likelihood)
        totals += torch.stack([recon, kl]).double().cpu() * len(x)
    recon, kl = (totals / len(images)).tolist()
    return {"recon": recon, "kl": kl, "neg_elbo": recon + kl}


def summarize(model, test_images: torch.Tensor, classifier: nn.Module, *, seed: int = 0,
              likelihood: str = "gaussian", class_frequencies: torch.Tensor | None = None) -> dict:
    """Everything the chapter reports about one model, in one dict: the latent std of the test
    means, the measures of completeness (Fréchet distances, class spread, prior coverage),
    continuity, the held-out loss, the two parts of the KL term over every test image and over
    disjoint subsets of ``AGGREGATE_IMAGES`` (:mod:`vae_utils.aggregate`), and the median encoder
    standard deviation."""
    with torch.no_grad():
        mu, logvar = model.eval().encode(test_images.to(device_of(model)))
    parts = aggregate.kl_decomposition(mu, logvar, seed=seed)
    subsets = aggregate.subset_decompositions(mu, logvar, min(AGGREGATE_IMAGES, max(2, mu.shape[0] // 5)), seed=seed)
    return {
        "latent_std": mu.std(0).tolist(),
        "completeness": completeness(model, classifier, seed=seed, class_frequencies=class_frequencies),
        "frechet": prior_frechet_distance(model, classifier, test_images, seed=seed),
        "prior_coverage": aggregate.prior_coverage(mu, logvar, seed=seed),
        "continuity": continuity(model, test_images, seed=seed),
        **heldout_loss(model, test_images, likelihood=likelihood, seed=seed),
        **{k: parts[k] for k in ("information", "information_se", "mismatch", "mismatch_se")},
        "aggregate_kl": parts["average_kl"], "aggregate_sum_se": parts["sum_se"], "log_n": parts["log_n"],
        "aggregate_images": int(mu.shape[0]), "subsets": subsets,
        "encoder_sigma": float(torch.exp(0.5 * logvar).median()),
    }


def kl_claims(with_kl: dict, without_kl: dict) -> dict[str, bool]:
    """The chapter's claims, from each model's :func:`summarize`. They must hold for any seed, so
    they compare, rather than quote, numbers."""
    std_with, std_without = with_kl["latent_std"], without_kl["latent_std"]
    return {
        "prior draws land where the codes are more often with KL":
            with_kl["prior_coverage"] > without_kl["prior_coverage"],
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
    betas = sorted(sweep)
    largest, smallest_positive = betas[-1], betas[1]
    entropy = {b: sweep[b]["completeness"]["label_entropy"] for b in betas}
    positive = [b for b in betas if b > 0]
    # Paths are measured between encoded test digits: a collapsed encoder maps them all to one
    # point, and the measure no longer says anything about the latent space.
    uncollapsed = [b for b in positive if sweep[b]["kl"] >= COLLAPSE_NATS]
    return {
        "the label entropy of decoded prior draws rises from beta = 0 to the smallest positive beta": entropy[smallest_positive] > entropy[0.0],
        "the label entropy of decoded prior draws rises from beta = 0 to beta = 1": entropy[1.0] > entropy[0.0],
        "every positive beta below collapse gives smoother paths than beta = 0":
            all(sweep[b]["continuity"] < sweep[0.0]["continuity"] for b in uncollapsed),
        "the KL per image falls as beta grows from 1 to the largest beta": sweep[largest]["kl"] < sweep[1.0]["kl"],
        "at the largest beta the KL per image is below 0.5 nats: the encoder has collapsed":
            sweep[largest]["kl"] < COLLAPSE_NATS,
        "the mismatch KL(q̄ || p) is smaller at every positive beta than at beta = 0":
            all(sweep[b]["mismatch"] < sweep[0.0]["mismatch"] for b in positive),
        "the information I_q falls from beta = 1 to the largest beta":
            sweep[largest]["information"] < sweep[1.0]["information"],
    }


ACTIVE_VARIANCE = 0.01  # Burda et al. (2016): a latent unit is active when Var_x(mu_j) exceeds this


@torch.no_grad()
def latent_usage(model, images: torch.Tensor) -> dict:
    r"""How ``model`` uses each latent dimension :math:`j` on ``images``.

    ``kl_per_dimension``: :math:`\mathrm{KL}_j = \tfrac12\,\overline{\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1}`, the
    mean over images of dimension :math:`j`'s part of the KL term (the term is their sum);
    ``share``: :math:`\mathrm{KL}_j / \sum_k \mathrm{KL}_k`; ``activity``: :math:`A_j = \operatorname{Var}_x(\mu_j)`;
    ``active``: how many :math:`A_j` exceed ``ACTIVE_VARIANCE`` (the active units of Burda et al. 2016:
    a unit whose mean does not move with the image carries nothing about it)."""
    mu, logvar = model.eval().encode(images.to(device_of(model)))
    mu, logvar = mu.double().cpu(), logvar.double().cpu()
    kl = kl_per_dimension(mu, logvar).mean(0)
    activity = mu.var(0)
    return {"kl_per_dimension": kl.tolist(), "share": (kl / kl.sum()).tolist(), "activity": activity.tolist(),
            "active": int((activity > ACTIVE_VARIANCE).sum())}


@torch.no_grad()
def fitted_frechet_distance(model, classifier: nn.Sequential, images: torch.Tensor, *, n_samples: int = 4000,
                            seed: int = 0) -> float:
    r""":func:`frechet_distance` between the real ``images`` and the decodes of
    :func:`~vae_utils.latent.fitted_draws` from the encoder means of ``images``.

    These draws have the codes' place and scale, which the prior's draws lack without the KL term.
    Decodes still far from the data then come from the shape of the codes: regions inside their
    Gaussian where no image is coded (holes), not from a wrong place or scale."""
    z = fitted_draws(encode_means(model, images), n_samples, seed=seed)
    real = classifier_features(classifier, images)
    return frechet_distance(classifier_features(classifier, decode_latents(model, z)), real)


def dimension_summary(model, test_images: torch.Tensor, classifier: nn.Sequential, *, seed: int = 0) -> dict:
    """What the latent-dimension study reports about one model: the Fréchet distances of
    :func:`prior_frechet_distance` and :func:`fitted_frechet_distance`, the classifier's confidence
    and label entropy on prior decodes (:func:`completeness`), the held-out loss,
    :func:`latent_usage`, the median distance from the codes' mean :math:`m` of the test codes
    (``radius_codes``) and of prior draws (``radius_prior``), and ``codes_inside``: the share of
    test codes nearer to :math:`m` than the median prior draw (how many codes the decoder was
    trained on lie in the region where the prior draws)."""
    frechet = prior_frechet_distance(model, classifier, test_images, seed=seed)
    spread = completeness(model, classifier, seed=seed)
    means = encode_means(model, test_images).double().cpu()
    centre = means.mean(0)
    prior = torch.randn(4000, model.latent_dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    radius_codes, radius_prior = (means - centre).norm(dim=1), (prior - centre).norm(dim=1).median()
    return {"latent_dim": model.latent_dim, "frechet_prior": frechet["prior"],
            "frechet_reconstructions": frechet["reconstructions"], "frechet_real": frechet["real"],
            "frechet_fitted": fitted_frechet_distance(model, classifier, test_images, seed=seed),
            "confidence": spread["confidence"], "label_entropy": spread["label_entropy"],
            "radius_codes": float(radius_codes.median()), "radius_prior": float(radius_prior),
            "codes_inside": float((radius_codes < radius_prior).double().mean()),
            **heldout_loss(model, test_images, seed=seed), **latent_usage(model, test_images)}


def dimension_claims(summaries: dict[tuple[int, int, float], dict]) -> dict[str, bool]:
    """The latent-dimension study's claims, from :func:`dimension_summary` of the models with
    (beta = 1) and without (beta = 0) the KL term, keyed ``(J, seed, beta)``: each must hold for
    every seed. Comparisons only, so that they can hold on any data size."""
    dims, seeds = sorted({k[0] for k in summaries}), sorted({k[1] for k in summaries})
    smallest, largest = dims[0], dims[-1]

    def every(test) -> bool:
        return all(test(J, seed) for J in dims for seed in seeds)

    def get(J, seed, beta, key):
        return summaries[J, seed, beta][key]

    return {
        "at every J, prior draws decode closer to the test digits (Fréchet) with KL than without":
            every(lambda J, s: get(J, s, 1.0, "frechet_prior") < get(J, s, 0.0, "frechet_prior")),
        "without KL, prior draws decode farther from the test digits at every larger J than at the smallest":
            every(lambda J, s: J == smallest or get(J, s, 0.0, "frechet_prior") > get(smallest, s, 0.0, "frechet_prior")),
        "with KL, prior draws decode closer to the test digits at the largest J than at the smallest":
            all(get(largest, s, 1.0, "frechet_prior") < get(smallest, s, 1.0, "frechet_prior") for s in seeds),
        "without KL, fewer test codes lie as near the codes' mean as the median prior draw at the largest J than at "
        "the smallest":
            all(get(largest, s, 0.0, "codes_inside") < get(smallest, s, 0.0, "codes_inside") for s in seeds),
        "without KL, at every J, draws from a Gaussian fitted to the codes decode closer to the test digits than "
        "prior draws":
            every(lambda J, s: get(J, s, 0.0, "frechet_fitted") < get(J, s, 0.0, "frechet_prior")),
        "without KL, test reconstructions are better at the largest J than at the smallest":
            all(get(largest, s, 0.0, "recon") < get(smallest, s, 0.0, "recon") for s in seeds),
        "at the largest J, draws from the Gaussian fitted to the codes without KL decode closer to the test digits "
        "than the prior draws with KL":
            all(get(largest, s, 0.0, "frechet_fitted") < get(largest, s, 1.0, "frechet_prior") for s in seeds),
        "with KL at the largest J, some latent units are inactive":
            all(get(largest, s, 1.0, "active") < largest for s in seeds),
        "at the largest J, the classifier is less confident on prior decodes without KL than with it":
            all(get(largest, s, 0.0, "confidence") < get(largest, s, 1.0, "confidence") for s in seeds),
    }


class ClaimFailed(AssertionError):
    """A claim the book prints as holding does not hold for the model that was just trained."""


def report_claims(claims: dict[str, bool], measured: dict) -> None:
    """Print each claim with ``True``/``False``, then raise :class:`ClaimFailed` if any is false.

    ``measured`` holds the numbers behind the claims; they go into the error, so that a build
    that fails (e.g. the published book, trained on other data) says what it measured. NumPy
    and torch booleans are accepted as the Python booleans they print as.
    """
    if not isinstance(claims, dict) or not claims:
        raise ValueError("claims must be a non-empty dict of claim -> bool")
    plain = {}
    for claim, holds in claims.items():
        if type(holds).__name__ not in ("bool", "bool_") and not (isinstance(holds, torch.Tensor) and holds.numel() == 1
                                                                  and holds.dtype == torch.bool):
            raise ValueError(f"claims must map each claim to a boolean, got {type(holds).__name__} for {claim!r}")
        plain[claim] = bool(holds)
    for claim, holds in plain.items():
        print(f"{claim}: {holds}")
    failed = [claim for claim, holds in plain.items() if not holds]
    if failed:
        raise ClaimFailed(f"{len(failed)} claim(s) do not hold: {failed}; measured: {measured}")
