"""The printed book: a print stylesheet, and the edition without solutions.

``make pdf`` builds the whole book as one page (Sphinx's ``singlehtml`` builder) and prints it
with Chromium (see ``book/print_pdf.py``); ``make pdf-teacher`` does the same with every solution
left out. This extension adds to every page, on screen and in print:

* A print stylesheet (``@media print``): no navigation chrome (header, sidebars, footer, the
  previous/next buttons), every chapter on a new page, equations and figures kept whole, solutions
  expanded, and the controls of interactive parts (the kernel-free latent explorer, the beta dial,
  saved ipywidgets) hidden. Their current picture stays; a print-only sentence under each one
  points to the chapter's page online, where they can be used.
* In the one-page book, every extension's HTML node handlers (see ``share_html_node_handlers``)
  and every notebook's saved widgets (myst-nb adds them to their own page only).
* ``window.vaeBookPreparePrint()``: opens every dropdown and solution; called on ``beforeprint``
  (a reader printing a page) and by ``book/print_pdf.py`` before ``page.pdf()``.

The edition without solutions: ``hide_solutions = True`` in the Sphinx configuration, or
``VAE_BOOK_NO_SOLUTIONS=1`` in the environment of ``jupyter-book build``. sphinx-exercise's own
``hide_solutions`` drops ``{solution}`` blocks but leaves everything between ``{solution-start}``
and ``{solution-end}`` (code cells included) in the page; so sphinx-exercise is left to merge
those pairs as usual, and every solution is dropped afterwards.
"""
import hashlib
import os
from pathlib import Path

from docutils import nodes
from sphinx.transforms import SphinxTransform

ONLINE_NOTE = "This part is interactive: use it on the book's page online, "

# Names about 40 internal classes and ids of the theme stack (25 of them pydata-sphinx-theme's and sphinx-book-theme's
# layout) and 10 of ipywidgets: an upgrade that renames one prints that chrome again or hides a chapter's title, and
# nothing fails to build (CONTRIBUTING.md, "Fragile on upgrade").
PRINT_CSS = """<style>
.vae-print-note { display: none; }
@media print {
  @page { size: A4; margin: 16mm 14mm 18mm 14mm; }
  .bd-header, .bd-header-article, .header-article, .bd-sidebar-primary, .bd-sidebar-secondary,
  .bd-footer, .bd-footer-article, .bd-footer-content, .prev-next-area, .footer-article-items,
  #pst-back-to-top, .skip-link, .search-button-field, .headerlink, #pst-scroll-pixel-helper,
  .sidebar-toggle, .primary-toggle, .secondary-toggle, button.toggle-button,
  details.toggle-details > summary { display: none !important; }
  .bd-container, .bd-container__inner, .bd-main, .bd-main .bd-content, .bd-article-container,
  .bd-article { max-width: none !important; width: auto !important; padding: 0 !important;
    margin: 0 !important; overflow: visible !important; display: block !important; }
  body { font-size: 10.5pt; }
  /* the book theme prints its own title and page contents, and hides every section's first h1
     (it expects one page per print): in the one-page book that hid every chapter's title */
  #jb-print-docs-body { display: none !important; }
  .bd-main .bd-content .bd-article h1:first-of-type { display: block !important; }
  /* one chapter per page: in the one-page book every document starts at a marker span */
  span[id^="document-"] ~ section { break-before: page; }
  span[id^="document-"] ~ section:first-of-type, body > .bd-page-width section:first-child { break-before: auto; }
  h1, h2, h3, h4 { break-after: avoid; }
  /* Chromium joins a heading's lines without their space in the PDF outline unless it is kept */
  h1, h2, h3, h4, h5, h6 { white-space: pre-wrap; }
  /* numbered equations and figures stay whole */
  div.math, mjx-container[display="true"], figure, .figure, img, canvas, table,
  div.exercise, .cell_output img { break-inside: avoid; }
  mjx-container[display="true"] { overflow: visible !important; }
  pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
  .cell_output, .output_area, .jp-OutputArea, .table-wrapper { max-height: none !important;
    overflow: visible !important; }
  /* solutions and dropdowns expanded */
  .toggle-hidden, .admonition.toggle-hidden .admonition-title ~ * { display: block !important;
    visibility: visible !important; opacity: 1 !important; height: auto !important; }
  details.sd-dropdown > .sd-summary-content { display: block !important; }
  /* interactive parts: their picture stays, their controls go */
  .latent-explorer input, .latent-explorer button, .latent-explorer select,
  .beta-dial input, .beta-dial button, .beta-dial select,
  .widget-slider, .widget-hslider, .widget-vslider, .widget-button, .widget-toggle-buttons,
  .widget-dropdown, .widget-checkbox, .widget-play, .widget-text, .widget-readout
    { display: none !important; }
  .vae-print-note { display: block !important; font-style: italic; margin: 0.4em 0 1em; }
}
</style>"""

