"""The stacked ensemble trains each member exactly as train_vae trains that model alone."""
import pytest
import torch
from torch import nn

from vae_utils import set_seed
from vae_utils.ensemble import StackedVAE, train_together
from vae_utils.losses import vae_loss
from vae_utils.models import VAE
from vae_utils.training import TrainingDiverged, train_vae

BETAS = [0.0, 0.5, 1.0, 4.0]


def fresh(seed=0, hidden=(64, 32)):
    set_seed(seed)
    return VAE(hidden=hidden)


def test_each_member_has_its_own_models_loss_and_gradients(small_batch):
    x, _ = small_batch
    models = [fresh(k) for k in range(len(BETAS))]
    stacked = StackedVAE(models)
    torch.manual_seed(5)
    x_hat, mu, logvar = stacked(x)
    total, _, _ = vae_loss(x_hat, x, mu, logvar, beta=torch.tensor(BETAS))
    total.sum().backward()
    for k, (model, beta) in enumerate(zip(models, BETAS)):
        torch.manual_seed(5)  # the same noise: one draw [N, J], shared by the members
        alone, _, _ = vae_loss(*_reorder(model(x), x), beta=beta)
        alone.backward()
        torch.testing.assert_close(total[k], alone, rtol=1e-5, atol=1e-5)
        grads = [p.grad[k] for pair in zip(stacked.weights, stacked.biases) for p in pair]
        mine = [g for layer in _linears(model) for g in (layer.weight.grad, layer.bias.grad)]
        for a, b in zip(grads, mine):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def _reorder(out, x):
    x_hat, mu, logvar = out
    return x_hat, x, mu, logvar


def _linears(model):
    from vae_utils.ensemble import _linears

    return _linears(model)


def test_training_together_equals_training_alone(digits):
    (x, _), _ = digits
    images = x[:512]
    together = [fresh(k) for k in range(len(BETAS))]
    histories = train_together(together, images, betas=BETAS, epochs=3, batch_size=128, seed=11,
                               device="cpu", progress=False)
    for k, beta in enumerate(BETAS):
        alone = fresh(k)
        history = train_vae(alone, images, epochs=3, beta=beta, batch_size=128, seed=11, device="cpu", progress=False)
        for key in ("loss", "recon", "kl"):
            assert histories[k][key] == pytest.approx(history[key], rel=1e-4, abs=1e-4)
        for p, q in zip(together[k].parameters(), alone.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-3, atol=1e-4)  # 12 Adam steps of float rounding
        assert not together[k].training


class OtherLayersVAE(VAE):
    """The book's VAE with another depth and other activations, changed here only: the stack, built from
    the model's own layers, must train it as train_vae does without a change of its own."""

    def __init__(self):
        super().__init__(hidden=(64, 32))
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.Tanh(), nn.Linear(64, 32), nn.ELU(),
                                     nn.Linear(32, 32), nn.ReLU())
        self.decoder = nn.Sequential(nn.Linear(2, 48), nn.SiLU(), nn.Linear(48, 784), nn.Sigmoid(),
                                     nn.Unflatten(1, (1, 28, 28)))


def test_the_stack_follows_the_vaes_layers(digits):
    (x, _), _ = digits
    images, betas = x[:256], [0.5, 2.0]
    together = []
    for k in range(len(betas)):
        set_seed(k)
        together.append(OtherLayersVAE())
    histories = train_together(together, images, betas=betas, epochs=2, seed=4, device="cpu", progress=False)
    for k, beta in enumerate(betas):
        set_seed(k)
        alone = OtherLayersVAE()
        history = train_vae(alone, images, epochs=2, beta=beta, seed=4, device="cpu", progress=False)
        assert histories[k]["loss"] == pytest.approx(history["loss"], rel=1e-4, abs=1e-4)
        for p, q in zip(together[k].parameters(), alone.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-3, atol=1e-4)


def test_what_cannot_stack_is_refused(train_x):
    x = train_x[:4]
    with pytest.raises(ValueError, match=r"^models\[1\] must have the configuration of models\[0\]"):
        train_together([VAE(hidden=(64, 32)), VAE(hidden=(32, 16))], x, betas=[0.0, 1.0], epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"^models\[0\] has a Conv2d layer with weights: only VAEs whose weights"):
        train_together([VAE(arch="conv")], x, betas=[1.0], epochs=1, progress=False)
    with pytest.raises(ValueError, match="^betas"):
        train_together([VAE()], x, betas=[1.0, 2.0], epochs=1)


def test_divergence_of_one_member_is_reported_and_rolled_back(digits):
    (x, _), _ = digits
    models = [fresh(0), fresh(1)]
    initial = [[p.detach().clone() for p in m.parameters()] for m in models]
    with pytest.raises(TrainingDiverged, match=r"diverged in epoch 1, step \d+.*Try a lower lr"):
        train_together(models, x[:512], betas=[1.0, 1.0], epochs=2, lr=5.0, seed=0, device="cpu", progress=False)
    for m, before in zip(models, initial):
        assert not m.training
        for p, q in zip(m.parameters(), before):
            assert torch.equal(p, q)


def test_train_together_refuses_a_repeated_model_and_frozen_weights(train_x, small_vae):
    x = train_x
    m = small_vae()
    with pytest.raises(ValueError, match=r"^models\[1\] is the same object"):
        train_together([m, m], x[:64], betas=[0.0, 1.0], epochs=1, progress=False)
    frozen = small_vae()
    frozen.encoder[1].weight.requires_grad_(False)
    with pytest.raises(ValueError, match=r"^models\[0\] has frozen weights"):
        train_together([frozen, small_vae()], x[:64], betas=[0.0, 1.0], epochs=1, progress=False)
    before = frozen.encoder[1].weight.detach().clone()
    train_vae(frozen, x[:64], epochs=1, device="cpu", progress=False)  # alone, frozen weights stay
    assert torch.equal(frozen.encoder[1].weight, before)
