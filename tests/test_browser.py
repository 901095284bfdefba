"""Real-browser tests of the built book: headless Chromium (Debian's) driven by playwright.

The book is built in quick mode into _build/quick, served on 127.0.0.1, and every page is
visited with every request to another host refused: what passes here reads offline.
"""
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "quick" / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
# The side trips of the "Going further" part: chapters have three exercises or more, side trips any number.
SIDE_TRIPS = {c["file"].removeprefix("notebooks/") for part in yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"]
              if part["caption"] == "Going further" for c in part["chapters"]}


def _require_browser():
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("Debian's chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright pip package (pip install -r requirements-dev.txt)")
    if missing:
        message = "browser tests need " + " and ".join(missing) + "; never run `playwright install`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # in CI a missing browser is a failure, not a skip
        pytest.skip(message)


@pytest.fixture(scope="session")
def site():
    _require_browser()
    if not (ROOT / "_vendor" / "mathjax" / "tex-mml-chtml.js").exists():
        pytest.fail("the offline assets are missing: run `make vendor` (make test does)")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    env = {**os.environ, "VAE_BOOK_QUICK": "1"}
    build = subprocess.run([str(jupyter_book), "build", str(ROOT), "-W", "-n", "--keep-going",
                            "--path-output", str(ROOT / "_build" / "quick")],
                           env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--disable-quic"])
        yield chromium
        chromium.close()


def pages():
    skip = {"genindex.html", "search.html", "py-modindex.html"}
    return sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
                  if "_static" not in p.parts and "_sources" not in p.parts and p.name not in skip)


# Each page is checked as a reader sees it on a desktop in the theme's light mode, on a phone
# (390 x 844 CSS pixels, touch), and on a desktop in the theme's dark mode.
VIEWS = {
    "light-desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True,
              "device_scale_factor": 2},
    "dark-desktop": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"},
}
# the theme reads the reader's choice from localStorage before it draws the page
DARK_MODE = 'localStorage.setItem("mode", "dark"); localStorage.setItem("theme", "dark");'


@pytest.fixture
def visit(browser, site):
    opened = []

    def _visit(path, view="light-desktop"):
        page = browser.new_page(**VIEWS[view])
        if view.startswith("dark"):
            page.add_init_script(DARK_MODE)
        opened.append(page)
        problems, foreign = [], []
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

        def route(r):
            if urlparse(r.request.url).hostname in ("127.0.0.1", None):
                return r.continue_()
            foreign.append(r.request.url)
            return r.abort()

        page.route("**/*", route)
        response = page.goto(f"{site}/{path}", wait_until="networkidle")
        return page, response, problems, foreign

    yield _visit
    for page in opened:
        page.close()


def test_every_chapter_was_built(site):
    built = pages()
    for stem in NOTEBOOKS:
        assert f"notebooks/{stem}.html" in built
    for prose in ("intro", "conclusion", "notation", "glossary", "api", "bibliography"):
        assert f"book/{prose}.html" in built


def test_every_page_renders_offline(site, visit):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for path in pages():
        page, response, problems, foreign = visit(path)
        assert response.status == 200, path
        assert foreign == [], f"{path} asked other hosts for {foreign}"
        assert problems == [], f"{path}: {problems}"
        if page.locator(".math").count():
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise")
            unrendered = page.evaluate("""() => Array.from(document.querySelectorAll('span.math, div.math'))
                .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60))""")
            assert unrendered == [], f"{path}: math not rendered by MathJax: {unrendered}"
        text = page.evaluate("""() => { const b = document.querySelector('article') || document.body;
            const c = b.cloneNode(true); c.querySelectorAll('pre, code, script').forEach(e => e.remove());
            return c.innerText; }""")
        assert "$$" not in text and "\\[" not in text, f"{path}: raw TeX left on the page"
        broken = page.evaluate("""() => Array.from(document.images)
            .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))""")
        assert broken == [], f"{path}: images not loaded: {broken}"
        page.screenshot(path=str(SCREENSHOTS / (path.replace("/", "__").removesuffix(".html") + ".png")), full_page=True)


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_pages_have_launch_buttons(visit, stem):
    page, _, _, _ = visit(f"notebooks/{stem}.html")
    owner_repo = REPO_URL.removeprefix("https://github.com/")
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a')).map(a => a.href)")
    colab = f"https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/{stem}.ipynb"
    assert colab in hrefs
    assert any(h.startswith(f"https://mybinder.org/v2/gh/{owner_repo}/main?") and f"notebooks/{stem}.ipynb" in h
               for h in hrefs), [h for h in hrefs if "binder" in h]
    assert f"https://kaggle.com/kernels/welcome?src={REPO_URL}/blob/main/notebooks/{stem}.ipynb" in hrefs


