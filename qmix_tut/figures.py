"""Regenerate every file in ``figures/`` from code: ``python -m qmix_tut.figures``.

Diagrams are drawn with matplotlib patches and arrows in the course style and saved as SVG
(for the notebooks and the web) and PNG (about 1500 px wide, for the README). Nothing is
drawn by hand, so a figure changes only when this module does.

>>> from qmix_tut.figures import FIGURES, generate
>>> sorted(FIGURES)[:2]
['argmax_consistency', 'joint_action_growth']
>>> paths = generate("figures", ["joint_action_growth"], progress=False)  # doctest: +SKIP

Adding a figure (for example a result plot of a full-length run stored in
``figures/data/``) takes one function: it receives the output folder, draws a
:class:`~matplotlib.figure.Figure` with no pyplot state, saves it with
:func:`save_figure` and returns the paths written. Registering it makes it part of
``generate()``, the command line and the tests::

    @register("two_step_learning_curves")
    def two_step_learning_curves(out_dir: Path) -> list[Path]:
        data = json.loads((DATA_DIR / "two_step.json").read_text())
        with style():
            fig = Figure(figsize=(6.4, 4.0), layout="constrained")
            plot_learning_curves(fig.subplots(), ...)
        return save_figure(fig, out_dir, "two_step_learning_curves")

Read data files from :data:`DATA_DIR` (not the output folder), so figures can be
regenerated into any folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from ._paths import missing_data_hint, stored_data_dir
from .plotting import ALGO_COLORS, OKABE_ITO, plot_q_table, style

FigureFunction = Callable[[Path], list[Path]]

FIGURES: dict[str, FigureFunction] = {}
"""Figure name -> function that writes the figure's files into a folder and returns them."""

DATA_DIR = stored_data_dir()
"""Where result plots read their stored runs (JSON/CSV) from."""

PNG_WIDTH_PX = 1500

# Fixed salts and no timestamps, so regenerating an unchanged figure gives identical files.
SAVE_RC = {"svg.hashsalt": "qmix_tut", "path.simplify": True}

# Diagram palette: the mixer is QMIX's blue; hypernetworks, agents and inputs each get a
# colour of their own that no other part of a diagram uses.
MIXER, MIXER_FILL = ALGO_COLORS["qmix"], "#DCEAF6"
HYPER, HYPER_FILL = OKABE_ITO["vermillion"], "#FBE2D2"
AGENT, AGENT_FILL = OKABE_ITO["bluish_green"], "#D7F1E8"
RNN_FILL = "#A9DFCC"
INPUT, INPUT_FILL = "#4D4D4D", "#F2F2F2"
PANEL_FILL, PANEL_EDGE = "#FAFAFA", "#DDDDDD"
INK = "#222222"

# Bold tau needs \boldsymbol, which mathtext gained in matplotlib 3.8.
_MPL_VERSION = tuple(int(p) for p in mpl.__version__.split(".")[:2] if p.isdigit())
BTAU = r"\boldsymbol{\tau}" if _MPL_VERSION >= (3, 8) else r"\tau"


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


# ------------------------------------------------------------------------------------------
# a small toolkit for box-and-arrow diagrams
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """A drawn shape's centre and size, with the points arrows attach to."""

    x: float
    y: float
    w: float
    h: float

    @property
    def top(self) -> tuple[float, float]:
        return (self.x, self.y + self.h / 2)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x, self.y - self.h / 2)

    @property
    def left(self) -> tuple[float, float]:
        return (self.x - self.w / 2, self.y)

    @property
    def right(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y)

    def at(self, fx: float, fy: float) -> tuple[float, float]:
        """The point at fractions ``(fx, fy)`` of the half-sizes from the centre (-1..1)."""
        return (self.x + fx * self.w / 2, self.y + fy * self.h / 2)


