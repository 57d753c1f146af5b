"""One plotting style for the whole course: colours, labels, learning curves, Q tables.

Every plot in the notebooks, the command line and ``figures/`` draws an algorithm in the
same colour, so a reader who has learned "QMIX is blue" never has to look at a legend again.

>>> import matplotlib.pyplot as plt
>>> import numpy as np
>>> from qmix_tut.plotting import plot_learning_curves, plot_q_table, style
>>> x = np.arange(10.0)
>>> with style():
...     fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
...     _ = plot_learning_curves(ax1, {"qmix": [(x, x), (x, x + 1)], "vdn": [(x, 0.5 * x)]})
...     _ = plot_q_table(ax2, np.array([[8.0, 1.0], [1.0, 0.0]]), "learned $Q_{tot}$")
>>> plt.close(fig)

The functions that draw into an existing ``ax`` return it, so they compose with any layout;
the ``*_figure`` functions build a complete :class:`matplotlib.figure.Figure` (no pyplot
state), which the command line saves to disk.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import algorithms

# The Okabe-Ito palette, designed to stay distinguishable under the common forms of colour
# blindness. Its yellow is darkened here because the original is nearly invisible as a thin
# line on white. QMIX and its ablations get the cool colours, the additive baselines warm ones.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#C9B200",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#8C8C8C",
}

ALGO_COLORS: dict[str, str] = {
    "iql": OKABE_ITO["bluish_green"],
    "vdn": OKABE_ITO["orange"],
    "vdn_s": OKABE_ITO["reddish_purple"],
    "qmix": OKABE_ITO["blue"],
    "qmix_ns": OKABE_ITO["sky_blue"],
    "qmix_lin": OKABE_ITO["vermillion"],
    "coma": "#882255",  # wine: the palette's eight are taken, and COMA is the other road
    "wqmix": OKABE_ITO["yellow"],
    "random": OKABE_ITO["grey"],
    "paper": OKABE_ITO["black"],
}

ALGO_LABELS: dict[str, str] = {
    **{name: algorithms.label(name) for name in algorithms.ALGOS},
    "wqmix": "OW-QMIX",
    "random": "random",
    "paper": "paper",
}
"""Display names: the registry's (:func:`qmix_tut.algorithms.label`) plus the plot-only ones."""

# Sized for figures 6-10 inches wide shown at 400-800 px: text stays at least ~9 px tall.
STYLE_RC: dict[str, Any] = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.dpi": 150,
    "savefig.facecolor": "white",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#D9D9D9",
    "grid.linewidth": 0.7,
    "grid.alpha": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#4D4D4D",
    "axes.prop_cycle": mpl.cycler(
        color=[ALGO_COLORS[k] for k in ("qmix", "vdn", "iql", "qmix_lin", "vdn_s", "qmix_ns")]
    ),
    "lines.linewidth": 2.0,
    "image.cmap": "viridis",
}

BAND_CHOICES = ("ci95", "minmax", None)


def algo_color(name: str) -> str:
    """The course-wide colour of an algorithm, e.g. ``algo_color("qmix") == "#0072B2"``."""
    try:
        return ALGO_COLORS[name]
    except KeyError:
        raise ValueError(
            f"unknown algorithm {name!r}; algorithms with a colour: {', '.join(ALGO_COLORS)}"
        ) from None


def algo_label(name: str) -> str:
    """The display name of an algorithm (``"qmix_ns" -> "QMIX-NS"``); unknown names pass through."""
    return ALGO_LABELS.get(name, name)


