r"""Train several copies of the book's MLP VAE at once, as batched matrix multiplies.

The :math:`\beta` sweep trains the same architecture on the same batches with the same noise,
only :math:`\beta` differs. Stacking the :math:`K` models' weights, ``W`` of shape
``[K, out, in]``, turns :math:`K` small matrix multiplies into one ``torch.baddbmm``, which keeps a
CPU's cores (or a GPU) busier. The loss is :math:`\sum_k (\text{recon}_k + \beta_k \text{KL}_k)`: member
:math:`k`'s weights appear only in its own term, so its gradient is exactly its own model's
gradient, and Adam, which works element by element, takes the same step as on the model alone.

The taught code stays the reference: :func:`~vae_utils.training.train_vae` and
:class:`~vae_utils.models.VAE`. :func:`train_together` converts ordinary ``VAE`` objects in and
out, and ``tests/test_ensemble.py`` proves that each member trains as it would alone.
"""
from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .book import progress_bar
from .losses import _vae_loss_terms
from .models import VAE
from .training import TrainingDiverged, _divergence, _training_arguments


def _linears(model: VAE) -> list[nn.Linear]:
    return [m for m in (*model.encoder, model.to_moments, *model.decoder) if isinstance(m, nn.Linear)]


class StackedVAE(nn.Module):
    """``K`` MLP VAEs of one shape, their weights stacked along a first dimension of size ``K``."""

    def __init__(self, models: list[VAE]):
        super().__init__()
        if not isinstance(models, (list, tuple)) or not models:
            raise ValueError("models must be a non-empty list of vae_utils.models.VAE")
        for k, m in enumerate(models):
            if not isinstance(m, VAE):
                raise ValueError(f"models[{k}] must be a vae_utils.models.VAE, got {type(m).__name__}")
            if m.arch != "mlp" or m.config != models[0].config:
                raise ValueError(f"models[{k}] must be an MLP VAE with the config of models[0] "
                                 f"{models[0].config}, got {m.config}")
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
        w = self.weights[0]
        return self._forward(_checks.images(x, "x").to(device=w.device, dtype=w.dtype))

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # The first layer reads the same images for every member: one matrix multiply [N, 784] x
        # [784, K * 512] serves them all (cheaper than K copies of the batch).
        W0, b0 = self.weights[0], self.biases[0]
        h = torch.addmm(b0.flatten(), x.flatten(1), W0.flatten(0, 1).T)  # [N, K * 512]
        h = torch.relu(h.view(x.shape[0], self.K, -1).transpose(0, 1))  # [K, N, 512]
        h = torch.relu(self._layer(1, h))
        mu, logvar = self._layer(2, h).chunk(2, dim=2)
        eps = torch.randn_like(mu[0])
        z = mu + torch.exp(0.5 * logvar) * eps
        h = torch.relu(self._layer(3, z))
        h = torch.relu(self._layer(4, h))
        x_hat = torch.sigmoid(self._layer(5, h))
        return x_hat.view(self.K, -1, 1, 28, 28), mu, logvar

    def copy_into(self, models: list[VAE]) -> list[VAE]:
        """Write member ``k``'s weights into ``models[k]`` (ordinary ``VAE`` objects); return them."""
        if not isinstance(models, (list, tuple)) or len(models) != self.K:
            raise ValueError(f"models must be a list of {self.K} vae_utils.models.VAE, got {models!r:.60}")
        for k, m in enumerate(models):
            if not isinstance(m, VAE) or m.config != self.config:
                raise ValueError(f"models[{k}] must be a VAE with the config {self.config}")
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
    place and left in eval mode on ``device``. Only MLP VAEs of one configuration can be stacked.
    """
    stacked = StackedVAE(models)
    if not isinstance(betas, (list, tuple)) or len(betas) != len(models):
        raise ValueError(f"betas must be a list with one beta per model ({len(models)}), got {betas!r}")
    betas_t = [_checks.finite_number(b, f"betas[{k}]", minimum=0.0) for k, b in enumerate(betas)]
    epochs, batch_size, lr, seed, progress, dev = _training_arguments(images, epochs, batch_size, lr, seed, likelihood,
                                                                      progress, device)
    stacked.to(dev)
    dtype = stacked.weights[0].dtype
    data = images.to(dev, dtype)
    beta = torch.tensor(betas_t, device=dev, dtype=dtype)
    n, K = data.shape[0], stacked.K
    order = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(stacked.parameters(), lr=lr)
    histories = [{"loss": [], "recon": [], "kl": []} for _ in range(K)]

    bar = progress_bar(range(epochs), desc=f"{K} models", unit="epoch", disable=not progress)
    for epoch in bar:
        before = {k: v.detach().clone() for k, v in stacked.state_dict().items()}
        totals = torch.zeros(K, 3, device=dev, dtype=dtype)
        steps = []
        for batch in torch.randperm(n, generator=order).to(dev).split(batch_size):
            x = data[batch]
            x_hat, mu, logvar = stacked._forward(x)
            losses, recon, kl = _vae_loss_terms(x_hat, x, mu, logvar, beta, likelihood)  # each [K]
            optimiser.zero_grad(set_to_none=True)
            losses.sum().backward()
            optimiser.step()
            step = torch.stack([losses.detach(), recon.detach(), kl.detach()], dim=1)
            totals += step * len(batch)
            steps.append(losses.detach())
        epoch_values = (totals / n).tolist()  # the one host sync of the epoch
        bad = [k for k, row in enumerate(epoch_values) if not all(map(_finite, row))]
        if bad:
            stacked.load_state_dict(before)
            stacked.copy_into(models)
            for m in models:
                m.to(dev).eval()
            per_step = torch.stack(steps)[:, bad[0]].tolist()
            raise TrainingDiverged(_divergence(epoch, per_step, f"models[{bad[0]}] (beta={betas_t[bad[0]]:g})", lr))
        for history, (loss, recon_v, kl_v) in zip(histories, epoch_values):
            history["loss"].append(loss)
            history["recon"].append(recon_v)
            history["kl"].append(kl_v)
    stacked.copy_into(models)
    for m in models:
        m.to(dev).eval()
    return histories


def _finite(v: float) -> bool:
    return v == v and v not in (float("inf"), float("-inf"))
