"""Words and reading time of each page of the book, as the table of contents lists them.

    python tests/reading_time.py          # one line a page, the main line's total last

The rule, so that two counts of the same page agree:

- A *word* is a run of characters between spaces that holds at least one letter or digit, in the
  prose a reader sees without opening anything: the markdown cells of a notebook and the text of a
  .md page, with headings, lists, tables, admonitions (their titles too) and exercise statements.
- Not counted: code cells and their outputs; fenced code blocks and directives whose body is not
  prose (``eval-rst``, ``bibliography``, ``math``); display maths (``$$ ... $$`` and amsmath
  environments); whatever is folded: dropdowns (their titles are counted, their bodies not),
  anything with ``:class: dropdown``, solutions (``solution`` directives, and everything between
  ``solution-start`` and ``solution-end``, code cells included), markdown cells tagged
  ``remove-cell`` or ``hide-cell``; HTML comments, MyST targets ``(label)=``, directive options
  (``:label: ...``), front matter.
- An inline formula ``$...$`` counts as one word, and so does an inline code span. A role with a
  text, ``{term}`text <entry>``` or ``{doc}`text <page>```, counts its text; ``{doc}`page``` counts
  the words of that page's title (what the reader sees); any other role (``{cite}``, ``{py:func}``,
  ``{ref}`` without a text) counts one word per comma-separated item. A link counts its text.
- A *figure* is an image a reader sees on the page: an output of a shown code cell (not tagged
  ``remove-cell``, ``remove-output``, ``hide-output`` or ``hide-cell``, not in a solution) with an
  ``image/*`` part, an HTML output that holds an ``<img>``, ``<svg>`` or ``<iframe>``, or a widget;
  and a markdown image or ``{figure}``/``{image}`` directive outside what is folded.
- Reading time: ``WORDS_PER_MINUTE`` = 200 words a minute, plus ``SECONDS_PER_FIGURE`` = 20 s for
  each figure. Formulas are read at the speed of words: a page dense in them reads slower than this.

The *main line* is the root page and every part of ``_toc.yml`` except "Going further" (side trips)
and "Reference". tests/test_reading_time.py prints the table and keeps the limits it checks current.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORDS_PER_MINUTE = 200
SECONDS_PER_FIGURE = 20
SIDE_PARTS = ("Going further", "Reference")  # captions of the parts that are not the main line

FOLDED = {"dropdown", "solution", "toggle"}
NOT_PROSE = {"eval-rst", "bibliography", "math", "code-cell", "code", "code-block", "raw", "toctree"}
TITLED = {"admonition", "dropdown", "note", "tip", "hint", "important", "warning", "caution", "attention",
          "danger", "error", "seealso"}
HIDDEN_MARKDOWN = {"remove-cell", "hide-cell"}
HIDDEN_OUTPUT = {"remove-cell", "remove-output", "hide-output", "hide-cell"}


@dataclass
class Page:
    file: str          # as _toc.yml names it
    part: str          # the part's caption ("" for the root page)
    words: int
    formulas: int      # inline formulas, each counted as one word among the words
    figures: int

    @property
    def main_line(self) -> bool:
        return self.part not in SIDE_PARTS

    @property
    def minutes(self) -> float:
        return self.words / WORDS_PER_MINUTE + self.figures * SECONDS_PER_FIGURE / 60


def toc_pages(root: Path = ROOT) -> list[tuple[str, str]]:
    """(file, part caption) for every page of _toc.yml, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    return [(toc["root"], "")] + [(c["file"], part.get("caption", "")) for part in toc["parts"]
                                  for c in part["chapters"]]


def path_of(file: str, root: Path = ROOT) -> Path:
    for suffix in (".ipynb", ".md"):
        if (root / (file + suffix)).is_file():
            return root / (file + suffix)
    raise FileNotFoundError(file)


def title_of(path: Path) -> str:
    text = (json.loads(path.read_text())["cells"][0]["source"] if path.suffix == ".ipynb" else path.read_text())
    text = "".join(text)
    found = re.search(r"^# (.+)$", text, re.M)
    return found.group(1) if found else path.stem


def _role_words(page: Path, role: str, body: str) -> str:
    explicit = re.fullmatch(r"(.*?)\s*<([^>]+)>", body, re.S)
    if explicit and role in ("term", "doc", "ref", "numref", "download"):
        return explicit.group(1)
    if role == "term":
        return body
    if role == "doc":
        target = (page.parent / body).resolve()
        for suffix in (".ipynb", ".md"):
            if target.with_name(target.name + suffix).is_file():
                return title_of(target.with_name(target.name + suffix))
        return "page"
    return " ".join("item" for _ in body.split(","))