class Canvas:
    """A figure whose single axes spans it, in data units with equal aspect.

    One data unit is ``scale`` inches, so font sizes (points) and shapes (units) keep a
    fixed ratio whatever the figure's size.
    """

    def __init__(self, width: float, height: float, scale: float = 0.34) -> None:
        self.fig = Figure(figsize=(width * scale, height * scale))
        self.ax: Axes = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, height)
        self.ax.set_aspect("equal")
        self.ax.axis("off")

    def box(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        text: str = "",
        edge: str = INPUT,
        face: str = INPUT_FILL,
        size: float = 13,
        lw: float = 1.5,
        rounding: float = 0.25,
        **text_kw: Any,
    ) -> Node:
        """A rounded box centred at ``(x, y)`` with centred text."""
        patch = FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle=f"round,pad=0,rounding_size={rounding}",
            facecolor=face,
            edgecolor=edge,
            linewidth=lw,
            zorder=3,
        )
        self.ax.add_patch(patch)
        if text:
            self.text(x, y, text, size=size, **text_kw)
        return Node(x, y, w, h)

    def circle(
        self,
        x: float,
        y: float,
        r: float,
        text: str = "",
        edge: str = INPUT,
        face: str = INPUT_FILL,
        size: float = 13,
        lw: float = 1.5,
    ) -> Node:
        """A circle (a neuron, an operation) centred at ``(x, y)``."""
        self.ax.add_patch(Circle((x, y), r, facecolor=face, edgecolor=edge, linewidth=lw, zorder=4))
        if text:
            self.text(x, y, text, size=size, zorder=5)
        return Node(x, y, 2 * r, 2 * r)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float = 13,
        color: str = INK,
        ha: str = "center",
        va: str = "center",
        backdrop: str | None = None,
        zorder: float = 6,
        **kw: Any,
    ) -> None:
        """Text; ``backdrop`` paints a tight box behind it so lines under it do not cross it."""
        bbox = None
        if backdrop:
            bbox = {"boxstyle": "round,pad=0.15", "facecolor": backdrop, "edgecolor": "none"}
        self.ax.text(
            x, y, text, fontsize=size, color=color, ha=ha, va=va, bbox=bbox, zorder=zorder, **kw
        )

    def arrow(
        self,
        start: tuple[float, float],
        end: tuple[float, float],
        color: str = INK,
        lw: float = 1.5,
        rad: float = 0.0,
        connection: str | None = None,
        linestyle: str = "-",
        head: str = "-|>",
        zorder: float = 2,
    ) -> None:
        """An arrow from ``start`` to ``end`` (exact points: attach them to a Node's sides)."""
        self.ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle=head,
                mutation_scale=14,
                color=color,
                linewidth=lw,
                linestyle=linestyle,
                shrinkA=0,
                shrinkB=0,
                connectionstyle=connection or f"arc3,rad={rad}",
                zorder=zorder,
            )
        )

    def line(
        self, xs: Sequence[float], ys: Sequence[float], color: str = INK, lw: float = 1.5, **kw: Any
    ) -> None:
        """A polyline without a head (connections, buses)."""
        self.ax.add_line(
            Line2D(
                xs,
                ys,
                color=color,
                linewidth=lw,
                solid_capstyle="round",
                zorder=kw.pop("zorder", 2),
                **kw,
            )
        )

    def panel(self, x0: float, y0: float, w: float, h: float, title: str) -> None:
        """A light background card with a title along its top edge."""
        self.ax.add_patch(
            FancyBboxPatch(
                (x0, y0),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=0.5",
                facecolor=PANEL_FILL,
                edgecolor=PANEL_EDGE,
                linewidth=1.2,
                zorder=0,
            )
        )
        self.text(
            x0 + 0.5, y0 + h - 0.55, title, size=14, ha="left", va="center", fontweight="bold"
        )


