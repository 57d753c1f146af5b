"""Widgets of notebook 09, the experiment lab: a payoff editor that trains VDN and QMIX, a
mixer surface explorer, the grouping of the stored two-step runs (read by notebook 11), and
an explorer of stored sweeps on simple_spread that changes one setting at a time.

Each experiment is a plain function returning a dict (tested with pytest) and a function
drawing that dict as a :class:`~matplotlib.figure.Figure`; the ``*_widget()`` builders only
wire ipywidgets controls to them. Every builder returns its container with two extra
attributes: ``controls`` (name -> widget, so a test or a reader can set ``.value`` or call
``.click()``) and ``results`` (the latest output of the experiment function).

>>> import torch
>>> from qmix_tut.mixers import QMixer
>>> surface = mixer_surface(QMixer(2, 1, embed_dim=4), [0.5], n_points=5)
>>> surface["q_tot"].shape, surface["monotonic"]
((5, 5), True)
>>> interpolate_states([[0.0], [1.0], [3.0]], 1.5).tolist()
[2.0]
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from .._paths import missing_data_hint, stored_data_dir
from ..analysis import greedy_joint_action, q_tot_tables
from ..config import Config
from ..envs.games import NAMED_MATRIX_GAMES, validate_payoff
from ..plotting import (
    ALGO_COLORS,
    algo_label,
    bootstrap_ci,
    common_grid,
    plot_learning_curves,
    plot_q_table,
    style,
)
from ..rundir import RESUMABLE_CHANGES
from ..train import read_history_csv, train
from ._common import figure_png, publish

__all__ = [
    "LAB_DATA_DIR",
    "LAB_FACTORS",
    "LAB_PAYOFFS",
    "LABEL_OFFSETS",
    "comparison_figure",
    "compare_runs",
    "factor_summary",
    "factor_values",
    "figure_png",
    "interpolate_states",
    "joint_action_name",
    "lab_config",
    "load_lab_runs",
    "load_sweep_runs",
    "mixer_explorer_widget",
    "mixer_surface",
    "mixer_surface_figure",
    "one_factor_groups",
    "payoff_experiment_figure",
    "payoff_lab_widget",
    "select_runs",
    "SWEEP_DATA_DIR",
    "SWEEP_FACTORS",
    "sweep_explorer_widget",
    "sweep_factor_figure",
    "train_on_payoff",
]

LAB_DATA_DIR = stored_data_dir() / "lab"

# Starting tables for the payoff editor (rows: agent 1's action, columns: agent 2's).
LAB_PAYOFFS: dict[str, list[list[float]]] = {
    "climbing": NAMED_MATRIX_GAMES["climbing"](),
    "penalty (k = -100)": NAMED_MATRIX_GAMES["penalty"](),
    "qtran": NAMED_MATRIX_GAMES["qtran"](),
    "two-step game, state 2B": [[0, 1], [1, 8]],
    "coordination": [[1, 0], [0, 1]],
    "additive (rows + columns)": [[0, 2], [1, 3]],
}

# The factors varied by the stored runs in figures/data/lab, with their display names.
LAB_FACTORS: dict[str, str] = {
    "algo": "algorithm",
    "lr": "learning rate",
    "eps": "epsilon schedule",
    "embed": "mixing embed",
}


def _square_payoff(payoff: Sequence | np.ndarray) -> np.ndarray:
    return validate_payoff(payoff, n_agents=2, min_actions=2)


def joint_action_name(joint: Sequence[int]) -> str:
    """Actions as the letters the tables use: ``joint_action_name((0, 2)) == "(A, C)"``."""
    return "(" + ", ".join(chr(ord("A") + int(u)) for u in joint) + ")"


# ------------------------------------------------------------------------------------------
# 1. the payoff editor: train VDN and QMIX on any two-agent matrix game
# ------------------------------------------------------------------------------------------
def lab_config(
    payoff: Sequence | np.ndarray, algo: str, steps: int = 1500, seed: int = 0, **overrides: Any
) -> Config:
    """The ``matrix`` preset on a custom payoff; ``algo`` may also be ``"wqmix"``
    (QMIX with the optimistic weighting of Weighted QMIX).

    >>> cfg = lab_config([[1, 0], [0, 1]], "wqmix", steps=500)
    >>> cfg.algo, cfg.weighting, cfg.env, cfg.total_steps
    ('qmix', 'ow', 'matrix', 500)
    """
    table = _square_payoff(payoff)
    extra: dict[str, Any] = {}
    if algo == "wqmix":
        algo, extra = "qmix", {"weighting": "ow", "weighting_alpha": 0.1}
    values = {
        "env": "matrix",
        "env_kwargs": {"payoff": table.tolist()},
        "algo": algo,
        "seed": seed,
        "total_steps": steps,
        "eval_interval": steps,  # evaluate at the start and the end only
        **extra,
        **overrides,
    }
    return Config.preset("matrix", **values)


def train_on_payoff(
    payoff: Sequence | np.ndarray,
    algos: Sequence[str] = ("vdn", "qmix"),
    steps: int = 1500,
    seed: int = 0,
    **overrides: Any,
) -> dict[str, Any]:
    """Train each algorithm on a two-agent matrix game and read what it learned.

    Returns ``payoff``, ``optimum`` (a best joint action), ``optimal_return`` and ``runs``:
    algo -> ``{"q_tot", "greedy", "greedy_return", "optimal", "seconds", "result"}``, where
    ``q_tot`` is the learned table over joint actions and ``greedy`` the joint action the
    agents pick, each on its own (the decentralised argmax).
    """
    table = _square_payoff(payoff)
    optimum = tuple(int(i) for i in np.unravel_index(np.argmax(table), table.shape))
    runs: dict[str, dict[str, Any]] = {}
    for algo in algos:
        config = lab_config(table, algo, steps, seed, **overrides)
        start = time.perf_counter()
        result = train(config, progress=False)
        seconds = time.perf_counter() - start
        greedy = greedy_joint_action(result)
        runs[algo] = {
            "q_tot": q_tot_tables(result)["matrix"],
            "greedy": greedy,
            "greedy_return": float(table[greedy]),
            "optimal": bool(np.isclose(table[greedy], table[optimum])),
            "seconds": seconds,
            "result": result,
        }
    return {
        "payoff": table,
        "optimum": optimum,
        "optimal_return": float(table[optimum]),
        "runs": runs,
    }


def payoff_experiment_figure(experiment: Mapping[str, Any]) -> Figure:
    """The payoff with each algorithm's greedy joint action marked, then each learned Q_tot.

    In a Q_tot panel the outlined cell is the table's argmax; with a monotonic mixer it is
    also the greedy joint action the agents pick on their own.
    """
    runs = experiment["runs"]
    names = list(runs)
    with style():
        fig = Figure(figsize=(3.7 * (len(names) + 1) + 0.4, 4.0), layout="constrained")
        axes = list(np.atleast_1d(fig.subplots(1, len(names) + 1)))
        plot_q_table(axes[0], experiment["payoff"], "payoff", highlight_argmax=False, fmt="{:g}")
        n = len(names)
        for k, algo in enumerate(names):
            i, j = runs[algo]["greedy"]
            dx = (k - (n - 1) / 2) * 0.22  # side by side when two algorithms pick one cell
            color = ALGO_COLORS.get(algo, "black")
            axes[0].plot(
                j + dx, i + 0.3, marker="v", markersize=11, color=color,
                markeredgecolor="black", linestyle="none",
                label=f"{algo_label(algo)} greedy",
            )  # fmt: skip
        axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=max(1, n), fontsize=9)
        for ax, algo in zip(axes[1:], names, strict=True):
            run = runs[algo]
            verdict = "optimal" if run["optimal"] else "misses the optimum"
            plot_q_table(
                ax,
                run["q_tot"],
                f"{algo_label(algo)} $Q_{{tot}}$\ngreedy {joint_action_name(run['greedy'])}: {verdict}",
                fmt="{:.1f}",
            )
            ax.title.set_fontsize(11)
    return fig


def train_button_label(wqmix: bool) -> str:
    """What the payoff lab's button trains: ``"Train VDN, QMIX and OW-QMIX"`` when ticked."""
    return "Train VDN, QMIX and OW-QMIX" if wqmix else "Train VDN and QMIX"


