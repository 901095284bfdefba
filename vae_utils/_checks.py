"""Checks at the door: where a reader's data or choice enters the helpers.

Every check raises ``ValueError`` whose message starts with the argument's name and says what
was expected, so a reader sees at once which call was wrong. Nothing is clipped or guessed.
Internal maths trusts its callers and lets torch report shape errors.
"""
from __future__ import annotations

import math
import os
from numbers import Integral, Real

import torch

SEED_MAX = 2**32 - 1  # what Python, NumPy and torch all accept as a seed
NAME_MAX = 100  # characters in a model's or a file's name


def positive_int(value, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum:,} (a larger value would take too long or too much "
                         f"memory), got {value!r}")
    return int(value)


def seed(value, name: str = "seed") -> int:
    """A random seed: an integer in [0, 2**32 - 1], the range Python, NumPy and torch all accept."""
    if isinstance(value, bool) or not isinstance(value, Integral) or not 0 <= value <= SEED_MAX:
        raise ValueError(f"{name} must be an integer in [0, 2**32 - 1], got {value!r}")
    return int(value)


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
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be {relation} {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return float(value)


def float_tensor(x, name: str, ndim: int | None = None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must have a floating-point dtype, got {x.dtype}")
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}")
    return x


def finite(x: torch.Tensor, name: str) -> torch.Tensor:
    if not bool(torch.isfinite(x.detach()).all()):
        raise ValueError(f"{name} must hold finite values (no NaN or inf)")
    return x


def nonempty(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one row, got shape {tuple(x.shape)}")
    return x


def image_shape(x, name: str = "images") -> torch.Tensor:
    """Type, dtype and shape of a batch of images; no look at the values (no wait for the device)."""
    float_tensor(x, name)
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28) or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape [N, 1, 28, 28] with N >= 1, got {tuple(x.shape)}")
    return x


def images(x, name: str = "images") -> torch.Tensor:
    """A batch of MNIST-sized images: float ``[N, 1, 28, 28]`` with values in [0, 1]."""
    image_shape(x, name)
    x_ = x.detach()
    if not bool(torch.isfinite(x_).all()) or float(x_.min()) < 0.0 or float(x_.max()) > 1.0:
        raise ValueError(f"{name} must hold finite values in [0, 1] (divide raw pixels by 255)")
    return x


def labels(y, name: str, n: int) -> torch.Tensor:
    if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or y.dim() != 1 or y.shape[0] != n:
        got = f"{y.dtype} {tuple(y.shape)}" if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"{name} must be an int64 tensor of shape [{n}], got {got}")
    if n and (int(y.min()) < 0 or int(y.max()) > 9):
        raise ValueError(f"{name} must hold digit classes 0..9")
    return y


def latents(z, name: str, latent_dim: int) -> torch.Tensor:
    float_tensor(z, name, ndim=2)
    if z.shape[1] != latent_dim:
        raise ValueError(f"{name} must have shape [N, {latent_dim}], got {tuple(z.shape)}")
    return z


def value_range(r, name: str) -> tuple[float, float]:
    """A finite interval ``(low, high)`` with ``low < high``."""
    try:
        low, high = (float(v) for v in r)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of numbers, got {r!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"{name} must be finite with low < high, got {r!r}")
    return low, high


def one_of(value, name: str, options) -> str:
    if isinstance(value, bool) or not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}")
    return value


def path(value, name: str = "path") -> os.PathLike | str:
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)) or str(value) == "":
        raise ValueError(f"{name} must be a file path (str or pathlib.Path), got {value!r}")
    return value


def text(value, name: str, maximum: int = NAME_MAX) -> str:
    """A non-empty name of at most ``maximum`` characters."""
    if not isinstance(value, str) or not value or len(value) > maximum:
        shown = value if not isinstance(value, str) else f"{value[:40]!r}{'...' if len(value) > 40 else ''}"
        raise ValueError(f"{name} must be a non-empty string of at most {maximum} characters, got {shown}")
    return value


def vae(model, name: str = "model"):
    """One of the book's VAEs (``vae_utils.models.VAE``)."""
    from .models import VAE

    if not isinstance(model, VAE):
        raise ValueError(f"{name} must be a vae_utils.models.VAE, got {type(model).__name__}")
    return model


def module(model, name: str = "classifier") -> torch.nn.Module:
    """A torch module with weights (any network that maps images to outputs)."""
    if not isinstance(model, torch.nn.Module) or next(model.parameters(), None) is None:
        raise ValueError(f"{name} must be a torch.nn.Module with weights, got {type(model).__name__}")
    return model


def finite_model(model, name: str = "model"):
    """Every weight finite: a model with NaN weights decodes to nonsense, silently."""
    for pname, p in model.named_parameters():
        if not bool(torch.isfinite(p.detach()).all()):
            raise ValueError(f"{name} has non-finite weights (in {pname}); it may come from a diverged training run")
    return model
