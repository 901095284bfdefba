"""How much of ``vae_utils`` is argument checking: ``python -m benchmarks.check_share [package folder]``.

Code lines are the lines that hold a token of code: blank lines, comments and docstrings are not
counted. Check lines are the code lines of

* every ``if`` whose body ends in ``raise ValueError(...)`` or ``raise TypeError(...)`` (the test and
  the body; an ``elif`` or ``else`` is judged on its own),
* every statement that calls into ``_checks`` (``_checks.images(...)``, ``x = _checks.seed(...)``),
* the whole of ``_checks.py``.

The checks that guard files and the environment (a checkpoint's digest and shapes, MNIST's MD5
sums, ``$VAE_BOOK_QUICK``) are counted too: the share is an upper bound on argument checking.
``tests/test_project.py`` keeps it below 10 %.
"""
from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vae_utils"
REFUSALS = {"ValueError", "TypeError"}
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
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
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


def check_share(package: Path = PACKAGE) -> dict:
    """Per module and in all: code lines and check lines."""
    modules = {}
    for path in sorted(Path(package).glob("*.py")):
        source = path.read_text(encoding="utf-8")
        code = code_lines(source)
        checks = code if path.name == "_checks.py" else check_lines(source) & code
        modules[path.stem] = {"code": len(code), "checks": len(checks)}
    code, checks = sum(m["code"] for m in modules.values()), sum(m["checks"] for m in modules.values())
    return {"modules": modules, "code": code, "checks": checks, "share": checks / code}


def main(argv: list[str]) -> int:
    result = check_share(Path(argv[0]) if argv else PACKAGE)
    for name, m in sorted(result["modules"].items(), key=lambda kv: -kv[1]["checks"]):
        print(f"{name:<12} {m['checks']:>4} of {m['code']:>4} code lines  {m['checks'] / max(m['code'], 1):6.1%}")
    print(f"{'all':<12} {result['checks']:>4} of {result['code']:>4} code lines  {result['share']:6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
