import pytest
import torch

from vae_utils.models import VAE


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_shapes_and_ranges(arch, small_batch):
    x, _ = small_batch
    torch.manual_seed(0)
    model = VAE(latent_dim=3, arch=arch)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (64, 3)
    z = model.reparameterize(mu, logvar)
    x_hat = model.decode(z)
    assert x_hat.shape == x.shape and float(x_hat.detach().min()) >= 0 and float(x_hat.detach().max()) <= 1
    out, mu2, _ = model(x)
    assert out.shape == x.shape and torch.equal(mu, mu2)


def test_reparameterize_uses_sigma_from_logvar():
    model = VAE()
    mu = torch.full((100_000, 2), 3.0)
    logvar = torch.full((100_000, 2), 2 * torch.log(torch.tensor(0.5)).item())
    torch.manual_seed(0)
    z = model.reparameterize(mu, logvar)
    torch.testing.assert_close(z.mean(0), torch.full((2,), 3.0), atol=0.01, rtol=0)
    torch.testing.assert_close(z.std(0), torch.full((2,), 0.5), atol=0.01, rtol=0)


def test_gradients_flow_through_the_sample():
    model = VAE()
    mu = torch.zeros(4, 2, requires_grad=True)
    logvar = torch.zeros(4, 2, requires_grad=True)
    model.reparameterize(mu, logvar).sum().backward()
    assert torch.equal(mu.grad, torch.ones(4, 2)) and logvar.grad.abs().sum() > 0


nan = float("nan")


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: VAE(latent_dim=0), "latent_dim"),
        (lambda: VAE(latent_dim=2.5), "latent_dim"),
        (lambda: VAE(latent_dim=True), "latent_dim"),
        (lambda: VAE(latent_dim=None), "latent_dim"),
        (lambda: VAE(arch="transformer"), "arch"),
        (lambda: VAE(arch=None), "arch"),
        (lambda: VAE(hidden=16), "hidden"),
        (lambda: VAE(hidden=(16,)), "hidden"),
        (lambda: VAE(hidden=(16, 0)), "hidden"),
        (lambda: VAE(hidden=("a", 2)), "hidden"),
        (lambda: VAE().encode(None), "x"),
        (lambda: VAE().encode(torch.rand(4, 784)), "x"),
        (lambda: VAE().encode(torch.zeros(0, 1, 28, 28)), "x"),
        (lambda: VAE().encode(torch.rand(4, 1, 28, 28) * 255), "x"),  # raw pixels
        (lambda: VAE().encode(torch.full((4, 1, 28, 28), nan)), "x"),
        (lambda: VAE().encode(torch.randint(0, 2, (4, 1, 28, 28))), "x"),
        (lambda: VAE()(torch.rand(4, 1, 28, 28) * 255), "x"),  # forward
        (lambda: VAE().decode(None), "z"),
        (lambda: VAE().decode(torch.zeros(4)), "z"),
        (lambda: VAE().decode(torch.zeros(4, 3)), "z"),
        (lambda: VAE().decode(torch.zeros(4, 2, dtype=torch.int64)), "z"),
        (lambda: VAE().eval().decode(torch.full((4, 2), nan)), "z"),
    ],
)
def test_bad_input_names_the_argument(make, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        make()


def test_while_training_the_model_checks_shapes_but_not_values():
    """train_vae checked its images once; the model then skips the look at their values."""
    model = VAE(hidden=(16, 8))
    model._inputs_checked = True
    model.encode(torch.full((2, 1, 28, 28), 3.0))  # no wait for the device: not looked at
    with pytest.raises(ValueError, match="^x must be a floating-point tensor of shape"):
        model.encode(torch.rand(2, 784))
