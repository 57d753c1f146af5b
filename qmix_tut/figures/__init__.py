"""Regenerate every file in ``figures/`` from code: ``python -m qmix_tut.figures``.

Diagrams (:mod:`.diagrams`, drawn with the toolkit of :mod:`.canvas`) and the result
plots of the stored runs (:mod:`.stored_runs`, drawn by :mod:`qmix_tut.plotting`) are
saved as SVG (for the notebooks and the web) and PNG (about 1500 px wide, for the
README). Nothing is drawn by hand, so a figure changes only when its code does.

>>> from qmix_tut.figures import FIGURES, generate
>>> sorted(FIGURES)[:2]
['argmax_consistency', 'joint_action_growth']
>>> paths = generate("figures", ["joint_action_growth"], progress=False)  # doctest: +SKIP

Adding a figure takes one function: it receives the output folder, draws a
:class:`~matplotlib.figure.Figure` with no pyplot state, saves it with
:func:`save_figure` and returns the paths written. Registering it makes it part of
``generate()``, the command line and the tests::

    @register("two_step_learning_curves")
    def two_step_learning_curves(out_dir: Path) -> list[Path]:
        curves = stored_curves("two_step")              # from qmix_tut.results
        fig = curves_figure(curves, "two-step game", "return")  # from qmix_tut.plotting
        return save_figure(fig, out_dir, "two_step_learning_curves")

Read stored runs with :mod:`qmix_tut.results` (not from the output folder), so figures
can be regenerated into any folder.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..analysis import argmax_consistency_example, monotonic_mix
from ..reference import REFERENCE_LBF_NEVER_ABOVE, REFERENCE_SIMPLE_SPREAD
from ..results import DATA_DIR, stored_curves
from . import diagrams, stored_runs  # noqa: F401  (registers the figures)
from ._registry import FIGURES, PNG_WIDTH_PX, SAVE_RC, FigureFunction, register, save_figure
from .canvas import Canvas, Node

__all__ = [
    "DATA_DIR",
    "FIGURES",
    "PNG_WIDTH_PX",
    "REFERENCE_LBF_NEVER_ABOVE",
    "REFERENCE_SIMPLE_SPREAD",
    "SAVE_RC",
    "Canvas",
    "FigureFunction",
    "Node",
    "argmax_consistency_example",
    "generate",
    "main",
    "monotonic_mix",
    "register",
    "save_figure",
    "stored_curves",
]


def generate(
    out_dir: Path | str = "figures", names: Sequence[str] | None = None, progress: bool = True
) -> list[Path]:
    """Write the named figures (default: all) into ``out_dir``; returns the files written."""
    names = list(FIGURES) if not names else list(names)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(
            f"unknown figure(s) {', '.join(map(repr, unknown))}; valid figures: {', '.join(FIGURES)}"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for name in names:
        start = time.perf_counter()
        written = FIGURES[name](out_dir)
        paths.extend(written)
        if progress:
            files = ", ".join(p.name for p in written)
            print(f"{name:<24} {time.perf_counter() - start:5.1f} s  {files}", file=sys.stderr)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m qmix_tut.figures [--out DIR] [names...]``."""
    parser = argparse.ArgumentParser(
        prog="python -m qmix_tut.figures", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "names", nargs="*", help=f"figures to draw (default: all): {', '.join(FIGURES)}"
    )
    parser.add_argument("--out", default="figures", help="output folder (default figures)")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    try:
        paths = generate(args.out, args.names or None, progress=not args.quiet)
    except ValueError as err:
        parser.error(str(err))
    if not args.quiet:
        print(f"wrote {len(paths)} files to {args.out}")
    return 0
