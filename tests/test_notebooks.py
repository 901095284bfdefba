"""The notebooks as files: their set-up cell, their launch links, their stored outputs."""
import importlib.util
import json
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def cells(path, kind):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == kind]


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
@pytest.mark.parametrize("installed", [True, False])
def test_setup_cell_installs_the_helpers_only_where_missing(path, installed, monkeypatch):
    source = "".join(cells(path, "code")[0]["source"])
    calls = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (real_find_spec(name) if installed else None) if name == "vae_utils"
                        else real_find_spec(name, *a))
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)))
    exec(compile(source, f"{path.name}[setup]", "exec"), {})
    if installed:
        assert calls == []
    else:
        (cmd, kw), = calls
        assert cmd[1:4] == ["-m", "pip", "install"] and kw.get("check") is True
        assert cmd[-1] == f"vae_utils[offline] @ git+{REPO_URL}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_links_to_kaggle_and_colab_from_the_configured_repository(path):
    first = "".join(cells(path, "markdown")[0]["source"])
    assert f"kaggle.com/kernels/welcome?src={REPO_URL}/blob/main/notebooks/{path.name}" in first
    owner_repo = REPO_URL.removeprefix("https://github.com/")
    assert f"colab.research.google.com/github/{owner_repo}/blob/main/notebooks/{path.name}" in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_hold_no_errors_or_progress_text(path):
    code = cells(path, "code")
    counts = [cell.get("execution_count") for cell in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: not executed top to bottom ({counts})"
    assert any(cell.get("outputs") for cell in code)
    for cell in code:
        for out in cell["outputs"]:
            assert out["output_type"] != "error"
            assert not (out.get("name") == "stderr" and "it/s" in "".join(out.get("text", "")))