def payoff_summary(experiment: Mapping[str, Any]) -> str:
    """One line per payoff-lab experiment, joint actions as letters."""
    parts = []
    for algo, run in experiment["runs"].items():
        seconds = f", {run['seconds']:.1f} s" if "seconds" in run else ""
        parts.append(
            f"{algo_label(algo)} picks {joint_action_name(run['greedy'])} "
            f"(pays {run['greedy_return']:g}{seconds})"
        )
    return (
        f"Optimum {joint_action_name(experiment['optimum'])} pays "
        f"{experiment['optimal_return']:g}. " + "; ".join(parts) + "."
    )


def payoff_lab_widget(
    max_actions: int = 3,
    steps: int = 1500,
    preset: str = "climbing",
    wqmix: bool = False,
    initial: Mapping[str, Any] | None = None,
):
    """Edit a payoff (or pick one), press Train: VDN and QMIX (and optionally OW-QMIX)
    learn it in seconds.

    ``initial``, an experiment already run on the starting ``preset`` (a dict shaped like
    :func:`train_on_payoff`'s), is shown until the first click or a change of the payoff,
    so the saved notebook shows a result rather than an empty frame.
    """
    import ipywidgets as w

    if preset not in LAB_PAYOFFS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(LAB_PAYOFFS)}")
    start = preset
    preset = w.Dropdown(options=list(LAB_PAYOFFS), value=start, description="start from")
    n_actions = w.Dropdown(options=list(range(2, max_actions + 1)), description="actions")
    cells = [
        [w.FloatText(value=0.0, layout=w.Layout(width="72px")) for _ in range(max_actions)]
        for _ in range(max_actions)
    ]
    grid = w.GridBox(
        [c for row in cells for c in row],
        layout=w.Layout(grid_template_columns=f"repeat({max_actions}, 78px)"),
    )
    steps_slider = w.IntSlider(value=steps, min=200, max=6000, step=100, description="steps")
    seed = w.IntText(value=0, description="seed", layout=w.Layout(width="160px"))
    with_wqmix = w.Checkbox(value=wqmix, description="also OW-QMIX", indent=False)
    button = w.Button(description=train_button_label(wqmix), button_style="primary", icon="play")
    button.layout.width = "260px"
    summary = w.HTML()
    picture = w.Image(format="png")
    box = w.VBox(
        [
            w.HBox([preset, n_actions]),
            w.HTML("payoff (rows: agent 1's action, columns: agent 2's)"),
            grid,
            w.HBox([steps_slider, seed, with_wqmix]),
            button,
            summary,
            picture,
        ]
    )
    box.controls = {
        "preset": preset,
        "n_actions": n_actions,
        "cells": cells,
        "steps": steps_slider,
        "seed": seed,
        "wqmix": with_wqmix,
        "train": button,
        "picture": picture,
    }
    box.results = {}

    def resize(_=None) -> None:
        for i, row in enumerate(cells):
            for j, cell in enumerate(row):
                cell.disabled = i >= n_actions.value or j >= n_actions.value

    def fill(_=None) -> None:
        table = np.asarray(LAB_PAYOFFS[preset.value], dtype=np.float64)
        n_actions.value = table.shape[0]
        for i, row in enumerate(cells):
            for j, cell in enumerate(row):
                cell.value = float(table[i, j]) if i < len(table) and j < len(table) else 0.0
        resize()

    def current_payoff() -> np.ndarray:
        n = n_actions.value
        return np.array([[cells[i][j].value for j in range(n)] for i in range(n)])

    def show(experiment: Mapping[str, Any], note: str = "") -> None:
        publish(box, experiment)
        summary.value = note + payoff_summary(experiment)
        picture.value = figure_png(payoff_experiment_figure(experiment))

    def clear(_=None) -> None:
        """The payoff or the algorithms changed: an old result would no longer match."""
        button.description = train_button_label(with_wqmix.value)
        if box.results:
            publish(box, {})
            picture.value = b""
            summary.value = f"Press <b>{button.description}</b> to train on this payoff."

    def run(_=None) -> None:
        algos = ("vdn", "qmix", "wqmix") if with_wqmix.value else ("vdn", "qmix")
        label = button.description
        button.disabled, button.description = True, "training..."
        summary.value = "training..."
        try:
            experiment = train_on_payoff(
                current_payoff(), algos, steps=steps_slider.value, seed=seed.value
            )
        except ValueError as err:
            summary.value = f"<span style='color:#D55E00'>{err}</span>"
            return
        finally:
            button.disabled, button.description = False, label
        show(experiment)

    preset.observe(fill, names="value")
    n_actions.observe(resize, names="value")
    fill()
    if initial is not None:
        table = np.asarray(LAB_PAYOFFS[start], dtype=np.float64)
        if np.asarray(initial["payoff"]).shape != table.shape or not np.allclose(
            initial["payoff"], table
        ):
            raise ValueError(f"initial must be an experiment on the preset {start!r}")
        show(initial, "Shown until you press Train: ")
    for control in [preset, n_actions, with_wqmix, steps_slider, seed] + [
        c for row in cells for c in row
    ]:
        control.observe(clear, names="value")
    button.on_click(run)
    return box