def apply_style() -> None:
    """Switch the course style on for the rest of the session (e.g. at the top of a notebook)."""
    mpl.rcParams.update(STYLE_RC)


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The course style for the plots made inside a ``with style():`` block only."""
    with mpl.rc_context(STYLE_RC):
        yield


# ------------------------------------------------------------------------------------------
# statistics
# ------------------------------------------------------------------------------------------
def bootstrap_ci(
    values: np.ndarray | Sequence[float] | Sequence[Sequence[float]],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap confidence interval of the mean across seeds.

    ``values`` has shape ``[seeds]`` or ``[seeds, points]``; seeds are resampled with
    replacement (whole curves at once, so the points of one seed stay together) and the
    returned ``(low, high)`` have shape ``values.shape[1:]``. A fixed ``seed`` makes the
    interval reproducible.

    >>> low, high = bootstrap_ci([1.0, 2.0, 3.0, 4.0])
    >>> bool(low < 2.5 < high)
    True
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim not in (1, 2) or values.shape[0] == 0:
        raise ValueError(f"values must have shape [seeds] or [seeds, points], got {values.shape}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive, got {n_boot}")
    rng = np.random.default_rng(seed)
    n_seeds = values.shape[0]
    resampled = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    means = values[resampled].mean(axis=1)  # [n_boot, *points]
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha], axis=0)
    return low, high


def common_grid(
    runs: Sequence[tuple[np.ndarray, np.ndarray]], n_points: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Put runs logged at different x values onto one grid: returns ``(x, y[runs, points])``.

    Runs that share their x values are stacked as they are; otherwise each is linearly
    interpolated on ``n_points`` points spanning the x range that every run covers, so no
    run is extrapolated.
    """
    cleaned = []
    for x, y in runs:
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError(f"x and y must be 1-D and of one length, got {x.shape} and {y.shape}")
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        order = np.argsort(x, kind="stable")
        cleaned.append((x[order], y[order]))
    if not cleaned or any(len(x) == 0 for x, _ in cleaned):
        raise ValueError("every run needs at least one finite (x, y) point")
    first_x = cleaned[0][0]
    if all(len(x) == len(first_x) and np.array_equal(x, first_x) for x, _ in cleaned):
        return first_x, np.stack([y for _, y in cleaned])
    start = max(x[0] for x, _ in cleaned)
    stop = min(x[-1] for x, _ in cleaned)
    if start > stop:
        raise ValueError(
            f"the runs' x ranges do not overlap (latest start {start}, earliest end {stop})"
        )
    grid = np.linspace(start, stop, n_points) if stop > start else np.array([start])
    return grid, np.stack([np.interp(grid, x, y) for x, y in cleaned])


# ------------------------------------------------------------------------------------------
# learning curves
# ------------------------------------------------------------------------------------------
def _series_color(name: str, index: int) -> str:
    if name in ALGO_COLORS:
        return ALGO_COLORS[name]
    cycle = STYLE_RC["axes.prop_cycle"].by_key()["color"]
    return cycle[index % len(cycle)]


