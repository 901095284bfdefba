"""Training loop and checkpoints.

The data stay in memory as one tensor; each epoch draws a seeded permutation and
slices batches from it: no DataLoader, no per-sample transforms.
"""
from __future__ import annotations

import math
import os
import random
import threading
import uuid
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from . import _checks
from .book import progress_bar
from .data import fingerprint
from .losses import LIKELIHOODS, _vae_loss_terms
from .models import VAE

CHECKPOINT_FORMAT = "vae_utils.checkpoint.v1"


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite during training (too large a learning rate, most often)."""


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch, so that model initialisation is repeatable.

    ``seed`` is an integer in [0, 2**32 - 1], the range all three accept."""
    seed = _checks.seed(seed, "seed")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` gives CUDA when present (Colab, Kaggle), else the CPU."""
    if isinstance(device, torch.device):
        if device.type not in ("cpu", "cuda"):
            raise ValueError(f"device must be a CPU or CUDA device, got {device}")
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device} was asked for, but torch finds no CUDA device")
        return device
    _checks.one_of(device, "device", ("auto", "cpu", "cuda"))
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for, but torch finds no CUDA device")
    return torch.device(device)


def _divergence(epoch: int, step_losses: list[float], who: str, lr: float) -> str:
    """The message of :class:`TrainingDiverged`: where, the last finite loss, what was restored, what to try."""
    step = next(i for i, v in enumerate(step_losses) if not math.isfinite(v))
    finite = [v for v in step_losses[:step] if math.isfinite(v)]
    last = f"the last finite loss was {finite[-1]:.4g} (step {step})" if finite else "no step of this epoch had a finite loss"
    restored = "its initial weights" if epoch == 0 else f"its weights after epoch {epoch}"
    return (f"training of {who} diverged in epoch {epoch + 1}, step {step + 1}: the loss became "
            f"{step_losses[step]}; {last}. The model was restored to {restored} and left in eval mode. "
            f"Try a lower lr (it was {lr:g}), or check beta.")


def _training_arguments(images, epochs, batch_size, lr, seed, likelihood, progress, device):
    """The checks that train_vae and ensemble.train_together share; the images are checked here, once."""
    _checks.images(images, "images")
    _checks.one_of(likelihood, "likelihood", LIKELIHOODS)
    return (_checks.positive_int(epochs, "epochs"), _checks.positive_int(batch_size, "batch_size"),
            _checks.finite_number(lr, "lr", minimum=0.0, strict=True), _checks.seed(seed, "seed"),
            _checks.flag(progress, "progress"), pick_device(device))


def train_vae(
    model: VAE,
    images: torch.Tensor,
    *,
    epochs: int,
    beta: float = 1.0,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
    likelihood: str = "gaussian",
) -> dict[str, list[float]]:
    r"""Minimise reconstruction + :math:`\beta` KL with Adam; return the per-epoch history.

    The history has keys ``"loss"``, ``"recon"`` and ``"kl"``: per-image averages over
    each epoch. ``seed`` fixes the batch order and the reparametrisation noise (it seeds
    torch's global generator), so on a CPU the same seed and the same initial model give
    identical histories. The model is left on ``device`` in eval mode.

    The images are checked once, here; each step then runs ``model._forward`` and the loss
    formulas without value checks, so nothing waits for the device until the epoch ends. If the
    loss becomes NaN or infinite, :class:`TrainingDiverged` says at which epoch and step, and the
    model is restored to its weights before that epoch.
    """
    if not isinstance(model, VAE):
        raise ValueError(f"model must be a vae_utils.models.VAE, got {type(model).__name__}")
    beta = _checks.finite_number(beta, "beta", minimum=0.0)
    epochs, batch_size, lr, seed, progress, dev = _training_arguments(images, epochs, batch_size, lr, seed, likelihood,
                                                                      progress, device)
    model.to(dev)
    data = model._as_input(images)
    n = data.shape[0]
    order = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history: dict[str, list[float]] = {"loss": [], "recon": [], "kl": []}

    bar = progress_bar(range(epochs), desc=f"beta={beta:g}", unit="epoch", disable=not progress)
    for epoch in bar:
        model.train()
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        totals = torch.zeros(3, device=dev, dtype=data.dtype)
        steps = []
        for batch in torch.randperm(n, generator=order).to(dev).split(batch_size):
            x = data[batch]
            x_hat, mu, logvar = model._forward(x)
            loss, recon, kl = _vae_loss_terms(x_hat, x, mu, logvar, beta, likelihood)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            totals += torch.stack([loss.detach(), recon.detach(), kl.detach()]) * len(batch)
            steps.append(loss.detach())
        values = (totals / n).tolist()  # the one host sync of the epoch
        if not all(math.isfinite(v) for v in values):
            model.load_state_dict(before)
            model.eval()
            raise TrainingDiverged(_divergence(epoch, torch.stack(steps).tolist(), "the model", lr))
        for key, value in zip(history, values):
            history[key].append(value)
        bar.set_postfix(recon=f"{history['recon'][-1]:.2f}", kl=f"{history['kl'][-1]:.2f}")
    model.eval()
    return history


class Checkpoint(NamedTuple):
    model: VAE
    history: dict
    config: dict


def _plain(value, name: str):
    """Checkpoints hold only what ``torch.load(weights_only=True)`` can read back."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, name) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, name) for k, v in value.items()}
    raise ValueError(f"{name} must hold only numbers, strings, lists and dicts with str keys, got {type(value).__name__}")


def save_checkpoint(path: str | os.PathLike, model: VAE, history: dict, config: dict) -> Path:
    """Write weights, the model's constructor arguments, the history and ``config`` atomically."""
    if not isinstance(model, VAE):
        raise ValueError(f"model must be a vae_utils.models.VAE, got {type(model).__name__}")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model_config": model.config,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": _plain(history, "history"),
        "config": _plain(config, "config"),
    }
    path = Path(_checks.path(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name unique per call (process, thread and a random part), so concurrent writers never share it.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.{uuid.uuid4().hex}.tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model from a checkpoint (in eval mode) with its history and config.

    Refuses weights that are not finite (a diverged run's), naming the file."""
    path = Path(_checks.path(path))
    if not path.is_file():
        raise FileNotFoundError(f"path: no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"path: {path} is not a readable checkpoint ({type(err).__name__}); "
                         "it may be corrupt or partial: delete it and train again") from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"path: {path} is not a {CHECKPOINT_FORMAT} file; delete it and train again")
    model = VAE(**payload["model_config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"path: the weights in {path} do not fit VAE(**{payload['model_config']}): {err}") from err
    try:
        _checks.finite_model(model, "the model")
    except ValueError as err:
        raise ValueError(f"path: {path} holds weights that are not finite ({err}); delete it and train again") from None
    return Checkpoint(model.to(pick_device(device)).eval(), payload["history"], payload["config"])


def training_config(images: torch.Tensor, *, beta: float, epochs: int, seed: int) -> dict:
    """What a checkpoint must match to stand in for a model trained now: beta, epochs, the random
    seed, and the training data (their number and a fingerprint of their pixels)."""
    _checks.images(images, "images")
    return {"beta": _checks.finite_number(beta, "beta", minimum=0.0), "epochs": _checks.positive_int(epochs, "epochs"),
            "seed": _checks.seed(seed, "seed"), "train_images": int(images.shape[0]), "data": fingerprint(images)}


def load_or_train(path: str | os.PathLike, images: torch.Tensor, *, beta: float, epochs: int, seed: int = 0,
                  progress: bool = True) -> Checkpoint:
    """Load the checkpoint at ``path`` if it was trained with these settings and data; otherwise
    train a default ``VAE()``, say why, and save it there."""
    path = Path(_checks.path(path))
    _checks.images(images, "images")
    wanted = training_config(images, beta=beta, epochs=epochs, seed=seed)
    progress = _checks.flag(progress, "progress")
    if path.is_file():
        found = load_checkpoint(path)
        differ = {k: (found.config.get(k), v) for k, v in wanted.items() if found.config.get(k) != v}
        if not differ:
            return found
        said = "; ".join(f"{k}: {old!r} in the file, {new!r} asked for" for k, (old, new) in differ.items())
        print(f"The checkpoint at {path} was trained with other settings ({said}): training a new one.")
    else:
        print(f"No checkpoint at {path}: training one ({epochs} epochs, beta={beta:g}).")
    set_seed(seed)
    model = VAE()
    history = train_vae(model, images, epochs=epochs, beta=beta, seed=seed, progress=progress)
    save_checkpoint(path, model, history, wanted)
    return Checkpoint(model.eval(), history, wanted)
