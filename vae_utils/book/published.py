"""The book's published weights: the checkpoints that each release of the book carries.

A release ``v<version>`` of the book's repository has, beside the built book, the checkpoints
of chapters 03 and 04 and a ``manifest.json`` that gives each file's SHA-256 sum and training
configuration. :func:`fetch` downloads one of them for the installed version of ``vae_utils``,
checks it against the manifest and the configuration asked for, and writes it where a
checkpoint is expected; any failure is reported in one line and the caller trains instead.

``$VAE_BOOK_WEIGHTS`` changes where weights come from: ``none`` never downloads (the release
build, which must train what it publishes), a URL is used instead of the release (the tests
serve a folder on 127.0.0.1). A release writes its manifest with ``.ci/release_manifest.py``.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from .. import __version__
from .._checks import LIMITS
from .settings import REPOSITORY

WEIGHTS_ENV = "VAE_BOOK_WEIGHTS"
DEADLINE_S = 60.0  # for one file, whatever the server does
MANIFEST = "manifest.json"


def release_url() -> str | None:
    """Where the published weights are: the release of this version, ``$VAE_BOOK_WEIGHTS``, or None."""
    choice = os.environ.get(WEIGHTS_ENV, "").strip()
    if choice == "none":
        return None
    if choice:
        if not choice.startswith(("http://", "https://")):
            raise ValueError(f"{WEIGHTS_ENV} must be 'none' or an http(s) URL, got {choice!r}")
        return choice.rstrip("/") + "/"
    return f"{REPOSITORY}/releases/download/v{__version__}/"


class _Unavailable(Exception):
    pass


def _download(url: str, deadline: float) -> bytes:
    """The bytes at ``url``, within ``deadline`` seconds in all and ``LIMITS["download_bytes"]``, or _Unavailable."""
    start, limit = time.monotonic(), LIMITS["download_bytes"]
    try:
        with urllib.request.urlopen(url, timeout=min(10.0, deadline)) as response:
            size = int(response.headers.get("Content-Length") or 0)
            if size > limit:
                raise _Unavailable(f"{url} is {size:,} bytes, over the {limit:,}-byte limit")
            chunks, total = [], 0
            while chunk := response.read1(65536):  # what has arrived: a slow server cannot hold one read
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise _Unavailable(f"{url} is over the {limit:,}-byte limit")
                if time.monotonic() - start > deadline:
                    raise _Unavailable(f"{url} was not complete after {deadline:g} s")
            return b"".join(chunks)
    except urllib.error.HTTPError as err:
        raise _Unavailable(f"{url} answered {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise _Unavailable(f"{url} could not be read ({reason})") from None


@functools.lru_cache(maxsize=8)
def _manifest(base: str, deadline: float) -> tuple[dict | None, str]:
    """The release's manifest (once per process and URL), or None and why."""
    try:
        manifest = json.loads(_download(base + MANIFEST, deadline))
    except _Unavailable as err:
        return None, str(err)
    except ValueError:
        return None, f"{base}{MANIFEST} is not JSON"
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return None, f"{base}{MANIFEST} has no 'files' table"
    return manifest, ""


def fetch(name: str, wanted: dict, dest: str | os.PathLike, deadline: float = DEADLINE_S) -> tuple[bool, str]:
    """Download the published checkpoint ``name`` to ``dest`` if its configuration is ``wanted``.

    Returns ``(True, where it came from)`` once the file's SHA-256 sum matches the manifest's, or
    ``(False, why not)``; nothing is written then. The caller still loads the file with
    :func:`vae_utils.book.checkpoints.load_checkpoint`, which checks the weights' own digest."""
    base = release_url()
    if base is None:
        return False, f"published weights not used (${WEIGHTS_ENV}=none)"
    manifest, why = _manifest(base, deadline)
    if manifest is None:
        return False, f"published weights unavailable: {why}"
    entry = manifest["files"].get(name)
    if not isinstance(entry, dict):
        return False, f"the published weights have no {name}"
    if entry.get("config") != wanted:
        return False, f"the published {name} was trained otherwise (other data or settings)"
    try:
        blob = _download(base + name, deadline)
    except _Unavailable as err:
        return False, f"published weights unavailable: {err}"
    if hashlib.sha256(blob).hexdigest() != entry.get("sha256"):
        return False, f"the published {name} does not match its SHA-256 sum in the manifest"
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.download")
    tmp.write_bytes(blob)
    os.replace(tmp, dest)
    return True, f"the {manifest.get('version', 'published')} release" if base.startswith(REPOSITORY) else base

