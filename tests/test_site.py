"""The course website, built from the committed notebooks and opened in a real browser.

Builds the site with Sphinx into a temporary folder (warnings are errors), serves it on
127.0.0.1, and opens every page in headless Chromium (the Debian package, driven by
Playwright): no console error, no failed request, no request leaving the machine, maths
typeset by MathJax, every saved widget panel drawn by the ipywidgets HTML manager, the
Chinese pages drawn with a CJK font, and search finding "hypernetwork".

The browser tests are marked slow. Two fast tests need no browser: every notebook with
widget views saved its widget state, and every link from the Chinese pages to a notebook
section names a section that exists (so renaming a heading fails here, at once, and not
only in the site build).

Locally the browser test is skipped when Sphinx, Playwright or Chromium is missing; when the
environment variable CI is "true" a missing piece is a failure. On a failure, screenshots
of the pages concerned are written to site-screenshots/ (git-ignored), named after the
page (notebooks_04_hypernetworks.html.png, search_hypernetwork.png, zh_glossary.png),
with overview_index.html.png, overview_notebooks_00_....png and
overview_zh_glossary.html.png beside them.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "site-screenshots"
CHROMIUM = os.environ.get("QMIX_TUT_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TEXT_REPRS = re.compile(r"\b(?:VBox|HBox|GridBox|Output|Tab|Accordion)\(children=")


def _missing(what: str) -> None:
    """Skip locally; fail in CI, where the site test must run."""
    message = f"the site test needs {what}"
    if IN_CI:
        pytest.fail(message + " (CI=true, so this is an error, not a skip)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once for this module with the README's build command."""
    for module in ("sphinx", "myst_nb", "sphinx_book_theme"):
        if importlib.util.find_spec(module) is None:
            _missing(f"the {module} package: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    html, doctrees = out / "html", out / "doctrees"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    command += ["-d", str(doctrees), "docs", str(html)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, "site build failed:\n" + done.stdout + done.stderr
    return html


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    """A local HTTP server over the built site."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from the system packages (never a downloaded browser)."""
    if importlib.util.find_spec("playwright") is None:
        _missing("the playwright package: pip install -e '.[docs]'")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"Chromium at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


class PageWatch:
    """One browser page that records every console error, page error and failed request."""

    def __init__(self, browser: Any, base_url: str, site: Path) -> None:
        self.base_url = base_url
        self.site = site
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        # Nothing may leave the machine: the site serves its own scripts and fonts.
        self.page.route(re.compile(r"^(?!http://127\.0\.0\.1:)"), self._refuse)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _refuse(self, route: Any) -> None:
        if route.request.url.startswith(("data:", "blob:", "about:")):
            route.continue_()
            return
        self.problems.append(f"request off the machine: {route.request.url}")
        route.abort()

    @staticmethod
    def _favicon(url: str) -> bool:
        return url.rstrip("/").endswith("favicon.ico")

    def _console(self, message: Any) -> None:
        if message.type == "error" and not self._favicon(message.location.get("url", "")):
            self.problems.append(f"console error: {message.text}")

    def _failed(self, request: Any) -> None:
        if not self._favicon(request.url):
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and not self._favicon(response.url):
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def open(self, relative: str) -> None:
        self.problems.clear()
        self.page.goto(self.base_url + relative, wait_until="load")

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".png")
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watch(browser: Any, base_url: str, site: Path) -> Iterator[PageWatch]:
    page = PageWatch(browser, base_url, site)
    yield page
    page.close()


