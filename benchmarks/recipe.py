"""The PyTorch examples/vae training loop, as the baseline: a torchvision dataset with a
per-sample ``ToTensor`` transform, a ``DataLoader`` with batch 128 and shuffling, Adam.

Only the data pipeline and the loop are the recipe's; the model and the loss are the book's,
so that both sides do the same arithmetic.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from vae_utils.losses import vae_loss


def recipe_loader(root: str, batch_size: int = 128, seed: int = 0) -> DataLoader:
    dataset = datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor())
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))


def recipe_epoch(model, loader: DataLoader, optimizer: torch.optim.Optimizer) -> float:
    model.train()
    total = 0.0
    for data, _ in loader:
        optimizer.zero_grad()
        recon, mu, logvar = model(data)
        loss, _, _ = vae_loss(recon, data, mu, logvar)
        loss.backward()
        total += loss.item() * len(data)
        optimizer.step()
    return total / len(loader.dataset)