# ------------------------------------------------------------------------------------------
# 1. the QMIX architecture
# ------------------------------------------------------------------------------------------
def _draw_mixing_network(c: Canvas, ox: float, oy: float) -> None:
    """Panel (a): Q_a in, a hypernetwork-weighted ELU layer, Q_tot out, s_t on the right."""
    xc = ox + 4.0  # the mixing network's axis
    q_y, hid_y, out_y = oy + 1.5, oy + 5.6, oy + 9.7
    w1_y, w2_y = (q_y + hid_y) / 2, (hid_y + out_y) / 2

    inputs = [
        c.circle(xc + dx, q_y, 0.6, label, edge=MIXER, face="white", size=13)
        for dx, label in ((-2.6, "$Q_1$"), (-0.9, "$Q_2$"), (2.6, "$Q_n$"))
    ]
    c.text(xc + 0.85, q_y, r"$\cdots$", size=15)
    hidden_box = c.box(xc, hid_y, 7.2, 1.3, edge=MIXER, face=MIXER_FILL, rounding=0.45)
    neurons = [
        c.circle(xc + dx, hid_y, 0.34, edge=MIXER, face="white")
        for dx in (-2.8, -1.4, 0.0, 1.4, 2.8)
    ]
    out = c.circle(xc, out_y, 0.68, "$Q_{tot}$", edge=MIXER, face=MIXER_FILL, size=13)

    # the mixing weights are drawn in the hypernetwork colour: they are its outputs
    for q in inputs:
        for n in neurons:
            c.line([q.x, n.x], [q.y + 0.6, n.y - 0.34], color=HYPER, lw=1.0, alpha=0.55)
    for n in neurons:
        c.line([n.x, out.x], [n.y + 0.34, out.y - 0.68], color=HYPER, lw=1.0, alpha=0.55)
    c.text(
        hidden_box.x - 3.35, hid_y + 0.95, "ELU", size=12, color=MIXER, ha="left", fontweight="bold"
    )
    c.arrow(out.top, (xc, out_y + 1.45), color=MIXER, lw=1.8)
    c.text(xc, out_y + 1.85, rf"$Q_{{tot}}({BTAU},\mathbf{{u}})$", size=14)

    # hypernetworks: one per mixing parameter, all reading the state
    hx, habs = ox + 11.2, ox + 8.65
    specs = (
        ("hyper_w_1", w1_y, r"$|W_1|$", True),
        ("hyper_b_1", hid_y, r"$b_1$", False),
        ("hyper_w_final", w2_y, r"$|W_2|$", True),
        ("V", out_y, r"$V(s)$", False),
    )
    bus_x = ox + 13.85
    for name, y, symbol, uses_abs in specs:
        box = c.box(
            hx, y, 3.3, 0.95, name, edge=HYPER, face=HYPER_FILL, size=10.5, family="monospace"
        )
        c.line([bus_x, box.right[0] + 0.02], [y, y], color=HYPER, lw=1.5)
        c.arrow((bus_x - 0.05, y), box.right, color=HYPER, lw=1.5)
        if uses_abs:
            absn = c.circle(habs, y, 0.42, r"$|\cdot|$", edge=HYPER, face="white", size=11)
            c.arrow(box.left, absn.right, color=HYPER)
            start = absn.left
        else:
            start = box.left
        target_x = {
            w1_y: xc + 3.05,
            hid_y: hidden_box.right[0],
            w2_y: xc + 1.85,
            out_y: out.right[0],
        }[y]
        c.arrow(start, (target_x, y), color=HYPER, lw=1.6)
        label_x = (start[0] + target_x) / 2
        if uses_abs:
            c.text(label_x + 0.05, y + 0.5, symbol, size=12.5, color=HYPER, backdrop=PANEL_FILL)
        else:
            c.text(
                (start[0] + target_x) / 2,
                y + 0.5,
                symbol,
                size=12.5,
                color=HYPER,
                backdrop=PANEL_FILL,
            )
    c.text(hx, out_y + 0.95, "Linear-ReLU-Linear", size=9.5, color=HYPER)
    s_node = c.box(bus_x, q_y, 1.4, 1.0, "$s_t$", edge=INPUT, face="white", size=14)
    c.line([bus_x, bus_x], [s_node.top[1], out_y], color=HYPER, lw=1.5)
    c.text(
        ox + 7.0,
        oy + 0.45,
        "weights from hypernetworks; $|\\cdot|$ keeps them $\\geq 0$",
        size=10.5,
        color=HYPER,
    )


def _draw_overall(c: Canvas, ox: float, oy: float) -> None:
    """Panel (b): n agent networks feed their chosen Q_a, with s_t, into the mixing network."""
    mixer = c.box(
        ox + 5.0, oy + 8.2, 8.6, 1.6, "Mixing network", edge=MIXER, face=MIXER_FILL, size=14
    )
    c.arrow(mixer.top, (mixer.x, oy + 10.65), color=MIXER, lw=1.8)
    c.text(mixer.x, oy + 11.05, rf"$Q_{{tot}}({BTAU},\mathbf{{u}})$", size=14)
    s_box = c.box(ox + 11.6, mixer.y, 1.4, 1.0, "$s_t$", edge=INPUT, face="white", size=14)
    c.arrow(s_box.left, mixer.right, color=INPUT)

    for x, a in ((ox + 2.3, "1"), (ox + 7.7, "n")):
        agent = c.box(x, oy + 3.8, 3.2, 1.5, f"Agent {a}", edge=AGENT, face=AGENT_FILL, size=13.5)
        c.arrow(agent.top, (x, mixer.bottom[1]), color=AGENT)
        c.text(x, oy + 6.05, rf"$Q_{a}(\tau^{a},u^{a}_t)$", size=12.5, backdrop=PANEL_FILL)
        c.arrow((x, oy + 1.75), agent.bottom, color=INPUT)
        c.text(x, oy + 1.3, rf"$(o^{a}_t,\,u^{a}_{{t-1}})$", size=12.5)
    c.text(ox + 5.0, oy + 3.8, r"$\cdots$", size=16)


