"""The package and the project's metadata: the wheel and the sdist build without warnings, the
wheel's metadata is complete (PEP 639 licence, URLs, readme, Python versions), it installs alone
into an empty venv and every module imports from there with every third-party import declared,
the code parses on every Python the classifiers list, and CITATION.cff agrees with the package
and the book."""
import ast
import email.parser
import functools
import glob
import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

import vae_utils

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
URLS = {"Homepage": "https://vae-kl-book.github.io/vae-kl-book/",
        "Repository": "https://github.com/vae-kl-book/vae-kl-book",
        "Issues": "https://github.com/vae-kl-book/vae-kl-book/issues"}
# What setuptools and build print when the configuration is out of date or ambiguous.
WARNINGS = re.compile(r"warn|deprecat|!!", re.I)
# The wheel and the sdist, with the build's log: the `dist` fixture of tests/conftest.py (built once a
# session, for tests/test_platforms.py too).


def _metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(z.read(name).decode())


@pytest.mark.slow
def test_the_build_prints_no_warning(dist):
    flagged = [line for line in dist["log"].splitlines() if WARNINGS.search(line)]
    assert not flagged, "the build warns (e.g. SetuptoolsDeprecationWarning):\n" + "\n".join(flagged[:20])


def test_the_version_has_one_source():
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "vae_utils.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", vae_utils.__version__)


@pytest.mark.slow
def test_the_wheel_metadata_is_complete(dist):
    meta = _metadata(dist["wheel"])
    assert meta["Version"] == vae_utils.__version__
    assert meta["License-Expression"] == "MIT" and meta.get_all("License-File") == ["LICENSE"]
    assert "License" not in meta, "the old free-text License field is deprecated by PEP 639"
    urls = dict(line.split(", ", 1) for line in meta.get_all("Project-URL"))
    assert {k: urls.get(k) for k in URLS} == URLS and urls["Book"] == URLS["Homepage"]
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_payload().lstrip().startswith("# Variational autoencoders and the KL term")
    assert meta["Requires-Python"] == ">=3.10"
    classifiers = set(meta.get_all("Classifier"))
    assert {"Intended Audience :: Education", "Intended Audience :: Science/Research", "Framework :: Jupyter",
            "Topic :: Scientific/Engineering :: Artificial Intelligence", "Operating System :: OS Independent",
            "Programming Language :: Python :: 3"} <= classifiers
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    # The Python versions listed are the ones test_the_code_parses_on_every_listed_python checks.
    assert {c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)} \
        == {"3.10", "3.11", "3.12", "3.13"}
    requires = {Requirement(r).name: Requirement(r) for r in meta.get_all("Requires-Dist")}
    assert str(requires["pillow"].specifier) == ">=9.1", "Image.Quantize and Image.Dither need pillow 9.1"
    assert "pandas" in requires, "chapter 03 imports pandas"
    for req in requires.values():  # lower bounds only (the offline extra's mlxtend has its cap)
        if req.marker:
            assert re.fullmatch(r'extra == "(offline|widgets)"', str(req.marker)), req
        else:
            assert all(s.operator == ">=" for s in req.specifier), req


@pytest.mark.slow
def test_the_wheel_holds_the_templates_and_the_mit_licence_only(dist):
    names = zipfile.ZipFile(dist["wheel"]).namelist()
    assert {"vae_utils/book/templates/explorer.html", "vae_utils/book/templates/dial.html"} <= set(names)
    assert not any("LICENSE-text" in n for n in names), "the CC BY 4.0 text licence is the book's, not the package's"
    (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert "MIT License" in zipfile.ZipFile(dist["wheel"]).read(licence).decode()


@pytest.mark.slow
def test_the_sdist_holds_what_builds_the_wheel(dist):
    if dist["sdist"] is None:
        pytest.skip("the `build` package is missing (requirements-dev.txt): only the wheel was built")
    names = {n.split("/", 1)[1] for n in tarfile.open(dist["sdist"]).getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "LICENSE", "vae_utils/__init__.py", "vae_utils/book/templates/explorer.html"} <= names
    assert "LICENSE-text.md" not in names


@pytest.mark.slow
def test_the_wheel_installs_alone_and_declares_what_its_modules_import(dist):
    """Install the wheel without its dependencies into a venv without site packages, import every
    module from there (third-party packages come from this environment, appended to the path);
    every third-party package those imports load belongs to a declared dependency or one of theirs."""
    wheel, venv = dist["wheel"], dist["tmp"] / "venv"
    modules = sorted(n[len("vae_utils/"):-3].replace("/", ".") for n in zipfile.ZipFile(wheel).namelist()
                     if n.startswith("vae_utils/") and n.endswith(".py") and not n.endswith("__init__.py"))
    assert {"data", "models", "losses", "training", "elbo", "book.dial", "book.explore", "symbolic"} <= set(modules)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                           str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = ("import importlib, json, sys, vae_utils\n"
             f"for m in {modules!r}: importlib.import_module('vae_utils.' + m)\n"
             "assert vae_utils.__file__.startswith(sys.argv[1]), vae_utils.__file__\n"
             "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))")
    # This environment's third-party packages, appended after the venv's own site-packages by a .pth
    # file: the wheel's vae_utils comes first even where vae_utils is installed here as a regular package.
    (site,) = (venv / "lib").glob("python3.*/site-packages")
    (site / "third_party.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(python), "-c", probe, str(venv)], capture_output=True, text=True, cwd=dist["tmp"],
                          env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))

    declared = [Requirement(r) for r in _metadata(wheel).get_all("Requires-Dist") if not Requirement(r).marker]
    allowed, todo = set(), [r.name for r in declared]
    while todo:  # the declared dependencies and, recursively, theirs
        name = todo.pop().lower().replace("_", "-")
        if name in allowed:
            continue
        allowed.add(name)
        try:
            todo += [re.split(r"[<>=!~ \[;(]", r)[0] for r in (md.requires(name) or []) if "extra ==" not in r]
        except md.PackageNotFoundError:
            pass
    owners = md.packages_distributions()
    third_party = {m: {d.lower().replace("_", "-") for d in owners[m]} for m in loaded if m in owners}
    # Optional packages that a declared dependency imports when they happen to be installed (Colab has
    # defusedxml: pillow's `xmp` extra, tried at `import PIL.Image`); not imports of vae_utils.
    allowed |= {"defusedxml"}
    undeclared = {m: d for m, d in third_party.items() if not d & allowed and m != "vae_utils"}
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
    assert {"torchvision", "sympy"} <= {r.name for r in declared}