# ------------------------------------------------------------------------------------------
# 2. the mixer explorer: Q_tot as a surface over two agents' Q-values
# ------------------------------------------------------------------------------------------
def interpolate_states(states: Sequence | np.ndarray, t: float) -> np.ndarray:
    """A point on the piecewise-linear path through ``states`` (``[k, state_dim]``):
    ``t = 0`` is the first state, ``t = k - 1`` the last, ``t = 0.5`` halfway to the second."""
    path = np.asarray(states, dtype=np.float32)
    if path.ndim != 2 or len(path) == 0:
        raise ValueError(f"states must have shape [k, state_dim], got {path.shape}")
    if not 0.0 <= t <= len(path) - 1:
        raise ValueError(f"t must be in [0, {len(path) - 1}], got {t}")
    low = min(int(math.floor(t)), len(path) - 1)
    high = min(low + 1, len(path) - 1)
    frac = np.float32(t - low)
    return (1.0 - frac) * path[low] + frac * path[high]


def mixer_surface(
    mixer: nn.Module,
    state: Sequence | np.ndarray,
    q_range: tuple[float, float] = (-4.0, 4.0),
    n_points: int = 41,
    other_qs: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Q_tot on a grid of agent 1's and agent 2's Q-values, in one state.

    Agents after the first two (if the mixer has more) are held at ``other_qs`` (zeros by
    default). Returns ``q1``, ``q2`` (the grid axes), ``q_tot`` (``[n_points, n_points]``,
    rows agent 1's value), the smallest finite-difference slope along each agent's axis
    (``min_slope``: two numbers) and ``monotonic`` (both slopes >= 0, up to float error).
    """
    n_agents = int(getattr(mixer, "n_agents", 2) or 2)
    if n_agents < 2:
        raise ValueError(f"the mixer must mix at least 2 agents, got {n_agents}")
    if n_points < 2:
        raise ValueError(f"n_points must be at least 2, got {n_points}")
    low, high = q_range
    if not low < high:
        raise ValueError(f"q_range must be (low, high) with low < high, got {q_range}")
    others = np.zeros(n_agents - 2) if other_qs is None else np.asarray(other_qs, dtype=float)
    if others.shape != (n_agents - 2,):
        raise ValueError(f"other_qs needs {n_agents - 2} values, got {others.shape}")
    q = np.linspace(low, high, n_points)
    q1, q2 = np.meshgrid(q, q, indexing="ij")
    grid = np.stack([q1, q2, *[np.full_like(q1, v) for v in others]], axis=-1)
    agent_qs = torch.as_tensor(grid.reshape(-1, n_agents), dtype=torch.float32)
    state_t = torch.as_tensor(np.asarray(state, dtype=np.float32)).reshape(1, -1)
    with torch.no_grad():
        q_tot = mixer(agent_qs, state_t.expand(len(agent_qs), -1)).reshape(n_points, n_points)
    q_tot = q_tot.double().numpy()
    step = q[1] - q[0]
    min_slope = (
        float(np.diff(q_tot, axis=0).min() / step),
        float(np.diff(q_tot, axis=1).min() / step),
    )
    return {
        "q1": q,
        "q2": q,
        "q_tot": q_tot,
        "state": np.asarray(state, dtype=np.float32).reshape(-1),
        "min_slope": min_slope,
        "monotonic": bool(min(min_slope) >= -1e-4),
    }


LABEL_OFFSETS = ((5, 5), (5, -13), (-5, 5), (-5, -13))


def mixer_surface_figure(
    surface: Mapping[str, Any],
    title: str | None = None,
    azimuth: float = -60.0,
    points: Mapping[str, tuple[float, float]] | None = None,
) -> Figure:
    """The surface in 3-D (left) and as contours (right), with the smallest slopes.

    ``points`` marks named ``(Q_1, Q_2)`` pairs on the contours, e.g. the agents' values
    of each joint action.
    """
    q1, q2, q_tot = surface["q1"], surface["q2"], surface["q_tot"]
    grid1, grid2 = np.meshgrid(q1, q2, indexing="ij")
    with style():
        fig = Figure(figsize=(10, 4.2), layout="constrained")
        ax3d = fig.add_subplot(1, 2, 1, projection="3d")
        # no antialiasing: the PNG is a third smaller and looks the same at this size
        ax3d.plot_surface(grid1, grid2, q_tot, cmap="viridis", linewidth=0, antialiased=False)
        ax3d.set(xlabel="$Q_1$", ylabel="$Q_2$", title="$Q_{tot}$ over $(Q_1, Q_2)$")
        ax3d.view_init(elev=25, azim=azimuth)
        ax = fig.add_subplot(1, 2, 2)
        filled = ax.contourf(grid1, grid2, q_tot, levels=20, cmap="viridis")
        ax.contour(grid1, grid2, q_tot, levels=10, colors="white", linewidths=0.6)
        fig.colorbar(filled, ax=ax, label="$Q_{tot}$")
        s1, s2 = surface["min_slope"]
        ax.set(
            xlabel="$Q_1$ (agent 1)",
            ylabel="$Q_2$ (agent 2)",
            title=f"smallest slopes: {s1:.3f} along $Q_1$, {s2:.3f} along $Q_2$",
        )
        ax.title.set_fontsize(10)
        ax.grid(False)
        for k, (name, (x, y)) in enumerate((points or {}).items()):
            ax.plot(x, y, "o", color="white", markeredgecolor="black", markersize=7)
            # a different corner for each label, so points that nearly coincide stay readable
            offset = LABEL_OFFSETS[k % len(LABEL_OFFSETS)]
            ax.annotate(name, (x, y), xytext=offset, textcoords="offset points", color="white",
                        fontsize=9, fontweight="bold", ha="left" if offset[0] > 0 else "right")  # fmt: skip
        if title:
            fig.suptitle(title, fontweight="bold")
    return fig


def mixer_explorer_widget(
    mixer: nn.Module,
    states: Sequence | np.ndarray,
    state_names: Sequence[str] | None = None,
    q_range: tuple[float, float] = (-4.0, 4.0),
):
    """A slider that walks the state along a path through ``states``; the surface follows.

    Moving the slider only evaluates the mixer (no training), so it redraws at once.
    """
    import ipywidgets as w

    path = np.asarray(states, dtype=np.float32)
    names = list(state_names) if state_names is not None else [f"s{i}" for i in range(len(path))]
    if len(names) != len(path):
        raise ValueError(f"got {len(names)} state names for {len(path)} states")
    position = w.FloatSlider(
        value=0.0,
        min=0.0,
        max=float(len(path) - 1),
        step=0.05,
        description="state",
        readout_format=".2f",
    )
    azimuth = w.IntSlider(value=-60, min=-180, max=180, step=10, description="rotate")
    where = w.HTML()
    picture = w.Image(format="png")
    box = w.VBox(
        [w.HTML(" → ".join(f"{i} = {n}" for i, n in enumerate(names))), position, azimuth,
         where, picture]
    )  # fmt: skip
    box.controls = {"state": position, "azimuth": azimuth, "picture": picture}
    box.results = {}

    def update(_=None) -> None:
        state = interpolate_states(path, position.value)
        surface = mixer_surface(mixer, state, q_range)
        publish(box, surface)
        low = min(int(position.value), len(names) - 1)
        frac = position.value - low
        label = (
            names[low]
            if frac < 1e-9
            else f"{1 - frac:.2f} {names[low]} + {frac:.2f} {names[low + 1]}"
        )
        monotone = "yes" if surface["monotonic"] else "NO"
        where.value = (
            f"state: {label} = {np.array2string(state, precision=2)}; "
            f"Q_tot from {surface['q_tot'].min():.2f} to {surface['q_tot'].max():.2f}; "
            f"monotonic in both agents: {monotone}"
        )
        picture.value = figure_png(mixer_surface_figure(surface, azimuth=azimuth.value))

    position.observe(update, names="value")
    azimuth.observe(update, names="value")
    update()
    return box


# ------------------------------------------------------------------------------------------
# 3. the stored two-step runs (figures/data/lab), grouped by what varied
# ------------------------------------------------------------------------------------------
_RUN_NAME = re.compile(
    r"^(?P<task>[a-z_]+)-(?P<algo>[a-z_]+)-lr(?P<lr>[0-9.]+)-eps_(?P<eps>[a-z]+)"
    r"(?:-embed(?P<embed>\d+))?-s(?P<seed>\d+)$"
)


def load_lab_runs(folder: str | Path | None = None) -> list[dict[str, Any]]:
    """The stored runs in ``folder`` (default ``figures/data/lab``), one dict per file.

    File names say what varied, e.g. ``two_step-qmix-lr0.0005-eps_uniform-embed8-s0.csv``
    (VDN has no mixer, so no ``embed``). Each dict holds ``task``, ``algo``, ``lr``
    (float), ``eps``, ``embed`` (int, or None for VDN), ``seed``, ``name`` and ``history``
    (the rows of the run's history.csv).
    """
    folder = LAB_DATA_DIR if folder is None else Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} does not exist; the commands that make it are in figures/data/lab/COMMANDS.md"
        )
    runs = []
    for path in sorted(folder.glob("*.csv")):
        match = _RUN_NAME.match(path.stem)
        if match is None:
            raise ValueError(
                f"{path.name}: expected a name like "
                "two_step-qmix-lr0.0005-eps_uniform-embed8-s0.csv"
            )
        g = match.groupdict()
        runs.append(
            {
                "name": path.stem,
                "task": g["task"],
                "algo": g["algo"],
                "lr": float(g["lr"]),
                "eps": g["eps"],
                "embed": int(g["embed"]) if g["embed"] is not None else None,
                "seed": int(g["seed"]),
                "history": read_history_csv(path),
            }
        )
    if not runs:
        raise FileNotFoundError(f"{folder} holds no stored runs (*.csv)")
    return runs


def factor_values(runs: Sequence[Mapping[str, Any]], factor: str) -> list[Any]:
    """The distinct values a factor takes in the stored runs, sorted (None left out)."""
    if factor not in LAB_FACTORS:
        raise ValueError(f"unknown factor {factor!r}; choose one of {', '.join(LAB_FACTORS)}")
    values = {r[factor] for r in runs if r[factor] is not None}
    if factor == "algo":
        return [a for a in ALGO_COLORS if a in values] + sorted(values - set(ALGO_COLORS))
    return sorted(values)


def select_runs(runs: Sequence[Mapping[str, Any]], **fixed: Any) -> list[Mapping[str, Any]]:
    """The runs matching every ``factor=value`` given. A run without a value for a factor
    (VDN has no mixing embed) matches any value of it."""
    for factor in fixed:
        if factor not in LAB_FACTORS:
            raise ValueError(f"unknown factor {factor!r}; choose one of {', '.join(LAB_FACTORS)}")
    return [
        r for r in runs if all(r[f] is None or v is None or r[f] == v for f, v in fixed.items())
    ]


def _label(factor: str, value: Any) -> str:
    if factor == "algo":
        return str(value)  # kept as the algorithm's name, so it gets the course colour
    if factor == "lr":
        return f"lr {value:g}"
    if factor == "embed":
        return f"embed {value}"
    return f"epsilon {value}"


def _steps_to_target(history: Sequence[Mapping[str, float]], target: float) -> float:
    """The first logged step from which the greedy return stays at the target; nan if never.

    A run already at the target at its first evaluation (before any training) gives its
    first step, 0: :func:`compare_runs` counts such runs apart instead of as fast learners.
    """
    steps = np.array([row["env_steps"] for row in history])
    good = np.array([row["eval_return"] >= target - 1e-6 for row in history])
    if not good[-1]:
        return math.nan
    last_bad = np.flatnonzero(~good)
    return float(steps[last_bad[-1] + 1] if len(last_bad) else steps[0])


def _eval_interval(history: Sequence[Mapping[str, float]]) -> float:
    steps = np.array([row["env_steps"] for row in history], dtype=np.float64)
    return float(np.median(np.diff(steps))) if len(steps) > 1 else math.nan


def compare_runs(
    runs: Sequence[Mapping[str, Any]], vary: str, target: float = 8.0, **fixed: Any
) -> dict[str, dict[str, Any]]:
    """Group the runs matching ``fixed`` by the values of ``vary``.

    Returns label -> ``{"value", "runs", "final" (mean final greedy return over seeds),
    "optimal_seeds" (seeds ending at ``target``), "optimal_at_start" (seeds already at
    ``target`` at their first evaluation, before any training), "steps_to_target" (for
    each seed that ends at the target and was not there at the start, the first evaluation
    from which it stays there; a sorted list), "eval_interval" (the spacing of the
    evaluations: no step count is known more finely)}``. Labels are algorithm names when
    comparing algorithms.
    """
    if vary not in LAB_FACTORS:
        raise ValueError(f"unknown factor {vary!r}; choose one of {', '.join(LAB_FACTORS)}")
    fixed = {k: v for k, v in fixed.items() if k != vary}
    chosen = select_runs(runs, **fixed)
    groups: dict[str, dict[str, Any]] = {}
    for value in factor_values(chosen, vary):
        members = [r for r in chosen if r[vary] == value]
        finals = np.array([m["history"][-1]["eval_return"] for m in members])
        reach = np.array([_steps_to_target(m["history"], target) for m in members])
        at_start = np.array([m["history"][0]["eval_return"] >= target - 1e-6 for m in members])
        learned = np.isfinite(reach) & ~at_start
        groups[_label(vary, value)] = {
            "value": value,
            "runs": members,
            "final": float(finals.mean()),
            "optimal_seeds": int(np.isfinite(reach).sum()),
            "optimal_at_start": int(at_start.sum()),
            "steps_to_target": sorted(float(x) for x in reach[learned]),
            "eval_interval": _eval_interval(members[0]["history"]),
        }
    return groups


def _plot_one_algorithm(ax: Any, curves: Mapping[str, list], color: str) -> None:
    """Curves of one algorithm under different settings: its colour, one line style each."""
    for (label, runs), dashes in zip(curves.items(), ("-", "--", ":", "-."), strict=False):
        x, ys = common_grid(runs)
        suffix = f" ({len(ys)} seeds)" if len(ys) > 1 else ""
        ax.plot(x, ys.mean(axis=0), color=color, linestyle=dashes, label=label + suffix)
        if len(ys) > 1:
            low, high = bootstrap_ci(ys)
            ax.fill_between(x, low, high, color=color, alpha=0.12, linewidth=0)


def comparison_figure(groups: Mapping[str, Mapping[str, Any]], title: str | None = None) -> Figure:
    """Greedy (left) and training (right) return of each group: mean over seeds, 95% CI.

    Groups named by algorithm get the course colours; groups of one algorithm under
    different settings share its colour and differ in line style.
    """
    algos = {r["algo"] for g in groups.values() for r in g["runs"]}
    by_algorithm = all(label in ALGO_COLORS for label in groups)
    with style():
        fig = Figure(figsize=(10, 3.9), layout="constrained")
        ax_eval, ax_train = fig.subplots(1, 2, sharey=True)
        for ax, key, name in (
            (ax_eval, "eval_return", "greedy return"),
            (ax_train, "train_return", "training return (with exploration)"),
        ):
            curves = {
                label: [
                    (
                        np.array([row["env_steps"] for row in r["history"]]),
                        np.array([row[key] for row in r["history"]]),
                    )
                    for r in g["runs"]
                ]
                for label, g in groups.items()
            }
            if by_algorithm or len(algos) != 1:
                plot_learning_curves(ax, curves, ylabel="return", title=name, legend=False)
            else:
                _plot_one_algorithm(ax, curves, ALGO_COLORS.get(next(iter(algos)), "black"))
                ax.set(xlabel="environment steps", ylabel="return", title=name)
        ax_eval.legend(loc="best")
        if title:
            fig.suptitle(title, fontweight="bold")
    return fig


# ------------------------------------------------------------------------------------------
# 4. stored sweeps on a task with continuous returns: one setting changed at a time
# ------------------------------------------------------------------------------------------
SWEEP_DATA_DIR = stored_data_dir() / "stability"
"""The stored simple_spread sweeps (``<setting>/<algo>/seed<k>/``, each run with its
history.csv and config.json); the sweep files that made them are beside them."""

SWEEP_FACTORS: dict[str, str] = {
    "lr": "learning rate",
    "epsilon_anneal_steps": "epsilon schedule (steps from 1 to 0.05)",
    "td_lambda": "TD(lambda)",
    "gamma": "discount gamma",
    "tau": "target updates (tau per update)",
    "mixer_embed": "mixer width",
}
"""The Config fields the sweep explorer varies, with their display names."""

SWEEP_TARGET = -48.6
"""The greedy return the explorer counts seeds reaching and holding (the speed target)."""

_NOT_SETTINGS = {"seed", "env_kwargs", "batched_env"} | RESUMABLE_CHANGES
"""Config fields that say how a run was kept, measured or computed, not what it learned
with: the seed, the task's own options, the fields a run may change when it resumes
(budget, evaluation, checkpoints, device, threads, preset name) and ``batched_env``: the
batched simple_spread is the same task as mpe2's, equal step for step to float tolerance
(tests/test_batched_spread.py), and the study's first rounds ran before it existed (their
config.json has no such field)."""


def load_sweep_runs(folder: str | Path | None = None) -> list[dict[str, Any]]:
    """Every stored run under ``folder`` (default :data:`SWEEP_DATA_DIR`), one dict each.

    The layout is the one ``qmix_tut.sweep.store_histories`` writes,
    ``<setting>/<algo>/seed<k>/`` with ``history.csv`` and ``config.json``. Each dict holds
    ``setting``, ``algo``, ``seed``, ``config`` (the config.json as a dict), ``history``
    (the rows of history.csv) and ``score`` (the mean greedy return of the last 5
    evaluations, as in ``qmix-tut compare``).
    """
    import json

    from ..stats import run_score

    folder = SWEEP_DATA_DIR if folder is None else Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} does not exist; {missing_data_hint()}")
    runs = []
    for history in sorted(folder.glob("*/*/seed*/history.csv")):
        run = history.parent
        config_path = run / "config.json"
        if not config_path.exists():
            raise ValueError(f"{run} has a history.csv but no config.json")
        rows = read_history_csv(history)
        if not rows:
            raise ValueError(f"{history} holds no evaluation")
        runs.append(
            {
                "setting": run.parent.parent.name,
                "algo": run.parent.name,
                "seed": int(run.name.removeprefix("seed")),
                "config": json.loads(config_path.read_text()),
                "history": rows,
                "score": run_score(rows),
            }
        )
    if not runs:
        raise FileNotFoundError(f"{folder} holds no stored run (<setting>/<algo>/seed<k>/)")
    return runs


def _settings(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in _NOT_SETTINGS}


def one_factor_groups(
    runs: Sequence[Mapping[str, Any]], factor: str, base: str = "base"
) -> dict[Any, list[Mapping[str, Any]]]:
    """The runs that differ from setting ``base`` in ``factor`` alone, by its value.

    A run belongs to a group when its config equals the base's in every learning setting
    (seed and bookkeeping aside) except ``factor``; the base's own runs are one of the
    groups. Values are sorted; settings that change anything else are left out, so every
    comparison is one change from one base.
    """
    if factor not in SWEEP_FACTORS:
        raise ValueError(f"unknown factor {factor!r}; choose one of {', '.join(SWEEP_FACTORS)}")
    base_runs = [r for r in runs if r["setting"] == base]
    if not base_runs:
        names = sorted({r["setting"] for r in runs})
        raise ValueError(f"no run of the base setting {base!r}; settings: {', '.join(names)}")
    reference = _settings(base_runs[0]["config"])
    reference.pop(factor)
    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for run in runs:
        settings = _settings(run["config"])
        value = settings.pop(factor)
        if settings == reference:
            groups.setdefault(value, []).append(run)
    return {value: groups[value] for value in sorted(groups)}


def factor_summary(
    groups: Mapping[Any, Sequence[Mapping[str, Any]]],
    target: float = SWEEP_TARGET,
    reps: int = 2000,
) -> list[dict[str, Any]]:
    """Per value of a factor: seeds, IQM of the runs' scores with its 95% bootstrap interval
    (rliable, via ``qmix_tut.stats.iqm_interval``), and how many seeds reach ``target``
    once and hold it (mean of 5 consecutive evaluations, ``qmix_tut.stats.held_level``)."""
    from ..stats import first_crossing, held_level, iqm_interval

    rows = []
    for value, members in groups.items():
        scores = np.array([m["score"] for m in members])
        point, (low, high) = iqm_interval(scores, reps=reps)
        curves = [_greedy_curve(m) for m in members]
        rows.append(
            {
                "value": value,
                "seeds": len(members),
                "iqm": point,
                "low": low,
                "high": high,
                "scores": sorted(float(s) for s in scores),
                "reached": sum(first_crossing(x, y, target) is not None for x, y in curves),
                "held": sum(held_level(x, y, target) is not None for x, y in curves),
            }
        )
    return rows


def _greedy_curve(run: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A stored run's (env steps, greedy return) at each evaluation."""
    history = run["history"]
    return (
        np.array([h["env_steps"] for h in history]),
        np.array([h["eval_return"] for h in history]),
    )


def _value_text(factor: str, value: Any) -> str:
    if factor == "epsilon_anneal_steps":
        return f"{value / 1000:g}k steps"
    return f"{value:g}" if isinstance(value, float) else str(value)


def sweep_factor_figure(
    groups: Mapping[Any, Sequence[Mapping[str, Any]]],
    factor: str,
    base_value: Any = None,
    target: float = SWEEP_TARGET,
    summary: Sequence[Mapping[str, Any]] | None = None,
) -> Figure:
    """Left: greedy return against env steps per value (mean over seeds, 95% bootstrap
    band). Right: each value's IQM of the final scores with its 95% interval, every seed's
    score as a dot, and the number of seeds. ``base_value`` is marked "(base)".
    ``summary``: :func:`factor_summary` of the same groups and target, when already made."""
    if summary is None:
        summary = factor_summary(groups, target)
    with style():
        fig = Figure(figsize=(10, 3.9), layout="constrained")
        ax_curve, ax_iqm = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        cycle = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")
        labels = []
        for i, (value, members) in enumerate(groups.items()):
            color = cycle[i % len(cycle)]
            label = _value_text(factor, value) + (" (base)" if value == base_value else "")
            labels.append(label)
            x, ys = common_grid([_greedy_curve(m) for m in members])
            ax_curve.plot(x, ys.mean(axis=0), color=color, label=f"{label} ({len(ys)} seeds)")
            if len(ys) > 1:
                low, high = bootstrap_ci(ys)
                ax_curve.fill_between(x, low, high, color=color, alpha=0.15, linewidth=0)
            row = summary[i]
            ax_iqm.errorbar(
                row["iqm"], i, xerr=[[row["iqm"] - row["low"]], [row["high"] - row["iqm"]]],
                fmt="o", color=color, capsize=4,
            )  # fmt: skip
            ax_iqm.scatter(row["scores"], [i + 0.18] * len(row["scores"]), s=10,
                           color=color, alpha=0.6)  # fmt: skip
        ax_curve.axhline(target, color="grey", linestyle=":", linewidth=1)
        ax_curve.set(xlabel="environment steps", ylabel="greedy return",
                     title="greedy return, mean and 95% band")  # fmt: skip
        ax_curve.set_ylim(bottom=max(ax_curve.get_ylim()[0], -100))
        ax_curve.legend(loc="lower right", fontsize="small")
        ax_iqm.axvline(target, color="grey", linestyle=":", linewidth=1)
        ax_iqm.set_yticks(
            range(len(labels)),
            [f"{label}\n{row['seeds']} seeds" for label, row in zip(labels, summary, strict=True)],
        )
        ax_iqm.set_ylim(-0.6, len(labels) - 0.4)
        ax_iqm.set(xlabel="mean of the last 5 evaluations", title="IQM and 95% interval")
        fig.suptitle(SWEEP_FACTORS[factor], fontweight="bold")
    return fig


def sweep_explorer_widget(folder: str | Path | None = None, base: str = "base"):
    """Pick a factor; see its stored runs' curves, IQMs with intervals and seed counts."""
    import ipywidgets as w

    runs = load_sweep_runs(folder)
    factor = w.Dropdown(
        options=[(name, key) for key, name in SWEEP_FACTORS.items()], value="lr",
        description="vary", style={"description_width": "60px"},
    )  # fmt: skip
    table = w.HTML()
    picture = w.Image(format="png")
    box = w.VBox([factor, table, picture])
    box.controls = {"factor": factor, "picture": picture}
    box.results = {}
    base_config = next(r["config"] for r in runs if r["setting"] == base)

    def update(_=None) -> None:
        groups = one_factor_groups(runs, factor.value, base)
        summary = factor_summary(groups)
        publish(box, {row["value"]: row for row in summary})
        base_value = base_config[factor.value]
        if len(groups) < 2:
            picture.value = b""
            table.value = (
                "<span style='color:#D55E00'>Nothing to compare: the stored runs change "
                f"{SWEEP_FACTORS[factor.value]} only together with something else.</span>"
            )
            return
        rows = "".join(
            f"<tr><td>{_value_text(factor.value, r['value'])}"
            f"{' (base)' if r['value'] == base_value else ''}</td><td>{r['seeds']}</td>"
            f"<td>{r['iqm']:.1f} [{r['low']:.1f}, {r['high']:.1f}]</td>"
            f"<td>{r['reached']} of {r['seeds']}</td><td>{r['held']} of {r['seeds']}</td></tr>"
            for r in summary
        )
        table.value = (
            f"<table><tr><th>{SWEEP_FACTORS[factor.value]}</th><th>seeds</th>"
            "<th>IQM of the last 5 evaluations [95% interval]</th>"
            f"<th>reach {SWEEP_TARGET:g}</th><th>hold {SWEEP_TARGET:g}</th></tr>{rows}</table>"
        )
        picture.value = figure_png(
            sweep_factor_figure(groups, factor.value, base_value, summary=summary)
        )

    factor.observe(update, names="value")
    update()
    return box
