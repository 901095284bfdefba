"""Settings the chapters share: quick mode and where trained models are kept."""
from __future__ import annotations

import os
from numbers import Integral
from pathlib import Path

QUICK_ENV = "VAE_BOOK_QUICK"
PROGRESS_ENV = "VAE_BOOK_PROGRESS"


def quick_mode() -> bool:
    """True when ``$VAE_BOOK_QUICK`` is 1: fewer epochs and a shorter sweep, for the tests."""
    value = os.environ.get(QUICK_ENV, "0").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"{QUICK_ENV} must be 0 or 1, got {value!r}")
    return value == "1"


def progress_bar(iterable, **kwargs):
    """A tqdm progress bar: a notebook widget where one can render, plain text otherwise.

    Text is used when ``$VAE_BOOK_PROGRESS`` is ``text``, and on Kaggle (``$KAGGLE_KERNEL_RUN_TYPE``
    is set there), whose widget renderer cannot draw tqdm's bars (Kaggle/docker-python#1443): the
    training then prints its progress as text instead of failing to show it.
    """
    choice = os.environ.get(PROGRESS_ENV, "auto").strip() or "auto"
    if choice not in ("auto", "text"):
        raise ValueError(f"{PROGRESS_ENV} must be auto or text, got {choice!r}")
    if choice == "text" or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm(iterable, **kwargs)


def checkpoint_path(name: str, root: str | os.PathLike = "checkpoints", n_train: int | None = None) -> Path:
    """``<root>/<quick|full>[/<n_train>-images]/<name>.pt``: quick-mode models never stand in for the
    book's, and models of the offline digits and of full MNIST never overwrite each other."""
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in " _-" for c in name):
        raise ValueError(f"name must be letters, digits, spaces, '_' or '-', got {name!r}")
    if isinstance(root, bool) or not isinstance(root, (str, os.PathLike)) or str(root) == "":
        raise ValueError(f"root must be a folder path, got {root!r}")
    folder = Path(root) / ("quick" if quick_mode() else "full")
    if n_train is not None:
        if isinstance(n_train, bool) or not isinstance(n_train, Integral) or n_train < 1:
            raise ValueError(f"n_train must be a positive number of images, got {n_train!r}")
        folder = folder / f"{int(n_train)}-images"
    return folder / f"{name.lower().replace(' ', '_')}.pt"


def chapter_epochs(n_train: int, quick: bool | None = None) -> int:
    """Epochs per model in the training chapters: 20 in quick mode; in full mode 60 on the
    offline set (up to 10,000 images) and 20 on full MNIST, about the same number of steps.

    ``quick=None`` reads :func:`quick_mode`. Chapter 04 uses this too, so that a model it has to
    retrain is the model chapter 03 would have saved.
    """
    if isinstance(n_train, bool) or not isinstance(n_train, Integral) or n_train < 1:
        raise ValueError(f"n_train must be a positive number of images, got {n_train!r}")
    if quick is not None and not isinstance(quick, bool):
        raise ValueError(f"quick must be True, False or None, got {quick!r}")
    if quick if quick is not None else quick_mode():
        return 20
    return 60 if n_train <= 10_000 else 20
