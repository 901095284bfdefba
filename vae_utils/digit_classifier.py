"""The digit classifier that judges completeness: a small MLP trained on the training digits.

:mod:`vae_utils.metrics` asks it which digit a decoded prior draw looks like (:func:`logits`), and
compares decodes with real digits in its penultimate layer (:func:`features`, the space of the
Fréchet distances). Trained with :func:`train`, checked with :func:`accuracy`.
"""
from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .training import pick_device, progress_bar


def logits(classifier: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The classifier's logits for ``images`` (cast to its device and dtype), in eval mode."""
    p = next(classifier.parameters())
    return classifier.eval()(images.to(device=p.device, dtype=p.dtype))


def train(images: torch.Tensor, labels: torch.Tensor, *, epochs: int = 15, seed: int = 0,
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
def accuracy(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` whose predicted digit is the label."""
    predicted = logits(classifier, images).argmax(1).cpu()
    return float((predicted == labels).float().mean())


@torch.no_grad()
def features(classifier: nn.Sequential, images: torch.Tensor) -> torch.Tensor:
    """The classifier's penultimate layer (every module but the last, in eval mode) for ``images``:
    ``[N, F]`` in float64. For the book's classifier, the 256 ReLU units before the logits."""
    p = next(classifier.parameters())
    out = [classifier.eval()[:-1](x.to(device=p.device, dtype=p.dtype)).flatten(1) for x in images.split(2000)]
    return torch.cat(out).double().cpu()
