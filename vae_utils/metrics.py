r"""Measures of the two properties the KL term is said to buy, and summaries of a model.

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

The measures trust their callers: the model checks the images it encodes. The judge of
completeness is :mod:`vae_utils.digit_classifier`; the chapters' claims compare these measures
(:mod:`vae_utils.claims`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from . import aggregate, digit_classifier
from .latent import decode_latents, encode_means, fitted_draws, straight_path
from .losses import kl_per_dimension, vae_loss
from .models import device_of

COLLAPSE_NATS = 0.5  # a KL per image below this: the encoder carries (almost) nothing about the image
AGGREGATE_IMAGES = 2_000  # test images whose codes make each q̄ of the subsets in summarize(), and the pictures


@dataclass(frozen=True)
class Completeness:
    """How a classifier spreads decoded prior draws over the ten digits (:func:`completeness`)."""

    label_entropy: float  # entropy of the histogram h over log 10: 1 = every digit equally often, 0 = one digit
    tv_distance: float  # ½ Σ_c |h_c − f_c| from the data's class frequencies f
    confidence: float  # the classifier's mean top probability
    histogram: list[float]  # h: the share of draws classified as each digit 0..9


@dataclass(frozen=True)
class FrechetDistances:
    """Fréchet distances to the real images in the classifier's features (:func:`prior_frechet_distance`)."""

    prior: float  # of the decodes of prior draws
    reconstructions: float  # of the decodes of the encoder means of the real images
    real: float  # between two random halves of the real images: roughly the floor


def class_frequencies(labels: torch.Tensor) -> torch.Tensor:
    """The share of each digit 0..9 in ``labels``: the data's own class frequencies (MNIST's are not uniform)."""
    return torch.bincount(labels, minlength=10).float() / labels.shape[0]


@torch.no_grad()
def completeness(model, classifier: nn.Module, *, n_samples: int = 4000, seed: int = 0,
                 class_frequencies: torch.Tensor | None = None) -> Completeness:
    r"""Decode ``n_samples`` codes :math:`z \sim \mathcal N(0, I)` and classify them.

    Returns :class:`Completeness`: ``label_entropy``: the entropy of the predicted-class histogram :math:`h` divided by
    :math:`\log 10` (1 = every digit equally often, 0 = a single digit); ``tv_distance``:
    :math:`\tfrac12\sum_c |h_c - f_c|` from the data's class frequencies :math:`f` (pass
    :func:`class_frequencies` of the training labels; uniform if none are given); ``confidence``:
    the classifier's mean top probability; ``histogram``: :math:`h`.
    """
    f = torch.full((10,), 0.1) if class_frequencies is None else torch.as_tensor(class_frequencies).float()
    z = torch.randn(n_samples, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    probs = torch.softmax(digit_classifier.logits(classifier, decode_latents(model, z)).float(), dim=1).cpu()
    h = torch.bincount(probs.argmax(1), minlength=10).float() / n_samples
    return Completeness(
        label_entropy=float(torch.special.entr(h).sum() / math.log(10)),  # entr(p) = -p log p, entr(0) = 0
        tv_distance=float(0.5 * (h - f).abs().sum()),
        confidence=float(probs.max(1).values.mean()),
        histogram=h.tolist(),
    )


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
                           seed: int = 0) -> FrechetDistances:
    r"""Completeness at the decoder's scale: :func:`frechet_distance` in the classifier's features
    between the decodes of ``n_samples`` prior draws :math:`z \sim \mathcal N(0, I)` (the draws of
    :func:`completeness` with the same seed) and the real ``images``.

    Returns :class:`FrechetDistances`: ``prior`` (that distance), ``reconstructions`` (the same distance for the decoder's
    means at the encoder means of ``images``: what this decoder reaches on codes of real images,
    its blur included) and ``real`` (between two random halves of ``images``: roughly the floor
    that the sample sizes set). A prior distance near the reconstructions' says the prior's codes decode
    like the data's; far above it says they do not."""
    z = torch.randn(n_samples, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    real = digit_classifier.features(classifier, images)
    prior = digit_classifier.features(classifier, decode_latents(model, z))
    rebuilt = digit_classifier.features(classifier, decode_latents(model, encode_means(model, images)))
    # Two random halves: in MNIST's own order the halves come from different writers.
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(seed))
    half = images.shape[0] // 2
    return FrechetDistances(prior=frechet_distance(prior, real), reconstructions=frechet_distance(rebuilt, real),
                            real=frechet_distance(real[order[:half]], real[order[half:]]))


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


@dataclass(frozen=True)
class Summary:
    """Everything chapter 03 reports about one model (:func:`summarize`). Held-out numbers are per
    test image, in nats; the KL term's two parts are :mod:`vae_utils.aggregate`'s."""

    latent_std: list[float]  # the standard deviation of the test means, per latent dimension
    completeness: Completeness  # how the digit classifier spreads decoded prior draws
    frechet: FrechetDistances  # prior draws, reconstructions and the floor, in the classifier's features
    prior_coverage: float  # the share of prior draws that land where the aggregate posterior has its mass
    continuity: float  # the largest step's share of a straight latent path (1 / n_steps for an even morph)
    recon: float  # held-out reconstruction term
    kl: float  # held-out KL term
    neg_elbo: float  # their sum
    information: float  # I_q(x; z) over every test image, and its Monte Carlo standard error
    information_se: float
    mismatch: float  # KL(q̄(z) || p(z)), and its standard error
    mismatch_se: float
    aggregate_kl: float  # the average KL term, exact: information + mismatch estimates it
    aggregate_sum_se: float  # the standard error of information + mismatch
    log_n: float  # log N, the most the information can be
    aggregate_images: int  # N, the test images of q̄
    subset_size: int  # the images of each disjoint subset
    subset_information: list[float]  # the information of each subset
    subset_mismatch: list[float]  # the mismatch of each subset
    encoder_sigma: float  # the median encoder standard deviation


