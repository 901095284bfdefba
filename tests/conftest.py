import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from vae_utils.data import load_mnist  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    """The offline train and test splits: real MNIST digits, no network needed."""
    return load_mnist("train", source="offline"), load_mnist("test", source="offline")


@pytest.fixture(scope="session")
def small_batch(digits):
    (x, y), _ = digits
    return x[:64], y[:64]


@pytest.fixture
def tiny_vae():
    from vae_utils import set_seed
    from vae_utils.models import VAE

    set_seed(0)
    return VAE(latent_dim=2, hidden=(32, 16))


@pytest.fixture(autouse=True)
def _no_grad_leaks():
    yield
    torch.set_grad_enabled(True)