def visible_prose(text: str, page: Path, state: dict) -> str:
    """The prose of one markdown cell or page that a reader sees, as plain words.

    ``state["solution"]`` carries an open solution-start from cell to cell."""
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"\A---\n.*?\n---\n", " ", text, flags=re.S)
    kept, stack, fence = [], [], None  # stack: (colons, name, folded); fence: (ticks, name) of a ``` block
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if fence:
            if re.fullmatch(r"\s*" + fence[0] + r"`*\s*", line):
                fence = None
            elif fence[1] not in NOT_PROSE and fence[1] and not state["solution"] and not any(f for *_, f in stack):
                kept.append(line)
            continue
        opened = re.match(r"\s*(`{3,})\s*(?:\{([\w:-]+)\})?(.*)$", line)
        if opened:
            fence = (opened.group(1), opened.group(2) or "")
            if fence[1] in TITLED and not state["solution"] and not any(f for *_, f in stack):
                kept.append(opened.group(3))
            continue
        colon = re.match(r"\s*(:{3,})\{([\w:-]+)\}(.*)$", line)
        if colon:
            colons, name, argument = colon.groups()
            options = []
            while i < len(lines) and re.match(r"\s*:[\w-]+:", lines[i]):
                options.append(lines[i])
                i += 1
            folded = name in FOLDED or any(re.match(r"\s*:class:.*\bdropdown\b", o) for o in options)
            if name == "solution-start":
                state["solution"] = True
            elif name == "solution-end":
                state["solution"] = False
            if (name in TITLED or name == "dropdown") and not state["solution"] and not any(f for *_, f in stack):
                kept.append(argument)
            stack.append((len(colons), name, folded and name not in ("solution-start", "solution-end")))
            continue
        closing = re.fullmatch(r"\s*(:{3,})\s*", line)
        if closing and stack:
            while stack and stack[-1][0] > len(closing.group(1)):
                stack.pop()
            if stack:
                stack.pop()
            continue
        if state["solution"] or any(f for *_, f in stack):
            continue
        if re.fullmatch(r"\s*\([\w:.-]+\)=\s*", line):
            continue
        kept.append(line)
    prose = "\n".join(kept)
    prose = re.sub(r"\$\$.*?\$\$", " ", prose, flags=re.S)
    prose = re.sub(r"\\begin\{(equation|align|gather|multline|eqnarray)\*?\}.*?\\end\{\1\*?\}", " ", prose, flags=re.S)
    prose = re.sub(r"\{math\}`[^`]*`", " FORMULA ", prose)
    prose = re.sub(r"\{([\w:-]+)\}`([^`]*)`", lambda m: " " + _role_words(page, m.group(1), m.group(2)) + " ", prose)
    prose = re.sub(r"(?<![\\$])\$(?!\$)[^$\n]+?(?<!\\)\$", " FORMULA ", prose)
    prose = re.sub(r"`[^`\n]+`", " CODE ", prose)
    prose = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", prose)
    prose = re.sub(r"\[([^\]]*)\]\([^)]*\)", r" \1 ", prose)
    prose = re.sub(r"<[^>\n]+>", " ", prose)
    return prose


def _markdown_figures(text: str, state: dict, page: Path) -> int:
    shown = visible_prose(re.sub(r"!\[[^\]]*\]\([^)]*\)", " IMAGEHERE ", text), page, dict(state))
    directives = len(re.findall(r"^\s*(?::{3,}|`{3,})\{(?:figure|image)\}", text, re.M))
    return shown.count("IMAGEHERE") + directives


def _output_is_figure(out: dict) -> bool:
    data = out.get("data", {})
    if any(k.startswith("image/") for k in data) or "application/vnd.jupyter.widget-view+json" in data:
        return True
    return bool(re.search(r"<(img|svg|iframe)\b", "".join(data.get("text/html", ""))))


def count_page(file: str, part: str = "", root: Path = ROOT) -> Page:
    path = path_of(file, root)
    state = {"solution": False}
    prose, figures = [], 0
    if path.suffix == ".md":
        text = path.read_text()
        figures += _markdown_figures(text, state, path)
        prose.append(visible_prose(text, path, state))
    else:
        for cell in json.loads(path.read_text())["cells"]:
            tags = set(cell["metadata"].get("tags", []))
            source = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                if tags & HIDDEN_MARKDOWN:
                    continue
                figures += _markdown_figures(source, state, path)
                prose.append(visible_prose(source, path, state))
            elif cell["cell_type"] == "code" and not state["solution"] and not tags & HIDDEN_OUTPUT:
                figures += sum(_output_is_figure(out) for out in cell.get("outputs", []))
    text = "\n".join(prose)
    words = [w for w in text.split() if re.search(r"\w", w)]
    return Page(file, part, len(words), sum(w.strip(".,;:()") == "FORMULA" for w in words), figures)


def count_book(root: Path = ROOT) -> list[Page]:
    return [count_page(file, part, root) for file, part in toc_pages(root)]


def table(pages: list[Page]) -> str:
    lines = [f"{'page':<45} {'words':>6} {'formulas':>8} {'figures':>7} {'minutes':>7}"]
    for p in pages:
        lines.append(f"{p.file:<45} {p.words:>6} {p.formulas:>8} {p.figures:>7} {p.minutes:>7.1f}"
                     + ("" if p.main_line else f"   ({p.part})"))
    main = [p for p in pages if p.main_line]
    lines.append(f"{'main line':<45} {sum(p.words for p in main):>6} {sum(p.formulas for p in main):>8} "
                 f"{sum(p.figures for p in main):>7} {sum(p.minutes for p in main):>7.1f}")
    lines.append(f"(reading time: {WORDS_PER_MINUTE} words a minute, {SECONDS_PER_FIGURE} s a figure; "
                 "the rule: tests/reading_time.py)")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(count_book(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT)))
