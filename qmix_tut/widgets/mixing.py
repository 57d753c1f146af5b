"""Widgets of notebooks 03-04: monotonic mixing, hypernetwork mixers, the QMIX ablations.

Each experiment is a plain function returning a dict (tested with pytest) and a function
drawing that dict as a :class:`~matplotlib.figure.Figure`; the ``*_widget()`` builders only
wire ipywidgets controls to them. Every builder returns its container with two extra
attributes: ``controls`` (name -> widget, so a test or a reader can set ``.value`` or call
``.click()``) and ``results`` (the latest output of the experiment function).

>>> report = tiny_mixer_report(weight=-1.0)
>>> report["decentralised"], report["joint_argmax"], report["igm"]
((0, 2), (0, 0), False)
>>> tiny_mixer_report(weight=-1.0, use_abs=True)["igm"]
True
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import nn

from .. import algorithms
from ..analysis import igm_holds, joint_q_table, mixer_gradients
from ..plotting import OKABE_ITO, algo_label, plot_learning_curves, plot_q_table, style
from ._common import publish, show_figure

__all__ = [
    "ABLATION_ALGOS",
    "TinyMixer",
    "ablation_curves",
    "ablation_figure",
    "ablation_runs",
    "ablation_summary",
    "ablation_widget",
    "hypernet_state_figure",
    "hypernet_state_report",
    "hypernet_state_widget",
    "load_ablation_csv",
    "monotonic_mixer_widget",
    "tiny_mixer_figure",
    "tiny_mixer_report",
]

ACTION_NAMES = ("A", "B", "C")


# ------------------------------------------------------------------------------------------
# notebook 03: one weight of a tiny mixer decides whether per-agent greedy actions are optimal
# ------------------------------------------------------------------------------------------
class TinyMixer(nn.Module):
    """Two agents, two hidden ELU units: ``q_tot = ELU(q W1 + b1) W2 + b2``.

    ``weight`` is ``W1[1, 0]``, agent 2's weight into the first hidden unit; the other
    weights are positive. With ``use_abs`` every weight passes through ``abs``, as in QMIX.
    """

    def __init__(self, weight: float, use_abs: bool = False) -> None:
        super().__init__()
        if not math.isfinite(weight):
            raise ValueError(f"weight must be a finite number, got {weight}")
        w1 = torch.tensor([[1.0, 0.4], [float(weight), 0.6]])
        self.register_buffer("w1", w1.abs() if use_abs else w1)
        self.register_buffer("b1", torch.tensor([0.0, -1.0]))
        self.register_buffer("w2", torch.tensor([[1.0], [1.0]]))
        self.register_buffer("b2", torch.tensor([0.0]))

    def forward(self, agent_qs: torch.Tensor, states: torch.Tensor | None = None) -> torch.Tensor:
        return F.elu(agent_qs @ self.w1 + self.b1) @ self.w2 + self.b2


def tiny_mixer_report(
    weight: float = -1.0,
    seed: int = 0,
    use_abs: bool = False,
    agent_qs: Sequence | np.ndarray | None = None,
) -> dict[str, Any]:
    """Q_tot of a :class:`TinyMixer` over all 3 x 3 joint actions, and whether IGM holds.

    The two agents' Q-values are ``agent_qs [2, 3]`` or, if None, drawn uniformly from
    [-2, 2] with ``seed``. Returns ``agent_qs``, the ``table`` of Q_tot (rows agent 1),
    the ``decentralised`` pick (each agent's own argmax), the ``joint_argmax`` of the
    table, ``igm`` (the decentralised pick is a joint maximum), ``regret`` (Q_tot lost by
    acting decentralised), ``gradients [3, 3, 2]`` (dQ_tot/dQ_a at each joint action's
    point, by autograd), ``min_gradient`` per agent and ``monotonic`` (no negative
    gradient at those points).
    """
    if agent_qs is None:
        agent_qs = np.random.default_rng(seed).uniform(-2.0, 2.0, size=(2, 3)).round(2)
    agent_qs = np.asarray(agent_qs, dtype=np.float32)
    if agent_qs.ndim != 2 or agent_qs.shape[0] != 2:
        raise ValueError(f"agent_qs must have shape [2, n_actions], got {agent_qs.shape}")
    mixer = TinyMixer(weight, use_abs)
    no_state = np.zeros(1, dtype=np.float32)
    table = joint_q_table(mixer, agent_qs, no_state)
    decentralised = tuple(int(i) for i in agent_qs.argmax(-1))
    joint = tuple(int(i) for i in np.unravel_index(np.argmax(table), table.shape))
    n_actions = agent_qs.shape[1]
    pairs = np.array(list(itertools.product(range(n_actions), repeat=2)))
    points = torch.as_tensor(agent_qs[np.arange(2), pairs])  # [A^2, 2]
    grads = mixer_gradients(mixer, points, torch.zeros(len(points), 1)).numpy()
    grads = grads.reshape(n_actions, n_actions, 2)
    return {
        "weight": float(weight),
        "effective_weight": float(mixer.w1[1, 0]),
        "use_abs": bool(use_abs),
        "agent_qs": agent_qs,
        "table": table,
        "decentralised": decentralised,
        "joint_argmax": joint,
        "igm": igm_holds(mixer, agent_qs, no_state),
        "regret": float(table.max() - table[decentralised]),
        "gradients": grads,
        "min_gradient": grads.min(axis=(0, 1)),
        "monotonic": bool((grads >= 0).all()),
    }


def tiny_mixer_figure(report: dict[str, Any]) -> Figure:
    """The agents' Q-values, Q_tot over joint actions (joint argmax outlined, decentralised
    pick in a dashed box) and dQ_tot/dQ_2 at each joint action."""
    q, table, grads = report["agent_qs"], report["table"], report["gradients"]
    names = [chr(ord("A") + i) for i in range(q.shape[1])]
    with style():
        fig = Figure(figsize=(11, 3.6), layout="constrained")
        ax_q, ax_tot, ax_grad = fig.subplots(1, 3, width_ratios=(1, 1.1, 1.1))
        x = np.arange(q.shape[1])
        for a, (shift, color) in enumerate(((-0.2, OKABE_ITO["blue"]), (0.2, OKABE_ITO["orange"]))):
            ax_q.bar(x + shift, q[a], width=0.38, color=color, label=f"$Q_{a + 1}$")
            best = int(q[a].argmax())
            ax_q.plot(best + shift, q[a, best], "v", color="black", markersize=7)
        ax_q.axhline(0, color="#4D4D4D", linewidth=0.8)
        ax_q.set_xticks(x, names)
        ax_q.set(xlabel="action", ylabel="agent Q-value", title="agents' values (▼ argmax)")
        ax_q.legend(loc="best")
        plot_q_table(ax_tot, table, "$Q_{tot}$: joint argmax outlined,\nper-agent pick dashed")
        i, j = report["decentralised"]
        ax_tot.add_patch(
            Rectangle(
                (j - 0.42, i - 0.42),
                0.84,
                0.84,
                fill=False,
                edgecolor="black",
                linestyle="--",
                linewidth=2.5,
            )
        )
        bound = max(float(np.abs(grads[..., 1]).max()), 1e-6)
        plot_q_table(
            ax_grad,
            grads[..., 1],
            r"$\partial Q_{tot}/\partial Q_2$",
            highlight_argmax=False,
            cmap="RdBu",
            vmin=-bound,
            vmax=bound,
        )
        verdict = "IGM holds" if report["igm"] else f"IGM fails: regret {report['regret']:.2f}"
        fig.suptitle(
            f"agent 2's first weight = {report['effective_weight']:+.2f}: {verdict}",
            fontweight="bold",
        )
    return fig


def monotonic_mixer_widget(weight: float = -1.0, seed: int = 0):
    """A slider over agent 2's weight in a tiny mixer: does acting greedily per agent still
    find the best joint action? Another slider draws new agent Q-values."""
    import ipywidgets as w

    style_ = {"description_width": "130px"}
    weight_slider = w.FloatSlider(
        value=weight, min=-2.0, max=2.0, step=0.1, description="agent 2's weight", style=style_
    )
    seed_slider = w.IntSlider(value=seed, min=0, max=50, description="Q-values seed", style=style_)
    use_abs = w.Checkbox(value=False, description="apply abs (QMIX)")
    summary = w.HTML()
    output = w.Image(format="png")
    box = w.VBox([w.HBox([weight_slider, seed_slider, use_abs]), summary, output])
    box.controls = {"weight": weight_slider, "seed": seed_slider, "use_abs": use_abs}
    box.results = {}

    def update(_=None) -> None:
        report = tiny_mixer_report(weight_slider.value, seed_slider.value, use_abs.value)
        publish(box, report)
        dec = "".join(ACTION_NAMES[i] for i in report["decentralised"])
        joint = "".join(ACTION_NAMES[i] for i in report["joint_argmax"])
        low = report["min_gradient"]
        summary.value = (
            f"Decentralised pick <b>{dec}</b>, joint argmax <b>{joint}</b>: "
            f"{'IGM holds' if report['igm'] else 'IGM fails'}. Smallest "
            f"dQ<sub>tot</sub>/dQ<sub>a</sub> at these points: {low[0]:.2f} (agent 1), "
            f"{low[1]:.2f} (agent 2)."
        )
        show_figure(output, tiny_mixer_figure(report))

    for control in (weight_slider, seed_slider, use_abs):
        control.observe(update, names="value")
    update()
    return box


# ------------------------------------------------------------------------------------------
# notebook 04: how a hypernetwork mixer changes with the state
# ------------------------------------------------------------------------------------------
def hypernet_state_report(
    mixer: nn.Module,
    state: Sequence[float] | np.ndarray | float,
    q_range: tuple[float, float] = (-2.0, 2.0),
    n_grid: int = 41,
) -> dict[str, Any]:
    """The mixing network a two-agent :class:`~qmix_tut.mixers.QMixer` builds for ``state``.

    Returns the ``state``, the non-negative weights ``w1 [2, e]`` and ``w2 [e]``, the
    bias ``b1 [e]``, ``v`` (V(s)), Q_tot on a grid of agent values (``q_grid [G]``,
    ``q_tot [G, G]`` with rows Q_1 and columns Q_2), ``gradients [G, G, 2]``
    (dQ_tot/dQ_a by autograd), their ``mean_gradient`` per agent and ``monotonic``.
    """
    if not hasattr(mixer, "mixing_weights") or getattr(mixer, "n_agents", None) != 2:
        raise ValueError("hypernet_state_report needs a two-agent QMixer (n_agents=2)")
    state_t = torch.as_tensor(np.atleast_1d(np.asarray(state, dtype=np.float32)))
    if state_t.shape != (mixer.state_dim,):
        raise ValueError(f"state must have shape ({mixer.state_dim},), got {tuple(state_t.shape)}")
    if n_grid < 2 or not q_range[0] < q_range[1]:
        raise ValueError(f"need n_grid >= 2 and q_range low < high, got {n_grid}, {q_range}")
    q = np.linspace(q_range[0], q_range[1], n_grid, dtype=np.float32)
    g1, g2 = np.meshgrid(q, q, indexing="ij")
    points = torch.as_tensor(np.stack([g1, g2], axis=-1).reshape(-1, 2))
    states = state_t.expand(len(points), -1)
    with torch.no_grad():
        p = mixer.mixing_weights(state_t)
        q_tot = mixer(points, states).reshape(n_grid, n_grid).numpy()
    grads = mixer_gradients(mixer, points, states).reshape(n_grid, n_grid, 2).numpy()
    return {
        "state": state_t.numpy(),
        "w1": p["w1"].numpy(),
        "b1": p["b1"].reshape(-1).numpy(),
        "w2": p["w2"].reshape(-1).numpy(),
        "v": float(p["v"]),
        "q_grid": q,
        "q_tot": q_tot,
        "gradients": grads,
        "mean_gradient": grads.mean(axis=(0, 1)),
        "monotonic": bool((grads >= 0).all()),
    }


def hypernet_state_figure(
    report: dict[str, Any],
    q_tot_limits: tuple[float, float] | None = None,
    weight_max: float | None = None,
) -> Figure:
    """Q_tot over the agents' values, the state's mixing weights, and each agent's mean
    dQ_tot/dQ_a. Fix ``q_tot_limits`` and ``weight_max`` to compare several states."""
    q, q_tot = report["q_grid"], report["q_tot"]
    weights = np.vstack([report["w1"], report["w2"][None, :]])  # [3, e]
    state_text = ", ".join(f"{x:.2f}" for x in report["state"])
    with style():
        fig = Figure(figsize=(11, 3.6), layout="constrained")
        ax_surf, ax_w, ax_g = fig.subplots(1, 3, width_ratios=(1.1, 1.3, 0.8))
        low, high = q_tot_limits or (float(q_tot.min()), float(q_tot.max()))
        levels = np.linspace(low, high, 15) if high > low else 15
        image = ax_surf.contourf(q, q, q_tot.T, levels=levels, cmap="viridis", extend="both")
        ax_surf.set(xlabel="$Q_1$", ylabel="$Q_2$", title=f"$Q_{{tot}}$, V(s) = {report['v']:.2f}")
        ax_surf.grid(False)
        fig.colorbar(image, ax=ax_surf, shrink=0.85, format="%.1f")
        w_image = ax_w.imshow(
            weights, aspect="auto", cmap="Blues", vmin=0, vmax=weight_max or weights.max()
        )
        ax_w.set_yticks(range(3), ["$|W_1|$ agent 1", "$|W_1|$ agent 2", "$|W_2|$"])
        ax_w.set_xlabel("hidden unit")
        ax_w.set_title("mixing weights from s")
        ax_w.grid(False)
        fig.colorbar(w_image, ax=ax_w, shrink=0.85, format="%.1f")
        mean = report["mean_gradient"]
        ax_g.bar(["agent 1", "agent 2"], mean, color=[OKABE_ITO["blue"], OKABE_ITO["orange"]])
        ax_g.set(ylabel=r"mean $\partial Q_{tot}/\partial Q_a$", title="each agent's weight")
        ax_g.set_ylim(0, max(1.05 * float(mean.max()), 1e-3))
        fig.suptitle(f"state s = [{state_text}]", fontweight="bold")
    return fig


def hypernet_state_widget(
    mixer: nn.Module,
    start: Sequence[float] | np.ndarray | float = -1.0,
    end: Sequence[float] | np.ndarray | float = 1.0,
    q_range: tuple[float, float] = (-2.0, 2.0),
):
    """A slider moving the state from ``start`` to ``end`` (a straight line between the
    two): watch the hypernetworks rewrite the mixing weights while Q_tot stays monotonic."""
    import ipywidgets as w

    start_v = np.atleast_1d(np.asarray(start, dtype=np.float32))
    end_v = np.atleast_1d(np.asarray(end, dtype=np.float32))
    if start_v.shape != end_v.shape:
        raise ValueError(f"start and end differ in shape: {start_v.shape} vs {end_v.shape}")

    def state_at(t: float) -> np.ndarray:
        return (1.0 - t) * start_v + t * end_v

    # one colour scale for every state, so the panels can be compared while sliding
    ends = [hypernet_state_report(mixer, state_at(t), q_range, 11) for t in (0.0, 0.5, 1.0)]
    q_tot_limits = (min(r["q_tot"].min() for r in ends), max(r["q_tot"].max() for r in ends))
    weight_max = max(max(r["w1"].max(), r["w2"].max()) for r in ends)

    t_slider = w.FloatSlider(
        value=0.0,
        min=0.0,
        max=1.0,
        step=0.05,
        description="state: start → end",
        style={"description_width": "130px"},
        layout=w.Layout(width="420px"),
    )
    summary = w.HTML()
    output = w.Image(format="png")
    box = w.VBox([t_slider, summary, output])
    box.controls = {"state": t_slider}
    box.results = {}

    def update(_=None) -> None:
        report = hypernet_state_report(mixer, state_at(t_slider.value), q_range)
        publish(box, report)
        g = report["mean_gradient"]
        summary.value = (
            f"s = {np.round(report['state'], 2).tolist()}: mean dQ<sub>tot</sub>/dQ<sub>a</sub>"
            f" = {g[0]:.2f} (agent 1), {g[1]:.2f} (agent 2); V(s) = {report['v']:.2f}; "
            f"monotonic on the grid: {report['monotonic']}."
        )
        show_figure(output, hypernet_state_figure(report, q_tot_limits, weight_max))

    t_slider.observe(update, names="value")
    update()
    return box


# ------------------------------------------------------------------------------------------
# notebook 04: the QMIX paper's ablations on the two-step game
# ------------------------------------------------------------------------------------------
ABLATION_ALGOS = algorithms.ABLATION_ALGOS

Curves = dict[str, list[dict[str, np.ndarray]]]
"""algorithm -> one dict per seed with arrays ``env_steps``, ``eval_return``, ``loss``."""


def ablation_runs(
    algos: Sequence[str] = ABLATION_ALGOS,
    total_steps: int = 2000,
    seed: int = 0,
    eval_interval: int = 250,
) -> dict[str, Any]:
    """Train each algorithm once on the two-step game with the paper's settings (the
    ``two_step_paper`` preset) for ``total_steps``; returns ``{algo: Result}``."""
    from .. import Config, train

    if not algos:
        raise ValueError("choose at least one algorithm")
    return {
        algo: train(
            Config.preset(
                "two_step_paper",
                algo=algo,
                seed=seed,
                total_steps=total_steps,
                eval_interval=eval_interval,
            ),
            progress=False,
        )
        for algo in algos
    }


def ablation_curves(runs: Mapping[str, Any]) -> Curves:
    """``{algo: Result}`` (or lists of Results) as curves, one entry per seed."""
    curves: Curves = {}
    for algo, results in runs.items():
        if not isinstance(results, (list, tuple)):
            results = [results]
        curves[algo] = [
            {k: r.column(k) for k in ("env_steps", "eval_return", "loss")} for r in results
        ]
    return curves


def load_ablation_csv(path: str | Path) -> Curves:
    """Curves from the CSV written by ``benchmarks/ablations_two_step.py``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"no such file: {path}; write it with python benchmarks/ablations_two_step.py"
        )
    grouped: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = {"algo", "seed", "env_steps", "eval_return", "loss"} - set(
            reader.fieldnames or []
        )
        if missing:
            raise ValueError(f"{path} lacks column(s) {', '.join(sorted(missing))}")
        for row in reader:
            loss = float(row["loss"]) if row["loss"] else math.nan
            key = (row["algo"], int(row["seed"]))
            grouped.setdefault(key, []).append(
                (float(row["env_steps"]), float(row["eval_return"]), loss)
            )
    curves: Curves = {}
    for (algo, _seed), points in sorted(grouped.items(), key=lambda kv: kv[0][1]):
        data = np.array(sorted(points))
        curves.setdefault(algo, []).append(
            {"env_steps": data[:, 0], "eval_return": data[:, 1], "loss": data[:, 2]}
        )
    order = [a for a in ABLATION_ALGOS if a in curves] + sorted(set(curves) - set(ABLATION_ALGOS))
    return {a: curves[a] for a in order}


