"""Rehearse the book on its readers' platforms: for each list in tests/platforms/ (Colab's, Kaggle's),
a venv with that Python and exactly those package versions, vae_utils brought in as a reader's
set-up cell brings it, every notebook run alone in a fresh folder in quick mode and compared by
nbval (strict for chapters 00-02, lax for the training chapters), then the helpers' unit tests.

    python tests/platforms/rehearse.py                    # every platform: `make test-platforms`
    python tests/platforms/rehearse.py kaggle --no-unit   # one platform, notebooks only

Two routes into vae_utils, each on every notebook:
- ``pip``: installed as the set-up cell's pip call installs it (an isolated build of the repository,
  with the platform's packages as constraints: nothing they have may change);
- ``copy``: not installed; a read-only copy of the repository beside the notebook, which the set-up
  cell puts on sys.path (Kaggle with Internet off, a dataset under /kaggle/input).

The report (``_build/platforms/report.md`` and ``report.json``) gives, per platform, route and
notebook: ok or the first line of the first error, the warnings a reader would see, and seconds.
Exit status 1 if anything failed. Needs the platforms' Pythons (``python3.12``, ``python3.13`` on
PATH, or pyenv's) and their wheels from the package index: several GB, so not part of make test.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = Path(__file__).resolve().parent
OUT = ROOT / "_build" / "platforms"
# The Makefile's STRICT_NOTEBOOKS (tests/test_project.py checks that the two lists agree).
STRICT = ("00_the_elbo", "01_gaussian_likelihood_to_mse", "02_kl_divergence",
          "further_exact_elbo", "further_reconstruction_losses", "further_full_covariance_kl")
# What the rehearsal itself needs beside the platform's packages (installed under its constraints).
TOOLS = ("pytest", "nbval", "hypothesis", "build", "pyyaml", "check-jsonschema", "pypdf")
# The unit tests: everything but the browser, the PDF and full MNIST (no Chromium or jupyter-book here).
UNIT_MARKERS = "not browser and not pdf and not full"


def python_for(version: str) -> str:
    """An interpreter of that minor version: $PYTHON<major><minor>, python3.X on PATH, or pyenv's."""
    candidates = [os.environ.get(f"PYTHON{version.replace('.', '')}"), shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
    for python in filter(None, candidates):
        done = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == version:
            return python
    raise SystemExit(f"no Python {version} found: put python{version} on PATH (or set PYTHON{version.replace('.', '')})")


def run(command: list[str], log: Path, **kwargs) -> subprocess.CompletedProcess:
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(map(str, command))}\n")
        out.flush()
        return subprocess.run(list(map(str, command)), stdout=out, stderr=subprocess.STDOUT, text=True, **kwargs)


def platform_venv(name: str, pins: Path, log: Path) -> Path:
    """The platform's venv, made once per version of its list (and of TOOLS): its packages exactly, then
    the rehearsal's tools under the list as constraints; `pip check` must be clean."""
    version = re.search(r"^# python-version: (3\.\d+)$", pins.read_text(), re.M)[1]
    venv = OUT / name / "venv"
    key = hashlib.sha256((pins.read_text() + repr(TOOLS)).encode()).hexdigest()
    marker = venv / ".rehearsal"
    if marker.is_file() and marker.read_text() == key:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    python = python_for(version)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "-c", pins]
    steps = [[python, "-m", "venv", venv], pip + ["-r", pins], pip + list(TOOLS),
             [venv / "bin" / "python", "-m", "pip", "check"],
             [venv / "bin" / "python", "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"]]
    for step in steps:
        if run(step, log).returncode != 0:
            raise RuntimeError(f"{name}: `{' '.join(map(str, step[:6]))} ...` failed (see {log})")
    marker.write_text(key)
    return venv


def install_as_the_setup_cell_does(venv: Path, pins: Path, log: Path) -> None:
    """pip install of the repository (the set-up cell installs the release tag from GitHub; this is the
    same tree, built in isolation as pip builds it there), constrained to the platform's versions."""
    source = OUT / "source"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(ROOT / "vae_utils", source / "vae_utils", ignore=shutil.ignore_patterns("__pycache__"))
    python = venv / "bin" / "python"
    for step in ([python, "-m", "pip", "install", "-q", "-c", pins, source], [python, "-m", "pip", "check"]):
        if run(step, log).returncode != 0:
            raise RuntimeError(f"installing vae_utils as the set-up cell does failed (see {log})")
    frozen = run_capture([python, "-m", "pip", "freeze"])
    have = {re.sub(r"[-_.]+", "-", n).lower(): v for n, v in re.findall(r"^([\w.-]+)==([^\s]+)$", frozen, re.M)}
    changed = {n: (v, have.get(n)) for n, v in pins_of(pins).items() if have.get(n, "").split("+")[0] != v}
    if changed:
        raise RuntimeError(f"installing vae_utils changed the platform's packages (platform's, now): {changed}")


