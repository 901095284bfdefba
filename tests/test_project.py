"""The project's own wiring: CI, the publishing workflow, Binder and the README agree."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vae_utils.data import network_reachable

ROOT = Path(__file__).resolve().parents[1]
MAKE_TARGETS = set(re.findall(r"^([A-Za-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


def test_every_make_command_of_the_publishing_workflow_exists():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    runs = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    called = {target for run in runs for target in re.findall(r"\bmake\s+([\w-]+)", run)}
    assert called and called <= MAKE_TARGETS, called - MAKE_TARGETS
    uploads = [s for j in workflow["jobs"].values() for s in j["steps"] if "upload-pages-artifact" in s.get("uses", "")]
    assert uploads[0]["with"]["path"] == "_build/html"


def test_ci_runs_the_readme_test_command():
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make book" in readme
    assert re.search(r"^make test\b", ci, re.M)
    assert {"book", "test", "book-quick", "notebooks", "bench", "bench-smoke"} <= MAKE_TARGETS


def test_binder_installs_the_cpu_build_of_torch_and_the_helpers():
    lines = [l.strip() for l in (ROOT / "binder" / "requirements.txt").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert any(l.startswith("torch==") and l.endswith("+cpu") for l in lines)
    assert any(l.startswith("-e .") for l in lines)


def test_requirements_use_lower_bounds_and_constraints_pin_torch():
    reqs = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert not [r for r in reqs if "==" in r], "requirements.txt should give lower bounds, not exact pins"
    assert "torch>=2.1" in reqs and "jupyter-book>=1.0,<2" in reqs
    constraints = (ROOT / "constraints.txt").read_text()
    assert "torch==2.14.1" in constraints and "torchvision==0.29.1" in constraints


def test_external_links():
    if not network_reachable():
        pytest.skip("external links not checked: no network here (make linkcheck checks them where there is one)")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    out = ROOT / "_build" / "linkcheck"
    done = subprocess.run([str(jupyter_book), "build", str(ROOT), "--builder", "linkcheck", "--path-output", str(out)],
                          capture_output=True, text=True, env={**os.environ, "VAE_BOOK_QUICK": "1"})
    assert done.returncode == 0, done.stdout[-3000:]