def _imports(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_every_third_party_import_of_the_package_and_the_notebooks_is_declared():
    """Also the lazy imports (inside functions) and the notebooks' own: the wheel test above sees
    only what importing the modules loads."""
    imported = set()
    for path in (ROOT / "vae_utils").rglob("*.py"):
        imported |= _imports(ast.parse(path.read_text()))
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "\n".join(line for line in "".join(cell["source"]).splitlines()
                                   if not line.lstrip().startswith(("%", "!")))
                imported |= _imports(ast.parse(source))
    third_party = imported - set(sys.stdlib_module_names) - {"vae_utils", "__future__"}
    project = PYPROJECT["project"]
    declared = {Requirement(r).name.lower() for r in project["dependencies"]}
    declared |= {Requirement(r).name.lower() for extra in project["optional-dependencies"].values() for r in extra}
    owners = md.packages_distributions()
    undeclared = {m for m in third_party if not {d.lower() for d in owners.get(m, [m])} & declared}
    assert not undeclared, f"imported by vae_utils or a notebook but not declared in pyproject.toml: {undeclared}"


def _runs(python: str | None, version: str) -> bool:
    """Whether `python` runs and is that version (a pyenv shim may exist and still refuse)."""
    if not python:
        return False
    done = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True)
    return done.returncode == 0 and done.stdout.strip() == version


@functools.cache
def _pythons() -> dict[str, str | None]:
    """An interpreter for each Python 3 minor version the classifiers list, where one is found."""
    found = {}
    for version in {c.rsplit(" ", 1)[1] for c in PYPROJECT["project"]["classifiers"]
                    if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}:
        candidates = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
        candidates += [shutil.which(f"python{version}")]
        found[version] = next((c for c in candidates if _runs(c, version)), None)
    return found


PARSE_AND_RENDER = r"""
import ast, importlib, importlib.util, pathlib, sys
root = pathlib.Path(sys.argv[1]) / "vae_utils"
for f in sorted(root.rglob("*.py")):
    compile(ast.parse(f.read_text(), str(f), feature_version=sys.version_info[:2]), str(f), "exec")
# vae_utils/__init__.py imports torch; pages needs the standard library only: import it alone.
spec = importlib.util.spec_from_file_location("vae_utils", root / "__init__.py", submodule_search_locations=[str(root)])
sys.modules["vae_utils"] = importlib.util.module_from_spec(spec)
pages = importlib.import_module("vae_utils.book.pages")
out = pages.render("explorer", {"a": [1]}, grid_max="<b>", grid_note="n")
assert "&lt;b&gt;" in out and "data-page" in out
print("%d.%d" % sys.version_info[:2])
"""


@pytest.mark.parametrize("version", sorted(_pythons(), key=lambda v: int(v.split(".")[1])))
def test_the_code_parses_on_every_listed_python(version):
    """Every module parses and compiles with that Python's own parser, and `pages` (standard library
    only) imports and renders a template. Importing the rest needs torch for that Python, a
    multi-GB download (CONTRIBUTING.md, "Python versions")."""
    python = _pythons()[version]
    if python is None:
        message = f"no python{version} here (pyenv install {version} to check it)"
        if os.environ.get("CI") == "true" and version == "%d.%d" % sys.version_info[:2]:
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run([python, "-B", "-c", PARSE_AND_RENDER, str(ROOT)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.split() == [version], done.stdout + done.stderr[-3000:]


def test_requires_python_admits_every_listed_python():
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert all(spec.contains(f"{v}.0") for v in _pythons()) and not spec.contains("3.9.18")


def test_the_citation_file_agrees_with_the_package_and_the_book():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["message"]
    assert str(cff["version"]) == vae_utils.__version__
    assert cff["title"] == config["title"]
    assert cff["authors"] == [{"name": config["author"]}]
    assert sorted(cff["license"]) == ["CC-BY-4.0", "MIT"]
    assert cff["repository-code"] == URLS["Repository"] == config["repository"]["url"]
    assert cff["url"] == URLS["Homepage"] == config["html"]["baseurl"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(cff["date-released"]))
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {vae_utils.__version__} — {cff['date-released']}" in changelog, "CHANGELOG and CITATION.cff disagree"
    book = cff["preferred-citation"]
    assert book["type"] == "book" and book["title"] == cff["title"] and book["authors"] == cff["authors"]


def test_the_readme_links_the_community_files():
    readme = (ROOT / "README.md").read_text()
    for name in ("CITATION.cff", "CONTRIBUTING.md", "CHANGELOG.md"):
        assert (ROOT / name).is_file() and f"]({name})" in readme, name
