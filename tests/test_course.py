"""The book as a course: objectives, exercises, glossary, notation, attribution, and no errata.

These tests read the chapters' sources; the browser tests check how the same apparatus
behaves on the built pages.
"""
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PROSE = sorted((ROOT / "book").glob("*.md"))


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [ROOT / (f + (".ipynb" if f.startswith("notebooks/") else ".md")) for f in files]


def cells(path):
    return json.loads(path.read_text())["cells"]


def markdown_of(path) -> str:
    if path.suffix == ".md":
        return path.read_text()
    return "\n\n".join("".join(c["source"]) for c in cells(path) if c["cell_type"] == "markdown")


def main_line(text: str) -> str:
    """The markdown a reader sees without opening anything: dropdowns, solutions and admonitions removed."""
    blocks = r":::\{(dropdown|solution|solution-start|admonition)\}.*?\n:::(?!\{)"
    text = re.sub(r":::\{solution-start\}.*?:::\{solution-end\}\n:::", "", text, flags=re.S)
    return re.sub(blocks, "", text, flags=re.S)


ALL_TEXT = {p.name: markdown_of(p) for p in NOTEBOOKS + PROSE}


def test_every_chapter_is_in_the_table_of_contents():
    listed = set(toc_files())
    assert set(NOTEBOOKS) <= listed
    assert {ROOT / "book" / "notation.md", ROOT / "book" / "glossary.md"} <= listed


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_opens_with_objectives_and_prerequisites(path):
    first = "".join(cells(path)[0]["source"])
    block = re.search(r":::\{admonition\} Objectives and prerequisites\n(.*?)\n:::", first, re.S)
    assert block, f"{path.name}: no objectives admonition in the first cell"
    body = block.group(1)
    you_can = body.split("**You need**")[0]
    assert 3 <= you_can.count("\n- ") <= 5, f"{path.name}: objectives should be 3 to 5 bullets"
    assert "**You need**" in body and "{doc}" in body.split("**You need**")[1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_ends_with_exercises_and_hidden_solutions(path):
    text = ALL_TEXT[path.name]
    exercises = re.findall(r":::\{exercise\}\n:label: (\S+)", text)
    solved = re.findall(r":::\{solution(?:-start)?\} (\S+)\n:class: dropdown", text)
    assert len(exercises) >= 3, f"{path.name}: {len(exercises)} exercises"
    assert sorted(solved) == sorted(exercises), f"{path.name}: every exercise needs one hidden solution"
    assert text.index("## Exercises") > text.index("## Summary") if "## Summary" in text else True


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_in_solutions_is_real_code_cells(path):
    """A solution's code is a code cell between solution-start and solution-end, so nbval and the
    build execute it; code written inside markdown would never run."""
    inside, code_cells = False, 0
    for cell in cells(path):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            assert "```{code-cell}" not in source, f"{path.name}: a code-cell block inside markdown never runs"
            if ":::{solution-start}" in source:
                inside = True
            if ":::{solution-end}" in source:
                inside = False
        elif inside:
            code_cells += 1
            assert cell.get("outputs") is not None and cell.get("execution_count"), "solution cell not executed"
    assert not inside, f"{path.name}: a solution-start without its solution-end"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_is_first_and_removed_from_the_html(path):
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    assert "Set-up: on Colab or Kaggle" in "".join(code[0]["source"])
    assert "remove-cell" in code[0]["metadata"].get("tags", [])


@pytest.mark.parametrize("name", sorted(ALL_TEXT))
def test_the_source_is_the_blog_post_not_the_seed(name):
    text = ALL_TEXT[name]
    for pattern in (r"\bthe seed\b", r"\bseed's\b", r"\bseed of this book\b"):
        assert not re.search(pattern, text, re.I), f"{name}: say 'the blog post' (or 'the random seed')"


ERRATA = {
    r"720\.49": "392 ln 2π is 720.45",
    r"β ≈ 784|\\beta \\approx 784|beta ≈ 784": "F.mse_loss sets β = 392, not 784",
    r"uniform class frequencies of MNIST": "MNIST's classes are not uniform",
    r"\b12 steps\b": "the path has 11 steps (12 images)",
    r"margins are smaller than with the full": "a claim never shown",
    r"compared by `make test`": "test machinery in the main line",
    r"prototype pointed": "test machinery in the main line",
    r"every code decodes to nearly the same blurred digit, and": "the sweep's prose must follow its numbers",
    r"Continuity then looks perfect": "the sweep's prose must follow its numbers",
    r"paths get smoother": "the sweep's prose must follow its numbers",
}


@pytest.mark.parametrize("name", sorted(ALL_TEXT))
def test_no_erratum_comes_back(name):
    for pattern, why in ERRATA.items():
        assert not re.search(pattern, ALL_TEXT[name]), f"{name}: /{pattern}/ ({why})"


@pytest.mark.parametrize("name", sorted(ALL_TEXT))
def test_exact_negative_elbo_claims_name_the_constant(name):
    for match in re.finditer(r"exact(ly)? (the )?negative ELBO", ALL_TEXT[name]):
        context = ALL_TEXT[name][match.start():match.end() + 120]
        assert "constant" in context, f"{name}: '{match.group(0)}' without 'up to the constant'"


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_test_machinery_stays_out_of_the_main_line(name):
    text = main_line(ALL_TEXT[name])
    for word in ("quick mode", "VAE_BOOK_QUICK", "nbval", "make test", "pytest", "CI"):
        assert not re.search(rf"\b{re.escape(word)}\b", text), f"{name}: '{word}' belongs in a dropdown or the README"


GLOSSARY = (ROOT / "book" / "glossary.md").read_text()
DEFINED = {line for line in GLOSSARY.split("```{glossary}")[1].split("\n```")[0].splitlines()
           if line.strip() and not line.startswith(" ")}
REQUIRED = ["ELBO", "evidence", "prior", "approximate posterior", "true posterior", "amortised inference",
            "reparametrisation trick", "KL divergence", "nats", "β-VAE", "posterior collapse", "continuity",
            "completeness", "negative log-likelihood"]


def test_glossary_defines_the_required_terms():
    assert set(REQUIRED) <= DEFINED, set(REQUIRED) - DEFINED


def test_every_term_role_names_a_glossary_entry():
    used = {t for text in ALL_TEXT.values() for t in re.findall(r"\{term\}`([^`<]+?)(?: <([^>]+)>)?`", text)
            for t in [t[1] or t[0]]}
    assert used and used <= DEFINED, used - DEFINED


@pytest.mark.parametrize("term", ["ELBO", "nats", "posterior collapse", "β-VAE", "KL divergence", "prior"])
def test_terms_are_linked_at_their_first_use(term):
    """Reading the book in order, the first mention of each term in prose links to the glossary."""
    for path in toc_files():
        if path.name in ("glossary.md", "api.md", "bibliography.md"):
            continue
        text = re.sub(r"\A---\n.*?\n---\n", " ", markdown_of(path), flags=re.S)  # front matter: page metadata
        text = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$|```.*?```|\{cite\}`[^`]*`|\{doc\}`[^`]*`", " ", text, flags=re.S)
        text = re.sub(r"^:label: .*$|^:::.*$|^# .*$|^\*\*After this chapter.*$", " ", text, flags=re.M)
        spelled = r"(?<![\w-])" + re.escape(term) + r"(?![\w-])"
        first = re.search(spelled, text, re.I)
        if first:
            before = text[max(0, first.start() - 7):first.start()]
            assert before.endswith("{term}`"), f"{path.name}: first use of '{term}' is not a glossary link"
            return
    pytest.fail(f"'{term}' is never used")


def test_notation_page_fixes_the_symbols_the_issue_names():
    notation = (ROOT / "book" / "notation.md").read_text()
    for symbol in (r"$D$", r"$J$", r"$\hat x", r"$\mu = \mu_\phi(x)$", r"$\sigma_x^2$", r"$\beta$"):
        assert symbol in notation, symbol


def test_chapters_use_the_books_notation():
    ch01, ch02 = ALL_TEXT["01_gaussian_likelihood_to_mse.ipynb"], ALL_TEXT["02_kl_divergence.ipynb"]
    code01 = "".join("".join(c["source"]) for c in cells(ROOT / "notebooks" / "01_gaussian_likelihood_to_mse.ipynb")
                     if c["cell_type"] == "code")
    assert "p(x \\mid \\mu)" not in ch01 and "k\\log 2\\pi" not in ch01, "chapter 01: the decoder mean is x̂, the pixel count D"
    assert 'sp.symbols(f"mu1' not in code01 and "xhat" in code01
    assert "(x, -sp.oo, sp.oo)" not in "".join("".join(c["source"]) for c in cells(ROOT / "notebooks" / "02_kl_divergence.ipynb"))
    assert "- k -" not in ch02, "chapter 02: the latent dimension is J"