def ablation_summary(curves: Curves) -> dict[str, dict[str, Any]]:
    """Per algorithm: ``seeds``, the ``final_returns`` (one per seed), their ``mean`` and
    the median ``final_loss`` (mean TD loss over the last evaluation interval)."""
    out = {}
    for algo, runs in curves.items():
        finals = np.array([run["eval_return"][-1] for run in runs])
        losses = np.array([run["loss"][-1] for run in runs])
        out[algo] = {
            "seeds": len(runs),
            "final_returns": finals,
            "mean": float(finals.mean()),
            "final_loss": float(np.nanmedian(losses)) if np.isfinite(losses).any() else math.nan,
        }
    return out


def ablation_figure(
    curves: Curves, stored: Curves | None = None, title: str | None = None
) -> Figure:
    """Loss (top, log scale) and greedy return (bottom) against environment steps, one
    colour per algorithm: the reader's runs on the left, the stored runs on the right.

    Methods often earn exactly the same return, so the return curves are drawn from
    thickest (first algorithm) to thinnest (last): lines on top of each other show as
    nested stripes instead of hiding one another.
    """
    columns = [("your run", curves)] + ([("stored runs", stored)] if stored else [])
    with style():
        fig = Figure(figsize=(5.2 * len(columns) + 0.6, 6.6), layout="constrained")
        axes = np.array(fig.subplots(2, len(columns), squeeze=False, sharey="row"))
        for col, (label, data) in enumerate(columns):
            losses = {a: [(r["env_steps"], r["loss"]) for r in runs] for a, runs in data.items()}
            returns = {
                a: [(r["env_steps"], r["eval_return"]) for r in runs] for a, runs in data.items()
            }
            n_seeds = max(len(runs) for runs in data.values())
            heading = f"{label} ({n_seeds} seed{'s' if n_seeds > 1 else ''})"
            plot_learning_curves(
                axes[0, col], losses, ylabel="TD loss", title=heading, legend=col == 0
            )
            axes[0, col].set_yscale("log")
            ax = axes[1, col]
            plot_learning_curves(
                ax,
                returns,
                ylabel="greedy return (mean over seeds)",
                band=None,
                reference={"optimal 8": 8.0},
                legend=False,
            )
            for i, line in enumerate(ax.get_lines()[: len(returns)]):
                line.set_linewidth(1.5 + 1.5 * (len(returns) - 1 - i))
            ax.set_ylim(6.6, 8.4)
        axes[0, 0].legend(loc="upper right", ncol=2, fontsize="small")
        if title:
            fig.suptitle(title, fontweight="bold")
    return fig