def _draw_agent(c: Canvas, ox: float, oy: float) -> None:
    """Panel (c): the DRQN agent network with its recurrence and action selection."""
    xc = ox + 4.6
    inputs = [
        c.box(xc + dx, oy + 1.45, w, 0.95, label, edge=INPUT, face="white", size=13)
        for dx, w, label in ((-2.6, 1.5, "$o^a_t$"), (0.0, 1.8, "$u^a_{t-1}$"), (2.6, 1.5, "$a$"))
    ]
    for node, note in zip(inputs, ("observation", "last action", "agent id"), strict=True):
        c.text(node.x, oy + 0.55, note, size=10, color="#555555")
    fc1 = c.box(xc, oy + 3.55, 6.8, 1.0, "Linear + ReLU", edge=AGENT, face=AGENT_FILL, size=12.5)
    for node in inputs:
        c.arrow(node.top, (node.x, fc1.bottom[1]), color=INPUT)
    gru = c.box(
        xc, oy + 5.85, 6.8, 1.3, "GRU", edge=AGENT, face=RNN_FILL, size=13.5, fontweight="bold"
    )
    c.arrow(fc1.top, gru.bottom, color=AGENT)
    # the hidden state leaves on the right and comes back for the next step
    top_y, low_y = gru.y + 0.35, gru.y - 0.35
    c.arrow(
        (gru.right[0], top_y),
        (gru.right[0], low_y),
        color=AGENT,
        lw=1.6,
        connection="arc,angleA=0,angleB=0,armA=55,armB=55,rad=12",
    )
    c.text(gru.right[0] + 0.55, top_y + 0.45, "$h^a_t$", size=12.5, ha="left")
    c.text(gru.right[0] + 0.55, low_y - 0.5, "$h^a_{t-1}$", size=12.5, ha="left")
    fc2 = c.box(xc, oy + 8.0, 6.8, 1.0, "Linear", edge=AGENT, face=AGENT_FILL, size=12.5)
    c.arrow(gru.top, fc2.bottom, color=AGENT)

    # Q_a(tau^a, .) as one cell per action, the greedy one marked
    values = np.array([0.3, 0.9, 0.5, 0.1, 0.6])
    cell, q_y = 0.75, oy + 9.85
    x0 = xc - cell * len(values) / 2
    best = int(values.argmax())
    for i, v in enumerate(values):
        c.ax.add_patch(
            Rectangle(
                (x0 + i * cell, q_y - cell / 2),
                cell,
                cell,
                facecolor=mpl.colormaps["Greens"](0.15 + 0.7 * v),
                edgecolor=AGENT if i != best else HYPER,
                linewidth=1.2 if i != best else 2.6,
                zorder=4 if i != best else 5,
            )
        )
    c.arrow(fc2.top, (xc, q_y - cell / 2), color=AGENT)
    c.text(x0 - 0.25, q_y, r"$Q_a(\tau^a,\cdot)$", size=12.5, ha="right")
    select = c.box(
        xc, oy + 11.55, 3.6, 0.95, r"$\epsilon$-greedy", edge=INPUT, face="white", size=12.5
    )
    c.arrow((xc, q_y + cell / 2), select.bottom, color=INPUT)
    c.arrow(select.right, (select.right[0] + 1.35, select.y), color=INPUT)
    c.text(select.right[0] + 1.5, select.y, "$u^a_t$", size=13.5, ha="left")
    c.text(
        xc,
        oy + 12.45,
        r"acting: $\epsilon$-greedy; evaluation: $\arg\max$",
        size=10,
        color="#555555",
    )


