r"""Train several copies of the book's MLP VAE at once, as batched matrix multiplies.

The :math:`\beta` sweep trains the same architecture on the same batches with the same noise;
only :math:`\beta` differs. Stacking the :math:`K` models' weights, ``W`` of shape
``[K, out, in]``, turns :math:`K` small matrix multiplies into one ``torch.baddbmm``, which keeps a
CPU's cores (or a GPU) busier. The loss is :math:`\sum_k (\text{recon}_k + \beta_k \text{KL}_k)`: member
:math:`k`'s weights appear only in its own term, so its gradient is its own model's gradient,
and Adam, which works element by element, takes the same step as on the model alone. The loop
is :func:`vae_utils.training.fit`, the one that :func:`~vae_utils.training.train_vae` runs.
"""
from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .models import VAE
from .training import fit, training_arguments


def _linears(model: VAE) -> list[nn.Linear]:
    return [m for m in (*model.encoder, model.to_moments, *model.decoder) if isinstance(m, nn.Linear)]


def _check_members(models) -> list[VAE]:
    if not isinstance(models, (list, tuple)) or not models:
        raise ValueError("models must be a non-empty list of vae_utils.models.VAE")
    for k, m in enumerate(models):
        _checks.vae(m, f"models[{k}]")
        if m.arch != "mlp":
            raise ValueError(f"models[{k}] must be an MLP VAE (arch='mlp'): only those stack, got arch={m.arch!r}")
        if m.config != models[0].config:
            raise ValueError(f"models[{k}] must have the configuration of models[0] {models[0].config}, got {m.config}")
        if any(m is other for other in models[:k]):
            raise ValueError(f"models[{k}] is the same object as an earlier member: each member needs its own model")
        dtype, first = next(m.parameters()).dtype, next(models[0].parameters()).dtype
        if dtype != first:
            raise ValueError(f"models[{k}] has {dtype} weights but models[0] has {first}: stack models of one dtype")
        if not all(p.requires_grad for p in m.parameters()):
            raise ValueError(f"models[{k}] has frozen weights (requires_grad=False); the stack trains every weight: "
                             "train it alone with train_vae, which leaves frozen weights as they are")
    return list(models)


class StackedVAE(nn.Module):
    """``K`` MLP VAEs of one shape, their weights stacked along a first dimension of size ``K``."""

    def __init__(self, models: list[VAE]):
        super().__init__()
        models = _check_members(models)
        self.config = dict(models[0].config)
        self.latent_dim = models[0].latent_dim
        layers = list(zip(*(_linears(m) for m in models)))  # per layer, the K copies
        self.weights = nn.ParameterList(nn.Parameter(torch.stack([l.weight.detach() for l in copies]).clone())
                                        for copies in layers)
        self.biases = nn.ParameterList(nn.Parameter(torch.stack([l.bias.detach() for l in copies]).clone())
                                       for copies in layers)
        self.K = len(models)

    def _layer(self, i: int, h: torch.Tensor) -> torch.Tensor:
        # y_k = h_k W_k^T + b_k for every member k at once: [K, N, in] -> [K, N, out]
        return torch.baddbmm(self.biases[i].unsqueeze(1), h, self.weights[i].transpose(1, 2))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One shared batch ``[N, 1, 28, 28]`` through every member: ``x_hat`` ``[K, N, 1, 28, 28]``,
        ``mu`` and ``logvar`` ``[K, N, J]``. One noise draw ``[N, J]`` is shared by all members, as each
        member trained alone with the same seed would draw it."""
        # The first layer reads the same images for every member: one matrix multiply [N, 784] x
        # [784, K * 512] serves them all (cheaper than K copies of the batch).
        W0, b0 = self.weights[0], self.biases[0]
        x = x.to(device=W0.device, dtype=W0.dtype)
        h = torch.addmm(b0.flatten(), x.flatten(1), W0.flatten(0, 1).T)  # [N, K * 512]
        h = torch.relu(h.view(x.shape[0], self.K, -1).transpose(0, 1))  # [K, N, 512]
        h = torch.relu(self._layer(1, h))
        mu, logvar = self._layer(2, h).chunk(2, dim=2)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu[0])
        h = torch.relu(self._layer(3, z))
        h = torch.relu(self._layer(4, h))
        x_hat = torch.sigmoid(self._layer(5, h))
        return x_hat.view(self.K, -1, 1, 28, 28), mu, logvar

    def copy_into(self, models: list[VAE]) -> list[VAE]:
        """Write member ``k``'s weights into ``models[k]`` (ordinary ``VAE`` objects); return them."""
        with torch.no_grad():
            for k, model in enumerate(models):
                for i, layer in enumerate(_linears(model)):
                    layer.weight.copy_(self.weights[i][k])
                    layer.bias.copy_(self.biases[i][k])
        return models


def train_together(
    models: list[VAE],
    images: torch.Tensor,
    *,
    betas: list[float],
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
    likelihood: str = "gaussian",
) -> list[dict[str, list[float]]]:
    r"""Train ``models[k]`` with ``betas[k]``, all on the same batches and noise: as
    :func:`~vae_utils.training.train_vae` would train each alone with this ``seed``, in one pass.

    Returns one history per model (keys ``"loss"``, ``"recon"``, ``"kl"``); the models are updated in
    place and left in eval mode on ``device``, also when training diverges (then with their
    weights before the diverging epoch). Only MLP VAEs of one configuration and dtype stack.
    """
    stacked = StackedVAE(models)
    if not isinstance(betas, (list, tuple)) or len(betas) != len(models):
        raise ValueError(f"betas must be a list with one beta per model ({len(models)}), got {betas!r}")
    betas = [_checks.finite_number(b, f"betas[{k}]", minimum=0.0) for k, b in enumerate(betas)]
    epochs, batch_size, lr, seed, progress, dev = training_arguments(images, epochs, batch_size, lr, seed, likelihood,
                                                                     progress, device)
    stacked.to(dev)
    dtype = stacked.weights[0].dtype
    try:
        return fit(stacked, images.to(dev, dtype), torch.tensor(betas, device=dev, dtype=dtype), epochs=epochs,
                   batch_size=batch_size, lr=lr, seed=seed, likelihood=likelihood, progress=progress,
                   names=[f"models[{k}] (beta={b:g})" for k, b in enumerate(betas)], desc=f"{len(models)} models")
    finally:
        stacked.copy_into(models)
        for m in models:
            m.to(dev).eval()
