"""How much of ``vae_utils`` is argument checking: ``python -m benchmarks.check_share [package folder]``.

Code lines are the lines that hold a token of code: blank lines, comments and docstrings are not
counted. Check lines are the code lines of

* every ``if`` whose body ends in ``raise ValueError(...)`` or ``raise TypeError(...)`` (the test and
  the body; an ``elif`` is judged on its own, an ``else`` is not counted),
* every statement that calls into ``_checks`` (``_checks.images(...)``, ``x = _checks.seed(...)``),
* the whole of ``_checks.py``.

That is issue #29's rule. It also counts the guards of what enters from files and the
environment rather than from a reader's call (a checkpoint's format, shapes, digest and weights,
``$VAE_BOOK_QUICK``; MNIST's files raise ``RuntimeError`` and are not counted): the functions in
``FILES_AND_ENVIRONMENT`` do nothing else, and their check lines are counted apart. Argument
checks are the rest; ``tests/test_project.py`` keeps them below 10 % of the code lines.
"""
from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vae_utils"
REFUSALS = {"ValueError", "TypeError"}
# Functions whose checks are all of files or the environment, none of a caller's arguments.
FILES_AND_ENVIRONMENT = {
    "book.checkpoints": {"_model_from", "load_checkpoint", "_published"},  # a checkpoint file, downloaded or not
    "book.settings": {"quick_mode"},  # $VAE_BOOK_QUICK
    "training": {"progress_bar"},  # $VAE_BOOK_PROGRESS
    "book.published": {"release_url"},  # $VAE_BOOK_WEIGHTS
}
NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}


def _span(node: ast.AST) -> set[int]:
    return set(range(node.lineno, node.end_lineno + 1))


def code_lines(source: str) -> set[int]:
    """Lines holding a token of code, docstrings left out."""
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in NOT_CODE:
            lines |= set(range(token.start[0], token.end[0] + 1))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(getattr(first.value, "value", None), str):
                lines -= _span(first)
    return lines


def _refuses(stmt: ast.stmt) -> bool:
    """``raise ValueError(...)`` or ``raise TypeError(...)`` (``from ...`` allowed)."""
    if not isinstance(stmt, ast.Raise) or stmt.exc is None:
        return False
    exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
    return isinstance(exc, ast.Name) and exc.id in REFUSALS


def _calls_checks(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)
               and n.func.value.id == "_checks" for n in ast.walk(node))


def _header(stmt: ast.AST) -> list[ast.AST]:
    """The expressions in the header of a compound statement (``if _checks.x(...):`` counts, its body does not)."""
    if isinstance(stmt, (ast.If, ast.While)):
        return [stmt.test]
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return [stmt.iter]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [item.context_expr for item in stmt.items]
    return []


def check_lines(source: str) -> set[int]:
    """Lines of guard blocks and of statements that call ``_checks``."""
    lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.If) and _refuses(node.body[-1]):
            lines |= set(range(node.lineno, node.body[-1].end_lineno + 1))
        elif isinstance(node, ast.stmt) and not hasattr(node, "body") and _calls_checks(node):
            lines |= _span(node)  # a simple statement (a compound one is judged by its parts)
        elif any(_calls_checks(part) for part in _header(node)):  # the header of a compound statement
            lines |= set(range(node.lineno, max(part.end_lineno for part in _header(node)) + 1))
    return lines


def _function_lines(source: str, names: set[str]) -> set[int]:
    lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            lines |= _span(node)
    return lines


def check_share(package: Path = PACKAGE) -> dict:
    """Per module and in all: code lines, check lines (``checks``) and, of those, the checks of
    files and the environment (``files``); ``share`` is ``(checks - files) / code``."""
    modules = {}
    for path in sorted(Path(package).rglob("*.py")):  # the subpackage vae_utils.book too
        source = path.read_text(encoding="utf-8")
        code = code_lines(source)
        checks = code if path.name == "_checks.py" else check_lines(source) & code
        name = ".".join(path.relative_to(package).with_suffix("").parts)  # "metrics", "book.settings"
        files = checks & _function_lines(source, FILES_AND_ENVIRONMENT.get(name, set()))
        modules[name] = {"code": len(code), "checks": len(checks), "files": len(files)}
    total = {key: sum(m[key] for m in modules.values()) for key in ("code", "checks", "files")}
    return {"modules": modules, **total, "share": (total["checks"] - total["files"]) / total["code"],
            "share_with_files": total["checks"] / total["code"]}


def main(argv: list[str]) -> int:
    result = check_share(Path(argv[0]) if argv else PACKAGE)
    print(f"{'module':<17} {'checks':>6} {'of files':>8} {'code':>5}")
    for name, m in sorted(result["modules"].items(), key=lambda kv: -kv[1]["checks"]):
        print(f"{name:<17} {m['checks']:>6} {m['files']:>8} {m['code']:>5}  {m['checks'] / max(m['code'], 1):6.1%}")
    print(f"{'all':<17} {result['checks']:>6} {result['files']:>8} {result['code']:>5}  "
          f"{result['share_with_files']:6.1%} (issue #29's rule)")
    arguments = result["checks"] - result["files"]
    print(f"argument checks: {arguments} of {result['code']} code lines, {result['share']:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
