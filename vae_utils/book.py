"""Settings the chapters share: quick mode and where trained models are kept."""
from __future__ import annotations

import os
from pathlib import Path

QUICK_ENV = "VAE_BOOK_QUICK"


def quick_mode() -> bool:
    """True when ``$VAE_BOOK_QUICK`` is 1: fewer epochs and a shorter sweep, for the tests."""
    value = os.environ.get(QUICK_ENV, "0").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"{QUICK_ENV} must be 0 or 1, got {value!r}")
    return value == "1"


def checkpoint_path(name: str, root: str | os.PathLike = "checkpoints") -> Path:
    """``<root>/<quick|full>/<name>.pt``: quick-mode models never stand in for the book's."""
    if not name or not all(c.isalnum() or c in " _-" for c in name):
        raise ValueError(f"name must be letters, digits, spaces, '_' or '-', got {name!r}")
    return Path(root) / ("quick" if quick_mode() else "full") / f"{name.lower().replace(' ', '_')}.pt"
