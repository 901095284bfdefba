r"""Train several copies of the book's VAE at once, each linear layer as one batched matrix multiply.

The :math:`\beta` sweep trains one architecture on the same batches with the same noise; only
:math:`\beta` differs. :class:`StackedVAE` is built from the VAE's own layers (``encoder``,
``to_moments``, ``decoder``, in the order ``VAE.forward`` runs them): the :math:`K` copies of each
``nn.Linear`` become one weight ``[K, out, in]`` and one ``torch.baddbmm``, and each layer without
weights runs as itself, so a change to the VAE's layers is a change to the stack. Member :math:`k`'s
weights appear only in its own term of :math:`\sum_k (\text{recon}_k + \beta_k \text{KL}_k)`, so its
gradient is its own model's, and Adam, which works element by element, takes the step it takes on the
model alone. The loop is :func:`vae_utils.training.fit`, the one :func:`~vae_utils.training.train_vae` runs.
"""
from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .models import VAE
from .training import fit, training_arguments

# The parts of a VAE in the order VAE.forward runs them: mu and log sigma^2 are split and z sampled in between.
ENCODE, DECODE = ("encoder", "to_moments"), ("decoder",)


def _layers(model: VAE, parts: tuple[str, ...] = ENCODE + DECODE) -> list[nn.Module]:
    """The layers of ``model``'s ``parts`` in order (an ``nn.Sequential`` gives its layers)."""
    layers = []
    for part in parts:
        module = getattr(model, part)
        layers.extend(module if isinstance(module, nn.Sequential) else [module])
    return layers


def _linears(model: VAE) -> list[nn.Linear]:
    return [layer for layer in _layers(model) if isinstance(layer, nn.Linear)]


class StackedVAE(nn.Module):
    """``K`` VAEs of one configuration, each ``nn.Linear``'s weights stacked along a first dimension of
    size ``K``, the other layers those of ``models[0]``; :func:`train_together` checks that the models stack."""

    def __init__(self, models: list[VAE]):
        super().__init__()
        self.K = len(models)
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for copies in zip(*(_linears(m) for m in models)):  # per linear layer, its K copies
            self.weights.append(nn.Parameter(torch.stack([c.weight.detach() for c in copies]).clone()))
            self.biases.append(nn.Parameter(torch.stack([c.bias.detach() for c in copies]).clone()))
        # Each half as a list of steps: the index of a stacked linear layer, or a layer without weights.
        index = iter(range(len(self.weights)))
        self._encode, self._decode = ([next(index) if isinstance(layer, nn.Linear) else layer
                                       for layer in _layers(models[0], parts)] for parts in (ENCODE, DECODE))

    def _run(self, steps: list, h: torch.Tensor, shared: bool) -> torch.Tensor:
        """``h`` through ``steps``: ``[N, ...]`` while ``shared`` (every member's input is the batch
        itself), ``[K, N, ...]`` after."""
        for step in steps:
            if isinstance(step, int):
                W, b = self.weights[step], self.biases[step]  # [K, out, in], [K, out]
                if shared:  # one matrix multiply [N, in] x [in, K * out] serves every member: no K copies of x
                    h = torch.addmm(b.flatten(), h, W.flatten(0, 1).T).view(h.shape[0], self.K, -1).transpose(0, 1)
                    shared = False
                else:  # y_k = h_k W_k^T + b_k for every member k at once: [K, N, in] -> [K, N, out]
                    h = torch.baddbmm(b.unsqueeze(1), h, W.transpose(1, 2))
            else:
                h = step(h) if shared else _each(step, h)
        return h

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One shared batch ``[N, 1, 28, 28]`` through every member: ``x_hat`` ``[K, N, 1, 28, 28]``,
        ``mu`` and ``logvar`` ``[K, N, J]``. One noise draw ``[N, J]`` is shared by all members, as each
        member trained alone with the same seed would draw it."""
        W = self.weights[0]
        mu, logvar = self._run(self._encode, x.to(device=W.device, dtype=W.dtype), shared=True).chunk(2, dim=-1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu[0])  # VAE.reparameterize with one eps for all
        return self._run(self._decode, z, shared=False), mu, logvar

    def copy_into(self, models: list[VAE]) -> list[VAE]:
        """Write member ``k``'s weights into ``models[k]`` (ordinary ``VAE`` objects); return them."""
        with torch.no_grad():
            for k, model in enumerate(models):
                for i, layer in enumerate(_linears(model)):
                    layer.weight.copy_(self.weights[i][k])
                    layer.bias.copy_(self.biases[i][k])
        return models


def _each(layer: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """A layer without weights on ``[K, N, ...]``: the two leading axes folded into one batch (a view,
    whichever of them is outer in memory), then unfolded."""
    K, N = h.shape[:2]
    if h.transpose(0, 1).is_contiguous():  # laid out [N, K, ...], as the shared first layer leaves it
        return layer(h.transpose(0, 1).flatten(0, 1)).unflatten(0, (N, K)).transpose(0, 1)
    return layer(h.flatten(0, 1)).unflatten(0, (K, N))


def _check_members(models) -> list[VAE]:
    """What would make the stack's result wrong: layers with weights it cannot stack, other configurations,
    one object twice, frozen weights."""
    if not isinstance(models, (list, tuple)) or not models:
        raise ValueError("models must be a non-empty list of vae_utils.models.VAE")
    for k, m in enumerate(models):
        _checks.vae(m, f"models[{k}]")
        if m.config != models[0].config:
            raise ValueError(f"models[{k}] must have the configuration of models[0] {models[0].config}, got {m.config}")
        if any(m is other for other in models[:k]):
            raise ValueError(f"models[{k}] is the same object as an earlier member: each member needs its own model")
        if not all(p.requires_grad for p in m.parameters()):
            raise ValueError(f"models[{k}] has frozen weights (requires_grad=False); the stack trains every weight: "
                             "train it alone with train_vae, which leaves frozen weights as they are")
    unstackable = [type(layer).__name__ for layer in _layers(models[0])
                   if not isinstance(layer, nn.Linear) and next(layer.parameters(), None) is not None]
    if unstackable:
        raise ValueError(f"models[0] has a {unstackable[0]} layer with weights: only VAEs whose weights are all in "
                         "nn.Linear layers stack (arch='mlp'); train it with train_vae")
    return list(models)


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
    weights before the diverging epoch). Only MLP VAEs of one configuration stack.
    """
    models = _check_members(models)
    if not isinstance(betas, (list, tuple)) or len(betas) != len(models):
        raise ValueError(f"betas must be a list with one beta per model ({len(models)}), got {betas!r}")
    betas = [_checks.finite_number(b, f"betas[{k}]", minimum=0.0) for k, b in enumerate(betas)]
    epochs, batch_size, lr, seed, progress, dev = training_arguments(images, epochs, batch_size, lr, seed, likelihood,
                                                                     progress, device)
    stacked = StackedVAE(models).to(dev)
    dtype = stacked.weights[0].dtype
    try:
        return fit(stacked, images.to(dev, dtype), torch.tensor(betas, device=dev, dtype=dtype), epochs=epochs,
                   batch_size=batch_size, lr=lr, seed=seed, likelihood=likelihood, progress=progress)
    finally:
        stacked.copy_into(models)
        for m in models:
            m.to(dev).eval()