def _pages(site: Path) -> list[str]:
    """Every page of the site (the theme's template snippets under _static/ are not pages)."""
    pages = (p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    return sorted(p for p in pages if not p.startswith("_"))


def _widget_views(html: str) -> int:
    return html.count(f'type="{WIDGET_VIEW}"')


ALL_MATH_TYPESET = """() => {
    const maths = [...document.querySelectorAll('.math')];
    return maths.every(m => m.querySelector('mjx-container') !== null);
}"""

ALL_WIDGETS_DRAWN = """(n) => {
    const views = document.querySelectorAll('.jupyter-widgets.widget-container, '
        + '.jupyter-widgets.widget-inline-hbox, .jupyter-widgets.widget-html, '
        + '.jupyter-widgets.widget-output, .jupyter-widgets.widget-image');
    const drawn = [...document.querySelectorAll('.cell_output, .output')]
        .filter(o => o.querySelector('.jupyter-widgets'));
    return drawn.length >= n && views.length >= n;
}"""


@pytest.mark.slow
def test_site_builds_every_notebook(site: Path) -> None:
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    built = sorted(p.stem for p in (site / "notebooks").glob("*.html"))
    assert notebooks and built == notebooks
    for page in ("zh/glossary.html", "zh/guide.html", "zh/notebooks.html", "zh/install.html"):
        assert (site / page).exists(), page
    assert (site / "api" / "qmix_tut.mixers.html").exists()


@pytest.mark.slow
def test_every_page_loads_with_maths_and_widgets_drawn(site: Path, watch: PageWatch) -> None:
    failures: list[str] = []
    checked_widgets = checked_maths = 0
    for relative in _pages(site):
        html = (site / relative).read_text(encoding="utf-8")
        watch.open(relative)
        problems = list(watch.problems)
        if 'class="math' in html:
            try:
                watch.page.wait_for_function(ALL_MATH_TYPESET, timeout=30_000)
                checked_maths += 1
            except Exception:  # noqa: BLE001 (a timeout is reported as a failure below)
                problems.append("maths left untypeset (no mjx-container in a .math element)")
        views = _widget_views(html)
        if views:
            try:
                watch.page.wait_for_function(ALL_WIDGETS_DRAWN, arg=views, timeout=30_000)
                checked_widgets += 1
            except Exception:  # noqa: BLE001
                problems.append(f"fewer than {views} widget panels drawn")
            text = watch.page.inner_text("body")
            if TEXT_REPRS.search(text):
                problems.append("a widget shown as its text repr (VBox(children=...)")
        watch.page.wait_for_timeout(100)
        problems += [p for p in watch.problems if p not in problems]
        if problems:
            shot = watch.screenshot(relative)
            failures.append(f"{relative} ({shot.name}): " + "; ".join(problems[:5]))
    if failures:
        _overview_screenshots(watch)
    assert not failures, "\n".join(failures)
    assert checked_maths > 0 and checked_widgets > 0


OVERVIEW = ("index.html", "notebooks/", "zh/glossary.html")


def _overview_screenshots(watch: PageWatch) -> None:
    """Beside the failing pages: the home page, the first notebook, the glossary."""
    for relative in OVERVIEW:
        if relative.endswith("/"):
            first = sorted((watch.site / relative).glob("*.html"))
            if not first:
                continue
            relative += first[0].name
        watch.open(relative)
        watch.page.wait_for_timeout(2_000)
        watch.screenshot("overview_" + relative)


@pytest.mark.slow
def test_widget_panels_show_their_saved_output(site: Path, watch: PageWatch) -> None:
    """Each notebook with saved widgets shows as many drawn panels as it saved."""
    failures = []
    for relative in _pages(site):
        if not relative.startswith("notebooks/"):
            continue
        html = (site / relative).read_text(encoding="utf-8")
        views = _widget_views(html)
        if not views:
            continue
        watch.open(relative)
        watch.page.wait_for_function(ALL_WIDGETS_DRAWN, arg=views, timeout=30_000)
        drawn = watch.page.evaluate(
            """() => [...document.querySelectorAll('.cell_output, .output')]
                .filter(o => o.querySelector('.jupyter-widgets'))
                .map(o => o.getBoundingClientRect().height)"""
        )
        if len(drawn) < views or min(drawn) < 20:
            shot = watch.screenshot(relative)
            failures.append(f"{relative} ({shot.name}): {views} saved, drawn heights {drawn}")
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_chinese_pages_use_a_cjk_font(watch: PageWatch) -> None:
    watch.open("zh/glossary.html")
    text = watch.page.inner_text("article")
    assert "混合网络" in text and "超网络" in text
    # A font is present when text set in it (falling back to monospace) measures
    # differently from monospace alone.
    present = watch.page.evaluate(
        """(fonts) => {
            const c = document.createElement('canvas').getContext('2d');
            const width = f => { c.font = f; return c.measureText('mmwwii 混合网络 QMIX').width; };
            const mono = width('32px monospace');
            return fonts.filter(f => width(`32px "${f}", monospace`) !== mono);
        }""",
        list(CJK_FONTS),
    )
    if not present:
        shot = watch.screenshot("zh_glossary")
        pytest.fail(f"no CJK font among {CJK_FONTS} (apt-get install fonts-noto-cjk); {shot}")
    family = watch.page.evaluate(
        "() => getComputedStyle(document.querySelector('article')).fontFamily"
    )
    assert any(font in family for font in CJK_FONTS), family


@pytest.mark.slow
def test_search_finds_hypernetwork(watch: PageWatch) -> None:
    watch.open("search.html?q=hypernetwork")
    results = watch.page.locator("#search-results ul.search li")
    try:
        results.first.wait_for(timeout=30_000)
    except Exception:  # noqa: BLE001
        shot = watch.screenshot("search_hypernetwork")
        pytest.fail(f"search for 'hypernetwork' found nothing; see {shot}")
    links = results.locator("a").evaluate_all("(as) => as.map(a => a.getAttribute('href'))")
    assert any("04_hypernetworks" in (href or "") for href in links), links
    assert not watch.problems, watch.problems


def test_widget_state_is_saved_in_every_notebook_with_panels() -> None:
    """A panel can only be drawn on the site from state saved in its notebook."""
    missing = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        views = sum(
            WIDGET_VIEW in output.get("data", {})
            for cell in nb["cells"]
            for output in cell.get("outputs", [])
        )
        state = nb.get("metadata", {}).get("widgets", {})
        state = state.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
        if views and not state:
            missing.append(path.name)
    assert not missing, f"widget views without saved widget state: {missing}"


NBSEC = re.compile(r"\{nbsec\}`([^`]*)`")


def _headings(path: Path) -> list[str]:
    """A notebook's markdown headings as the site shows them (no $, ` or * markers)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    titles = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        fenced = False
        for line in "".join(cell["source"]).splitlines():
            if line.lstrip().startswith("```"):
                fenced = not fenced
            elif not fenced and re.match(r"#{1,6}\s", line):
                titles.append(re.sub(r"[$`*]", "", line.lstrip("#").strip()))
    return titles


def test_chinese_pages_link_sections_that_exist() -> None:
    """Each {nbsec} link in docs/zh names one notebook and one of its section headings."""
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        nbsection = pytest.importorskip("nbsection", reason="needs sphinx (the docs extra)")
    finally:
        sys.path.pop(0)
    problems = []
    pages = sorted((ROOT / "docs" / "zh").rglob("*.md"))
    assert pages, "docs/zh has no pages"
    links = 0
    for page in pages:
        for match in NBSEC.finditer(page.read_text(encoding="utf-8")):
            target = match.group(1)
            explicit = re.match(r"^.+?\s*<([^<>]+)>$", target, re.S)
            target = (explicit.group(1) if explicit else target).replace("\\|", "|")
            stem, _, phrase = (part.strip() for part in target.partition("|"))
            optional, stem = stem.startswith("?"), stem.lstrip("?").strip()
            notebook = nbsection.find_notebook(ROOT / "notebooks", stem)
            where = f"{page.relative_to(ROOT)}: {match.group(0)}"
            if notebook is None:
                if not optional and not page.parent.name == "notebooks":
                    problems.append(f"{where}: no notebooks/NN_{stem}.ipynb")
                continue
            links += 1
            if not phrase:
                continue
            titles = _headings(notebook)
            hits = [t for t in titles if nbsection._unnumbered(t) == nbsection._fold(phrase)]
            hits = hits or [t for t in titles if nbsection._fold(phrase) in nbsection._fold(t)]
            if len(hits) != 1:
                problems.append(f"{where}: {len(hits)} headings of {notebook.name} match")
    assert links > 50, links
    assert not problems, "\n".join(problems)