def summarize(model, test_images: torch.Tensor, classifier: nn.Module, *, seed: int = 0,
              likelihood: str = "gaussian", class_frequencies: torch.Tensor | None = None) -> Summary:
    """Everything the chapter reports about one model, as a :class:`Summary`: the latent std of
    the test means, the measures of completeness (Fréchet distances, class spread, prior
    coverage), continuity, the held-out loss, the two parts of the KL term over every test image
    and over disjoint subsets of ``AGGREGATE_IMAGES`` (:mod:`vae_utils.aggregate`), and the median
    encoder standard deviation."""
    with torch.no_grad():
        mu, logvar = model.eval().encode(test_images.to(device_of(model)))
    parts = aggregate.kl_decomposition(mu, logvar, seed=seed)
    subsets = aggregate.subset_decompositions(mu, logvar, min(AGGREGATE_IMAGES, max(2, mu.shape[0] // 5)), seed=seed)
    return Summary(
        latent_std=mu.std(0).tolist(),
        completeness=completeness(model, classifier, seed=seed, class_frequencies=class_frequencies),
        frechet=prior_frechet_distance(model, classifier, test_images, seed=seed),
        prior_coverage=aggregate.prior_coverage(mu, logvar, seed=seed),
        continuity=continuity(model, test_images, seed=seed),
        **heldout_loss(model, test_images, likelihood=likelihood, seed=seed),
        information=parts["information"], information_se=parts["information_se"],
        mismatch=parts["mismatch"], mismatch_se=parts["mismatch_se"],
        aggregate_kl=parts["average_kl"], aggregate_sum_se=parts["sum_se"], log_n=parts["log_n"],
        aggregate_images=int(mu.shape[0]), subset_size=subsets["size"],
        subset_information=subsets["information"], subset_mismatch=subsets["mismatch"],
        encoder_sigma=float(torch.exp(0.5 * logvar).median()),
    )


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
    real = digit_classifier.features(classifier, images)
    return frechet_distance(digit_classifier.features(classifier, decode_latents(model, z)), real)


@dataclass(frozen=True)
class DimensionSummary:
    """What chapter 05's latent-dimension study reports about one model (:func:`dimension_summary`);
    its fields are named as :class:`Summary`'s where they measure the same."""

    latent_dim: int  # J
    frechet: FrechetDistances  # prior draws, reconstructions and the floor, in the classifier's features
    frechet_fitted: float  # of the decodes of draws from a Gaussian fitted to the codes
    completeness: Completeness  # how the classifier spreads decoded prior draws (against uniform frequencies)
    radius_codes: float  # the median distance of the test codes from their mean m
    radius_prior: float  # the median distance of prior draws from m
    codes_inside: float  # the share of test codes nearer to m than the median prior draw
    recon: float  # held-out reconstruction term
    kl: float  # held-out KL term
    neg_elbo: float  # their sum
    kl_per_dimension: list[float]  # KL_j, the KL term's part of each latent dimension
    share: list[float]  # KL_j / sum_k KL_k
    activity: list[float]  # A_j = Var_x(mu_j)
    active: int  # how many A_j exceed ACTIVE_VARIANCE


def dimension_summary(model, test_images: torch.Tensor, classifier: nn.Sequential, *, seed: int = 0
                      ) -> DimensionSummary:
    """What the latent-dimension study reports about one model, as a :class:`DimensionSummary`:
    the Fréchet distances of :func:`prior_frechet_distance` and :func:`fitted_frechet_distance`,
    the classifier's spread of prior decodes (:func:`completeness`), the held-out loss,
    :func:`latent_usage`, the median distance from the codes' mean :math:`m` of the test codes
    (``radius_codes``) and of prior draws (``radius_prior``), and ``codes_inside``: the share of
    test codes nearer to :math:`m` than the median prior draw (how many codes the decoder was
    trained on lie in the region where the prior draws)."""
    means = encode_means(model, test_images).double().cpu()
    centre = means.mean(0)
    prior = torch.randn(4000, model.latent_dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    radius_codes, radius_prior = (means - centre).norm(dim=1), (prior - centre).norm(dim=1).median()
    return DimensionSummary(
        latent_dim=model.latent_dim,
        frechet=prior_frechet_distance(model, classifier, test_images, seed=seed),
        frechet_fitted=fitted_frechet_distance(model, classifier, test_images, seed=seed),
        completeness=completeness(model, classifier, seed=seed),
        radius_codes=float(radius_codes.median()), radius_prior=float(radius_prior),
        codes_inside=float((radius_codes < radius_prior).double().mean()),
        **heldout_loss(model, test_images, seed=seed), **latent_usage(model, test_images),
    )