def test_explorer_page_stays_within_its_size_budget(site):
    page = HTML / "notebooks" / "04_latent_explorer.html"
    assert page.stat().st_size <= 1_500_000, f"{page.stat().st_size:,} bytes"


def _static_explorer(page):
    """The first kernel-free explorer on ``page``, its canvas, and the canvas once it is drawn."""
    explorer = page.locator(".latent-explorer").first
    canvas = explorer.locator("canvas.lx-digit")
    page.wait_for_function("el => el.toDataURL().length > 1000", arg=canvas.element_handle())
    return explorer, canvas, canvas.evaluate("c => c.toDataURL()")


def test_static_explorer_slider_changes_the_image(visit):
    page, _, problems, _ = visit("notebooks/04_latent_explorer.html")
    explorer, canvas, before = _static_explorer(page)
    marker_before = explorer.locator(".lx-marker").evaluate("m => m.style.left")
    explorer.locator("input.lx-z1").fill("3")
    after = canvas.evaluate("c => c.toDataURL()")
    assert after != before, "moving z1 did not change the decoded digit"
    assert explorer.locator(".lx-marker").evaluate("m => m.style.left") != marker_before
    explorer.locator("button[data-model='1']").click()
    assert canvas.evaluate("c => c.toDataURL()") != after, "switching models did not change the digit"
    assert problems == []


def test_saved_live_widgets_render_without_a_kernel(visit):
    page, _, problems, _ = visit("notebooks/04_latent_explorer.html")
    page.wait_for_selector(".widget-slider, .jupyter-widgets .widget-hslider", timeout=15_000)
    assert page.locator("img.jupyter-widgets, .widget-image").count() >= 2
    assert problems == []


def test_dropdowns_open_on_click(visit):
    page, _, problems, _ = visit("notebooks/00_the_elbo.html")
    dropdown = page.locator("details.sd-dropdown").first
    body = dropdown.locator(".sd-summary-content")
    assert dropdown.get_attribute("open") is None and not body.is_visible()
    dropdown.locator("summary").click()
    body.wait_for(state="visible")
    assert "Jensen" in body.inner_text()
    assert problems == []


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_exercise_solutions_are_hidden_until_clicked(visit, stem):
    page, _, problems, _ = visit(f"notebooks/{stem}.html")
    exercises = page.locator("div.exercise")
    solutions = page.locator("div.solution.dropdown")
    assert exercises.count() >= (0 if stem in SIDE_TRIPS else 3) and solutions.count() == exercises.count()
    if not exercises.count():
        return
    first = solutions.first
    content = first.locator("> :not(.admonition-title)").first
    assert not content.is_visible(), "a solution is visible before it is clicked"
    first.locator("button.toggle-button").click()
    content.wait_for(state="visible")
    assert problems == []