def plot_learning_curves(
    ax: Axes,
    curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]],
    xlabel: str = "environment steps",
    ylabel: str = "return",
    band: str | None = "ci95",
    title: str | None = None,
    reference: Mapping[str, float] | None = None,
    n_points: int = 200,
    legend: bool = True,
) -> Axes:
    """Mean learning curve per algorithm over seeds, with a band.

    ``curves`` maps an algorithm name (``"qmix"``, ``"vdn"``, ...) to one ``(x, y)`` pair per
    seed. ``band`` is ``"ci95"`` (95% bootstrap interval of the mean across seeds),
    ``"minmax"`` (range across seeds) or ``None``. ``reference`` draws labelled horizontal
    dashed lines, e.g. ``{"optimal": 8.0}`` or a paper's final value.
    """
    if band not in BAND_CHOICES:
        raise ValueError(f"band must be one of {BAND_CHOICES}, got {band!r}")
    for i, (name, runs) in enumerate(curves.items()):
        x, ys = common_grid(runs, n_points)
        color = _series_color(name, i)
        label = algo_label(name) + (f" ({len(ys)} seeds)" if len(ys) > 1 else "")
        ax.plot(x, ys.mean(axis=0), color=color, label=label)
        if band is not None and len(ys) > 1:
            low, high = bootstrap_ci(ys) if band == "ci95" else (ys.min(axis=0), ys.max(axis=0))
            ax.fill_between(x, low, high, color=color, alpha=0.2, linewidth=0)
    for name, value in (reference or {}).items():
        ax.axhline(value, color=ALGO_COLORS["paper"], linestyle="--", linewidth=1.2, alpha=0.8)
        ax.annotate(
            name,
            xy=(1.0, value),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize="small",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if legend and curves:
        ax.legend(loc="best")
    return ax


def learning_curve_figure(
    history: Sequence[Mapping[str, float]], title: str | None = None
) -> Figure:
    """One run's history (``Result.history``): returns on the left, loss and epsilon on the right."""
    with style():
        fig = Figure(figsize=(10, 3.8), layout="constrained")
        ax_ret, ax_loss = fig.subplots(1, 2)
        if not history:
            ax_ret.text(0.5, 0.5, "no evaluations yet", ha="center", transform=ax_ret.transAxes)
            return fig
        steps = np.array([row["env_steps"] for row in history], dtype=np.float64)
        for key, label, ls in (
            ("eval_return", "greedy (eval)", "-"),
            ("train_return", "training", ":"),
        ):
            if key in history[0]:
                y = np.array([row[key] for row in history], dtype=np.float64)
                ax_ret.plot(steps, y, linestyle=ls, color=ALGO_COLORS["qmix"], label=label)
        ax_ret.set(xlabel="environment steps", ylabel="return", title="return")
        ax_ret.legend(loc="best")
        if "loss" in history[0]:
            loss = np.array([row["loss"] for row in history], dtype=np.float64)
            ax_loss.plot(steps, loss, color=ALGO_COLORS["vdn"], label="TD loss")
            if np.all(loss[np.isfinite(loss)] > 0) and np.isfinite(loss).any():
                ax_loss.set_yscale("log")
        ax_loss.set(xlabel="environment steps", ylabel="loss", title="loss and exploration")
        if "epsilon" in history[0]:
            eps_ax = ax_loss.twinx()
            eps = np.array([row["epsilon"] for row in history], dtype=np.float64)
            eps_ax.plot(steps, eps, color=ALGO_COLORS["random"], linestyle="--", label="epsilon")
            eps_ax.set_ylim(0, 1.05)
            eps_ax.set_ylabel("epsilon")
            eps_ax.grid(False)
            eps_ax.spines["right"].set_visible(True)
            handles = ax_loss.get_legend_handles_labels()[0] + eps_ax.get_legend_handles_labels()[0]
            ax_loss.legend(handles=handles, loc="upper right")
        if title:
            fig.suptitle(title, fontweight="bold")
    return fig


def curves_figure(
    curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]],
    title: str,
    ylabel: str,
    reference: Sequence[tuple[float, float]] | None = None,
    ceiling: tuple[float, float] | None = None,
    reference_label: str = "reference",
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """Stored learning curves (mean and 95% band per algorithm) beside a reference run.

    ``reference``: the reference's (env steps, return) points, drawn as a dashed line with
    markers; ``ceiling``: ``(steps, value)``, a reference that never rose above ``value``
    within ``steps``, drawn as a dashed level line up to ``steps``.
    """
    with style():
        fig = Figure(figsize=(6.4, 4.0), layout="constrained")
        ax = fig.subplots()
        plot_learning_curves(ax, curves, ylabel=ylabel, title=title, legend=False)
        paper = ALGO_COLORS["paper"]
        if reference is not None:
            x, y = zip(*reference, strict=True)
            ax.plot(x, y, "s--", color=paper, markersize=5, linewidth=1.2, label=reference_label)
            longest = max(float(np.max(xs)) for runs in curves.values() for xs, _ in runs)
            ax.set_xlim(0, longest * 1.02)
        if ceiling is not None:
            end, value = ceiling
            ax.plot([0, end], [value, value], "--", color=paper, linewidth=1.5,
                    label=reference_label)  # fmt: skip
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.legend(loc="upper left" if ceiling is not None else "lower right")
    return fig


def two_step_tables_figure(
    data: Mapping[str, Any], paper: Mapping[str, Mapping[str, np.ndarray]]
) -> Figure:
    """Learned two-step Q_tot tables (``data[algo]["median_tables"]``, as
    ``benchmarks/two_step_paper.py`` writes them) above the paper's, QMIX then VDN."""
    algos = [a for a in ("qmix", "vdn") if a in data]
    if not algos:
        raise ValueError(f"data holds neither 'qmix' nor 'vdn' (keys: {', '.join(data)})")
    states = ("1", "2A", "2B")
    lo, hi = -2.0, 8.0  # one colour scale for every table, so equal values look equal
    with style():
        fig = Figure(figsize=(11, 2.7 * 2 * len(algos)), layout="constrained")
        axes = fig.subplots(2 * len(algos), 3)
        for i, algo in enumerate(algos):
            seeds = len(data[algo]["returns"])
            for j, key in enumerate(states):
                ours = np.array(data[algo]["median_tables"][key])
                plot_q_table(axes[2 * i, j], ours,
                             f"{algo.upper()} ours (median of {seeds}), {key}",
                             action_names=("A", "B"), vmin=lo, vmax=hi)  # fmt: skip
                plot_q_table(axes[2 * i + 1, j], np.asarray(paper[algo][key]),
                             f"{algo.upper()} paper, {key}",
                             action_names=("A", "B"), vmin=lo, vmax=hi)  # fmt: skip
        fig.suptitle("Two-step game: learned $Q_{tot}$ beside Rashid et al. (2018), Table 1",
                     fontweight="bold")  # fmt: skip
    return fig


