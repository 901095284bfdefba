"""Checks at the door: where a reader's data or choice enters the helpers.

The doors are :func:`vae_utils.data.load_mnist`, the model (``VAE(...)``, its ``encode``,
``decode`` and ``forward``), :func:`~vae_utils.losses.vae_loss`, the trainers
(:func:`~vae_utils.training.train_vae`, :func:`~vae_utils.book.checkpoints.load_or_train` and
``load_or_train_sweep``), the explorers, the dial and :func:`~vae_utils.claims.report_claims`.
Every check there raises ``ValueError`` whose message starts with the argument's name and says
what was expected, so a reader sees at once which call was wrong. Nothing is clipped or guessed.
The helpers behind the doors trust their callers and let torch report what does not fit.

``LIMITS`` is every limit the package sets on what it is given, in one table.
"""
from __future__ import annotations

import math
import os
from numbers import Integral, Real

import torch

LIMITS = {
    # train_vae's largest learning rate: Adam moves each weight by about lr per step (the book trains with 1e-3)
    "lr": 10.0,
    # bytes of one static explorer or dial page: a page of the book must stay light
    "page_bytes": 1_500_000,
    # decodes per axis of a dial frame's grid, and in its strip: bounded before anything is decoded
    "dial_tiles": 40,
    # bytes of one published file downloaded by vae_utils.book.published (a book checkpoint is about 4.3 MB)
    "download_bytes": 64 * 2**20,
}


def positive_int(value, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or not minimum <= value <= (maximum or value):
        within = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum:,}]"
        raise ValueError(f"{name} must be an integer {within}, got {value!r}")
    return int(value)


def seed(value, name: str = "seed") -> int:
    """A random seed: an integer in [0, 2**32 - 1], the range Python, NumPy and torch all accept."""
    return positive_int(value, name, minimum=0, maximum=2**32 - 1)


def flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def finite_number(value, name: str, minimum: float | None = None, strict: bool = False,
                  maximum: float | None = None) -> float:
    """A finite real number (NumPy scalars included), optionally bounded."""
    if isinstance(value, (bool, torch.Tensor)) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return float(value)


def _shown(x) -> str:
    return f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__


def _within(x: torch.Tensor, low: float, high: float) -> bool:
    """Every value in [low, high], NaN in none (torch's min and max carry a NaN): one wait for the device."""
    lowest, highest = torch.aminmax(x.detach())
    return bool((lowest >= low) & (highest <= high))


def images(x, name: str = "images", values: bool = True) -> torch.Tensor:
    """A batch of MNIST-sized images: float ``[N, 1, 28, 28]``, N >= 1, with values in [0, 1].
    ``values=False`` checks only type and shape (no look at the values: no wait for the device)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 4 \
            or tuple(x.shape[1:]) != (1, 28, 28) or x.shape[0] == 0:
        raise ValueError(f"{name} must be a floating-point tensor of shape [N, 1, 28, 28] with N >= 1, got {_shown(x)}")
    if values and not _within(x, 0, 1):
        raise ValueError(f"{name} must hold finite values in [0, 1] (divide raw pixels by 255)")
    return x


def latents(z, name: str, latent_dim: int) -> torch.Tensor:
    """Codes: float ``[N, latent_dim]``, finite."""
    if not isinstance(z, torch.Tensor) or not z.is_floating_point() or z.dim() != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"{name} must be a floating-point tensor of shape [N, {latent_dim}], got {_shown(z)}")
    if not bool(torch.isfinite(z).all()):
        raise ValueError(f"{name} must hold finite values (no NaN or inf)")
    return z


def labels(y, name: str, n: int) -> torch.Tensor:
    """Digit classes 0..9 for ``n`` images: int64 ``[n]``."""
    if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or tuple(y.shape) != (n,) \
            or (n and not _within(y, 0, 9)):
        raise ValueError(f"{name} must be digit classes 0..9 in an int64 tensor of shape [{n}], got {_shown(y)}")
    return y


def value_range(r, name: str) -> tuple[float, float]:
    """A finite interval ``(low, high)`` with ``low < high``."""
    try:
        low, high = (float(v) for v in r)
    except (TypeError, ValueError):
        low = high = math.nan
    if not low < high or not math.isfinite(high - low):  # NaN fails the first, an infinite end the second
        raise ValueError(f"{name} must be a pair (low, high) of finite numbers with low < high, got {r!r}")
    return low, high


def one_of(value, name: str, options) -> str:
    if isinstance(value, bool) or not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}")
    return value


def path(value, name: str = "path") -> os.PathLike | str:
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)) or str(value) == "":
        raise ValueError(f"{name} must be a file path (str or pathlib.Path), got {value!r}")
    return value


def finite_model(model, name: str = "model"):
    """Every weight finite: a model with NaN weights decodes to nonsense, silently."""
    for pname, p in model.named_parameters():
        if not bool(torch.isfinite(p.detach()).all()):
            raise ValueError(f"{name} has non-finite weights (in {pname}); it may come from a diverged training run")
    return model