def test_glossary_links_resolve(visit):
    targets = set()
    for stem in NOTEBOOKS:
        page, _, _, _ = visit(f"notebooks/{stem}.html")
        targets |= set(page.evaluate("""() => Array.from(document.querySelectorAll('a.reference.internal'))
            .map(a => a.href).filter(h => h.includes('glossary.html#term-'))"""))
    assert len(targets) >= 8, targets
    page, _, _, _ = visit("book/glossary.html")
    ids = set(page.evaluate("() => Array.from(document.querySelectorAll('dt[id]')).map(d => d.id)"))
    missing = {t.split("#", 1)[1] for t in targets} - ids
    assert not missing, f"glossary links to missing terms: {missing}"


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_setup_cell_is_removed_from_the_page_but_kept_in_the_download(visit, site, stem):
    page, _, _, _ = visit(f"notebooks/{stem}.html")
    assert "Set-up for Colab and Kaggle" not in page.content()
    download = page.evaluate("""() => Array.from(document.querySelectorAll('a'))
        .map(a => a.href).find(h => h.endsWith('.ipynb') && h.includes('_sources'))""")
    assert download, "no .ipynb download link on the page"
    notebook = page.request.get(download).text()
    assert "Set-up for Colab and Kaggle" in notebook


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def _settle(page, view):
    """Wait for MathJax's first pass and two frames (the page's scroll-region labels follow layout)."""
    if page.locator(".math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_timeout(400)
    if view.startswith("dark"):
        assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"


@pytest.mark.parametrize("view", VIEWS)
def test_every_page_passes_the_wcag_a_and_aa_rules(site, visit, view):
    """axe-core, the accessibility engine, on every built page: zero violations of WCAG 2 A and AA,
    on a desktop in light mode, on a phone, and on a desktop in dark mode."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make vendor` (make test does)")
    found = {}
    for path in pages():
        page, _, _, _ = visit(path, view)
        _settle(page, view)
        page.add_script_tag(content=AXE.read_text())
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}});
            return r.violations.map(v => `${v.id} (${v.nodes.length}): ${v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(' | ')}`);
        }""")
        if result:
            found[path] = result
    assert not found, "\n".join(f"{view} {p}: {v}" for p, vs in found.items() for v in vs)


# Elements that scroll sideways (overflow-x auto or scroll, content wider than the box) must be
# reachable from the keyboard and named; everything else must fit the window.
OVERFLOW = """W => {
  const problems = [];
  const scroller = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) && e.scrollWidth > e.clientWidth + 1;
  const clipped = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true; } return false; };
  const name = e => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string'
      ? '.' + e.className.trim().split(/\\s+/).slice(0, 2).join('.') : '');
  if (document.documentElement.scrollWidth > W) problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${W}`);
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest('mjx-assistive-mml, script, style, template, .visually-hidden, .sr-only')) continue;
    if (scroller(e)) {
      const focusable = e.tabIndex >= 0, named = e.hasAttribute('aria-label') || e.hasAttribute('aria-labelledby');
      if (!(focusable && named)) problems.push(`${name(e)} scrolls sideways but is ${focusable ? '' : 'not focusable '}${named ? '' : 'not labelled'}`);
      continue;
    }
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && r.right > W + 1 && !clipped(e) && getComputedStyle(e).visibility !== 'hidden')
      problems.push(`${name(e)} reaches ${Math.round(r.right)} px, past the window's ${W} px`);
  }
  return problems.slice(0, 8);
}"""


@pytest.mark.parametrize("view", VIEWS)
def test_no_page_scrolls_sideways(site, visit, view):
    """Nothing is wider than the window, on a phone too, except inside a focusable, named scroll region."""
    found = {}
    for path in pages():
        page, _, _, _ = visit(path, view)
        _settle(page, view)
        # the configured width, not innerWidth: a phone zooms out to fit a page that is too wide
        problems = page.evaluate(OVERFLOW, VIEWS[view]["viewport"]["width"])
        if problems:
            found[path] = problems
    assert not found, "\n".join(f"{view} {p}: {v}" for p, vs in found.items() for v in vs)


