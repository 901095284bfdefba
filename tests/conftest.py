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


@pytest.fixture(scope="session")
def dist(tmp_path_factory, build_isolation):
    """The wheel and the sdist of vae_utils, built once a session from a copy of the package's files
    (setuptools leaves build/ and *.egg-info behind), with the build's output captured: what
    tests/test_packaging.py checks and tests/test_platforms.py installs."""
    import importlib.util
    import os
    import re
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).parents[1]
    tmp = tmp_path_factory.mktemp("dist")
    source, out = tmp / "source", tmp / "out"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "LICENSE-text.md"):  # the text licence must stay out
        shutil.copy(root / name, source)
    shutil.copytree(root / "vae_utils", source / "vae_utils", ignore=shutil.ignore_patterns("__pycache__"))
    # Byte-compiling on: with PYTHONDONTWRITEBYTECODE set, setuptools says it skips it, which is no fault.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if importlib.util.find_spec("build"):
        command = [sys.executable, "-m", "build", *(["--no-isolation"] if build_isolation else []), "--outdir",
                   str(out), str(source)]
    else:  # without `build` (requirements-dev.txt asks for it): the wheel alone, through pip
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", *build_isolation, "-v", "-w", str(out),
                   str(source)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp, env=env)
    # pip's own notes about this machine's package indexes are not the build's.
    log = "\n".join(line for line in (done.stdout + done.stderr).splitlines()
                    if not re.match(r"WARNING: Location '.*' is ignored", line))
    assert done.returncode == 0, log[-4000:]
    (wheel,) = out.glob("vae_utils-*.whl")
    sdists = list(out.glob("vae_utils-*.tar.gz"))
    return {"wheel": wheel, "sdist": sdists[0] if sdists else None, "log": log, "tmp": tmp}