@register("qmix_architecture")
def qmix_architecture(out_dir: Path) -> list[Path]:
    """QMIX in three panels: (a) mixing network, (b) overall structure, (c) DRQN agent."""
    height = 14.2
    widths = (15.3, 13.2, 12.2)
    gap = 0.5
    c = Canvas(sum(widths) + 2 * gap + 0.4, height)
    x = 0.2
    titles = ("(a) Mixing network", "(b) Overall QMIX architecture", "(c) Agent network (DRQN)")
    drawers = (_draw_mixing_network, _draw_overall, _draw_agent)
    for w, title, draw in zip(widths, titles, drawers, strict=True):
        c.panel(x, 0.2, w, height - 0.4, title)
        draw(c, x + 0.3, 0.3)
        x += w + gap
    return save_figure(c.fig, out_dir, "qmix_architecture")


# ------------------------------------------------------------------------------------------
# 2. argmax consistency (IGM)
# ------------------------------------------------------------------------------------------
def monotonic_mix(
    agent_qs: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: float
) -> np.ndarray:
    """A QMIX-style mixing function in numpy: ``|w2|^T ELU(|w1|^T q + b1) + b2``.

    ``agent_qs`` is ``[..., n]``, ``w1`` ``[n, hidden]``, ``b1`` and ``w2`` ``[hidden]``.
    Taking ``abs`` of the weights makes every path from ``q_a`` to the output
    non-decreasing, so the result is monotonic in each ``q_a``.
    """
    hidden = agent_qs @ np.abs(w1) + b1
    hidden = np.where(hidden > 0, hidden, np.expm1(np.minimum(hidden, 0.0)))  # ELU
    return hidden @ np.abs(w2) + b2


def argmax_consistency_example(
    seed: int = 7, n_actions: int = 3, hidden: int = 8
) -> dict[str, Any]:
    """Two agents' Q-values and the joint Q_tot a random monotonic mixer makes of them.

    Returns ``q1`` and ``q2`` ``[n_actions]``, ``q_tot`` ``[n_actions, n_actions]`` (rows:
    agent 1's action), the per-agent greedy actions ``greedy`` and the joint greedy action
    ``joint_greedy``, which IGM says are equal.
    """
    rng = np.random.default_rng(seed)
    q1 = np.round(rng.uniform(-1.0, 2.0, n_actions), 2)
    q2 = np.round(rng.uniform(-1.0, 2.0, n_actions), 2)
    w1 = rng.normal(size=(2, hidden))
    b1 = rng.normal(size=hidden)
    w2 = rng.normal(size=hidden)
    b2 = float(rng.normal())
    joint = np.stack(np.meshgrid(q1, q2, indexing="ij"), axis=-1)  # [n_actions, n_actions, 2]
    q_tot = monotonic_mix(joint, w1, b1, w2, b2)
    joint_greedy = tuple(int(i) for i in np.unravel_index(np.argmax(q_tot), q_tot.shape))
    return {
        "q1": q1,
        "q2": q2,
        "q_tot": q_tot,
        "greedy": (int(np.argmax(q1)), int(np.argmax(q2))),
        "joint_greedy": joint_greedy,
    }


