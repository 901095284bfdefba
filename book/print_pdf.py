"""Build the book as one page (Sphinx's ``singlehtml``) and print it to a PDF with Debian's Chromium.

    python book/print_pdf.py --path-output _build/quick --out _build/pdf/vae-kl-book.pdf
    python book/print_pdf.py --no-solutions --path-output _build/quick-teacher \
        --cache-from _build/quick --out _build/pdf/vae-kl-book-no-solutions.pdf

``make pdf`` and ``make pdf-teacher`` run it (``tests/test_pdf.py`` too). The one-page build goes to
``<path-output>/_build/singlehtml``; with the web book's ``--path-output`` it reuses that build's
notebook execution cache. The edition without solutions (``VAE_BOOK_NO_SOLUTIONS=1``, see
``book/_ext/print_edition.py``) is built apart, so that the two never share Sphinx's environment;
``--cache-from`` seeds its execution cache from the web book's (same notebooks, same mode), so
nothing runs twice.

The folder is served on 127.0.0.1 and every request to another host is refused, so what prints
here prints offline. Before printing, MathJax has typeset every formula, the kernel-free explorers
have drawn, and every dropdown and solution is open (``vaeBookPreparePrint``). Chromium's
``outline=True`` turns the headings into the PDF's bookmarks: one per chapter, its sections below.
Never run ``playwright install``: this uses /usr/bin/chromium.
"""
import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import yaml

# Debian's Chromium here and on CI; the release workflow's Ubuntu runner has Google Chrome instead.
CHROMIUM = os.environ.get("VAE_BOOK_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"]

FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#555">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')

# The one-page book nests every chapter inside the root document's section, so a chapter's title is
# an <h2> and the root's title the only <h1>: the outline would have one entry. Here every document's
# own headings are lifted so that each chapter (the root page included) starts at <h1>.
LIFT_HEADINGS = """() => {
  const marks = Array.from(document.querySelectorAll('span[id^="document-"]'));
  const article = document.querySelector('article') || document.body;
  const top = h => parseInt(h.tagName.slice(1), 10);
  const headings = Array.from(article.querySelectorAll('h1, h2, h3, h4, h5, h6'));
  const docOf = h => { let d = null; for (const m of marks) {
    if (m.compareDocumentPosition(h) & Node.DOCUMENT_POSITION_FOLLOWING) d = m.id; } return d; };
  const groups = new Map();
  for (const h of headings) { const d = docOf(h); if (!groups.has(d)) groups.set(d, []); groups.get(d).push(h); }
  // the parts' captions in the table of contents are not chapters: no outline entries
  document.querySelectorAll('p.caption[role="heading"]').forEach(p => { p.removeAttribute('role'); p.removeAttribute('aria-level'); });
  let lifted = 0;
  for (const [, hs] of groups) {
    const shift = Math.min(...hs.map(top)) - 1;
    if (shift <= 0) continue;
    for (const h of hs) {
      const n = document.createElement('h' + (top(h) - shift));
      for (const a of h.attributes) n.setAttribute(a.name, a.value);
      while (h.firstChild) n.appendChild(h.firstChild);
      h.replaceWith(n); lifted++;
    }
  }
  return lifted;
}"""


# The text of every heading that prints, in order: what the PDF outline's entries should say.
HEADING_TEXTS = """() => Array.from((document.querySelector('article') || document.body)
    .querySelectorAll('h1, h2, h3, h4, h5, h6'))
  .filter(h => getComputedStyle(h).display !== 'none' && h.getClientRects().length)
  .map(h => { const c = h.cloneNode(true); c.querySelectorAll('.headerlink, mjx-assistive-mml').forEach(e => e.remove());
              return c.textContent.replace(/\\s+/g, ' ').trim(); })"""


