"""Write notebooks/setup_cell.py into the first code cell of every notebook.

    python notebooks/sync_setup_cells.py          # rewrite the notebooks whose set-up cell differs
    python notebooks/sync_setup_cells.py --check  # only list them; exit 1 if any

Only that cell's source changes: its metadata (the remove-cell tag), outputs and execution
count, and every other cell, stay as they are. The cell's source is the file's text without
its final newline. The file is the one place to edit the set-up cell; tests/test_notebooks.py
checks that every notebook holds it.
"""
import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "setup_cell.py"


def setup_source() -> str:
    text = SOURCE.read_text(encoding="utf-8")
    return text[:-1] if text.endswith("\n") else text


def sync(path: Path, source: str, write: bool) -> bool:
    """Return whether the notebook's set-up cell differed (and, if write, rewrite it)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    if "".join(cell["source"]) == source:
        return False
    if write:
        cell["source"] = source.splitlines(keepends=True)
        # nbformat's own layout, so that the diff is the set-up cell alone
        path.write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list the notebooks that differ; change nothing")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    args = parser.parse_args(argv)
    source = setup_source()
    changed = [p for p in (args.notebooks or sorted(HERE.glob("*.ipynb"))) if sync(p, source, not args.check)]
    for path in changed:
        print(f"{'differs' if args.check else 'updated'}: {path}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
