"""Link to a notebook section by the words of its heading, not by its number.

The notebooks are renumbered as the course grows, and their section numbers move, so
the Chinese pages name a notebook by the end of its file name and a section by a phrase
of its heading::

    {nbsec}`monotonic_mixing | monotonicity is enough`
    {nbsec}`monotonic_mixing`              (the notebook itself)
    {nbsec}`说明 <monotonic_mixing | monotonicity is enough>`
    {nbsec}`§ <monotonic_mixing | monotonicity is enough>`   (short: "03 §2")

``monotonic_mixing`` finds ``notebooks/NN_monotonic_mixing.ipynb`` whatever NN is; a
leading ``?`` (``?coma_counterfactual_baselines``) marks a notebook that may not be in
the course yet, whose link is then shown as plain text instead of failing the build. The
phrase is matched case-insensitively against the notebook's section titles once every
document has been read (a title equal to the phrase, leaving out its section number,
wins over titles that contain it); a notebook or phrase that matches nothing, or a phrase that
matches more than one section, is a build warning (and so a failed build under ``-W``).
Without an explicit title the link reads "NN · section title".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

logger = logging.getLogger(__name__)

_EXPLICIT = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$", re.S)


class nbsection_ref(nodes.reference):  # noqa: N801 (docutils node naming)
    """A link whose target is found after every document has been read."""


def _split(target: str) -> tuple[str, str]:
    stem, _, phrase = target.partition("|")
    return stem.strip(), phrase.strip()


def find_notebook(notebook_dir: Path, stem: str) -> Path | None:
    """The one ``NN_<stem>.ipynb`` in ``notebook_dir``, or None."""
    matches = sorted(notebook_dir.glob(f"[0-9][0-9]_{stem}.ipynb"))
    return matches[0] if len(matches) == 1 else None


class NotebookSectionRole(SphinxRole):
    """``{nbsec}`stem | phrase``` or ``{nbsec}`title <stem | phrase>```."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        match = _EXPLICIT.match(self.text)
        title, target = (match["title"], match["target"]) if match else ("", self.text)
        stem, phrase = _split(target)
        optional = stem.startswith("?")
        stem = stem.lstrip("?").strip()
        if not stem:
            msg = self.inliner.reporter.warning(
                f"nbsec: no notebook named in {self.text!r}", line=self.lineno
            )
            return [], [msg]
        node = nbsection_ref("", title or target, internal=True)
        node["nb_stem"] = stem
        node["nb_phrase"] = phrase
        node["nb_explicit_title"] = bool(title)
        node["nb_optional"] = optional
        node.source, node.line = self.get_source_info()
        return [node], []


def _fold(text: str) -> str:
    """Lower case, with typographic quotes (from smart quotes) as plain ones."""
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def _unnumbered(title: str) -> str:
    """The folded title without its section number ("2. The mixer explorer")."""
    return re.sub(r"^\d+\.\s+", "", _fold(title))


def _section_titles(doctree: nodes.document) -> list[tuple[str, str]]:
    """(title text, first id) of every section of a document, in order."""
    out = []
    for section in doctree.findall(nodes.section):
        if section["ids"] and section.children and isinstance(section[0], nodes.title):
            out.append((section[0].astext(), section["ids"][0]))
    return out


def _resolve(app: Sphinx, doctree: nodes.document, fromdocname: str) -> None:
    notebook_dir = Path(app.srcdir) / "notebooks"
    for node in list(doctree.findall(nbsection_ref)):
        stem, phrase = node["nb_stem"], node["nb_phrase"]
        path = find_notebook(notebook_dir, stem)
        docname = f"notebooks/{path.stem}" if path else None
        if docname is None or docname not in app.env.all_docs:
            if node["nb_optional"] and path is None:
                text = node.astext().lstrip("?")
                node.replace_self(nodes.Text("—" if text == "§" else text))
                continue
            logger.warning(
                "nbsec: no single notebook notebooks/NN_%s.ipynb in the site", stem, location=node
            )
            node.replace_self(nodes.Text(node.astext()))
            continue
        titles = _section_titles(app.env.get_doctree(docname))
        if phrase:
            exact = [(t, i) for t, i in titles if _unnumbered(t) == _fold(phrase)]
            hits = exact or [(t, i) for t, i in titles if _fold(phrase) in _fold(t)]
        else:
            hits = titles[:1]
        if len(hits) != 1:
            found = "no section" if not hits else f"{len(hits)} sections"
            logger.warning("nbsec: %s of %s matches %r", found, path.name, phrase, location=node)
            node.replace_self(nodes.Text(node.astext()))
            continue
        section_title, anchor = hits[0]
        uri = app.builder.get_relative_uri(fromdocname, docname)
        if phrase:
            uri += "#" + anchor
        label = node.astext()
        if node["nb_explicit_title"] and label == "§":
            # the short form, for tables: "03" or "03 §2"
            number = path.stem.split("_", 1)[0]
            section = re.match(r"(\d+)\.\s", section_title)
            label = number
            if phrase:
                label += f" §{section.group(1)}" if section else f" · {section_title}"
        elif not node["nb_explicit_title"]:
            number = path.stem.split("_", 1)[0]
            label = f"{number} · {section_title}" if phrase else section_title
        ref = nodes.reference("", "", internal=True, refuri=uri)
        ref += nodes.inline(label, label, classes=["nbsec"])
        node.replace_self(ref)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the ``nbsec`` role."""
    app.add_role("nbsec", NotebookSectionRole())
    app.add_node(nbsection_ref)
    app.connect("doctree-resolved", _resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
