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


def toc_files(caption=None):
    """The pages of _toc.yml in reading order; with caption, only that part's."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = ([toc["root"]] if caption is None else []) + [
        c["file"] for part in toc["parts"] if caption in (None, part["caption"]) for c in part["chapters"]]
    return [ROOT / (f + (".ipynb" if f.startswith("notebooks/") else ".md")) for f in files]


# The "Going further" part holds side trips: correct, but off the question "why the KL term?". They
# keep the notebooks' rules (set-up cell, launch links, hidden solutions, no test machinery) but
# not a chapter's (objectives, three exercises); each names the chapter it branches from.
FURTHER = toc_files("Going further")


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
CHAPTERS = [p for p in NOTEBOOKS if p not in FURTHER]  # the main line's notebooks


def test_every_chapter_is_in_the_table_of_contents():
    listed = set(toc_files())
    assert set(NOTEBOOKS) <= listed
    assert {ROOT / "book" / "notation.md", ROOT / "book" / "glossary.md"} <= listed


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
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
    """A chapter has at least three exercises; a side trip any number (an exercise moved there from a
    chapter keeps its hidden solution)."""
    text = ALL_TEXT[path.name]
    exercises = re.findall(r":::\{exercise\}\n:label: (\S+)", text)
    solved = re.findall(r":::\{solution(?:-start)?\} (\S+)\n:class: dropdown", text)
    assert len(exercises) >= (0 if path in FURTHER else 3), f"{path.name}: {len(exercises)} exercises"
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
    assert "Set-up for Colab and Kaggle" in "".join(code[0]["source"])
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
    r"proves both": "chapter 02 derives the KL only for Gaussians against N(0, 1); the general proof "
                    "(Jensen) is in chapter 00",
    r"\\beta = 1\$ is the negative ELBO|β = 1 is the negative ELBO|= -ELBO when beta = 1":
        "beta = 1 gives -ELBO only as a one-sample estimate, for sigma_x = 1, up to (D/2) log 2 pi",
    r"can be read after \{doc\}`\.\./notebooks/00_the_elbo` alone": "chapter 03 needs chapters 00 to 02",
    r"[Rr]eparametri[sz]ation trick is used to generate": "the trick is for training; generation samples "
                                                          "N(0, I) and decodes",
    # Issue #27: sentences the full-MNIST outputs contradict
    r"lands\s+in\s+a\s+few\s+classes|the\s+few\s+classes\s+near\s+the\s+origin":
        "without KL, 8 of the 10 classes come out of the prior",
    r"binarised-MNIST\s+experiments": "Kingma and Welling used a Bernoulli decoder on grey MNIST pixels",
    r"turn\s+into\s+varied\s+digits\s+as": "at beta = 0 the strip's draws are already crisp, varied digits",
    r"nothing\s+in\s+the\s+loss\s+asks\s+anything": "the reconstruction term shapes mu and sigma at beta = 0",
    r"produces\s+nothing\s+digit-like|often\s+a\s+blend\s+or\s+a\s+smeared": "the decoder without KL draws "
                                                                              "clean digits across the box",
    r"forbidding\s+it\s+to\s+shrink": "the KL charges a shrinking sigma but does not forbid it",
    r"hold\s+for\s+other\s+random\s+seeds\s+too": "the comparisons held for the seeds tried",
    r"cover\s+the\s+digit\s+classes\s+evenly": "with KL the classes come out roughly, not evenly (TV 0.10)",
    r"largest\s+\$\\beta\$,\s+8|at\s+the\s+largest\s+\$\\beta\$\s+of\s+its\s+sweep|collapse\s+at\s+its\s+largest":
        "chapter 03's sweep collapses from beta = 4 on",
    r"close,\s+but\s+not\s+equal,\s+to\s+it|its\s+rise\s+over\s+the\s+ELBO\s+shows\s+the\s+gap":
        "without KL the importance-weighted bound is far from log p(x)",
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
            "completeness", "negative log-likelihood", "importance-weighted bound", "Jensen's inequality",
            "Monte Carlo estimate", "amortisation gap", "aggregate posterior", "mutual information", "rate",
            "distortion", "decoder variance"]


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


def code_of(path, *, reader_facing=False) -> list[str]:
    """The source of each code cell; with reader_facing, only the cells the built page shows."""
    return ["".join(c["source"]) for c in cells(path) if c["cell_type"] == "code"
            and not (reader_facing and "remove-cell" in c["metadata"].get("tags", []))]


def without_code(text: str) -> str:
    """Markdown with code blocks and inline code removed: what a reader reads as prose and maths."""
    return re.sub(r"```.*?```|`[^`\n]*`", " ", text, flags=re.S)


CHAPTER_00 = ROOT / "notebooks" / "00_the_elbo.ipynb"


def test_no_reconstruction_term_is_not_the_averaged_image():
    """Without the reconstruction term the decoder gets no gradient at all; the mean image belongs
    to the large-beta case, where the reconstruction term still counts."""
    for name, text in ALL_TEXT.items():
        for paragraph in re.split(r"\n\s*\n", text):
            if not re.search(r"least wrong on average|mean image|same blurred average", paragraph):
                continue
            if re.search(r"[Tt]ake\s+(it|the\s+reconstruction\s+term)\s+away|without\s+the\s+reconstruction\s+term",
                         paragraph):
                assert re.search(r"\\beta|β", paragraph) and re.search(r"learns nothing|no gradient|gradient is zero",
                                                                         paragraph), \
                    f"{name}: the averaged image is the large-beta case: {paragraph[:160]}"


def test_chapter_00_proves_the_kl_is_never_negative_by_hand():
    text = ALL_TEXT[CHAPTER_00.name]
    assert "Jensen's inequality" in text and r"\le\; \log 1 = 0" in text
    assert "{cite}`cremer2018inference`" in text and "amortisation gap" in text


def test_chapter_00_leaves_the_collapse_demo_and_the_equivalence_proof_to_others():
    """Posterior collapse is shown once, in chapter 03's beta sweep; the one-screen VAE's
    equivalence with the helpers is tests/test_one_screen.py, not a reader's cell. Chapter 00 does
    run its own thirty lines: a few hundred calls of one_screen_step on the offline digits, so that
    a reader sees them learn (issue #28)."""
    code = "\n".join(code_of(CHAPTER_00))
    assert "class OneScreenVAE" in code
    for call in ("train_vae(", "load_state_dict(", "kl_per_dimension("):
        assert call not in code, f"chapter 00 should not call {call}"
    training = [c for c in code_of(CHAPTER_00, reader_facing=True) if "one_screen_step(" in c and "def one_screen_step" not in c]
    assert training and 'source="offline"' in training[0], "chapter 00 trains its one-screen VAE on the offline digits"
    assert "03_with_and_without_kl" in ALL_TEXT[CHAPTER_00.name]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_short_and_imports_modules(path):
    """After the hidden set-up cell, a chapter's first code cell is a few qualified imports."""
    first = code_of(path, reader_facing=True)[0].strip()
    assert len(first.splitlines()) <= 11, f"{path.name}: first code cell has {len(first.splitlines())} lines"
    # Modules only: from vae_utils or from its subpackage vae_utils.book, never names from a module.
    assert not re.search(r"^from vae_utils\.(?!book import )[\w.]+ import", first, re.M), \
        f"{path.name}: import modules, call them qualified"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_cell_prints_only_zero(path):
    """A SymPy check prints what it confirms, under the derivation done by hand."""
    for cell in cells(path):
        for out in cell.get("outputs", []):
            shown = "".join(out.get("data", {}).get("text/plain", "")) + "".join(out.get("text", ""))
            assert shown.strip() != "0", f"{path.name}: a cell prints only 0: {''.join(cell['source'])[:80]}"


EXERCISE_PREFIX = {"00": "ex-elbo-", "01": "ex-mse-", "02": "ex-kl-", "03": "ex-beta-", "04": "ex-explore-", "05": "ex-dims-"}


def branches_from(path) -> Path:
    """The main-line chapter a side trip names in its first cell: "A side trip from {doc}`...`"."""
    first = "".join(cells(path)[0]["source"])
    found = re.search(r"A side trip from \{doc\}`(?:[^`<]*<)?([^`>]+)>?`", first)
    assert found, f"{path.name}: its first cell should say which chapter it is a side trip from"
    return (path.parent / (found.group(1) + ".ipynb")).resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_labels_carry_their_chapters_prefix(path):
    """A side trip's exercises carry the prefix of the chapter it branches from (ex-elbo-fit moved
    from chapter 00 to its side trip and kept its label)."""
    chapter = branches_from(path) if path in FURTHER else path
    prefix = EXERCISE_PREFIX[chapter.name[:2]]
    labels = re.findall(r":label: (ex-\S+)", ALL_TEXT[path.name])
    assert (labels or path in FURTHER) and all(label.startswith(prefix) for label in labels), (path.name, prefix, labels)


def test_there_are_side_trips_and_every_notebook_is_a_chapter_or_one():
    assert FURTHER and set(FURTHER) <= set(NOTEBOOKS)
    assert all(p.name[:2] in EXERCISE_PREFIX for p in CHAPTERS), "a notebook outside Going further is a chapter"


@pytest.mark.parametrize("path", FURTHER, ids=lambda p: p.name)
def test_a_side_trip_is_linked_from_where_it_branches_off(path):
    """Reachable from the main line: the chapter it names links to it, and it links back."""
    chapter = branches_from(path)
    assert chapter in CHAPTERS, f"{path.name}: a side trip from {chapter.name}, which is not a main-line chapter"
    linked = re.findall(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`", main_line(ALL_TEXT[chapter.name]))
    assert path.stem in linked, f"{chapter.name} does not link to its side trip {path.stem} in its main line"


# (pattern, what the book's notation says instead): symbols the chapters may not use with another meaning
NOTATION = [
    (r"\\Sigma\b", "a covariance over codes is S (S = LL^T), over images C; the book does not use Sigma"),
    (r"\\mathcal\s*\{?L\}?(?!\s*_)|ℒ(?!_)", "the loss is l_beta(x); calligraphic L is only the bound L_K"),
    (r"\$S\s*=\s*\d|\\frac\{?1\}?\{?S\}|\\sum_\{?s\s*=\s*1\}?\^\{?S|\$S\$ (Monte Carlo )?samples",
     "the number of Monte Carlo samples is M; S is a covariance"),
    (r"distortion,? \$D\$|\$D\$,? the distortion", "distortion is calligraphic D; D is the pixel count"),
    (r"rate,? \$R\$|\$R\$,? the rate", "the rate is calligraphic R"),
    (r"\\log p\(x \\mid \\mu\)|k\\log 2\\pi", "the decoder's mean is x-hat and the pixel count D"),
    (r"\$k\$ (latent|pixels)|latent dimension \$[kdL]\$", "the latent dimension is J, the pixel count D"),
]


@pytest.mark.parametrize("name", sorted(ALL_TEXT))
def test_prose_keeps_the_books_notation(name):
    if name == "notation.md":
        return  # the notation page names the symbols it rules out
    text = without_code(ALL_TEXT[name])
    for pattern, rule in NOTATION:
        found = re.search(pattern, text)
        assert not found, f"{name}: '{found.group(0)}' ({rule})"


def test_notation_page_lists_the_books_symbols():
    notation = (ROOT / "book" / "notation.md").read_text()
    for symbol in (r"$N$", r"$z$", r"$p(z) = \mathcal N(0, I_J)$", r"$p_\theta(x \mid z)$",
                   r"$q_\phi(z \mid x) = \mathcal N(\mu, \operatorname{diag}\sigma^2)$", r"$m^*$", r"$S^*$",
                   r"$q = \mathcal N(m, S)$", r"$S = LL^\top$", r"$C$", r"$t = \sigma^2$", r"$q = \mathcal N(m, s^2)$",
                   r"$M$", r"$K$", r"$\mathcal L_K$", r"$\ell_\beta(x)$", r"$\varepsilon", r"$W$, $b$",
                   r"$\bar q(z)", r"$I_q(x; z)$", r"$\mathcal R$", r"$\mathcal D$"):
        assert symbol in notation, symbol


NEW_TERMS = ["importance-weighted bound", "Jensen's inequality", "Monte Carlo estimate", "amortisation gap",
             "aggregate posterior", "mutual information", "rate", "distortion", "decoder variance"]


def test_glossary_defines_the_terms_of_the_bound_and_the_latent_space():
    assert set(NEW_TERMS) <= DEFINED, set(NEW_TERMS) - DEFINED
    # Defined, not described by its role in the KL term's split (issue #28: that entry was circular).
    information = GLOSSARY.split("\nmutual information\n")[1].split("\n\n")[0]
    assert r"I_q(x; z) = D_{KL}\big(q(x, z) \,\|\, q(x)\, \bar q(z)\big)" in information
    assert "pays for information" not in information
    entry = GLOSSARY.split("\nposterior collapse\n")[1].split("\n\n")[0]
    assert r"\beta = 1" in entry and r"\sigma_x" in entry and "lucas2019dont" in entry
    assert "share of prior draws" in GLOSSARY.split("\ncompleteness\n")[1].split("\n\n")[0]


def test_every_cited_key_is_in_the_bibliography():
    bib = set(re.findall(r"@\w+\{([^,]+),", (ROOT / "book" / "references.bib").read_text()))
    for name, text in ALL_TEXT.items():
        for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
            assert set(k.strip() for k in keys.split(",")) <= bib, (name, keys)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_test_machinery_in_cells(path):
    """nbval checks every output; quick mode is set by the test run, never by a reader's cell."""
    for source in code_of(path):
        assert "NBVAL_CHECK_OUTPUT" not in source, f"{path.name}: '# NBVAL_CHECK_OUTPUT' in a cell"
    for source in code_of(path, reader_facing=True):
        assert "VAE_BOOK_QUICK" not in source and "quick_mode(" not in source, \
            f"{path.name}: quick mode in a reader-facing cell: {source[:80]}"
    # A reader may choose a short run: said once, in a note on what training costs, not in the main line.
    assert "VAE_BOOK_QUICK" not in main_line(ALL_TEXT[path.name]), f"{path.name}: quick mode in the prose"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_display_math_has_no_line_that_markdown_reads_as_a_list_item(path):
    """Inside $$ ... $$, a line that starts with "- " or "+ " becomes a list item and the
    equation is left as raw TeX on the page: continue the previous line instead."""
    for cell in cells(path):
        if cell["cell_type"] != "markdown":
            continue
        inside = False
        for line in "".join(cell["source"]).splitlines():
            if line.strip() == "$$":
                inside = not inside
            elif inside:
                assert not re.match(r"\s*[-+*] ", line), f"{path.name}: {line.strip()[:60]}"


def _restates_the_estimate(text: str) -> bool:
    """A paragraph that spells out what the code's loss is (one sample of z, sigma_x = 1, a constant
    left out): book/notation.md says it once (target losses-in-code); other pages link there."""
    return any(re.search(r"one[- ]sample", p) and re.search(r"\\sigma_x = 1|σ_x = 1", p) and "constant" in p
               for p in re.split(r"\n\s*\n", text))


@pytest.mark.parametrize("name", sorted(ALL_TEXT))
def test_what_the_code_computes_is_said_once_on_the_notation_page(name):
    if name == "notation.md":
        assert _restates_the_estimate(ALL_TEXT[name]) and "(losses-in-code)=" in ALL_TEXT[name]
    else:
        assert not _restates_the_estimate(ALL_TEXT[name]), f"{name}: link to {{ref}}`losses-in-code` instead"


KERAS = "keras.io/examples/generative/vae"


@pytest.mark.parametrize("name", sorted(ALL_TEXT))
def test_the_keras_example_is_introduced_before_it_is_named(name):
    """'The Keras example' means the Keras VAE example: a page that names it links it, or comes after
    a page that does (the API page, where the model's docstring names it too)."""
    if "Keras example" not in ALL_TEXT[name]:
        return
    order = [p.name for p in toc_files()]
    introduced = [p for p in order[:order.index(name) + 1] if KERAS in ALL_TEXT[p]]
    assert introduced, f"{name} names the Keras example, and no page up to it links {KERAS}"


FOUNDATIONS = [p for p in CHAPTERS if p.name[:2] in ("00", "01", "02")]


@pytest.mark.parametrize("path", FOUNDATIONS, ids=lambda p: p.name)
def test_checks_are_folded_out_of_the_argument(path):
    """Issue #28: a SymPy confirmation or a numeric claim keeps running, but prints its verdict in
    a folded block (a cell tagged hide-cell whose toggle says "Checked by code: what"), or in a
    solution, not as a True under every step of the derivation."""
    inside = False
    for cell in cells(path):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            for marker in re.findall(r":::\{solution-(start|end)\}", source):
                inside = marker == "start"
            continue
        tags = set(cell["metadata"].get("tags", []))
        if "hide-cell" in tags:
            prompt = cell["metadata"].get("mystnb", {}).get("code_prompt_show", "")
            assert prompt.startswith("Checked by code: "), f"{path.name}: a folded cell without its label: {source[:60]}"
        if inside or tags & {"hide-cell", "hide-output", "remove-cell", "remove-output"}:
            continue
        for out in cell.get("outputs", []):
            for line in "".join(out.get("text", "")).splitlines():
                assert not re.search(r"\b(True|False|holds|FAILS)\s*$", line), f"{path.name}: a verdict in the argument: {line}"
