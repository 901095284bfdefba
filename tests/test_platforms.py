"""What readers' platforms need, checked offline: Colab's ipywidgets 7, an install that changes
nothing a platform has, Binder's pins, Kaggle's progress bars, and the full-MNIST code path
rehearsed on a cache of real digits. The package's own metadata and wheel: tests/test_packaging.py."""
import importlib.metadata as md
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WIDGETS7 = ROOT / ".widgets7"
PLATFORM_PACKAGES = ("torch", "numpy", "pandas", "scikit-learn", "scipy", "matplotlib")


def _need(path: Path, what: str):
    if not path.exists():
        message = f"{what} is missing: run `make widgets7` (make test does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


LIVE_UNDER_7 = r"""
import ipywidgets, torch
assert ipywidgets.__version__ == "7.7.1", ipywidgets.__version__
from vae_utils import set_seed
from vae_utils.data import load_mnist
from vae_utils.book.dial import beta_dial, dial_frames
from vae_utils.book.explore import latent_explorer, path_explorer
from vae_utils.metrics import summarize
from vae_utils.models import VAE
x, y = load_mnist("test", source="offline")
x, y = x[:64], y[:64]
models = {}
for k, name in enumerate(("with KL", "without KL")):
    set_seed(k)
    models[name] = VAE(hidden=(32, 16)).eval()
ui = latent_explorer(models, x, y)
before = ui.digit.value
ui.z1.value = ui.z1.max
assert ui.digit.value != before, "the latent explorer's slider did not change the image"
ui.model_toggle.value = "without KL"
path = path_explorer(models, x, start=0, end=1)
before = dict((n, w.value) for n, w in path.decoded.items())
path.t.value = 1.0
assert any(w.value != before[n] for n, w in path.decoded.items()), "the path slider did not change the images"
classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)).eval()
sweep = {0.0: models["without KL"], 1.0: models["with KL"]}
frames = dial_frames(sweep, x, y, {b: summarize(m, x, classifier) for b, m in sweep.items()}, grid=4, n_strip=3)
dial = beta_dial(frames)
before = dial.grid.value
dial.beta.value = "0"
assert dial.grid.value != before, "the beta dial did not change the image"
print("ok")
"""


@pytest.mark.slow
def test_live_widgets_work_under_colabs_ipywidgets_7():
    _need(WIDGETS7 / "ipywidgets", "the ipywidgets 7.7.1 install in .widgets7")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(WIDGETS7), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", LIVE_UNDER_7], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout[-2000:] + done.stderr[-3000:]


PLATFORMS = sorted((ROOT / "tests" / "platforms").glob("*.txt"))