def uninstall(venv: Path, log: Path) -> None:
    run([venv / "bin" / "python", "-m", "pip", "uninstall", "-q", "-y", "vae_utils"], log)


def run_capture(command) -> str:
    return subprocess.run(list(map(str, command)), capture_output=True, text=True, check=True).stdout


def pins_of(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def read_only_copy(folder: Path) -> tuple[Path, bool]:
    """A copy of the repository's package, read-only as a Kaggle input is: a read-only bind mount where
    this user may mount (root, whom permission bits do not stop), else files without write permission.
    Returns the copy and whether it is mounted."""
    copy = folder / "vae-kl-book"
    shutil.copytree(ROOT / "vae_utils", copy / "vae_utils", ignore=shutil.ignore_patterns("__pycache__"))
    for path in sorted(copy.rglob("*"), reverse=True) + [copy]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "--bind", "-o", "ro", str(copy), str(copy)],
                                                   capture_output=True).returncode == 0
    return copy, mounted


def release_copy(copy: Path, mounted: bool) -> None:
    if mounted:
        subprocess.run(["umount", str(copy)], check=True)
    for path in [copy, *copy.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def run_notebook(venv: Path, notebook: Path, route: str, work: Path, log: Path) -> dict:
    """One notebook alone in a fresh folder, executed and compared by nbval in quick mode."""
    folder = work / notebook.stem
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "run").mkdir(parents=True)
    shutil.copy(notebook, folder / "run" / notebook.name)
    copy, mounted = read_only_copy(folder) if route == "copy" else (None, False)
    report = folder / "cells.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAE_BOOK_", "PYTHON", "JUPYTER"))}
    env.update(VAE_BOOK_QUICK="1", VAE_BOOK_WEIGHTS="none", NB_REPORT=str(report), PYTHONPATH=str(PLATFORMS),
               JUPYTER_DATA_DIR=str(folder / "jupyter"), HOME=str(folder / "home"), XDG_CACHE_HOME=str(folder / "cache"),
               PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    (folder / "home").mkdir()
    mode = "--nbval" if notebook.stem in STRICT else "--nbval-lax"
    start = time.monotonic()
    try:
        done = run([venv / "bin" / "pytest", mode, "-p", "nbreport", "-p", "no:cacheprovider", "-q",
                    "--nbval-cell-timeout", "1800", notebook.name], log, cwd=folder / "run", env=env)
    finally:
        if copy is not None:
            release_copy(copy, mounted)
    seconds = time.monotonic() - start
    cells = [json.loads(line) for line in report.read_text().splitlines()] if report.is_file() else []
    failed = [c for c in cells if c["outcome"] == "failed"]
    error = failed[0]["error"] if failed else ("" if done.returncode == 0 else f"pytest exited {done.returncode}")
    setup = cells[0]["stdout"] if cells else []  # the set-up cell: silent when installed, else it names the copy
    return {"notebook": notebook.stem, "route": route, "ok": done.returncode == 0 and not failed, "error": error,
            "setup": setup[0] if setup else "",
            "warnings": sorted({w for c in cells for w in c["warnings"]}), "cells": len(cells),
            "seconds": round(seconds, 1)}


def unit_tests(venv: Path, log: Path) -> dict:
    """The helpers' tests on the platform's packages, from the checkout (`python -m pytest`, as `make test`
    runs them: tests/test_benchmarks.py imports the checkout's benchmarks package). The installed copy
    of vae_utils is what the notebooks above ran on."""
    make_widgets7 = run(["make", "-s", "widgets7", f"PY={venv / 'bin' / 'python'}"], log, cwd=ROOT)
    start = time.monotonic()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("VAE_BOOK_")}, "VAE_BOOK_QUICK": "1"}
    done = run([venv / "bin" / "python", "-m", "pytest", "tests", "-m", UNIT_MARKERS, "-q", "-p", "no:cacheprovider"],
               log, cwd=ROOT, env=env)
    tail = log.read_text().splitlines()
    summary = next((line for line in reversed(tail) if re.search(r"\d+ (passed|failed|error)", line)), "no summary")
    return {"ok": done.returncode == 0 and make_widgets7.returncode == 0, "summary": summary.strip("= "),
            "seconds": round(time.monotonic() - start, 1)}


