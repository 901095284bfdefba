"""Words and reading times of the book's pages, counted by tests/reading_time.py (its docstring gives
the rule: main-line prose only, 200 words a minute and 20 s a figure).

The counts recorded here are the ones measured: a page that grows past its count fails, and so does
a page that shrinks by more than SLACK words without its count being lowered, so the numbers in
this file stay the real ones. Run ``python tests/reading_time.py`` for the whole table.
"""
import json

import pytest

import reading_time

PAGES = {p.file: p for p in reading_time.count_book()}
SLACK = 50

# Issue #28 ("A book a student finishes"): measured after chapters 00-02 moved their side trips to
# Going further (on this branch's start they were 2,324, 1,646 and 1,536 words).
WORDS = {
    "notebooks/00_the_elbo": 1952,
    "notebooks/01_gaussian_likelihood_to_mse": 1208,
    "notebooks/02_kl_divergence": 1475,
    "notebooks/further_exact_elbo": 810,
    "notebooks/further_reconstruction_losses": 668,
    "notebooks/further_full_covariance_kl": 260,
}
MAIN_LINE_TARGET = 9_000  # the issue's target for the whole main line


def test_the_table_of_every_page(capsys):
    table = reading_time.table(list(PAGES.values()))
    with capsys.disabled():
        print("\n" + table)
    assert all(p.words > 0 for p in PAGES.values() if p.file != "book/bibliography")
    assert {p.part for p in PAGES.values() if not p.main_line} == set(reading_time.SIDE_PARTS)


@pytest.mark.parametrize("file", sorted(WORDS))
def test_a_page_keeps_to_its_recorded_word_count(file):
    words = PAGES[file].words
    assert words <= WORDS[file], f"{file}: {words} words, more than the {WORDS[file]} recorded"
    assert words > WORDS[file] - SLACK, f"{file}: {words} words; lower its count here from {WORDS[file]}"


@pytest.mark.xfail(strict=True, reason="issue #28: the main line is 13,945 words (chapter 03 alone 5,774); "
                                       "the target is 9,000. Remove this mark when it passes.")
def test_the_main_line_meets_the_issues_target():
    assert sum(p.words for p in PAGES.values() if p.main_line) <= MAIN_LINE_TARGET


def test_the_rule_on_a_page_built_for_it(tmp_path):
    """What counts, on a notebook made for the purpose: prose, headings, admonition titles, one word a
    formula or code span; not code, outputs, display maths, dropdown bodies, solutions, hidden cells."""
    (tmp_path / "notebooks").mkdir()
    markdown = lambda text, tags=(): {"cell_type": "markdown", "metadata": {"tags": list(tags)}, "source": text}
    image = {"output_type": "display_data", "data": {"image/png": "", "text/plain": ""}, "metadata": {}}
    code = lambda tags=(): {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": "x = 1",
                            "outputs": [image], "execution_count": 1}
    cells = [
        markdown("# Two words\n\nOne two three $x$ `y`.\n\n$$\na + b\n$$\n\n:::{dropdown} Title here\nhidden words\n:::"),
        code(), code(["hide-cell"]), markdown("hidden cell words", ["remove-cell"]),
        markdown(":::{exercise}\n:label: ex-a\n\nAsk this.\n:::\n\n:::{solution-start} ex-a\n:class: dropdown\n:::\n\nsecret"),
        code(), markdown("still secret\n\n:::{solution-end}\n:::\n\nBack {term}`in sight <ELBO>`."),
    ]
    (tmp_path / "notebooks" / "page.ipynb").write_text(json.dumps({"cells": cells}))
    page = reading_time.count_page("notebooks/page", root=tmp_path)
    # "Two words" + "One two three FORMULA CODE." + "Title here" + "Ask this." + "Back in sight."
    assert (page.words, page.formulas, page.figures) == (2 + 5 + 2 + 2 + 3, 1, 1)
    assert page.minutes == pytest.approx(14 / 200 + 20 / 60)