@register("argmax_consistency")
def argmax_consistency(out_dir: Path) -> list[Path]:
    """Per-agent Q bars beside the joint Q_tot grid of a monotonic mixer: the argmaxes agree."""
    ex = argmax_consistency_example()
    names = ["A", "B", "C", "D", "E"][: len(ex["q1"])]
    highlight, plain = ALGO_COLORS["qmix"], "#BBBBBB"
    with style():
        fig = Figure(figsize=(8.0, 6.2), layout="constrained")
        grid = fig.add_gridspec(2, 2, width_ratios=(1, 2.1), height_ratios=(1, 2.1))
        ax_grid = fig.add_subplot(grid[1, 1])
        ax_q1 = fig.add_subplot(grid[1, 0], sharey=ax_grid)
        ax_q2 = fig.add_subplot(grid[0, 1], sharex=ax_grid)
        ax_text = fig.add_subplot(grid[0, 0])
        ax_text.axis("off")

        plot_q_table(ax_grid, ex["q_tot"], None, "", "", action_names=names)
        ax_grid.xaxis.set_ticks_position("bottom")
        ax_grid.xaxis.set_label_position("bottom")
        ax_grid.set_xlabel("agent 2 action $u^2$")
        ax_grid.set_ylabel("")
        ax_grid.tick_params(labelleft=False)
        ax_grid.set_title(r"$Q_{tot}(u^1,u^2)$ from a monotonic mixer", fontsize=12, pad=6)

        rows = np.arange(len(ex["q1"]))
        colors1 = [highlight if i == ex["greedy"][0] else plain for i in rows]
        ax_q1.barh(rows, ex["q1"], height=0.6, color=colors1)
        ax_q1.invert_xaxis()  # bars grow away from the grid they explain
        ax_q1.axvline(0, color="#4D4D4D", linewidth=0.8)
        ax_q1.set_ylabel("agent 1 action $u^1$")
        ax_q1.set_xlabel("$Q_1(u^1)$")
        ax_q1.grid(axis="y", visible=False)
        ax_q1.tick_params(axis="y", length=0)
        for i, v in zip(rows, ex["q1"], strict=True):
            ax_q1.text(
                v, i, f" {v:.2f} ", ha="right" if v >= 0 else "left", va="center", fontsize=10
            )

        cols = np.arange(len(ex["q2"]))
        colors2 = [highlight if j == ex["greedy"][1] else plain for j in cols]
        ax_q2.bar(cols, ex["q2"], width=0.6, color=colors2)
        ax_q2.axhline(0, color="#4D4D4D", linewidth=0.8)
        ax_q2.set_ylabel("$Q_2(u^2)$")
        ax_q2.tick_params(labelbottom=False, axis="x", length=0)
        ax_q2.grid(axis="x", visible=False)
        for j, v in zip(cols, ex["q2"], strict=True):
            ax_q2.text(j, v, f"{v:.2f}", ha="center", va="bottom" if v >= 0 else "top", fontsize=10)
        pad = 0.25 * np.ptp(np.r_[ex["q2"], 0.0])
        ax_q2.set_ylim(
            min(ex["q2"].min(), 0) - pad * (ex["q2"].min() < 0), max(ex["q2"].max(), 0) + pad
        )
        pad = 0.35 * np.ptp(np.r_[ex["q1"], 0.0])
        ax_q1.set_xlim(
            max(ex["q1"].max(), 0) + pad, min(ex["q1"].min(), 0) - pad * (ex["q1"].min() < 0)
        )

        g1, g2 = ex["greedy"]
        ax_text.text(
            0.0,
            0.5,
            "Each agent picks its own\ngreedy action:\n"
            f"$u^1 = {names[g1]}$, $u^2 = {names[g2]}$.\n\n"
            "The joint greedy action\nof $Q_{tot}$ is the same pair,\n"
            f"$({names[ex['joint_greedy'][0]]}, {names[ex['joint_greedy'][1]]})$: no search over\n"
            "joint actions needed.",
            transform=ax_text.transAxes,
            va="center",
            ha="left",
            fontsize=10.5,
        )
    return save_figure(fig, out_dir, "argmax_consistency", png_width_px=1200)


# ------------------------------------------------------------------------------------------
# 3. the joint action space
# ------------------------------------------------------------------------------------------
@register("joint_action_growth")
def joint_action_growth(out_dir: Path) -> list[Path]:
    """``|U|^n`` joint actions against ``n|U|`` evaluations for per-agent maximisation."""
    n = np.arange(1, 11)
    shades = mpl.colormaps["viridis"]([0.05, 0.45, 0.75])
    with style():
        fig = Figure(figsize=(7.2, 4.4), layout="constrained")
        ax = fig.subplots()
        for n_actions, color in zip((2, 5, 10), shades, strict=True):
            ax.plot(
                n,
                float(n_actions) ** n,
                color=color,
                marker="o",
                markersize=4,
                label=f"$|U| = {n_actions}$",
            )
            ax.plot(
                n,
                n * n_actions,
                color=color,
                linestyle="--",
                marker="o",
                markersize=3,
                markerfacecolor="white",
            )
        ax.set_yscale("log")
        ax.set_xticks(n)
        ax.set_xlabel("number of agents $n$")
        ax.set_ylabel("Q-values to compare for the greedy action")
        ax.set_title("Centralised argmax is exponential, decentralised argmax is linear")
        first = ax.legend(loc="upper left", title="actions per agent")
        style_handles = [
            Line2D([], [], color=INK, label=r"joint: $|U|^n$"),
            Line2D([], [], color=INK, linestyle="--", label=r"per agent: $n\,|U|$"),
        ]
        ax.add_artist(first)
        ax.legend(handles=style_handles, loc="upper center", title="maximisation")
        ax.annotate(
            "$10^{10}$ vs $100$",
            xy=(10, 1e10),
            xytext=(8.2, 1e10),
            fontsize=10.5,
            va="center",
            ha="right",
            arrowprops={"arrowstyle": "-|>", "color": "#555555"},
        )
    return save_figure(fig, out_dir, "joint_action_growth", png_width_px=1200)


