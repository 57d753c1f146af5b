"""Widgets of notebooks 00-02: joint-action growth, IQL on a matrix game, VDN's additive fit.

Each experiment is a plain function returning a dict (tested with pytest) and a function
drawing that dict as a :class:`~matplotlib.figure.Figure`; the ``*_widget()`` builders only
wire ipywidgets controls to them. Every builder returns its container with two extra
attributes: ``controls`` (name -> widget, so a test or a reader can set ``.value`` or call
``.click()``) and ``results`` (the latest output of the experiment function).

>>> joint_action_counts(n_agents=10, n_actions=10)["joint"]
10000000000
>>> report = additive_fit_report([[0, 1], [1, 8]])
>>> report["optimum"], report["fit_greedy"], report["representable"]
((1, 1), (1, 1), False)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..plotting import OKABE_ITO, plot_q_table, style
from ..tabular import additive_fit, independent_q_learning, payoff_of
from ._common import figure_png, publish, show_figure

__all__ = [
    "PAYOFF_PRESETS",
    "additive_fit_figure",
    "additive_fit_report",
    "iql_experiment_figure",
    "iql_matrix_experiment",
    "iql_matrix_widget",
    "joint_action_counts",
    "joint_action_growth_figure",
    "joint_action_growth_widget",
    "joint_name",
    "iql_summary",
    "parse_payoff",
    "readable_duration",
    "vdn_fit_widget",
]

# Joint actions a fast machine can score per second, for a sense of scale.
COMPARISONS_PER_SECOND = 1e9


def joint_name(joint: Sequence[int]) -> str:
    """A joint action in the letters every table uses: ``joint_name((0, 2)) == "(A, C)"``."""
    return "(" + ", ".join(chr(ord("A") + int(u)) for u in joint) + ")"


def readable_duration(seconds: float) -> str:
    """A duration in the largest unit that fits: ``readable_duration(1e11) == "3,169 years"``."""

    def number(x: float) -> str:
        return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"

    for unit, size in (("years", 3.15576e7), ("days", 86400.0), ("hours", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{number(seconds / size)} {unit}"
    if seconds >= 1:
        return f"{number(seconds)} s"
    if seconds >= 1e-6:
        return f"{number(seconds * 1e6)} µs"
    return f"{number(seconds * 1e9)} ns"


# ------------------------------------------------------------------------------------------
# notebook 00: how the joint action space grows
# ------------------------------------------------------------------------------------------
def joint_action_counts(n_agents: int, n_actions: int) -> dict[str, Any]:
    """Sizes for ``n_agents`` agents with ``n_actions`` actions each.

    ``joint``: joint actions, ``|U|^n`` (what a centralised greedy step compares);
    ``per_agent``: Q-values decentralised agents compare, ``n |U|``; ``ratio``: joint /
    per_agent; ``table_bytes``: a float32 table of Q_tot over every joint action;
    ``seconds``: time to score every joint action at 1e9 per second.
    """
    for name, value, low in (("n_agents", n_agents, 1), ("n_actions", n_actions, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    joint = int(n_actions) ** int(n_agents)
    per_agent = int(n_agents) * int(n_actions)
    return {
        "n_agents": int(n_agents),
        "n_actions": int(n_actions),
        "joint": joint,
        "per_agent": per_agent,
        "ratio": joint / per_agent,
        "table_bytes": 4 * joint,
        "seconds": joint / COMPARISONS_PER_SECOND,
    }


def joint_action_growth_figure(n_agents: int, n_actions: int, max_agents: int = 20) -> Figure:
    """``|U|^m`` (joint) and ``m |U|`` (per agent) for m = 1..max_agents, the chosen n marked."""
    counts = joint_action_counts(n_agents, n_actions)
    top = max(max_agents, n_agents)
    m = np.arange(1, top + 1)
    with style():
        fig = Figure(figsize=(6.4, 3.6), layout="constrained")
        ax = fig.subplots()
        # neutral colours: these are counts, not algorithms
        joint_color, agent_color = OKABE_ITO["black"], OKABE_ITO["grey"]
        ax.semilogy(m, float(n_actions) ** m, color=joint_color, label=r"joint: $|U|^n$")
        ax.semilogy(m, m * n_actions, color=agent_color, linestyle="--", label=r"per agent: $n|U|$")
        ax.plot([n_agents], [counts["joint"]], "o", color=joint_color, markersize=8)
        ax.plot([n_agents], [counts["per_agent"]], "o", color=agent_color, markersize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(
            xlabel="number of agents n",
            ylabel="Q-values to compare",
            title=f"|U| = {n_actions}: {counts['joint']:.3g} joint vs {counts['per_agent']} per agent",
        )
        ax.legend(loc="upper left")
    return fig


def joint_action_growth_widget(max_agents: int = 30, max_actions: int = 20):
    """Sliders for n and ``|U|``; shows the counts and the growth curve (no training)."""
    import ipywidgets as w

    n_agents = w.IntSlider(value=3, min=1, max=max_agents, description="agents n")
    n_actions = w.IntSlider(value=5, min=2, max=max_actions, description="actions |U|")
    summary = w.HTML()
    output = w.Image(format="png")
    box = w.VBox([w.HBox([n_agents, n_actions]), summary, output])
    box.controls = {"n_agents": n_agents, "n_actions": n_actions}
    box.results = {}

    def update(_=None) -> None:
        counts = joint_action_counts(n_agents.value, n_actions.value)
        publish(box, counts)
        summary.value = (
            f"<b>{counts['joint']:,}</b> joint actions vs <b>{counts['per_agent']}</b> "
            f"per-agent values ({counts['ratio']:,.3g} times more). A table of Q<sub>tot</sub> "
            f"would take {counts['table_bytes']:,} bytes; scoring it at 10<sup>9</sup> per "
            f"second takes {readable_duration(counts['seconds'])}."
        )
        show_figure(output, joint_action_growth_figure(n_agents.value, n_actions.value))

    n_agents.observe(update, names="value")
    n_actions.observe(update, names="value")
    update()
    return box


# ------------------------------------------------------------------------------------------
# notebook 01: independent Q-learners on a matrix game
# ------------------------------------------------------------------------------------------
def iql_matrix_experiment(
    game: str | Sequence | np.ndarray = "climbing",
    steps: int = 3000,
    alpha: float = 0.1,
    epsilon_finish: float = 0.05,
    n_seeds: int = 10,
    seed: int = 0,
    **game_kwargs: Any,
) -> dict[str, Any]:
    """Tabular IQL on a two-agent matrix game over seeds ``seed .. seed + n_seeds - 1``.

    Returns the ``payoff``, the ``runs``, ``counts[i, j]`` (how many seeds ended with the
    greedy joint action (i, j)), each seed's greedy ``returns``, the ``optimum`` joint
    action and ``optimal_return``, and ``fraction_optimal``.
    """
    payoff = payoff_of(game, **game_kwargs)
    if payoff.ndim != 2:
        raise ValueError(f"this experiment takes two-agent games, got shape {payoff.shape}")
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, (int, np.integer)) or n_seeds < 1:
        raise ValueError(f"n_seeds must be a positive integer, got {n_seeds!r}")
    runs = [
        independent_q_learning(
            payoff, steps=steps, alpha=alpha, epsilon_finish=epsilon_finish, seed=seed + s
        )
        for s in range(n_seeds)
    ]
    counts = np.zeros(payoff.shape, dtype=np.int64)
    for run in runs:
        counts[run.greedy_joint_action()] += 1
    returns = np.array([run.greedy_return() for run in runs])
    optimum = tuple(int(i) for i in np.unravel_index(np.argmax(payoff), payoff.shape))
    optimal_return = float(payoff.max())
    return {
        "payoff": payoff,
        "runs": runs,
        "counts": counts,
        "returns": returns,
        "optimum": optimum,
        "optimal_return": optimal_return,
        "fraction_optimal": float(np.mean(np.isclose(returns, optimal_return))),
        "settings": dict(steps=steps, alpha=alpha, epsilon_finish=epsilon_finish, seed=seed),
    }


def iql_experiment_figure(experiment: dict[str, Any]) -> Figure:
    """Payoff, where the seeds' greedy policies ended, and the first seed's Q-values
    (agent 1 above, agent 2 below)."""
    payoff, counts = experiment["payoff"], experiment["counts"]
    run = experiment["runs"][0]
    names = [chr(ord("A") + i) if i < 26 else str(i) for i in range(payoff.shape[0])]
    colors = [OKABE_ITO[c] for c in ("blue", "orange", "bluish_green", "vermillion", "sky_blue")]
    steps = np.arange(len(run.q_history))
    with style():
        fig = Figure(figsize=(12, 4.2), layout="constrained")
        grid = fig.add_gridspec(2, 3, width_ratios=(1, 1, 1.5))
        ax_pay, ax_count = fig.add_subplot(grid[:, 0]), fig.add_subplot(grid[:, 1])
        ax_q1 = fig.add_subplot(grid[0, 2])
        ax_q2 = fig.add_subplot(grid[1, 2], sharex=ax_q1, sharey=ax_q1)
        plot_q_table(ax_pay, payoff, "payoff (optimum outlined)", fmt="{:.0f}")
        plot_q_table(
            ax_count,
            counts.astype(float),
            f"greedy joint action, {counts.sum()} seeds",
            fmt="{:.0f}",
            highlight_argmax=False,
            cmap="Greys",
            vmin=0,
        )
        for agent, ax in enumerate((ax_q1, ax_q2)):
            for u, name in enumerate(names):
                color = colors[u % len(colors)]
                ax.plot(steps, run.q_history[:, agent, u], color=color, linewidth=1.3, label=name)
            ax.set_ylabel(f"agent {agent + 1}")
        ax_q1.set_title(f"Q-values of seed {experiment['settings']['seed']}")
        ax_q1.tick_params(labelbottom=False)
        ax_q2.set_xlabel("step")
        ax_q1.legend(loc="lower right", fontsize="small", ncol=len(names), title=None)
    return fig


def iql_summary(experiment: dict[str, Any]) -> str:
    """One line on an experiment of :func:`iql_matrix_experiment`, joint actions as letters."""
    return (
        f"Optimum {joint_name(experiment['optimum'])} pays {experiment['optimal_return']:g}; "
        f"{experiment['fraction_optimal']:.0%} of {len(experiment['runs'])} seeds reached it, "
        f"mean greedy return {experiment['returns'].mean():.2f}."
    )


def iql_matrix_widget(initial: dict[str, Any] | None = None):
    """Pick a game and IQL's settings, press Train: several seeds of tabular IQL.

    ``initial``, an experiment already run (by default the climbing game with the
    controls' settings), is shown until the first click, so the saved notebook shows a
    result rather than an empty frame.
    """
    import ipywidgets as w

    style_ = {"description_width": "110px"}
    game = w.Dropdown(options=["climbing", "penalty"], value="climbing", description="game")
    k = w.FloatSlider(value=-100, min=-100, max=0, step=5, description="penalty k", style=style_)
    steps = w.IntSlider(value=3000, min=200, max=20000, step=200, description="steps")
    alpha = w.FloatLogSlider(value=0.1, base=10, min=-3, max=0, description="alpha")
    epsilon_finish = w.FloatSlider(
        value=0.05, min=0.0, max=1.0, step=0.05, description="final epsilon", style=style_
    )
    n_seeds = w.IntSlider(value=10, min=1, max=40, description="seeds")
    button = w.Button(description="Train", button_style="primary", icon="play")
    summary = w.HTML()
    picture = w.Image(format="png")
    box = w.VBox(
        [
            w.HBox([game, k]),
            w.HBox([steps, alpha]),
            w.HBox([epsilon_finish, n_seeds]),
            button,
            summary,
            picture,
        ]
    )
    box.controls = {
        "game": game,
        "k": k,
        "steps": steps,
        "alpha": alpha,
        "epsilon_finish": epsilon_finish,
        "n_seeds": n_seeds,
        "train": button,
        "picture": picture,
    }
    box.results = {}

    def show(experiment: dict[str, Any], note: str = "") -> None:
        publish(box, experiment)
        summary.value = note + iql_summary(experiment)
        picture.value = figure_png(iql_experiment_figure(experiment))

    def train(_=None) -> None:
        kwargs = {"k": k.value} if game.value == "penalty" else {}
        button.disabled, button.description = True, "training..."
        summary.value = "training..."
        try:
            experiment = iql_matrix_experiment(
                game.value,
                steps=steps.value,
                alpha=alpha.value,
                epsilon_finish=epsilon_finish.value,
                n_seeds=n_seeds.value,
                **kwargs,
            )
            show(experiment)
        finally:
            button.disabled, button.description = False, "Train"

    def stale(_=None) -> None:
        if box.results:  # the picture no longer matches the controls
            summary.value = "Settings changed: press <b>Train</b> to run them."

    for control in (game, k, steps, alpha, epsilon_finish, n_seeds):
        control.observe(stale, names="value")
    button.on_click(train)
    if initial is None:
        initial = iql_matrix_experiment(
            game.value, steps=steps.value, alpha=alpha.value,
            epsilon_finish=epsilon_finish.value, n_seeds=n_seeds.value,
        )  # fmt: skip
    show(initial, "Shown until you press Train: ")
    return box


# ------------------------------------------------------------------------------------------
# notebook 02: what an additive Q_tot can and cannot express
# ------------------------------------------------------------------------------------------
PAYOFF_PRESETS: dict[str, str] = {
    "two-step game, state 2B": "0 1; 1 8",
    "climbing": "11 -30 0; -30 7 6; 0 0 5",
    "penalty (k = -100)": "-100 0 10; 0 2 0; 10 0 -100",
    "coordination": "1 0; 0 1",
    "additive (rows + columns)": "0 2; 1 3",
}


def parse_payoff(text: str) -> np.ndarray:
    """A square two-agent payoff from text: rows split by ``;`` or new lines, entries by
    spaces or commas.

    >>> parse_payoff("0 1; 1 8").tolist()
    [[0.0, 1.0], [1.0, 8.0]]
    """
    rows = [r for r in text.replace(";", "\n").splitlines() if r.strip()]
    try:
        table = [[float(x) for x in r.replace(",", " ").split()] for r in rows]
    except ValueError as err:
        raise ValueError(f"could not read a number: {err}") from None
    if not table or any(len(r) != len(table) for r in table):
        raise ValueError(
            f"need a square table (as many rows as columns), got rows of lengths "
            f"{[len(r) for r in table]}"
        )
    if len(table) < 2:
        raise ValueError("need at least 2 actions per agent")
    return payoff_of(table)


def additive_fit_report(
    payoff: str | Sequence | np.ndarray, optimum_weight: float = 1.0
) -> dict[str, Any]:
    """The best additive fit of a payoff, with the optimal joint action counted
    ``optimum_weight`` times as often as every other joint action.

    Returns ``payoff``, ``weights``, ``fit`` (an :class:`~qmix_tut.tabular.AdditiveFit`),
    the payoff's ``optimum``, the fit's greedy joint action ``fit_greedy``, ``regret``
    (payoff lost by acting greedily on the fit) and ``representable`` (no residual).
    """
    table = payoff_of(payoff) if not isinstance(payoff, str) else parse_payoff(payoff)
    if not (math.isfinite(optimum_weight) and optimum_weight > 0):
        raise ValueError(f"optimum_weight must be a positive number, got {optimum_weight}")
    optimum = tuple(int(i) for i in np.unravel_index(np.argmax(table), table.shape))
    weights = np.ones_like(table)
    weights[optimum] = optimum_weight
    fit = additive_fit(table, weights)
    fit_greedy = fit.greedy_joint_action()
    return {
        "payoff": table,
        "weights": weights,
        "fit": fit,
        "optimum": optimum,
        "fit_greedy": fit_greedy,
        "regret": float(table[optimum] - table[fit_greedy]),
        "representable": fit.max_abs_residual < 1e-9,
    }


def additive_fit_figure(report: dict[str, Any]) -> Figure:
    """Payoff, its additive fit (shared colour scale) and the residual (payoff - fit)."""
    fit = report["fit"]
    low = float(min(fit.payoff.min(), fit.fit.min()))
    high = float(max(fit.payoff.max(), fit.fit.max()))
    bound = max(float(np.abs(fit.residual).max()), 1e-9)
    with style():
        fig = Figure(figsize=(10.5, 3.6), layout="constrained")
        ax_pay, ax_fit, ax_res = fig.subplots(1, 3)
        plot_q_table(ax_pay, fit.payoff, "payoff", vmin=low, vmax=high)
        plot_q_table(ax_fit, fit.fit, "best additive fit", vmin=low, vmax=high)
        plot_q_table(
            ax_res,
            fit.residual,
            "residual (payoff - fit)",
            highlight_argmax=False,
            cmap="RdBu",
            vmin=-bound,
            vmax=bound,
        )
    return fig


def vdn_fit_widget():
    """Choose or type a payoff; see its best additive fit and what acting on the fit loses."""
    import ipywidgets as w

    preset = w.Dropdown(options=list(PAYOFF_PRESETS), description="payoff")
    text = w.Text(
        value=PAYOFF_PRESETS[preset.value],
        description="table",
        placeholder="rows split by ;",
        layout=w.Layout(width="360px"),
    )
    weight = w.FloatLogSlider(
        value=1.0,
        base=10,
        min=0,
        max=3,
        description="optimum weight",
        style={"description_width": "110px"},
    )
    summary = w.HTML()
    output = w.Image(format="png")
    box = w.VBox([w.HBox([preset, text]), weight, summary, output])
    box.controls = {"preset": preset, "payoff": text, "optimum_weight": weight}
    box.results = {}

    def update(_=None) -> None:
        try:
            report = additive_fit_report(text.value, weight.value)
        except ValueError as err:
            publish(box, {})
            summary.value = f"<span style='color:#D55E00'>{err}</span>"
            output.value = b""
            return
        publish(box, report)
        verdict = (
            "The payoff is additive: VDN can represent it exactly."
            if report["representable"]
            else f"Largest residual {report['fit'].max_abs_residual:.2f}: VDN cannot represent it."
        )
        summary.value = (
            f"{verdict} Optimum {joint_name(report['optimum'])}; greedy on the fit "
            f"{joint_name(report['fit_greedy'])}"
            f" (loses {report['regret']:g})."
        )
        show_figure(output, additive_fit_figure(report))

    def choose(_=None) -> None:
        text.value = PAYOFF_PRESETS[preset.value]  # triggers update through text's observer

    preset.observe(choose, names="value")
    text.observe(update, names="value")
    weight.observe(update, names="value")
    update()
    return box
