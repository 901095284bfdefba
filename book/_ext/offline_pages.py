"""Fixes to Jupyter Book 1's pages, so that every page loads offline with a clean console.

* sphinx-thebe (and sphinx-togglebutton) add their inline scripts on an event that fires
  twice in this build; the second ``const THEBE_JS_URL`` is a SyntaxError in the browser.
  Exact duplicates are dropped from each page's script list.
* pydata-sphinx-theme sets the colour mode from an empty ``localStorage`` on a reader's first
  visit and logs "Got invalid theme mode"; an empty mode is read as ``auto``, the theme's default.
* The ipywidgets embedder (served from ``_static/``, see ``make vendor``) finds its fonts
  relative to require.js's base URL, which defaults to the page's folder; on pages that load
  require.js, a ``require`` configuration set just before it points it at ``_static/``. (Only
  there: a global ``require`` object on other pages makes MathJax think it runs in Node.)
* That embedder typesets widget labels through MathJax 2's ``MathJax.Hub.Queue``; the book
  serves MathJax 3, so widget pages get a two-line ``Hub.Queue`` that calls ``typesetPromise``.

Accessibility fixes (the browser tests run axe-core's WCAG 2 A and AA rules on every page):

* The saved ipywidgets render images without ``alt`` and sliders without a name; on widget
  pages a small observer gives each image an ``alt`` and each slider the text of its label.
* sphinxcontrib-bibtex marks entries with the deprecated ARIA role ``doc-biblioentry`` inside a
  ``role="list"`` that then has no list items; both roles are dropped (the markup reads the same).
* Links inside exercise and solution boxes get a darker blue: the theme's link colour on their
  pale background falls short of the 4.5:1 contrast ratio.
* In dark mode the theme draws a notebook's HTML output (the beta dial, for one) on a light grey
  with dark text, but gives figure captions its muted light grey: captions there keep the
  output's text colour.

On a phone (390 CSS pixels wide) and in the theme's dark mode too (the browser tests check all three):

* Long autodoc signatures and inline code on the API page wrap instead of widening the page; a display
  formula wider than the screen scrolls inside itself.
* Every element that scrolls (a code block, a wide table, a notebook output or widget area with a
  height limit) gets ``tabindex="0"`` (reachable from the keyboard) and, where it has none, a role
  and a name, whenever the layout changes: the theme does this only for some kinds of element and
  names none of them.
"""
import hashlib
from pathlib import Path


# pydata-sphinx-theme's data-mode on <html>: empty on a first visit, which its script logs as an invalid mode; a
# theme that defaults it itself makes this a no-op, one that renames data-mode leaves the console error back.
MODE_FIX = 'if (!document.documentElement.dataset.mode) { document.documentElement.dataset.mode = "auto"; }'
# Class names of @jupyter-widgets/html-manager 1.0 (ipywidgets 8): an embedder that renames widget-image, widget-slider
# or widget-label matches nothing here, and axe reports the unnamed images and sliders again.
WIDGET_A11Y = """
document.addEventListener("DOMContentLoaded", function () {
  function label() {
    document.querySelectorAll("img.widget-image:not([alt])").forEach(function (img) {
      img.alt = "Picture drawn by a live widget, as it was saved; it changes only in a running kernel";
    });
    document.querySelectorAll(".widget-slider [role=slider]:not([aria-label])").forEach(function (handle) {
      var box = handle.closest(".widget-slider"), name = box && box.querySelector(".widget-label");
      handle.setAttribute("aria-label", (name && name.textContent.trim()) || "slider");
    });
  }
  new MutationObserver(label).observe(document.body, {childList: true, subtree: true});
  label();
});
"""
# data-theme is pydata-sphinx-theme's, div.exercise/div.solution sphinx-exercise's, .cell_output .output.text_html
# myst-nb's markup: a release that renames one drops its rule silently (axe's contrast check would fail).
CONTRAST_CSS = (
    '<style>html[data-theme="light"] div.exercise a, html[data-theme="light"] div.solution a'
    ' { color: #0b57c2; }'
    # dark mode draws HTML outputs on a light grey with dark text; the theme's muted (light) caption
    # colour is then unreadable on it: captions take the output's own text colour
    ' html[data-theme="dark"] .cell_output .output.text_html figcaption,'
    ' html[data-theme="dark"] .cell_output .output.text_html caption { color: inherit; }</style>'
)

