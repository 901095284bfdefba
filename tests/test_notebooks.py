"""The notebooks as files: their set-up cell, their launch links, their stored outputs."""
import importlib.util
import json
import re
import shutil
import subprocess
import sys
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


SETUP_CELL = ROOT / "notebooks" / "setup_cell.py"


def setup_source():
    """The one set-up cell (notebooks/setup_cell.py, written into the notebooks by
    notebooks/sync_setup_cells.py): the file's text without its final newline."""
    text = SETUP_CELL.read_text(encoding="utf-8")
    return text[:-1] if text.endswith("\n") else text


@pytest.mark.parametrize("outcome", ["installed", "missing", "offline", "offline-kaggle", "copy"])
def test_setup_cell_installs_the_helpers_only_where_missing(outcome, monkeypatch, capsys, tmp_path):
    """Installed: nothing runs. A copy of the repository beside the notebook: put on sys.path, no
    pip. Missing: one pip call for the book's release, no extra (a platform that reaches GitHub
    reaches MNIST's mirrors). A failed install prints what to do and stops Run-all with a short
    RuntimeError, not pip's CalledProcessError."""
    import vae_utils

    notebook_folder = tmp_path / "run"
    notebook_folder.mkdir()
    monkeypatch.chdir(notebook_folder)  # the notebook's folder: nothing beside it but what the case puts there
    monkeypatch.setattr(sys, "path", list(sys.path))
    if outcome == "copy":
        shutil.copytree(ROOT / "vae_utils", tmp_path / "vae-kl-book-main" / "vae_utils",
                        ignore=shutil.ignore_patterns("__pycache__"))

    calls = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (real_find_spec(name) if outcome == "installed" else None)
                        if name == "vae_utils" else real_find_spec(name, *a))
    failed = outcome.startswith("offline")
    stderr = ("  fatal: unable to access 'https://github.com/vae-kl-book/vae-kl-book/': Could not resolve host\n"
              "ERROR: Failed to build 'vae_utils' when git clone ...\n")

    def run(cmd, **kw):
        calls.append((cmd, kw))
        if kw.get("check"):
            raise AssertionError("check=True would raise CalledProcessError instead of the advice")
        return subprocess.CompletedProcess(cmd, 1 if failed else 0, "", stderr if failed else "")

    monkeypatch.setattr(subprocess, "run", run)
    if outcome == "offline-kaggle":
        monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    else:
        monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    code = compile(setup_source(), "setup_cell.py", "exec")
    if failed:
        with pytest.raises(RuntimeError, match="vae_utils"):
            exec(code, {})
    else:
        exec(code, {})
    if outcome == "installed":
        assert calls == []
        return
    if outcome == "copy":
        copy = str(tmp_path / "vae-kl-book-main")
        assert calls == [] and sys.path[0] == copy
        assert capsys.readouterr().out == f"vae_utils {vae_utils.__version__}: the copy in {copy}\n"
        return
    (cmd, kw), = calls
    assert cmd[1:4] == ["-m", "pip", "install"]
    assert cmd[-1] == f"vae_utils @ git+{REPO_URL}@v{vae_utils.__version__}"
    printed = capsys.readouterr().out
    if outcome == "offline-kaggle":
        assert "Internet on" in printed and "Add Input" in printed and "Could not resolve host" in printed
    elif outcome == "offline":
        assert "Check the network" in printed and "beside this\nnotebook" in printed and "Internet" not in printed
    else:
        assert printed == ""


def test_setup_cell_installs_the_release_of_the_helpers_version():
    """One place sets the version (vae_utils/__init__.py); the set-up cell installs its tag."""
    import vae_utils

    refs = re.findall(r'^REF = "([^"]+)"', setup_source(), re.M)
    assert refs == [f"v{vae_utils.__version__}"], refs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_holds_the_one_setup_cell(path):
    first = cells(path, "code")[0]
    assert "remove-cell" in first["metadata"].get("tags", []), f"{path.name}: the set-up cell is not hidden"
    # What it prints depends on the reader's machine (a copy found, pip's advice): nbval does not compare it.
    assert "nbval-ignore-output" in first["metadata"].get("tags", []), f"{path.name}: nbval compares the set-up cell"
    assert "".join(first["source"]) == setup_source(), (
        f"{path.name}: its set-up cell differs from notebooks/setup_cell.py: run `python notebooks/sync_setup_cells.py`")


def test_the_sync_script_changes_the_setup_cell_and_nothing_else(tmp_path):
    import sys

    copies = []
    for path in NOTEBOOKS:
        copies.append(tmp_path / path.name)
        copies[-1].write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    script = ROOT / "notebooks" / "sync_setup_cells.py"
    subprocess.run([sys.executable, str(script), *map(str, copies)], check=True, capture_output=True)
    done = subprocess.run([sys.executable, str(script), "--check", *map(str, copies)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    for path, copy in zip(NOTEBOOKS, copies):
        before, after = json.loads(path.read_text(encoding="utf-8")), json.loads(copy.read_text(encoding="utf-8"))
        code = next(i for i, c in enumerate(after["cells"]) if c["cell_type"] == "code")
        assert "".join(after["cells"][code]["source"]) == setup_source()
        after["cells"][code]["source"] = before["cells"][code]["source"]
        assert after == before, f"{path.name}: the sync changed more than the set-up cell's source"


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
