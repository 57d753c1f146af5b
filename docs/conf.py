"""Sphinx configuration of the course website.

Build it (from the repository root; fails on any warning):

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The notebooks are rendered from their committed outputs and saved widget state, never
re-executed. Every ``notebooks/NN_*.ipynb`` and every public module of ``qmix_tut`` appears
without editing this file: the notebooks are found through ``docs/notebooks`` (a link to
the repository's folder, made here) and the API pages are written here from the package.
"""

from __future__ import annotations

import json
import os
import pkgutil
import re
import sys
from pathlib import Path

from docutils import nodes
from sphinx import addnodes

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

import qmix_tut  # noqa: E402

project = "qmix-tut"
author = "the qmix-tut authors"
copyright = "2026, the qmix-tut authors (MIT licence)"
release = qmix_tut.__version__
version = release
language = "en"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "nbsection",
]

# -- the notebooks and the README's sections -------------------------------------------


def _link(name: str, target: str) -> None:
    """Make docs/<name> a relative link to <target> (the repository's own folder)."""
    link = DOCS / name
    if link.is_symlink():
        if os.readlink(link) == target:
            return
        link.unlink()
    elif link.exists():
        raise RuntimeError(f"docs/{name} exists and is not a link to {target}; remove it")
    link.symlink_to(target, target_is_directory=True)


# Notebooks and figures keep their own relative paths (../figures/x.png) on the site.
_link("notebooks", "../notebooks")
_link("figures", "../figures")

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "_static",
    "_templates",
    "_ext",
    "**/.ipynb_checkpoints",
    "notebooks/README.md",
]
# figures/ holds images and result files; its one page is the full speed table the
# README links to (figures/data/benchmarks/results.md), the rest are run notes.
BENCHMARK_PAGE = "figures/data/benchmarks/results.md"
exclude_patterns += sorted(
    str(p.relative_to(ROOT))
    for suffix in ("*.md", "*.ipynb", "*.rst")
    for p in (ROOT / "figures").rglob(suffix)
    if str(p.relative_to(ROOT)) != BENCHMARK_PAGE
)


def _readme_links(app, relative_path, parent_docname, content) -> None:
    """Turn the README's links to pages under figures/ into links to the site's pages.

    Links in an included file resolve from that file's folder (the repository root), and
    the site sees figures/ through the docs/figures link, so a path cannot name the page;
    a ``{doc}`` reference names it by its document name instead.
    """
    if Path(relative_path).name == "README.md":
        content[0] = re.sub(
            r"\[([^\]]+)\]\((figures/[^)\s]+)\.md\)", r"{doc}`\1 </\2>`", content[0]
        )


# The README's sections (results, speed, ...) are included under a page title, so their
# "###" headings follow an "#"; that jump in heading level is intended.
suppress_warnings = ["myst.header"]

nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# -- widgets and maths, served from the site itself ------------------------------------
# The ipywidgets HTML manager draws every panel from the widget state saved in the
# notebook; no script comes from a content network (docs/_static/vendor/VENDORED.txt).
nb_ipywidgets_js = {
    "vendor/requirejs/require.js": {},
    "widgets-config.js": {},
    "vendor/html-manager/embed-amd.js": {},
}
mathjax_path = "vendor/mathjax/tex-chtml-full.js"
# Runs after the page's MathJax settings and before MathJax (deferred) starts: gives
# MathJax 3 the MathJax 2 Hub.Queue that the widget manager calls.
html_js_files = [("mathjax-widgets.js", {"priority": 600})]

# -- API reference, one page per public module -----------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = True