def group_runs(results: Sequence[Any], key: str = "eval_return") -> dict[str, dict[str, Any]]:
    """Group finished runs by algorithm: final value mean and its 95% bootstrap CI across seeds.

    Each ``result`` needs ``result.config.algo`` and ``result.history`` (a :class:`Result`).
    Returns ``{algo: {"n", "mean", "low", "high", "finals", "results"}}``, algorithms in the
    course's usual order.
    """
    grouped: dict[str, list[Any]] = {}
    for result in results:
        grouped.setdefault(result.config.algo, []).append(result)
    order = [a for a in ALGO_COLORS if a in grouped] + [a for a in grouped if a not in ALGO_COLORS]
    out: dict[str, dict[str, Any]] = {}
    for algo in order:
        runs = grouped[algo]
        finals = np.array([r.history[-1][key] if r.history else math.nan for r in runs])
        finite = finals[np.isfinite(finals)]
        if len(finite):
            low, high = bootstrap_ci(finite)
            mean = float(finite.mean())
        else:
            low = high = mean = math.nan
        out[algo] = {
            "n": len(runs),
            "mean": mean,
            "low": float(low),
            "high": float(high),
            "finals": finals,
            "results": runs,
        }
    return out


def compare_figure(results: Sequence[Any], key: str = "eval_return") -> Figure:
    """Several runs grouped by algorithm: learning curves (95% CI) and final values with CIs."""
    groups = group_runs(results, key)
    with style():
        fig = Figure(figsize=(10, 4), layout="constrained")
        ax_curve, ax_final = fig.subplots(1, 2, width_ratios=(2.2, 1))
        curves = {
            algo: [(r.column("env_steps"), r.column(key)) for r in g["results"] if r.history]
            for algo, g in groups.items()
        }
        plot_learning_curves(
            ax_curve, {a: c for a, c in curves.items() if c}, ylabel=key.replace("_", " ")
        )
        names = list(groups)
        for i, algo in enumerate(names):
            g = groups[algo]
            color = _series_color(algo, i)
            jitter = np.linspace(-0.12, 0.12, len(g["finals"])) if len(g["finals"]) > 1 else [0.0]
            ax_final.scatter(
                i + np.asarray(jitter), g["finals"], color=color, alpha=0.45, s=18, zorder=2
            )
            if math.isfinite(g["mean"]):
                ax_final.errorbar(
                    i,
                    g["mean"],
                    yerr=[[g["mean"] - g["low"]], [g["high"] - g["mean"]]],
                    fmt="o",
                    color=color,
                    markersize=8,
                    capsize=5,
                    linewidth=2,
                    zorder=3,
                )
        ax_final.set_xticks(range(len(names)), [algo_label(a) for a in names])
        ax_final.set_xlim(-0.6, len(names) - 0.4)
        ax_final.set(ylabel=f"final {key.replace('_', ' ')}", title="final value, 95% CI")
    return fig


# ------------------------------------------------------------------------------------------
# Q tables
# ------------------------------------------------------------------------------------------
def _text_color(rgb: tuple[float, float, float]) -> str:
    # relative luminance (sRGB weights): dark cells get white numbers
    luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    return "black" if luminance > 0.5 else "white"