# ------------------------------------------------------------------------------------------
# 4. VDN vs QMIX
# ------------------------------------------------------------------------------------------
@register("vdn_vs_qmix_structure")
def vdn_vs_qmix_structure(out_dir: Path) -> list[Path]:
    """VDN's plain sum beside QMIX's state-conditioned monotonic mixing network."""
    vdn, qmix = ALGO_COLORS["vdn"], ALGO_COLORS["qmix"]
    c = Canvas(24.4, 9.6, scale=0.36)
    for ox, title in ((0.2, "VDN: sum"), (12.4, "QMIX: monotonic mixing")):
        c.panel(ox, 0.2, 11.8, 9.2, title)
    for ox, color, fill in ((0.2, vdn, "#FCEBC6"), (12.4, qmix, MIXER_FILL)):
        xc = ox + 5.0
        qs = [
            c.circle(xc + dx, 1.6, 0.6, s, edge=color, face="white")
            for dx, s in ((-3.0, "$Q_1$"), (-1.2, "$Q_2$"), (3.0, "$Q_n$"))
        ]
        c.text(xc + 0.9, 1.6, r"$\cdots$", size=15)
        if color == vdn:
            mix = c.circle(xc, 5.1, 0.85, r"$\Sigma$", edge=color, face=fill, size=18)
            c.text(xc, 7.95, r"$Q_{tot} = \sum_a Q_a$", size=13)
        else:
            mix = c.box(xc, 5.1, 5.6, 1.6, "", edge=color, face=fill)
            c.text(xc, 5.35, "mixing network", size=13)
            c.text(xc, 4.7, r"weights $\geq 0$, ELU", size=10.5, color="#444444")
            s = c.box(xc + 5.1, 5.1, 1.3, 1.0, "$s_t$", edge=INPUT, face="white", size=14)
            c.arrow(s.left, mix.right, color=HYPER)
            c.text(s.x, 6.05, "hypernetworks", size=10, color=HYPER)
            c.text(xc, 7.95, r"$\partial Q_{tot}/\partial Q_a \geq 0$", size=13)
        for q in qs:
            dx = np.clip((q.x - mix.x) * 0.25, -mix.w / 2 + 0.3, mix.w / 2 - 0.3)
            c.arrow(
                q.top, (mix.x + dx, mix.bottom[1] if color == qmix else mix.y - 0.82), color=color
            )
        c.arrow(mix.top, (xc, 7.35), color=color, lw=1.8)
    return save_figure(c.fig, out_dir, "vdn_vs_qmix_structure", png_width_px=1200)


# ------------------------------------------------------------------------------------------
# result plots of the full-length runs stored in figures/data/
# ------------------------------------------------------------------------------------------
# The reference implementation's greedy test return on simple_spread (3 agents, 25 steps,
# summed team reward), as measured for the cooperative MARL benchmark's QMIX configuration
# on the same machine type: (env steps, return).
REFERENCE_SIMPLE_SPREAD = ((0, -176.0), (30_000, -60.9), (50_000, -56.9), (160_000, -52.4),
                           (330_000, -48.6))  # fmt: skip
# The reference on Foraging-8x8-2p-2f-coop-v3: greedy return never above 0.05 within
# 430,000 steps (15 minutes) on any of 3 seeds: (steps, return).
REFERENCE_LBF_NEVER_ABOVE = (430_000, 0.05)


def _data_file(relative: str, made_by: str) -> Path:
    path = DATA_DIR / relative
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; it is made by: {made_by} ({missing_data_hint()})"
        )
    return path