def test_explorer_and_dial_fit_a_phone_and_answer_touch_and_keys(visit):
    """On a 390 px phone the latent explorer (chapter 04) and the beta dial (chapter 03) fit the
    width, and their slider (arrow keys) and buttons (a tap) still change the picture."""
    fits = """e => ({right: e.getBoundingClientRect().right, scroll: e.scrollWidth, width: e.clientWidth,
                     window: Math.min(window.innerWidth, 390)})"""
    page, _, problems, _ = visit("notebooks/04_latent_explorer.html", "phone")
    explorer, canvas, before = _static_explorer(page)
    explorer.scroll_into_view_if_needed()
    box = explorer.evaluate(fits)
    assert box["right"] <= box["window"] + 1 and box["scroll"] <= box["width"] + 1, box
    explorer.locator("input.lx-z1").first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    after_keys = canvas.evaluate("c => c.toDataURL()")
    assert after_keys != before, "the arrow keys did not move z1 on a phone"
    buttons = explorer.locator("button")
    assert buttons.count() >= 2
    target = buttons.nth(buttons.count() - 1)
    target.scroll_into_view_if_needed()
    target.tap()
    assert canvas.evaluate("c => c.toDataURL()") != after_keys, "tapping a model button did not change the digit"

    page2, _, problems2, _ = visit("notebooks/03_with_and_without_kl.html", "phone")
    dial = page2.locator(".beta-dial").first
    dial.scroll_into_view_if_needed()
    box = dial.evaluate(fits)
    assert box["right"] <= box["window"] + 1 and box["scroll"] <= box["width"] + 1, box
    pictures = lambda: dial.locator("img").evaluate_all("imgs => imgs.map(i => i.src)")  # noqa: E731
    start = pictures()
    dial.locator("input.bd-beta").first.focus()
    page2.keyboard.press("ArrowLeft")
    turned = pictures()
    assert turned != start, "the arrow keys did not turn the dial on a phone"
    scale = dial.locator("button.bd-scale").first
    scale.scroll_into_view_if_needed()
    scale.tap()
    assert scale.get_attribute("aria-pressed") == "true", "tapping the scale button did nothing"
    assert problems == [] and problems2 == []


def test_explorer_controls_work_from_the_keyboard(visit):
    page, _, problems, _ = visit("notebooks/04_latent_explorer.html")
    explorer, canvas, before = _static_explorer(page)
    explorer.locator("input.lx-z1").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert canvas.evaluate("c => c.toDataURL()") != before, "the arrow keys did not move z1"
    page2, _, problems2, _ = visit("notebooks/03_with_and_without_kl.html")
    dial = page2.locator(".beta-dial").first
    grid_before = dial.locator("img.bd-grid").get_attribute("src")
    dial.locator("input.bd-beta").focus()
    page2.keyboard.press("ArrowLeft")
    assert dial.locator("img.bd-grid").get_attribute("src") != grid_before, "the arrow keys did not turn the dial"
    dial.locator("button.bd-scale").focus()
    page2.keyboard.press("Enter")
    assert dial.locator("button.bd-scale").get_attribute("aria-pressed") == "true"
    assert problems == [] and problems2 == []


def test_beta_dial_changes_every_picture_and_number(visit):
    page, _, problems, foreign = visit("notebooks/03_with_and_without_kl.html")
    dial = page.locator(".beta-dial").first
    state = lambda: {k: dial.locator(sel).get_attribute("src") for k, sel in  # noqa: E731
                     (("scatter", "img.bd-scatter"), ("density", "img.bd-density"), ("grid", "img.bd-grid"),
                      ("strip", "img.bd-strip"), ("curves", "img.bd-curves"))} | {
        "numbers": dial.locator(".bd-numbers").inner_text()}
    start = state()
    button = dial.locator("button.bd-scale")
    button.click()  # at beta = 1 the common scale (set by beta = 0's wide codes) is far larger
    assert dial.locator("img.bd-scatter").get_attribute("src") != start["scatter"], "the scale toggle did nothing"
    assert button.get_attribute("aria-pressed") == "true"
    button.click()
    slider = dial.locator("input.bd-beta")
    slider.fill(slider.get_attribute("min"))
    moved = state()
    assert all(moved[k] != start[k] for k in start), {k: moved[k] == start[k] for k in start}
    assert problems == [] and foreign == []
    size = (HTML / "notebooks" / "03_with_and_without_kl.html").stat().st_size
    assert size <= 1_500_000, f"chapter 03's page is {size:,} bytes"