def plot_q_table(
    ax: Axes,
    table: np.ndarray,
    title: str | None = None,
    row_label: str = "agent 1 action",
    col_label: str = "agent 2 action",
    action_names: Sequence[str] | None = None,
    highlight_argmax: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
    fmt: str = "{:.2f}",
) -> Axes:
    """A 2-D table (e.g. learned Q_tot over joint actions) as a heat map with its numbers.

    Rows are agent 1's actions and columns agent 2's. Every cell holding the maximum is
    outlined (ties included), which is the greedy joint action. ``vmin``/``vmax`` fix the
    colour scale so several tables can be compared (see :func:`plot_payoff_comparison`).
    """
    table = np.asarray(table, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError(
            f"table must be 2-D [agent 1 actions, agent 2 actions], got shape {table.shape}"
        )
    n_rows, n_cols = table.shape
    if action_names is None:
        action_names = [chr(ord("A") + i) if i < 26 else str(i) for i in range(max(n_rows, n_cols))]
    if len(action_names) < max(n_rows, n_cols):
        raise ValueError(f"need {max(n_rows, n_cols)} action names, got {len(action_names)}")
    finite = table[np.isfinite(table)]
    vmin = float(finite.min()) if vmin is None and len(finite) else vmin
    vmax = float(finite.max()) if vmax is None and len(finite) else vmax
    image = ax.imshow(table, cmap=cmap, vmin=vmin, vmax=vmax, aspect="equal")
    cell_font = 12 if max(n_rows, n_cols) <= 3 else 10 if max(n_rows, n_cols) <= 5 else 8
    for i in range(n_rows):
        for j in range(n_cols):
            rgb = to_rgb(image.cmap(image.norm(table[i, j])))
            ax.text(
                j,
                i,
                fmt.format(table[i, j]),
                ha="center",
                va="center",
                fontsize=cell_font,
                color=_text_color(rgb),
            )
    if highlight_argmax and len(finite):
        best = np.argwhere(np.isclose(table, finite.max()))
        for i, j in best:
            # a white halo under the coloured edge keeps the outline visible on any cell colour
            for lw, color in ((5.0, "white"), (2.5, ALGO_COLORS["qmix_lin"])):
                ax.add_patch(
                    Rectangle(
                        (j - 0.47, i - 0.47), 0.94, 0.94, fill=False, edgecolor=color, linewidth=lw
                    )
                )
    ax.set_xticks(range(n_cols), action_names[:n_cols])
    ax.set_yticks(range(n_rows), action_names[:n_rows])
    ax.tick_params(length=0)
    ax.xaxis.set_ticks_position("top")
    ax.xaxis.set_label_position("top")
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, pad=8)
    return ax


def plot_payoff_comparison(
    axes: Sequence[Axes] | None,
    tables: Mapping[str, np.ndarray],
    shared_scale: bool = True,
    colorbar: bool = True,
    **table_kwargs: Any,
) -> list[Axes]:
    """Several 2-D tables side by side (e.g. the payoff, and Q_tot learned by VDN and QMIX).

    ``tables`` maps a panel title to its table. With ``shared_scale`` one colour means one
    value in every panel. Pass ``axes=None`` to get a new figure sized for the tables
    (reach it with ``axes[0].figure``). Extra keyword arguments go to :func:`plot_q_table`.
    """
    if not tables:
        raise ValueError("tables is empty")
    if axes is None:
        fig = Figure(figsize=(3.3 * len(tables) + 0.6, 3.4), layout="constrained")
        axes = list(np.atleast_1d(fig.subplots(1, len(tables))))
    axes = list(np.atleast_1d(axes))
    if len(axes) != len(tables):
        raise ValueError(f"got {len(axes)} axes for {len(tables)} tables")
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in tables.items()}
    if shared_scale:
        finite = np.concatenate([a[np.isfinite(a)].ravel() for a in arrays.values()])
        table_kwargs.setdefault("vmin", float(finite.min()) if len(finite) else None)
        table_kwargs.setdefault("vmax", float(finite.max()) if len(finite) else None)
    for ax, (title, table) in zip(axes, arrays.items(), strict=True):
        plot_q_table(ax, table, title, **table_kwargs)
    if colorbar:
        fig = axes[0].figure
        if shared_scale:
            fig.colorbar(axes[-1].images[-1], ax=axes, shrink=0.8, pad=0.02)
        else:
            for ax in axes:
                fig.colorbar(ax.images[-1], ax=ax, shrink=0.8, pad=0.02)
    return axes