# .sig* and dl.py are Sphinx's autodoc signature markup, code.literal .pre its inline code, mjx-container MathJax 3's
# element: renamed in an upgrade, the API page and wide formulas widen the phone page again (the browser tests say so).
PHONE_CSS = (
    "<style>.sig, .sig-name, .sig-prename, .sig-param, dl.py dt { overflow-wrap: anywhere; }"
    " dl.py dt.sig { max-width: 100%; }"
    # a long name in inline code (the API page's prose) may break rather than widen the page
    " code.literal, code.literal .pre { white-space: pre-wrap; overflow-wrap: anywhere; }"
    # a display formula wider than a phone scrolls inside itself (the page script names it)
    ' mjx-container[display="true"] { max-width: 100%; overflow-x: auto; overflow-y: hidden; }</style>'
)
# Selectors of Sphinx's code blocks, the theme's table containers and MathJax 3's elements (mjx-assistive-mml is
# MathJax's hidden copy, never a region): an upgrade that renames them only loses the specific names here.
SCROLL_REGIONS = """
(function () {
  var NAMES = [["pre, div.highlight", "Code, scrolls sideways"], ["table, .table-wrapper, .pst-scrollable-table-container", "Table"],
               ["mjx-container, div.math", "Formula"], ["*", "Output, scrollable"]];
  function scrolls(e) {
    var s = getComputedStyle(e), x = /(auto|scroll)/.test(s.overflowX), y = /(auto|scroll)/.test(s.overflowY);
    return (x && e.scrollWidth > e.clientWidth + 1) || (y && e.scrollHeight > e.clientHeight + 1);
  }
  function mark() {
    var main = document.querySelector("main") || document.body;
    main.querySelectorAll("*").forEach(function (e) {
      if (e.scrollWidth <= e.clientWidth + 1 && e.scrollHeight <= e.clientHeight + 1) { return; }
      if (e.matches("mjx-assistive-mml, mjx-assistive-mml *") || !scrolls(e)) { return; }
      if (e.tabIndex < 0) { e.tabIndex = 0; }
      if (!e.hasAttribute("aria-label") && !e.hasAttribute("aria-labelledby")) {
        var name = NAMES.find(function (n) { return e.matches(n[0]); })[1];
        if (!e.hasAttribute("role")) { e.setAttribute("role", "region"); }
        e.setAttribute("aria-label", name);
      }
    });
  }
  var queued = false;
  function later() {
    if (queued) { return; }
    queued = true;
    requestAnimationFrame(function () { queued = false; mark(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    mark();
    new MutationObserver(later).observe(document.body, {childList: true, subtree: true});
    window.addEventListener("resize", later);
    window.addEventListener("load", later);
  });
})();
"""

# RequireJS reads a global `require` object as its configuration when it loads (data-content_root is written on
# <html> by Sphinx). The Hub stub fakes MathJax 2's API on MathJax 3: html-manager 1.0 calls
# MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); an embedder or a MathJax that changes that call breaks it.
WIDGET_PAGE_FIX = """
var require = {baseUrl: (document.documentElement.dataset.content_root || "") + "_static/"};
document.addEventListener("DOMContentLoaded", function () {
  if (window.MathJax && MathJax.typesetPromise && !MathJax.Hub) {
    MathJax.Hub = {Queue: function (job) { MathJax.typesetPromise([job[2]]).catch(function () {}); }};
  }
});
"""


def _script_key(script):
    # Sphinx 7 passes objects of a private class (sphinx.builders.html._assets._JavaScript) with filename and
    # attributes; a plain string, as older Sphinx passed, is its own key. A Sphinx that renames them dedups nothing.
    attributes = getattr(script, "attributes", {}) or {}
    filename = getattr(script, "filename", script) or ""  # an inline script's is None or ""
    return str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items()))


def fix_page_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    # called during html-page-context, add_js_file adds to this page only (Sphinx's documented behaviour)
    loaders = [js for js in scripts if str(getattr(js, "filename", "") or "").endswith("require.js")]
    if loaders:
        app.add_js_file(None, body=WIDGET_PAGE_FIX, priority=min(js.priority for js in loaders) - 1)
        app.add_js_file(None, body=WIDGET_A11Y)
    # sphinx-thebe 0.3 and sphinx-togglebutton add their inline scripts on an event that fires twice in this build;
    # when an upgrade stops that, no duplicates are found and this changes nothing
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: the builder and other extensions hold this same list


def fix_page_markup(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body:
        # sphinxcontrib-bibtex 2.7's exact markup: a release that writes it otherwise makes these no-ops (axe says so)
        context["body"] = (body.replace(' role="doc-biblioentry"', "")
                           .replace('<div role="list" class="citation-list">', '<div class="citation-list">'))
    # the CSS rides in `metatags`, which the theme's layout writes into <head>; a theme without it drops the CSS
    context["metatags"] = context.get("metatags", "") + CONTRAST_CSS + PHONE_CSS


def setup(app):
    # The html builder rewrites a page only when its source or the html config changed; a config value
    # holding this file's hash makes an edit here rewrite every page (stale CSS otherwise).
    app.add_config_value("offline_pages_source_hash", hashlib.sha256(Path(__file__).read_bytes()).hexdigest(), "html")
    app.add_js_file(None, body=MODE_FIX)
    app.add_js_file(None, body=SCROLL_REGIONS)
    app.connect("html-page-context", fix_page_scripts, priority=900)  # after the others add theirs
    app.connect("html-page-context", fix_page_markup)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