def stored_curves(
    task: str, key: str = "eval_return"
) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Learning curves stored as ``figures/data/<task>/<algo>_seed<S>.csv``: algo -> [(x, y)]."""
    from .train import read_history_csv

    folder = _data_file(task, f"the commands in figures/data/{task}/COMMANDS.md")
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for path in sorted(folder.glob("*_seed*.csv")):
        algo = path.stem.rsplit("_seed", 1)[0]
        rows = read_history_csv(path)
        x = np.array([r["env_steps"] for r in rows], dtype=np.float64)
        y = np.array([r[key] for r in rows], dtype=np.float64)
        curves.setdefault(algo, []).append((x, y))
    if not curves:
        raise FileNotFoundError(f"{folder} holds no <algo>_seed<S>.csv learning curves")
    order = [a for a in ALGO_COLORS if a in curves] + [a for a in curves if a not in ALGO_COLORS]
    return {a: curves[a] for a in order}


def _curves_figure(task: str, title: str, ylabel: str) -> Figure:
    from .plotting import plot_learning_curves

    curves = stored_curves(task)
    with style():
        fig = Figure(figsize=(6.4, 4.0), layout="constrained")
        ax = fig.subplots()
        plot_learning_curves(ax, curves, ylabel=ylabel, title=title, legend=False)
        if task == "simple_spread":
            x, y = zip(*REFERENCE_SIMPLE_SPREAD, strict=True)
            ax.plot(x, y, "s--", color=ALGO_COLORS["paper"], markersize=5, linewidth=1.2,
                    label="reference implementation (QMIX)")  # fmt: skip
            longest = max(xs.max() for runs in curves.values() for xs, _ in runs)
            ax.set_xlim(0, longest * 1.02)
        if task == "lbf":
            end = REFERENCE_LBF_NEVER_ABOVE[0]
            ax.plot([0, end], [REFERENCE_LBF_NEVER_ABOVE[1]] * 2, "--",
                    color=ALGO_COLORS["paper"], linewidth=1.5,
                    label="reference QMIX (< 0.05 to 430k)")  # fmt: skip
            ax.set_ylim(-0.03, 1.05)
        ax.legend(loc="upper left" if task == "lbf" else "lower right")
    return fig


@register("simple_spread_curves")
def simple_spread_curves(out_dir: Path) -> list[Path]:
    """Greedy test return of the stored simple_spread runs, mean and 95% bootstrap band."""
    fig = _curves_figure(
        "simple_spread", "MPE simple_spread (3 agents, 25 steps)", "greedy test return"
    )
    return save_figure(fig, out_dir, "simple_spread_curves", png_width_px=1000)


@register("lbf_curves")
def lbf_curves(out_dir: Path) -> list[Path]:
    """Greedy test return of the stored Level-Based Foraging runs, mean and 95% band."""
    fig = _curves_figure(
        "lbf", "LBF Foraging-8x8-2p-2f-coop (2 agents, 50 steps)", "greedy test return"
    )
    return save_figure(fig, out_dir, "lbf_curves", png_width_px=1000)


@register("two_step_tables")
def two_step_tables(out_dir: Path) -> list[Path]:
    """QMIX's and VDN's learned two-step Q_tot tables (median over seeds) beside the paper's."""
    from .analysis import PAPER_TWO_STEP

    path = _data_file(
        "two_step_paper.json",
        "python benchmarks/two_step_paper.py --json figures/data/two_step_paper.json",
    )
    data = json.loads(path.read_text())
    algos = [a for a in ("qmix", "vdn") if a in data]
    states = ("1", "2A", "2B")
    # one colour scale for every table, so equal values look equal across panels
    lo, hi = -2.0, 8.0
    with style():
        fig = Figure(figsize=(11, 2.7 * 2 * len(algos)), layout="constrained")
        axes = fig.subplots(2 * len(algos), 3)
        for i, algo in enumerate(algos):
            seeds = len(data[algo]["returns"])
            for j, key in enumerate(states):
                ours = np.array(data[algo]["median_tables"][key])
                paper = np.asarray(PAPER_TWO_STEP[algo][key])
                plot_q_table(axes[2 * i, j], ours,
                             f"{algo.upper()} ours (median of {seeds}), {key}",
                             action_names=("A", "B"), vmin=lo, vmax=hi)  # fmt: skip
                plot_q_table(axes[2 * i + 1, j], paper, f"{algo.upper()} paper, {key}",
                             action_names=("A", "B"), vmin=lo, vmax=hi)  # fmt: skip
        fig.suptitle("Two-step game: learned $Q_{tot}$ beside Rashid et al. (2018), Table 1",
                     fontweight="bold")  # fmt: skip
    return save_figure(fig, out_dir, "two_step_tables", png_width_px=1200)


# ------------------------------------------------------------------------------------------
# entry points
# ------------------------------------------------------------------------------------------
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


if __name__ == "__main__":
    raise SystemExit(main())
