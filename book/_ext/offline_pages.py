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
"""

MODE_FIX = 'if (!document.documentElement.dataset.mode) { document.documentElement.dataset.mode = "auto"; }'
WIDGET_PAGE_FIX = """
var require = {baseUrl: (document.documentElement.dataset.content_root || "") + "_static/"};
document.addEventListener("DOMContentLoaded", function () {
  if (window.MathJax && MathJax.typesetPromise && !MathJax.Hub) {
    MathJax.Hub = {Queue: function (job) { MathJax.typesetPromise([job[2]]).catch(function () {}); }};
  }
});
"""


def _script_key(script):
    attributes = getattr(script, "attributes", {}) or {}
    filename = getattr(script, "filename", script) or ""  # an inline script's is None or ""
    return str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items()))


def fix_page_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    loaders = [js for js in scripts if str(getattr(js, "filename", "") or "").endswith("require.js")]
    if loaders:
        app.add_js_file(None, body=WIDGET_PAGE_FIX, priority=min(js.priority for js in loaders) - 1)
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: the builder and other extensions hold this same list


def setup(app):
    app.add_js_file(None, body=MODE_FIX)
    app.connect("html-page-context", fix_page_scripts, priority=900)  # after the others add theirs
    return {"parallel_read_safe": True, "parallel_write_safe": True}
