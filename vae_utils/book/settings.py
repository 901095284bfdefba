"""The settings the chapters share, in one place: quick mode, the training chapters' settings
(:func:`chapter_settings`), where trained models are kept (:func:`checkpoint_path`), and the
book's repository."""
from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

QUICK_ENV = "VAE_BOOK_QUICK"
REPOSITORY = "https://github.com/vae-kl-book/vae-kl-book"  # _config.yml says the same (a test checks it)


def quick_mode() -> bool:
    """True when ``$VAE_BOOK_QUICK`` is 1: fewer epochs and a shorter sweep, for the tests."""
    value = os.environ.get(QUICK_ENV, "0").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"{QUICK_ENV} must be 0 or 1, got {value!r}")
    return value == "1"


class ChapterSettings(NamedTuple):
    """What the training chapters train and measure (see :func:`chapter_settings`)."""

    epochs: int
    betas: tuple[float, ...]
    importance_samples: tuple[int, ...]  # the K of the importance-weighted bounds
    importance_images: int  # how many test images they are averaged over
    classifier_epochs: int  # of the digit classifier that judges completeness
    latent_dims: tuple[int, ...]  # the latent dimensions J of chapter 05's study
    seeds: tuple[int, ...]  # the random seeds its claims are checked for


def chapter_epochs(n_train: int, quick: bool | None = None) -> int:
    """Epochs per model in the training chapters.

    20 on full MNIST (60,000 images: about 9,400 steps of 128 images) and 60 on the offline set
    (4,000 images: about 1,900 steps). The offline rule does not match full MNIST's number of
    steps; it trains until the 2-D latent space has settled on the small set. Quick mode trains
    20 epochs on any data. ``quick=None`` reads :func:`quick_mode`. Chapter 04 uses this too, so
    that a model it has to retrain is the model chapter 03 would have saved.
    """
    if quick if quick is not None else quick_mode():
        return 20
    return 60 if n_train <= 10_000 else 20


def chapter_settings(n_train: int) -> ChapterSettings:
    """The settings of chapters 03 to 05 for ``n_train`` training images: full, or quick mode's."""
    quick = quick_mode()
    return ChapterSettings(
        epochs=chapter_epochs(n_train, quick),
        betas=(0.0, 0.1, 1.0, 8.0) if quick else (0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
        importance_samples=(1, 10, 100) if quick else (1, 10, 100, 1000),
        importance_images=200,
        classifier_epochs=15 if n_train <= 10_000 else 3,
        latent_dims=(2, 16) if quick else (2, 4, 8, 16),
        seeds=(0, 1, 2),
    )


def checkpoint_path(name: str, root: str | os.PathLike = "checkpoints", n_train: int | None = None) -> Path:
    """``<root>/<quick|full>[/<n_train>-images]/<name>.pt``: quick-mode models never stand in for the
    book's, and models of the offline digits and of full MNIST never overwrite each other."""
    folder = Path(root) / ("quick" if quick_mode() else "full")
    if n_train is not None:
        folder = folder / f"{int(n_train)}-images"
    return folder / f"{name.lower().replace(' ', '_')}.pt"


def latent_dim_checkpoint_path(latent_dim: int, beta: float, seed: int, n_train: int,
                               root: str | os.PathLike = "checkpoints") -> Path:
    """Where chapter 05 keeps its model of ``latent_dim`` latent dimensions, ``beta`` and ``seed``: the
    :func:`checkpoint_path` of ``latent J beta B seed S``, except that the 2-dimensional models of
    seed 0 are chapter 03's own (``beta B``), trained with the same settings."""
    name = f"beta {beta:g}" if (latent_dim, seed) == (2, 0) else f"latent {latent_dim} beta {beta:g} seed {seed}"
    return checkpoint_path(name, root=root, n_train=n_train)
