"""What every widget builder shares: one way to show a figure, one way to publish results.

Plots are shown in an ``ipywidgets.Image`` rather than an ``Output`` widget: a picture
is one value, saved with the notebook's widget state (so the website and a reader
without a kernel still see it), with no captured display messages.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """A figure as PNG bytes, for an ``ipywidgets.Image``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def show_figure(picture: Any, fig: Figure) -> None:
    """Draw ``fig`` into the ``ipywidgets.Image`` ``picture``."""
    picture.value = figure_png(fig)


def publish(box: Any, results: Mapping[str, Any]) -> None:
    """Make ``results`` the widget's latest output, ``box.results`` (read by tests and
    readers), replacing what was there."""
    box.results.clear()
    box.results.update(results)
