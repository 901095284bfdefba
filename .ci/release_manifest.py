"""Write a release's ``manifest.json``: ``python .ci/release_manifest.py FOLDER``.

For the checkpoints (``*.pt``) in FOLDER: each file's SHA-256 sum, its training configuration and
its model's, and its size, as :func:`vae_utils.book.published.fetch` checks them when a reader's
chapter downloads it. ``make release-assets`` runs it on ``_build/release``; the benchmarks run it
on the weights they serve. A release tool, not a helper a chapter calls: it lives outside the package.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

# The checkout's vae_utils, not an installed copy: the manifest names this checkout's version.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vae_utils import __version__  # noqa: E402
from vae_utils.book.checkpoints import load_checkpoint  # noqa: E402
from vae_utils.book.published import MANIFEST  # noqa: E402


def write_manifest(folder: str | Path, version: str = __version__) -> Path:
    """Write ``manifest.json`` for the checkpoints in ``folder``; returns its path."""
    folder = Path(folder)
    files = {}
    for path in sorted(folder.glob("*.pt")):
        checkpoint = load_checkpoint(path)
        files[path.name] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "config": checkpoint.config,
                            "model": checkpoint.model.config, "bytes": path.stat().st_size}
    if not files:
        raise ValueError(f"folder: {folder} holds no checkpoint (*.pt)")
    out = folder / MANIFEST
    out.write_text(json.dumps({"version": f"v{version}", "files": files}, indent=1, sort_keys=True) + "\n")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python .ci/release_manifest.py FOLDER")
    print(write_manifest(sys.argv[1]))