def _rehearsal():
    """tests/platforms/rehearse.py, the platform rehearsal, as a module (tests/platforms is no package)."""
    spec = importlib.util.spec_from_file_location("rehearse", ROOT / "tests" / "platforms" / "rehearse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_pins = _rehearsal().pins_of  # the `name==version` lines of a platform file (local labels such as +cpu are not written)


def _pypi_reachable(timeout=5.0) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def vae_utils_wheel(dist):
    """The wheel of vae_utils that tests/test_packaging.py checks (tests/conftest.py builds it once)."""
    return dist["wheel"]


def test_the_platform_lists_are_complete_and_dated():
    assert {p.stem for p in PLATFORMS} >= {"colab", "kaggle"}
    for path in PLATFORMS:
        text = path.read_text()
        assert re.search(r"^# python-version: 3\.\d+$", text, re.M), f"{path.name}: no python-version line"
        assert re.search(r"\b20\d\d-\d\d-\d\d\b", text) and "https://github.com/" in text, f"{path.name}: no source or date"
        assert {"torch", "torchvision", "numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "sympy", "tqdm",
                "pillow", "ipywidgets", "ipykernel"} <= set(_pins(path)), path.name


@pytest.mark.slow
@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.stem)
def test_the_setup_cell_changes_no_package_a_platform_has(platform, vae_utils_wheel, tmp_path):
    """Resolve, from PyPI's metadata and without downloading a wheel, what installing vae_utils
    (the set-up cell asks for no extra) together with the platform's packages would install for
    the platform's Python: every package the platform file lists must stay at the platform's
    version, i.e. vae_utils's requirements are satisfied by what the platform has."""
    if not _pypi_reachable():
        message = "PyPI is unreachable: the platforms' resolution needs its metadata"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    pins = _pins(platform)
    python = re.search(r"^# python-version: (3\.\d+)$", platform.read_text(), re.M)[1]
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                           "--report", str(report), "--python-version", python, "--only-binary=:all:",
                           "--target", str(tmp_path / "site"), "-c", str(platform), str(vae_utils_wheel), *pins],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, f"vae_utils cannot install beside {platform.stem}'s packages:\n{done.stderr[-3000:]}"
    resolved = {re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower(): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    assert "vae-utils" in resolved, sorted(resolved)
    changed = {name: (version, resolved.get(name)) for name, version in pins.items() if resolved.get(name) != version}
    assert not changed, f"on {platform.stem}, the set-up cell would change (platform's, resolved): {changed}"


def test_offline_extra_caps_mlxtend_below_the_release_that_upgrades_everything():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (offline,) = project["optional-dependencies"]["offline"]
    assert re.fullmatch(r"mlxtend>=0\.2\d,<0\.24", offline), offline
    # What the installed mlxtend asks for must be satisfied by what is installed: no upgrade pulled.
    from packaging.requirements import Requirement

    for line in md.requires("mlxtend") or []:
        req = Requirement(line)
        if req.marker is None and req.name.lower() in PLATFORM_PACKAGES + ("joblib",):
            assert md.version(req.name) in req.specifier, (str(req), md.version(req.name))


def test_binder_pins_the_torch_that_ci_tests():
    pins = dict(re.findall(r"^(torch|torchvision)==([\d.]+)", (ROOT / "constraints.txt").read_text(), re.M))
    binder = dict(re.findall(r"^(torch|torchvision)==([\d.]+)\+cpu$", (ROOT / "binder" / "requirements.txt").read_text(),
                             re.M))
    assert pins and binder == pins, (binder, pins)


def test_progress_is_text_on_kaggle(monkeypatch):
    from tqdm.std import tqdm as text_tqdm

    from vae_utils.training import progress_bar

    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    assert type(progress_bar(range(3), disable=True)) is text_tqdm
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE")
    monkeypatch.setenv("VAE_BOOK_PROGRESS", "text")
    assert type(progress_bar(range(3), disable=True)) is text_tqdm
    monkeypatch.setenv("VAE_BOOK_PROGRESS", "fancy")
    with pytest.raises(ValueError, match="VAE_BOOK_PROGRESS"):
        progress_bar(range(3))


@pytest.mark.slow
def test_the_full_mnist_branch_is_rehearsed_on_a_cache_of_real_digits(tmp_path, digits):
    """Chapter 03's data cell in full mode, on a torchvision-format cache of 12,000 real digits
    (the offline set and two one-pixel shifts of it): the large-data epoch rule and an honest
    announcement of what the cache is."""
    import torch

    from mnist_files import write_torchvision_cache

    (x, y), (xt, yt) = digits
    shifted = torch.cat([x, torch.roll(x, 1, dims=3), torch.roll(x, 1, dims=2)])
    write_torchvision_cache(tmp_path, (shifted, y.repeat(3)), (xt, yt))
    chapter = json.loads((ROOT / "notebooks" / "03_with_and_without_kl.ipynb").read_text())
    code = [("".join(c["source"])) for c in chapter["cells"] if c["cell_type"] == "code"]
    data_cell = next(c for c in code if "load_mnist(\"train\")" in c)
    program = code[1] + "\n" + data_cell  # the imports, then the data cell, as the chapter runs them
    env = {**os.environ, "VAE_BOOK_DATA": str(tmp_path), "VAE_BOOK_QUICK": "0", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, cwd=ROOT / "notebooks")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MNIST train: 12,000 images from a torchvision-format cache that is not the full MNIST" in done.stdout
    assert "20 epochs per model" in done.stdout