def retitle_outline(path, headings):
    """Chromium (156) sometimes repeats the first line of a heading in its outline entry ("The same
    VAE with and without The same VAE with and without the KL term"). The entries follow the printed
    headings one for one, so where the counts agree every entry takes its heading's own text."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter(clone_from=str(path))
    entries, stack = [], []
    outlines = writer._root_object.get("/Outlines")
    item = outlines.get_object().get("/First") if outlines else None
    while item is not None or stack:  # depth first: an entry, its children, then its next sibling
        if item is None:
            item = stack.pop()
            continue
        node = item.get_object()
        entries.append(node)
        stack.append(node.get("/Next"))
        item = node.get("/First")
        if item is None:
            item = stack.pop()
    if len(entries) != len(headings):
        print(f"outline left as Chromium wrote it: {len(entries)} entries, {len(headings)} headings", file=sys.stderr)
        return
    changed = 0
    for node, text in zip(entries, headings):
        if str(node.get("/Title", "")) != text:
            node[NameObject("/Title")] = TextStringObject(text)
            changed += 1
    if changed:
        with open(path, "wb") as f:
            writer.write(f)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def print_pdf(folder, out, timeout_ms=120_000):
    from playwright.sync_api import sync_playwright

    folder, out = Path(folder).resolve(), Path(out).resolve()
    # the one-page book is written as the root document's page; index.html only redirects to it
    root = yaml.safe_load((Path(__file__).resolve().parents[1] / "_toc.yml").read_text())["root"] + ".html"
    if not (folder / root).exists():
        raise SystemExit(f"{folder}/{root} is missing: build the book with --builder singlehtml first")
    out.parent.mkdir(parents=True, exist_ok=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    problems = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.set_default_timeout(timeout_ms)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            # Sphinx writes the one-page book's links relative to the top folder even where the root
            # document lives in a subfolder (book/intro.html): it is served from the top folder
            page_html = (folder / root).read_bytes()

            def route(r):
                url = urlparse(r.request.url)
                if url.hostname not in ("127.0.0.1", None):
                    return r.abort()
                if url.path == "/the-book.html":
                    return r.fulfill(status=200, content_type="text/html; charset=utf-8", body=page_html)
                return r.continue_()

            page.route("**/*", route)
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/the-book.html", wait_until="networkidle")
            # MathJax: its start-up (the first typesetting pass), then a pass over anything added since
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise.then(() => MathJax.typesetPromise())")
            page.evaluate("() => window.vaeBookPreparePrint && vaeBookPreparePrint()")
            # the kernel-free explorers draw their digit on a canvas
            page.wait_for_function("""() => Array.from(document.querySelectorAll('.latent-explorer canvas'))
                .every(c => c.width === 0 || c.toDataURL().length > 1000)""")
            page.emulate_media(media="print")
            page.evaluate(LIFT_HEADINGS)
            headings = page.evaluate(HEADING_TEXTS)
            page.evaluate("() => MathJax.typesetPromise()")  # print layout: settle once more
            page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
            time.sleep(0.5)
            page.pdf(path=str(out), format="A4", print_background=True, outline=True, tagged=True,
                     display_header_footer=True, header_template="<span></span>", footer_template=FOOTER,
                     margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"})
            browser.close()
    finally:
        server.shutdown()
    retitle_outline(out, headings)
    if problems:
        print("\n".join(problems), file=sys.stderr)
    print(f"{out} ({out.stat().st_size:,} bytes)")
    return out


def build(path_output, no_solutions=False, cache_from=None):
    """``jupyter-book build . --builder singlehtml``; returns the folder of the one-page book."""
    root = Path(__file__).resolve().parents[1]
    path_output = Path(path_output).resolve()
    cache = path_output / "_build" / ".jupyter_cache"
    if cache_from and not cache.exists():
        seed = Path(cache_from).resolve() / "_build" / ".jupyter_cache"
        if seed.exists():
            shutil.copytree(seed, cache)
    env = {**os.environ, "VAE_BOOK_NO_SOLUTIONS": "1" if no_solutions else "0"}
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    subprocess.run([str(jupyter_book), "build", str(root), "-W", "-n", "--keep-going", "--builder", "singlehtml",
                    "--path-output", str(path_output)], env=env, check=True)
    return path_output / "_build" / "singlehtml"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path-output", required=True, help="jupyter-book's --path-output for the one-page build")
    parser.add_argument("--out", required=True, help="the PDF to write")
    parser.add_argument("--no-solutions", action="store_true", help="the edition without solutions")
    parser.add_argument("--cache-from", help="a --path-output whose notebook execution cache to start from")
    parser.add_argument("--no-build", action="store_true", help="print the existing one-page build as it is")
    args = parser.parse_args(argv)
    folder = Path(args.path_output) / "_build" / "singlehtml"
    if not args.no_build:
        folder = build(args.path_output, args.no_solutions, args.cache_from)
    print_pdf(folder, args.out)


if __name__ == "__main__":
    main()
