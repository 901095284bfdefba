"""Training loop and checkpoints.

The data stay in memory as one tensor; each epoch draws a seeded permutation and
slices batches from it: no DataLoader, no per-sample transforms.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from . import _checks
from .losses import LIKELIHOODS, vae_loss
from .models import VAE

CHECKPOINT_FORMAT = "vae_utils.checkpoint.v1"


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch, so that model initialisation is repeatable."""
    seed = _checks.positive_int(seed, "seed", minimum=0)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` gives CUDA when present (Colab, Kaggle), else the CPU."""
    if isinstance(device, torch.device):
        return device
    _checks.one_of(device, "device", ("auto", "cpu", "cuda"))
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for, but torch finds no CUDA device")
    return torch.device(device)


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
    each epoch. ``seed`` fixes the batch order and the reparametrization noise (it seeds
    torch's global generator), so on a CPU the same seed and the same initial model give
    identical histories. The model is left on ``device`` in eval mode.
    """
    if not isinstance(model, VAE):
        raise ValueError(f"model must be a vae_utils.models.VAE, got {type(model).__name__}")
    _checks.images(images, "images")
    epochs = _checks.positive_int(epochs, "epochs")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    beta = _checks.finite_number(beta, "beta", minimum=0.0)
    lr = _checks.finite_number(lr, "lr", minimum=0.0, strict=True)
    seed = _checks.positive_int(seed, "seed", minimum=0)
    _checks.one_of(likelihood, "likelihood", LIKELIHOODS)
    dev = pick_device(device)

    model.to(dev)
    data = images.to(dev)
    n = data.shape[0]
    order = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history: dict[str, list[float]] = {"loss": [], "recon": [], "kl": []}

    bar = tqdm(range(epochs), desc=f"beta={beta:g}", unit="epoch", disable=not progress)
    for _ in bar:
        model.train()
        totals = torch.zeros(3, device=dev)
        for batch in torch.randperm(n, generator=order).to(dev).split(batch_size):
            x = data[batch]
            x_hat, mu, logvar = model(x)
            loss, recon, kl = vae_loss(x_hat, x, mu, logvar, beta=beta, likelihood=likelihood)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            totals += torch.stack([loss.detach(), recon.detach(), kl.detach()]) * len(batch)
        for key, value in zip(history, (totals / n).tolist()):
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model from a checkpoint (in eval mode) with its history and config."""
    path = Path(path)
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
    return Checkpoint(model.to(pick_device(device)).eval(), payload["history"], payload["config"])


def load_or_train(path: str | os.PathLike, images: torch.Tensor, *, beta: float, epochs: int, seed: int = 0,
                  progress: bool = True) -> Checkpoint:
    """Load the checkpoint at ``path``; if there is none, train a default ``VAE()`` and save it there."""
    path = Path(path)
    if path.is_file():
        return load_checkpoint(path)
    print(f"No checkpoint at {path}: training one ({epochs} epochs, beta={beta:g}).")
    set_seed(seed)
    model = VAE()
    history = train_vae(model, images, epochs=epochs, beta=beta, seed=seed, progress=progress)
    config = {"beta": beta, "epochs": epochs, "seed": seed, "train_images": len(images)}
    save_checkpoint(path, model, history, config)
    return Checkpoint(model.eval(), history, config)
