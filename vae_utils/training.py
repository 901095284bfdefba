r"""The training loop.

The data stay in memory as one tensor; each epoch draws a seeded permutation and slices
batches from it: no DataLoader, no per-sample transforms. One loop, :func:`fit`, trains one VAE at a
time (:func:`train_vae`, which checks the arguments first); a :math:`\beta` sweep is one ``train_vae``
per model (:func:`vae_utils.book.checkpoints.load_or_train_sweep`).
"""
from __future__ import annotations

import math
import os
import random
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from . import _checks
from .losses import LIKELIHOODS, vae_loss
from .models import VAE

PROGRESS_ENV = "VAE_BOOK_PROGRESS"


class TrainingDiverged(RuntimeError):
    """The loss or the weights became NaN or infinite during training (too large a learning rate, most often)."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training was stopped by the reader (Jupyter's stop button, Ctrl-C): nothing of it was saved."""


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch, so that model initialisation is repeatable.

    ``seed`` is an integer in [0, 2**32 - 1], the range all three accept (NumPy refuses others)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` gives CUDA when present (Colab, Kaggle), else the CPU; ``"cpu"``, ``"cuda"`` or a
    ``torch.device`` of either asks for one (CUDA must be there)."""
    kind = device.type if isinstance(device, torch.device) else device
    _checks.one_of(kind, "device", ("auto", "cpu", "cuda"))
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} was asked for, but torch finds no CUDA device")
    if kind == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


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
        from tqdm.std import tqdm  # imported here: which tqdm is chosen when the bar is made, from the environment
    else:
        from tqdm.auto import tqdm  # the notebook widget where one can render
    return tqdm(iterable, **kwargs)


class TrainingArguments(NamedTuple):
    """The arguments every trainer takes, checked (:func:`training_arguments`)."""

    epochs: int
    batch_size: int
    lr: float
    seed: int
    progress: bool
    device: torch.device


def training_arguments(images, epochs, batch_size, lr, seed, likelihood, progress, device) -> TrainingArguments:
    """The checks of the arguments every trainer takes (a door: they are the reader's); the images
    are checked here, once. ``lr`` may be at most ``_checks.LIMITS["lr"]``."""
    _checks.images(images, "images")
    _checks.one_of(likelihood, "likelihood", LIKELIHOODS)
    lr = _checks.finite_number(lr, "lr", minimum=0.0, strict=True, maximum=_checks.LIMITS["lr"])
    return TrainingArguments(_checks.positive_int(epochs, "epochs"), _checks.positive_int(batch_size, "batch_size"), lr,
                             _checks.seed(seed, "seed"), _checks.flag(progress, "progress"), pick_device(device))


def fit(model: nn.Module, data: torch.Tensor, beta: float, *, epochs: int, batch_size: int, lr: float, seed: int,
        likelihood: str, progress: bool) -> dict[str, list[float]]:
    r"""The training loop: minimise reconstruction + :math:`\beta` KL with Adam; return the per-epoch history.

    ``data`` are checked images on the model's device and dtype. Per epoch: a seeded permutation of
    the images, batches in that order, one reparametrised sample per image from torch's global
    generator (seeded with ``seed``), and one host sync at the end of the epoch, which checks the
    loss and the weights. If either is not finite, the model is restored to its weights before that
    epoch, left in eval mode, and :class:`TrainingDiverged` says where and what to try.
    :class:`TrainingInterrupted` (a ``KeyboardInterrupt``) says in one line that training stopped.
    """
    order = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(parameters, lr=lr)
    history = {"loss": [], "recon": [], "kl": []}
    bar = progress_bar(range(epochs), desc=f"beta={beta:g}", unit="epoch", disable=not progress)
    try:
        _epochs(model, data, beta, bar, optimiser, parameters, order, history, batch_size=batch_size, lr=lr,
                likelihood=likelihood)
    except KeyboardInterrupt:
        model.eval()
        done = len(history["loss"])
        # `from None`: the reader sees this one line, not the interrupted frames inside torch.autograd.
        raise TrainingInterrupted(f"training of beta={beta:g} was stopped after {done} of {epochs} epochs: nothing "
                                  "was saved; run the cell again to train from the start") from None
    finally:
        bar.close()
    model.eval()
    return history


def _epochs(model, data, beta, bar, optimiser, parameters, order, history, *, batch_size, lr, likelihood):
    """The epochs of :func:`fit`, appending to ``history``."""
    n = data.shape[0]
    for epoch in bar:
        model.train()
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        totals = torch.zeros(3, device=data.device, dtype=torch.float64)  # float64: no overflow of the sum
        steps = []
        for batch in torch.randperm(n, generator=order).to(data.device).split(batch_size):
            x = data[batch]
            x_hat, mu, logvar = model(x)
            loss, recon, kl = vae_loss(x_hat, x, mu, logvar, beta=beta, likelihood=likelihood)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            totals += torch.stack([loss, recon, kl]).detach().double() * len(batch)
            steps.append(loss.detach())
        weights_ok = torch.stack([torch.isfinite(p.detach()).all() for p in parameters]).all()
        *means, ok = torch.cat([totals / n, weights_ok.double().reshape(1)]).tolist()  # the one host sync
        if not ok or not all(map(math.isfinite, means)):
            model.load_state_dict(before)
            model.eval()
            raise TrainingDiverged(_divergence(epoch, torch.stack(steps).tolist(), f"the model with beta={beta:g}",
                                               lr, weights_ok=bool(ok)))
        for key, value in zip(("loss", "recon", "kl"), means):
            history[key].append(value)
        bar.set_postfix(recon=f"{means[1]:.2f}", kl=f"{means[2]:.2f}")


def _divergence(epoch: int, step_losses: list[float], who: str, lr: float, weights_ok: bool) -> str:
    """The message of :class:`TrainingDiverged`: where, the last finite loss, what was restored, what to try."""
    bad = [i for i, v in enumerate(step_losses) if not math.isfinite(v)]
    if bad:
        step = bad[0]
        finite = step_losses[:step]
        last = f"the last finite loss was {finite[-1]:.4g} (step {step})" if finite else "no step of this epoch had a finite loss"
        where = f"step {step + 1}: the loss became {step_losses[step]}; {last}"
    elif not weights_ok:
        where = "its weights became NaN or infinite while every step's loss stayed finite (an overflowing gradient)"
    else:
        where = "the epoch's losses overflowed when averaged"
    restored = "its initial weights" if epoch == 0 else f"its weights after epoch {epoch}"
    return (f"training of {who} diverged in epoch {epoch + 1}, {where}. The weights were restored to {restored} "
            f"and the model left in eval mode. Try a lower lr (it was {lr:g}), or check beta.")


def train_vae(
    model: nn.Module,
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

    The history has keys ``"loss"``, ``"recon"`` and ``"kl"``: per-image averages over each
    epoch. ``seed`` fixes the batch order and the reparametrisation noise (it seeds torch's
    global generator), so on a CPU the same seed and the same initial model give identical
    histories. Weights with ``requires_grad=False`` stay as they are. The model is left on
    ``device`` in eval mode. If the loss or the weights stop being finite,
    :class:`TrainingDiverged` says where, and the model is restored to its weights before that
    epoch.
    """
    if not isinstance(model, VAE):
        raise ValueError(f"model must be a vae_utils.models.VAE, got {type(model).__name__}")
    beta = _checks.finite_number(beta, "beta", minimum=0.0)
    args = training_arguments(images, epochs, batch_size, lr, seed, likelihood, progress, device)
    model.to(args.device)
    p = next(model.parameters())
    model._inputs_checked = True  # the images were checked above, once
    try:
        return fit(model, images.to(args.device, p.dtype), beta, epochs=args.epochs, batch_size=args.batch_size,
                   lr=args.lr, seed=args.seed, likelihood=likelihood, progress=args.progress)
    finally:
        model._inputs_checked = False
