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


def _workflow():
    text = (ROOT / ".github" / "workflows" / "book.yml").read_text()
    return text, yaml.safe_load(text)


def test_publishing_workflow_uses_current_actions_and_never_cancels_a_deployment():
    text, workflow = _workflow()
    uses = {s["uses"].split("@")[0]: int(s["uses"].split("@v")[1]) for job in workflow["jobs"].values()
            for s in job["steps"] if "uses" in s}
    minimum = {"actions/checkout": 5, "actions/setup-python": 6, "actions/setup-node": 6, "actions/configure-pages": 5,
               "actions/upload-pages-artifact": 4, "actions/deploy-pages": 4, "actions/cache": 4}
    assert {a: uses.get(a, 0) for a in minimum} == {a: max(uses.get(a, 0), v) for a, v in minimum.items()}, uses
    node = next(s["with"]["node-version"] for s in workflow["jobs"]["build"]["steps"]
                if s.get("uses", "").startswith("actions/setup-node"))
    assert int(node) >= 22, "node 20 is end-of-life"
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_publishing_workflow_builds_pull_requests_without_deploying():
    _, workflow = _workflow()
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in on and "push" in on
    assert workflow["jobs"]["deploy"]["if"] == "github.event_name != 'pull_request'"
    uploads = [s for s in workflow["jobs"]["build"]["steps"] if "upload-pages-artifact" in s.get("uses", "")]
    assert uploads[0]["if"] == "github.event_name != 'pull_request'"
    assert "pages" not in workflow.get("permissions", {}), "only the deploy job may write to Pages"


def test_publishing_workflow_caches_what_makes_a_rebuild_slow_and_installs_cpu_torch():
    text, workflow = _workflow()
    steps = workflow["jobs"]["build"]["steps"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    node = next(s for s in steps if s.get("uses", "").startswith("actions/setup-node"))
    assert python["with"]["cache"] == "pip" and node["with"]["cache"] == "npm"
    cached = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))["with"]["path"]
    assert "_build/.jupyter_cache" in cached and "~/.cache/vae_book" in cached
    install = next(s["run"] for s in steps if "download.pytorch.org/whl/cpu" in s.get("run", ""))
    assert "constraints.txt" in install, "the CPU build must be the version CI tests"
    assert text.index("whl/cpu") < text.index("make book")


def test_licences_are_stated_everywhere():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "CC BY 4.0" in (ROOT / "LICENSE-text.md").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "MIT" in readme and "CC BY 4.0" in readme
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "CC BY 4.0" in config["html"]["extra_footer"] and "MIT" in config["html"]["extra_footer"]
    assert re.search(r'^license = "MIT"$', (ROOT / "pyproject.toml").read_text(), re.M)  # PEP 639
    assert config["execute"]["raise_on_error"] is True
    for key in ("favicon", "baseurl", "use_edit_page_button"):
        assert config["html"][key]
    assert (ROOT / config["logo"]).is_file() and (ROOT / config["html"]["favicon"]).is_file()
