"""The chapters' claims, and how a chapter reports them.

A claim compares measures of :mod:`vae_utils.metrics` rather than quoting them, so that it can
hold for any random seed and data size: :func:`kl_claims` and :func:`sweep_claims` (chapter 03),
:func:`dimension_claims` (chapter 05). A chapter prints its claims with :func:`report_claims`,
which checks them and raises :class:`ClaimFailed` when one does not hold, so that a build on
other data fails instead of printing "False" beside prose that says the claim holds.
"""
from __future__ import annotations

import torch

from .metrics import COLLAPSE_NATS, DimensionSummary, Summary


def kl_claims(with_kl: Summary, without_kl: Summary) -> dict[str, bool]:
    """Chapter 03's claims, from each model's :func:`~vae_utils.metrics.summarize`. They must hold
    for any seed, so they compare, rather than quote, numbers."""
    std_with, std_without = with_kl.latent_std, without_kl.latent_std
    return {
        "prior draws land where the codes are more often with KL":
            with_kl.prior_coverage > without_kl.prior_coverage,
        "prior samples cover the digit classes more evenly with KL":
            with_kl.completeness.label_entropy > without_kl.completeness.label_entropy,
        "straight latent paths are smoother with KL":
            with_kl.continuity < without_kl.continuity,
        "with KL, the latent std of test means is within [0.5, 2]":
            all(0.5 <= s <= 2.0 for s in std_with),
        "with KL, the latent std is smaller than without KL":
            all(a < b for a, b in zip(std_with, std_without)),
    }


def sweep_claims(sweep: dict[float, Summary]) -> dict[str, bool]:
    """The beta sweep's claims, from :func:`~vae_utils.metrics.summarize` of one model per beta (0
    and 1 included).

    Comparisons only, so that they hold for any random seed and data size."""
    betas = sorted(sweep)
    largest, smallest_positive = betas[-1], betas[1]
    entropy = {b: sweep[b].completeness.label_entropy for b in betas}
    positive = [b for b in betas if b > 0]
    # Paths are measured between encoded test digits: a collapsed encoder maps them all to one
    # point, and the measure no longer says anything about the latent space.
    uncollapsed = [b for b in positive if sweep[b].kl >= COLLAPSE_NATS]
    return {
        "the label entropy of decoded prior draws rises from beta = 0 to the smallest positive beta": entropy[smallest_positive] > entropy[0.0],
        "the label entropy of decoded prior draws rises from beta = 0 to beta = 1": entropy[1.0] > entropy[0.0],
        "every positive beta below collapse gives smoother paths than beta = 0":
            all(sweep[b].continuity < sweep[0.0].continuity for b in uncollapsed),
        "the KL per image falls as beta grows from 1 to the largest beta": sweep[largest].kl < sweep[1.0].kl,
        "at the largest beta the KL per image is below 0.5 nats: the encoder has collapsed":
            sweep[largest].kl < COLLAPSE_NATS,
        "the mismatch KL(q̄ || p) is smaller at every positive beta than at beta = 0":
            all(sweep[b].mismatch < sweep[0.0].mismatch for b in positive),
        "the information I_q falls from beta = 1 to the largest beta":
            sweep[largest].information < sweep[1.0].information,
    }


def dimension_claims(summaries: dict[tuple[int, int, float], DimensionSummary]) -> dict[str, bool]:
    """The latent-dimension study's claims, from :func:`~vae_utils.metrics.dimension_summary` of
    the models with (beta = 1) and without (beta = 0) the KL term, keyed ``(J, seed, beta)``: each
    must hold for every seed. Comparisons only, so that they can hold on any data size."""
    dims, seeds = sorted({k[0] for k in summaries}), sorted({k[1] for k in summaries})
    smallest, largest = dims[0], dims[-1]

    def every(test) -> bool:
        return all(test(J, seed) for J in dims for seed in seeds)

    def at(J, seed, beta) -> DimensionSummary:
        return summaries[J, seed, beta]

    return {
        "at every J, prior draws decode closer to the test digits (Fréchet) with KL than without":
            every(lambda J, s: at(J, s, 1.0).frechet.prior < at(J, s, 0.0).frechet.prior),
        "without KL, prior draws decode farther from the test digits at every larger J than at the smallest":
            every(lambda J, s: J == smallest or at(J, s, 0.0).frechet.prior > at(smallest, s, 0.0).frechet.prior),
        "with KL, prior draws decode closer to the test digits at the largest J than at the smallest":
            all(at(largest, s, 1.0).frechet.prior < at(smallest, s, 1.0).frechet.prior for s in seeds),
        "without KL, fewer test codes lie as near the codes' mean as the median prior draw at the largest J than at "
        "the smallest":
            all(at(largest, s, 0.0).codes_inside < at(smallest, s, 0.0).codes_inside for s in seeds),
        "without KL, at every J, draws from a Gaussian fitted to the codes decode closer to the test digits than "
        "prior draws":
            every(lambda J, s: at(J, s, 0.0).frechet_fitted < at(J, s, 0.0).frechet.prior),
        "without KL, test reconstructions are better at the largest J than at the smallest":
            all(at(largest, s, 0.0).recon < at(smallest, s, 0.0).recon for s in seeds),
        "at the largest J, draws from the Gaussian fitted to the codes without KL decode closer to the test digits "
        "than the prior draws with KL":
            all(at(largest, s, 0.0).frechet_fitted < at(largest, s, 1.0).frechet.prior for s in seeds),
        "with KL at the largest J, some latent units are inactive":
            all(at(largest, s, 1.0).active < largest for s in seeds),
        "at the largest J, the classifier is less confident on prior decodes without KL than with it":
            all(at(largest, s, 0.0).completeness.confidence < at(largest, s, 1.0).completeness.confidence
                for s in seeds),
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
