"""A small toolkit for box-and-arrow diagrams in the course style: shapes placed in data
units on one axes with equal aspect, so text and shapes keep their proportions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from ..plotting import ALGO_COLORS, OKABE_ITO

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
