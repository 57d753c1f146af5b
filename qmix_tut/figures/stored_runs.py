"""Result plots of the full-length runs stored in ``figures/data/``, beside the reference
numbers of :mod:`qmix_tut.reference`. The plots are drawn by :mod:`qmix_tut.plotting`; the
runs are read by :mod:`qmix_tut.results`."""

from __future__ import annotations

import json
from pathlib import Path

from ..plotting import curves_figure, two_step_tables_figure
from ..reference import PAPER_TWO_STEP, REFERENCE_LBF_NEVER_ABOVE, REFERENCE_SIMPLE_SPREAD
from ..results import data_file, stored_curves
from ._registry import register, save_figure


@register("simple_spread_curves")
def simple_spread_curves(out_dir: Path) -> list[Path]:
    """Greedy test return of the stored simple_spread runs, mean and 95% bootstrap band."""
    fig = curves_figure(
        stored_curves("simple_spread"),
        "MPE simple_spread (3 agents, 25 steps)",
        "greedy test return",
        reference=REFERENCE_SIMPLE_SPREAD,
        reference_label="reference implementation (QMIX)",
    )
    return save_figure(fig, out_dir, "simple_spread_curves", png_width_px=1000)


@register("lbf_curves")
def lbf_curves(out_dir: Path) -> list[Path]:
    """Greedy test return of the stored Level-Based Foraging runs, mean and 95% band."""
    end, ceiling = REFERENCE_LBF_NEVER_ABOVE
    fig = curves_figure(
        stored_curves("lbf"),
        "LBF Foraging-8x8-2p-2f-coop (2 agents, 50 steps)",
        "greedy test return",
        ceiling=(end, ceiling),
        reference_label=f"reference QMIX (< {ceiling:g} to {end // 1000}k)",
        ylim=(-0.03, 1.05),
    )
    return save_figure(fig, out_dir, "lbf_curves", png_width_px=1000)


@register("two_step_tables")
def two_step_tables(out_dir: Path) -> list[Path]:
    """QMIX's and VDN's learned two-step Q_tot tables (median over seeds) beside the paper's."""
    path = data_file(
        "two_step_paper.json",
        "python benchmarks/two_step_paper.py --json figures/data/two_step_paper.json",
    )
    fig = two_step_tables_figure(json.loads(path.read_text()), PAPER_TWO_STEP)
    return save_figure(fig, out_dir, "two_step_tables", png_width_px=1200)
