"""The printed book: both PDF editions, built in quick mode and read back with pypdf.

`make test-pdf` runs this (the release workflow does, after `make pdf pdf-teacher`); `make test`
leaves it out, because the two one-page builds and the printing take minutes on top of the browser
tests (see the Makefile). It builds like `VAE_BOOK_QUICK=1 make pdf pdf-teacher`, from the quick
web build's folder, so the notebooks' execution cache is shared with tests/test_browser.py.
"""
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.browser, pytest.mark.pdf]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"

# One sentence from a plain {solution} block and one from a {solution-start}...{solution-end} pair
# (whose code cells sphinx-exercise's own hide_solutions would leave in): both in chapter 00's side
# trip, notebooks/further_exact_elbo (ex-elbo-iw-exact and ex-elbo-fit).
SOLUTION_SENTENCES = ["the Monte Carlo ELBO of the true posterior has a standard error of zero",
                      "A diagonal Gaussian cannot tilt"]
MARKUP = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\{[^}]*\}`[^`]*`|`[^`]*`|\[([^\]]*)\]\([^)]*\)|[*_]")


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


def _markdown(file):
    path = ROOT / (file + ".ipynb")
    if path.exists():
        cells = json.loads(path.read_text())["cells"]
        return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return (ROOT / (file + ".md")).read_text()


def _plain(text):
    return " ".join(MARKUP.sub(" ", text).split())


def chapters():
    """(file, title) for every chapter of _toc.yml, the root page first, titles as printed."""
    out = []
    for file in _toc_files():
        title = re.search(r"^# (.+)$", _markdown(file), re.M).group(1)
        out.append((file, " ".join(re.sub(r"`([^`]*)`", r"\1", title).split())))
    return out


def exercises():
    """(label, words) for every {exercise}: they have no titles (they print as "Exercise N"), so
    each is known by the longest run of plain words in its first paragraph (at most 8 of them)."""
    out = []
    for file in _toc_files():
        for label, first in re.findall(r":::+\{exercise\}\n:label: (\S+)\n+(.*?)(?:\n\n|\n:::)", _markdown(file), re.S):
            runs = [r.strip(" \n.,:;=()").split() for r in MARKUP.split(first) if r]
            out.append((label, " ".join(max(runs, key=len)[:8])))  # 8 words: a page break may follow
    return out


def _normalise(text):
    """Compare as printed: ligatures (ﬁ) split, curly quotes straight (MyST's smart quotes), one space."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "").replace("\u2011", "-")
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
                    .replace("\u201d", '"').split())


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("the PDF needs Debian's chromium (apt-get install chromium); never run `playwright install`")
    pypdf = pytest.importorskip("pypdf", reason="pip install -r requirements-dev.txt")
    out = tmp_path_factory.mktemp("pdf")
    env = {**os.environ, "VAE_BOOK_QUICK": "1"}
    script = [sys.executable, str(ROOT / "book" / "print_pdf.py")]
    runs = {
        "full": script + ["--path-output", str(ROOT / "_build" / "quick"), "--out", str(out / "vae-kl-book.pdf")],
        "teacher": script + ["--no-solutions", "--path-output", str(ROOT / "_build" / "quick-teacher"),
                             "--cache-from", str(ROOT / "_build" / "quick"),
                             "--out", str(out / "vae-kl-book-no-solutions.pdf")],
    }
    readers = {}
    for name, command in runs.items():
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        pdf = Path(command[command.index("--out") + 1])
        assert pdf.exists() and pdf.stat().st_size > 100_000, pdf
        reader = pypdf.PdfReader(str(pdf))
        text = _normalise(" ".join(p.extract_text() or "" for p in reader.pages))
        readers[name] = reader, text
    return readers


@pytest.mark.parametrize("edition", ["full", "teacher"])
def test_outline_has_one_entry_per_chapter(editions, edition):
    reader, _ = editions[edition]
    top = [_normalise(item.title) for item in reader.outline if not isinstance(item, list)]
    expected = [title for _, title in chapters()]
    assert top == expected, f"outline {top}\nexpected {expected}"


@pytest.mark.parametrize("edition", ["full", "teacher"])
def test_every_chapter_and_exercise_is_printed(editions, edition):
    reader, text = editions[edition]
    missing = [title for _, title in chapters() if _normalise(title) not in text]
    missing += [f"{label}: {words}" for label, words in exercises() if _normalise(words) not in text]
    assert len(exercises()) >= 15
    assert not missing, missing
    assert len(reader.pages) >= 30


def test_solutions_are_in_the_full_edition_only(editions):
    _, full = editions["full"]
    _, teacher = editions["teacher"]
    for sentence in SOLUTION_SENTENCES:
        assert sentence in full, f"the full edition lacks a solution: {sentence!r}"
        assert sentence not in teacher, f"the edition without solutions prints one: {sentence!r}"
    assert full.count("Solution to") >= 15 and "Solution to" not in teacher


def test_interactive_parts_point_online_and_print_no_navigation(editions):
    _, text = editions["full"]
    joined = text.replace(" ", "")  # a long address may break across lines
    assert "This part is interactive: use it on the book's page online" in text
    assert "vae-kl-book.github.io/vae-kl-book/notebooks/04_latent_explorer.html" in joined
    assert "vae-kl-book.github.io/vae-kl-book/notebooks/03_with_and_without_kl.html" in joined
    for chrome in ("Skip to main content", "Back to top", "previous page", "next page"):
        assert chrome not in text, chrome