def public_modules() -> list[str]:
    """Every module of qmix_tut whose dotted name has no part starting with ``_``."""
    names = ["qmix_tut"]
    for info in pkgutil.walk_packages(qmix_tut.__path__, prefix="qmix_tut."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def write_api_pages() -> list[str]:
    """Write docs/api/<module>.md for every public module; return the module names."""
    api = DOCS / "api"
    modules = public_modules()
    wanted = {f"{name}.md" for name in modules} | {"index.md"}
    for stale in api.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for name in modules:
        # The package re-exports Config, train, load and Result from their modules; its
        # page shows them without indexing them twice (each is indexed on its own page).
        options = "   :no-index:\n" if name == "qmix_tut" else ""
        _write_if_changed(
            api / f"{name}.md",
            f"# `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n{options}```\n",
        )
    body = "\n".join(modules)
    _write_if_changed(
        api / "index.md",
        "# API reference\n\nEvery public module of the `qmix_tut` package, from its "
        "docstrings.\n\n```{toctree}\n:maxdepth: 1\n\n" + body + "\n```\n",
    )
    return modules


write_api_pages()


# -- which panels need a live kernel ----------------------------------------------------


def widget_panels() -> list[tuple[str, str, int]]:
    """(notebook stem, heading above the panel, widgets in it) for each saved panel."""
    panels = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        heading = ""
        for cell in nb["cells"]:
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                for line in text.splitlines():
                    if line.startswith("#"):
                        heading = line.lstrip("#").strip()
            for output in cell.get("outputs", []):
                if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
                    panels.append((path.stem, heading, 1))
    return panels


def write_panel_table() -> None:
    """docs/_generated/panels.md: one row per widget panel saved in a notebook."""
    rows = ["| notebook | section | on this site |", "|---|---|---|"]
    for stem, heading, _ in widget_panels():
        short = stem.split("_", 1)[1]
        # the section title as the site shows it: no maths or code markers, no table pipes
        heading = heading.replace("$", "").replace("`", "").replace("|", " ")
        rows.append(
            f"| {stem.split('_', 1)[0]} | {{nbsec}}`{heading} <{short} | {heading}>` "
            "| drawn as saved; needs a kernel to respond |"
        )
    _write_if_changed(DOCS / "_generated" / "panels.md", "\n".join(rows) + "\n")


write_panel_table()

# -- Chinese summaries, one page per notebook ----------------------------------------------
# docs/zh/notebooks/<name>.md summarises notebooks/NN_<name>.ipynb; a page whose notebook
# is not in the course is left out, and a notebook without a page is listed as such.


def write_zh_notebook_index() -> None:
    """docs/_generated/zh_notebooks.md: every notebook, with its Chinese page if any."""
    rows = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        number, name = path.stem.split("_", 1)
        if (DOCS / "zh" / "notebooks" / f"{name}.md").exists():
            rows.append(f"- {number} · {{doc}}`/zh/notebooks/{name}` · {{nbsec}}`{name}`")
        else:
            rows.append(f"- {number} · 中文摘要尚未写好 · {{nbsec}}`{name}`")
    _write_if_changed(DOCS / "_generated" / "zh_notebooks.md", "\n".join(rows) + "\n")


write_zh_notebook_index()
exclude_patterns += [
    f"zh/notebooks/{page.name}"
    for page in sorted((DOCS / "zh" / "notebooks").glob("*.md"))
    if not list((ROOT / "notebooks").glob(f"[0-9][0-9]_{page.stem}.ipynb"))
]
exclude_patterns.append("_generated")

# -- look ---------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "qmix-tut: learn value decomposition by building QMIX"
html_static_path = ["_static"]
html_css_files = ["cjk.css"]
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
html_context = {"default_mode": "light"}
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False


def _zh_summary_link(app, doctree) -> None:
    """Under a notebook's title, a link to its Chinese summary page (when there is one)."""
    docname = app.env.docname
    if not docname.startswith("notebooks/") or "_" not in docname:
        return
    name = docname.split("/", 1)[1].split("_", 1)[1]
    if not (DOCS / "zh" / "notebooks" / f"{name}.md").exists():
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    ref = addnodes.pending_xref(
        "",
        nodes.inline("", "中文摘要 (Chinese summary)"),
        refdomain="std",
        reftype="doc",
        reftarget=f"/zh/notebooks/{name}",
        refexplicit=True,
        refdoc=docname,
        refwarn=True,
    )
    section.insert(1, nodes.paragraph("", "", ref, classes=["zh-summary-link"]))


def setup(app) -> None:
    """Rewrite the README's links as it is included; link each notebook to its summary."""
    app.connect("include-read", _readme_links)
    app.connect("doctree-read", _zh_summary_link)
