"""The figure registry: a name per figure, the function that draws it, and how it is saved."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

FigureFunction = Callable[[Path], list[Path]]

FIGURES: dict[str, FigureFunction] = {}
"""Figure name -> function that writes the figure's files into a folder and returns them."""

PNG_WIDTH_PX = 1500

# Fixed salts and no timestamps, so regenerating an unchanged figure gives identical files.
SAVE_RC = {"svg.hashsalt": "qmix_tut", "path.simplify": True}


def register(name: str) -> Callable[[FigureFunction], FigureFunction]:
    """Decorator adding a figure function to :data:`FIGURES` under ``name``."""

    def add(function: FigureFunction) -> FigureFunction:
        if name in FIGURES:
            raise ValueError(f"a figure named {name!r} is already registered")
        FIGURES[name] = function
        return function

    return add


def save_figure(
    fig: Figure,
    out_dir: Path | str,
    name: str,
    formats: Sequence[str] = ("svg", "png"),
    png_width_px: int = PNG_WIDTH_PX,
) -> list[Path]:
    """Save ``fig`` as ``out_dir/name.<format>``; the PNG is ``png_width_px`` wide."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dpi = png_width_px / fig.get_figwidth()
    paths = []
    with mpl.rc_context(SAVE_RC):
        for fmt in formats:
            path = out_dir / f"{name}.{fmt}"
            metadata = (
                {"Date": None} if fmt == "svg" else {"Software": None} if fmt == "png" else {}
            )
            fig.savefig(path, format=fmt, dpi=dpi, metadata=metadata)
            paths.append(path)
    return paths
