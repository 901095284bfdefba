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


@pytest.fixture(scope="session")
def train_x(digits):
    """The 4,000 offline training images, without their labels."""
    (x, _), _ = digits
    return x


@pytest.fixture
def small_vae():
    """Makes small VAEs (hidden layers 32 and 16), each seeded: small_vae(seed, **VAE's keywords)."""
    from vae_utils import set_seed
    from vae_utils.models import VAE

    def make(seed=0, **kwargs):
        set_seed(seed)
        return VAE(hidden=(32, 16), **kwargs)

    return make


@pytest.fixture
def tiny_vae():
    from vae_utils import set_seed
    from vae_utils.models import VAE

    set_seed(0)
    return VAE(latent_dim=2, hidden=(32, 16))


@pytest.fixture(scope="session")
def build_isolation() -> list[str]:
    """pip's flag for building vae_utils here: with this environment's setuptools when it meets
    pyproject.toml's build requirement (offline, quick), else in an isolated build that fetches one
    (a platform's setuptools 75.2 cannot read PEP 639's `license = "MIT"`)."""
    import importlib.metadata as md
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    (needed,) = [Requirement(r) for r in tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
                 ["build-system"]["requires"] if Requirement(r).name == "setuptools"]
    try:
        ours = md.version("setuptools")
    except md.PackageNotFoundError:
        return []
    return ["--no-build-isolation"] if needed.specifier.contains(ours) else []


@pytest.fixture(autouse=True)
def _no_grad_leaks():
    yield
    torch.set_grad_enabled(True)