def ablation_widget(stored: Curves | None = None, initial: Curves | None = None):
    """Pick algorithms, steps and a seed, press Train: the ablations on the two-step game,
    drawn beside ``stored`` runs (e.g. from :func:`load_ablation_csv`).

    ``initial``, curves already trained (:func:`ablation_curves`), are drawn until the first
    click, so the saved notebook shows a result rather than an empty frame.
    """
    import ipywidgets as w

    algos = w.SelectMultiple(
        options=[(algo_label(a), a) for a in ABLATION_ALGOS],
        value=ABLATION_ALGOS,
        description="algorithms",
        rows=len(ABLATION_ALGOS),
    )
    steps = w.IntSlider(value=2000, min=200, max=10_000, step=200, description="env steps")
    seed = w.BoundedIntText(value=1, min=0, max=10_000, description="seed")
    button = w.Button(description="Train", button_style="primary", icon="play")
    summary = w.HTML()
    picture = w.Image(format="png")
    box = w.VBox([w.HBox([algos, w.VBox([steps, seed, button])]), summary, picture])
    box.controls = {
        "algos": algos, "steps": steps, "seed": seed, "train": button, "picture": picture,
    }  # fmt: skip
    box.results = {}

    def show(curves: Curves, runs: Any = None, note: str = "") -> None:
        publish(box, {"runs": runs, "curves": curves, "summary": ablation_summary(curves)})
        summary.value = (
            note
            + "Greedy returns: "
            + ", ".join(f"{algo_label(a)} {s['mean']:g}" for a, s in box.results["summary"].items())
        )
        show_figure(picture, ablation_figure(curves, stored))

    def train(_=None) -> None:
        if not algos.value:
            summary.value = "<span style='color:#D55E00'>Choose at least one algorithm.</span>"
            return
        button.disabled, button.description = True, "training..."
        summary.value = f"training... (about {len(algos.value) * steps.value / 1000:.0f} s)"
        try:
            runs = ablation_runs(
                list(algos.value), steps.value, seed.value, max(steps.value // 8, 1)
            )
            show(ablation_curves(runs), runs)
        finally:
            button.disabled, button.description = False, "Train"

    button.on_click(train)
    if initial is not None:
        show(initial, note="Shown until you press Train: ")
    return box