def rehearse(name: str, routes: list[str], notebooks: list[Path], unit: bool) -> dict:
    pins = PLATFORMS / f"{name}.txt"
    (OUT / name).mkdir(parents=True, exist_ok=True)
    log = OUT / name / "log.txt"
    log.write_text("")
    result = {"platform": name, "notebooks": [], "unit": None, "error": ""}
    try:
        venv = platform_venv(name, pins, log)
        versions = run_capture([venv / "bin" / "python", "-c",
                                "import sys, torch, numpy, ipywidgets, setuptools; print(sys.version.split()[0], "
                                "torch.__version__, numpy.__version__, ipywidgets.__version__, setuptools.__version__)"])
        result["versions"] = dict(zip(("python", "torch", "numpy", "ipywidgets", "setuptools"), versions.split()))
        for route in routes:
            if route == "pip":
                install_as_the_setup_cell_does(venv, pins, log)
            else:
                uninstall(venv, log)
            for notebook in notebooks:
                print(f"{name}, {route}: {notebook.stem} ...", flush=True)
                result["notebooks"].append(run_notebook(venv, notebook, route, OUT / name / route, log))
                print(f"  {'ok' if result['notebooks'][-1]['ok'] else 'FAILED ' + result['notebooks'][-1]['error']}"
                      f" ({result['notebooks'][-1]['seconds']} s)", flush=True)
        previous = OUT / name / "result.json"
        if previous.is_file():  # the notebooks and routes not run this time keep their last results
            ran = {(n["route"], n["notebook"]) for n in result["notebooks"]}
            kept = [n for n in json.loads(previous.read_text())["notebooks"] if (n["route"], n["notebook"]) not in ran]
            result["notebooks"] = sorted(kept + result["notebooks"], key=lambda n: (n["route"] != "pip", n["notebook"]))
            if not unit:  # --no-unit: the unit tests keep their last result too
                result["unit"] = json.loads(previous.read_text()).get("unit")
        if unit:
            install_as_the_setup_cell_does(venv, pins, log)
            print(f"{name}: unit tests ...", flush=True)
            result["unit"] = unit_tests(venv, log)
            print(f"  {result['unit']['summary']} ({result['unit']['seconds']} s)", flush=True)
    except RuntimeError as err:
        result["error"] = str(err)
        print(f"{name}: {err}", flush=True)
    (OUT / name / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def markdown(results: list[dict]) -> str:
    lines = ["# The book on its readers' platforms", "",
             f"`python tests/platforms/rehearse.py`, {time.strftime('%Y-%m-%d')}: quick mode, offline digits, "
             "each notebook alone in a fresh folder.", ""]
    for r in results:
        v = r.get("versions", {})
        lines += [f"## {r['platform']}: Python {v.get('python', '?')}, torch {v.get('torch', '?')}, numpy "
                  f"{v.get('numpy', '?')}, ipywidgets {v.get('ipywidgets', '?')}, setuptools {v.get('setuptools', '?')}",
                  ""]
        if r["error"]:
            lines += [f"Stopped: {r['error']}", ""]
        lines += ["| route | notebook | set-up cell printed | result | warnings shown | seconds |",
                  "| --- | --- | --- | --- | --- | ---: |"]
        for n in r["notebooks"]:
            result = "ok" if n["ok"] else f"failed: {n['error']}"
            lines.append(f"| {n['route']} | {n['notebook']} | {n['setup'] or '(nothing)'} | {result} | "
                         f"{'; '.join(n['warnings']) or 'none'} | {n['seconds']:.0f} |")
        if r["unit"]:
            lines += ["", f"Unit tests (`-m \"{UNIT_MARKERS}\"`): {r['unit']['summary']} ({r['unit']['seconds']:.0f} s)."]
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("platforms", nargs="*", help="default: every tests/platforms/*.txt")
    parser.add_argument("--routes", default="pip,copy", help="pip, copy or both (default)")
    parser.add_argument("--notebooks", nargs="*", help="default: notebooks/*.ipynb")
    parser.add_argument("--no-unit", action="store_true", help="skip the helpers' unit tests")
    parser.add_argument("--no-notebooks", action="store_true", help="skip the notebooks (the unit tests only)")
    args = parser.parse_args(argv)
    names = args.platforms or sorted(p.stem for p in PLATFORMS.glob("*.txt"))
    routes = [r for r in args.routes.split(",") if r]
    if not set(routes) <= {"pip", "copy"} or not routes:
        parser.error(f"--routes takes pip, copy or both, got {args.routes!r}")
    notebooks = [Path(n).resolve() for n in args.notebooks] if args.notebooks else sorted((ROOT / "notebooks").glob("*.ipynb"))
    notebooks = [] if args.no_notebooks else notebooks
    results = [rehearse(name, routes, notebooks, not args.no_unit) for name in names]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(results, indent=1) + "\n")
    (OUT / "report.md").write_text(markdown(results))
    print(f"report: {OUT / 'report.md'}")
    ok = all(not r["error"] and all(n["ok"] for n in r["notebooks"]) and (r["unit"] is None or r["unit"]["ok"])
             for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
