"""Self-contained pages for the static book: an HTML/JavaScript template filled with data.

The templates live in ``vae_utils/book/templates`` and are filled by :func:`render` in one pass
(``string.Template``: a value that itself contains ``$name`` is never substituted again). Data
go into the page as JSON through :func:`script_json`, which escapes everything that could end a
``<script>`` element or open a comment in it. A page's elements carry no ``id``: its script
starts every copy of the page that has not started yet, so the same page shown twice works twice.
"""
from __future__ import annotations

import hashlib
import html
import json
import string
from importlib import resources

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element (``<``, ``>``, ``&`` escaped)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return "".join(_ESCAPES.get(c, c) for c in text)


def render(template: str, data, **values: str) -> str:
    """Fill ``templates/<template>.html``: ``$data`` with :func:`script_json` of ``data``, ``$page``
    with a name for this page's content (its elements carry it as ``data-page``), and every other
    ``$name`` with ``values[name]`` (plain text, no markup)."""
    source = resources.files("vae_utils.book").joinpath("templates", f"{template}.html").read_text(encoding="utf-8")
    payload = script_json(data)
    page = f"{template}-{hashlib.sha1(payload.encode()).hexdigest()[:12]}"
    escaped = {name: html.escape(str(value)) for name, value in values.items()}
    return string.Template(source).substitute(escaped, data=payload, page=page)