# span#document-NAME is how Sphinx's singlehtml writer marks each document, DOCUMENTATION_OPTIONS.pagename is
# pydata-sphinx-theme's and .toggle-hidden sphinx-togglebutton's hidden state: renamed, the print notes link to
# index.html and folded solutions may stay folded.
PRINT_JS = """
(function () {
  var NOTE = %(note)r, BASE = %(base)r;
  function pageOf(el) {
    /* the one-page book marks each document's start; a page of the web book names itself */
    var marks = document.querySelectorAll('span[id^="document-"]'), page = null;
    for (var i = 0; i < marks.length; i++) {
      if (marks[i].compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) {
        page = marks[i].id.slice("document-".length);
      }
    }
    if (!page && window.DOCUMENTATION_OPTIONS) { page = DOCUMENTATION_OPTIONS.pagename; }
    return (page || "index") + ".html";
  }
  function addNotes() {
    var parts = document.querySelectorAll(".latent-explorer, .beta-dial, " +
      ".cell_output .jupyter-widgets, .cell_output script[type='application/vnd.jupyter.widget-view+json']");
    var done = new Set();
    parts.forEach(function (el) {
      var box = el.closest(".cell_output") || el;
      if (done.has(box) || box.querySelector(":scope > .vae-print-note")) { return; }
      done.add(box);
      var url = BASE + pageOf(box), p = document.createElement("p");
      p.className = "vae-print-note";
      p.appendChild(document.createTextNode(NOTE));
      var a = document.createElement("a"); a.href = url; a.textContent = url;
      p.appendChild(a); p.appendChild(document.createTextNode("."));
      box.appendChild(p);
    });
  }
  window.vaeBookPreparePrint = function () {
    addNotes();
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
    document.querySelectorAll(".toggle-hidden").forEach(function (e) { e.classList.remove("toggle-hidden"); });
  };
  document.addEventListener("DOMContentLoaded", addNotes);
  window.addEventListener("beforeprint", window.vaeBookPreparePrint);
})();
"""


class DropSolutions(SphinxTransform):
    """Remove every solution from the edition without solutions."""

    default_priority = 11  # after sphinx-exercise merges {solution-start}...{solution-end} (10)

    def apply(self):
        if not self.config.vae_book_no_solutions:
            return
        # sphinx-exercise's node classes: renamed in a release, the edition without solutions fails with an ImportError
        from sphinx_exercise.nodes import solution_end_node, solution_node, solution_start_node

        for kind in (solution_node, solution_start_node, solution_end_node):
            for node in list(self.document.findall(kind)):
                node.parent.remove(node)
        # sphinx-exercise's own target nodes for the dropped solutions, if any were left behind (found by
        # its "-solution-" ids: named otherwise, empty anchors stay in the page, which is harmless)
        for target in list(self.document.findall(nodes.target)):
            if any("-solution-" in i for i in target.get("ids", [])) and not target.children:
                target.parent.remove(target)


def choose_edition(app, config):
    # hide_solutions is sphinx-exercise's own option: read here, then turned off so that only DropSolutions acts. A
    # sphinx-exercise that renames it fails every build here ("No such config value: 'hide_solutions'").
    if os.environ.get("VAE_BOOK_NO_SOLUTIONS") == "1":
        config.hide_solutions = True
    config.vae_book_no_solutions = bool(config.hide_solutions)
    config.hide_solutions = False  # see the module docstring: DropSolutions does it, gated ones too
    base = (config.html_baseurl or "https://vae-kl-book.github.io/vae-kl-book/").rstrip("/") + "/"
    app.add_js_file(None, body=PRINT_JS % {"note": ONLINE_NOTE, "base": base})


def add_print_css(app, pagename, templatename, context, doctree):
    # the CSS rides in `metatags`, which the theme's layout writes into <head>; a theme without it drops the CSS
    context["metatags"] = context.get("metatags", "") + PRINT_CSS


def add_every_notebooks_scripts(app, pagename, templatename, context, doctree):
    """The one-page book holds every notebook, but myst-nb adds a notebook's scripts (the saved
    widgets' state, require.js and the embedder) only to that notebook's own page: add them all."""
    if app.builder.name != "singlehtml":
        return
    # myst_nb.sphinx_ is a private module of myst-nb 1.x: a release that moves NbMetadataCollector or renames its
    # get_js_files fails the one-page build (both PDFs) here
    from myst_nb.sphinx_ import NbMetadataCollector

    for docname in sorted(app.env.found_docs - {pagename}):
        for path, kwargs in NbMetadataCollector.get_js_files(app.env, docname).values():
            app.add_js_file(path, **kwargs)


def share_html_node_handlers(app):
    """sphinx-exercise registers its nodes for the ``singlehtml`` builder by name, and Sphinx then
    looks up no other extension's ``html`` handlers for that builder (sphinx-design's dropdowns
    fail with "unknown node type"): the one-page book gets every ``html`` handler it lacks."""
    if app.builder.name != "singlehtml":
        return
    # Sphinx's private component registry (7.x): a Sphinx that renames or reshapes translation_handlers fails the
    # one-page build here; a sphinx-exercise that stops registering for singlehtml by name makes this a no-op
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for name, pair in handlers.get("html", {}).items():
        single.setdefault(name, pair)


def setup(app):
    # The html builder rewrites a page only when its source or the html config changed; a config value
    # holding this file's hash makes an edit here rewrite every page (stale CSS otherwise).
    app.add_config_value("print_edition_source_hash", hashlib.sha256(Path(__file__).read_bytes()).hexdigest(), "html")
    app.add_config_value("vae_book_no_solutions", False, "env")
    app.connect("config-inited", choose_edition, priority=900)
    app.add_transform(DropSolutions)  # priority 11: after sphinx-exercise's merge (10); see DropSolutions
    app.connect("builder-inited", share_html_node_handlers)
    app.connect("html-page-context", add_print_css)
    # after myst-nb's own (500), before offline_pages drops duplicates and fixes the widget pages (900)
    app.connect("html-page-context", add_every_notebooks_scripts, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
