"""Set-up and figure code the notebooks call, so that a cell a learner reads holds one idea.

Each function here was a long cell of a notebook: a figure with many panels, or the
set-up of a learner and a batch. What a notebook *teaches* stays in the notebook; these
only draw or assemble. Figures are built without pyplot state, so a notebook shows one by
ending a cell with it.

>>> fig, per_joint, extrapolated = argmax_timing_figure({1: 1e-4, 2: 2e-4}, {1: 1e-6, 2: 2e-6}, 5)
>>> round(per_joint * 1e9), sorted(extrapolated)[:2]
(8000, [2, 3])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from .plotting import ALGO_COLORS, OKABE_ITO, algo_color, style

__all__ = [
    "argmax_timing_figure",
    "cost_split",
    "curve_summary",
    "mixer_scaling_figure",
    "settings_curves_figure",
    "spread_setup",
    "state_surfaces_figure",
]


def argmax_timing_figure(
    brute_seconds: Mapping[int, float],
    per_agent_seconds: Mapping[int, float],
    n_actions: int,
    max_agents: int = 15,
) -> tuple[Figure, float, dict[int, float]]:
    """Notebook 03: seconds per greedy joint action, brute force against per-agent argmax.

    ``brute_seconds`` and ``per_agent_seconds`` map a team size to the measured seconds.
    Brute force beyond the largest size measured is extrapolated at ``n_actions`` times
    more work per extra agent. Returns the figure, the measured seconds per joint action
    and the extrapolated seconds ``{n: s}`` from the largest measured size to
    ``max_agents``.
    """
    if not brute_seconds or not per_agent_seconds:
        raise ValueError("brute_seconds and per_agent_seconds need at least one team size each")
    if n_actions < 2:
        raise ValueError(f"n_actions must be at least 2, got {n_actions}")
    n_max = max(brute_seconds)
    per_joint = brute_seconds[n_max] / n_actions**n_max
    extrapolated = {n: per_joint * n_actions**n for n in range(n_max, max_agents + 1)}
    brute, fast = algo_color("iql"), algo_color("qmix")
    with style():
        fig = Figure(figsize=(11, 4), layout="constrained")
        ax, ax_lin = fig.subplots(1, 2, width_ratios=(1.4, 1))
        ax.semilogy(list(brute_seconds), list(brute_seconds.values()), "o-", color=brute,
                    label="brute force over $|U|^n$ joint actions")  # fmt: skip
        ax.semilogy(list(extrapolated), list(extrapolated.values()), "--", color=brute,
                    alpha=0.6, label="extrapolated")  # fmt: skip
        ax.semilogy(list(per_agent_seconds), list(per_agent_seconds.values()), "s-", color=fast,
                    label="per-agent argmax ($n|U|$)")  # fmt: skip
        for seconds, text in ((1.0, "1 second"), (3600.0, "1 hour")):
            ax.axhline(seconds, color="#8C8C8C", linewidth=0.8)
            ax.annotate(text, (max_agents, seconds), xytext=(0, 3), textcoords="offset points",
                        ha="right")  # fmt: skip
        ax.set(xlabel="agents n", ylabel="seconds per greedy joint action",
               title=f"$|U| = {n_actions}$: exponential vs linear (log scale)")  # fmt: skip
        ax.legend(loc="upper left", frameon=True, framealpha=0.9, edgecolor="none")
        micro = np.array(list(per_agent_seconds.values())) * 1e6
        ax_lin.plot(list(per_agent_seconds), micro, "s-", color=fast)
        ax_lin.set(xlabel="agents n", ylabel="microseconds", ylim=(0, None),
                   title="per-agent argmax (linear scale)")  # fmt: skip
    return fig, per_joint, extrapolated


def spread_setup(
    max_cycles: int = 10,
    n_episodes: int = 32,
    warm_up_updates: int = 5,
    batch_size: int = 8,
    gamma: float = 0.99,
    seed: int = 0,
) -> dict[str, Any]:
    """Notebook 06: a QMIX learner on MPE ``simple_spread`` and a batch to build its loss on.

    Builds the task with episodes cut at ``max_cycles`` steps, a GRU agent network and a
    QMIX mixer (embed 32), the package's ``QLearner`` (Adam, double Q, target copies every
    200 episodes), fills an episode buffer with ``n_episodes`` random episodes played 8 at
    a time, takes ``warm_up_updates`` gradient steps on batches of 16 (so that the online
    networks differ from their target copies) and samples a batch of ``batch_size``
    episodes. Returns ``env``, ``agent``, ``mixer``, ``learner``, ``buffer``, ``batch``,
    ``gamma`` and ``drift`` (the largest difference between online and target agent
    weights).
    """
    from .agents import RNNAgent, agent_input_dim
    from .buffer import EpisodeBuffer
    from .envs import make
    from .learner import QLearner
    from .mixers import QMixer
    from .runner import EpisodeRunner

    if n_episodes < 8 or n_episodes % 8:
        raise ValueError(f"n_episodes must be a positive multiple of 8, got {n_episodes}")
    env = make("mpe:simple_spread", max_cycles=max_cycles)
    n_agents, n_actions = env.n_agents, env.n_actions
    torch.manual_seed(seed)
    agent = RNNAgent(agent_input_dim(env.obs_dim, n_actions, n_agents), n_actions)
    mixer = QMixer(n_agents, env.state_dim, embed_dim=32)
    learner = QLearner(agent, mixer, n_actions=n_actions, gamma=gamma, optimizer="adam",
                       lr=1e-3, double_q=True, target_update_interval=200)  # fmt: skip
    buffer = EpisodeBuffer(2 * n_episodes, env.episode_limit, n_agents, env.obs_dim,
                           env.state_dim, n_actions)  # fmt: skip
    envs = [make("mpe:simple_spread", max_cycles=max_cycles) for _ in range(8)]
    runner = EpisodeRunner(envs, agent, generator=torch.Generator().manual_seed(seed))
    for r in range(n_episodes // 8):
        episodes, _ = runner.run(epsilon=1.0, seeds=[8 * r + i for i in range(8)])
        buffer.insert(episodes)
    sampler = torch.Generator().manual_seed(seed)
    for _ in range(warm_up_updates):  # n_episodes seen < 200: no target refresh yet
        learner.update(buffer.sample(min(16, n_episodes), sampler), episodes_seen=n_episodes)
    drift = max(
        (p - q).abs().max().item()
        for p, q in zip(learner.agent.parameters(), learner.target_agent.parameters(), strict=True)
    )
    return {
        "env": env,
        "agent": agent,
        "mixer": mixer,
        "learner": learner,
        "buffer": buffer,
        "batch": buffer.sample(batch_size, sampler),
        "gamma": gamma,
        "drift": drift,
    }


def state_surfaces_figure(
    q1: np.ndarray,
    q2: np.ndarray,
    surfaces: Mapping[str, Mapping[str, Any]],
    points: Mapping[str, Mapping[str, tuple[float, float]]],
    label_offsets: Sequence[tuple[int, int]] = ((6, 6), (6, -12), (-6, 6), (-6, -12)),
) -> Figure:
    """Notebook 09: one contour map of ``Q_tot(Q_1, Q_2)`` per state, on one colour scale.

    ``q1``, ``q2`` are the meshgrid of agent values, ``surfaces`` maps a state's name to a
    :func:`~qmix_tut.widgets.lab.mixer_surface` result, and ``points`` maps it to labelled
    ``(Q_1, Q_2)`` pairs (the joint actions at the agents' learned values), drawn as dots.
    """
    names = list(surfaces)
    if set(points) != set(names):
        raise ValueError(f"points name states {sorted(points)}, surfaces {sorted(names)}")
    low = min(float(s["q_tot"].min()) for s in surfaces.values())
    high = max(float(s["q_tot"].max()) for s in surfaces.values())
    with style():
        fig = Figure(figsize=(4 * len(names), 3.8), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(names), sharey=True))
        for ax, name in zip(axes, names, strict=True):
            table = surfaces[name]["q_tot"]
            filled = ax.contourf(q1, q2, table, levels=np.linspace(low, high, 25))
            ax.contour(q1, q2, table, levels=np.linspace(low, high, 13), colors="white",
                       linewidths=0.6)  # fmt: skip
            for (label, (x, y)), (dx, dy) in zip(points[name].items(), label_offsets, strict=False):
                ax.plot(x, y, "o", color="white", markeredgecolor="black")
                ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points",
                            color="white", fontweight="bold", ha="left" if dx > 0 else "right")  # fmt: skip
            ax.set(title=f"state {name}", xlabel="$Q_1$")
            ax.grid(False)
        axes[0].set_ylabel("$Q_2$")
        fig.colorbar(filled, ax=list(axes), label="$Q_{tot}$")
    return fig


def mixer_scaling_figure(cost: Mapping[str, Sequence[float]], n_actions: int = 5) -> Figure:
    """Notebook 11: mixer size and update time against the number of agents.

    ``cost`` holds equal-length lists: ``n`` (agents), ``mixer_params`` and
    ``mixer_params_1`` (parameters with two- and one-layer hypernetworks), ``mixer_s`` and
    ``agents_s`` (seconds per forward and backward pass). The joint action count
    ``n_actions ** n`` is drawn for scale.
    """
    keys = ("n", "mixer_params", "mixer_params_1", "mixer_s", "agents_s")
    missing = [k for k in keys if k not in cost]
    if missing:
        raise ValueError(f"cost is missing {missing}")
    if len({len(cost[k]) for k in keys}) != 1:
        raise ValueError("every list in cost must have one entry per team size")
    ns = np.array(cost["n"])
    qmix = ALGO_COLORS["qmix"]
    with style():
        fig = Figure(figsize=(10, 3.8), layout="constrained")
        ax_p, ax_t = fig.subplots(1, 2)
        ax_p.plot(ns, cost["mixer_params"], "o-", color=qmix, label="mixer parameters")
        ax_p.plot(ns, cost["mixer_params_1"], "o:", color=qmix,
                  label="mixer parameters, one-layer hypernetworks")  # fmt: skip
        ax_p.plot(ns, float(n_actions) ** ns, "s--", color=OKABE_ITO["grey"],
                  label=f"joint actions, {n_actions} actions each")  # fmt: skip
        ax_p.set(yscale="log", xlabel="agents", ylabel="count", title="size", ylim=(10, 1e13))
        ax_p.legend()
        ax_t.plot(ns, np.array(cost["mixer_s"]) * 1e3, "o-", color=qmix, label="mixer")
        ax_t.plot(ns, np.array(cost["agents_s"]) * 1e3, "^-", color="#4D4D4D", label="GRU agents")
        ax_t.set(yscale="log", xlabel="agents", ylabel="ms per forward+backward",
                 title="time (this machine)")  # fmt: skip
        ax_t.legend()
        for ax in (ax_p, ax_t):
            ax.set_xscale("log", base=2)
            ax.set_xticks(ns, [str(n) for n in ns])
            ax.minorticks_off()
    return fig


def cost_split(config: Any) -> dict[str, float]:
    """Train ``config`` once and say where the wall-clock time went, in seconds.

    Timers wrap the environment (``MultiAgentEnv.reset`` and ``step``, or the batched
    env's when the run uses one, as ``simple_spread`` does by default), the episode
    runner (``EpisodeRunner.run``, which also plays the greedy evaluations) and the
    learner's ``update``; the returned parts add up to ``total``:

    * ``env``: stepping and resetting the environments (Python: PettingZoo and the wrapper);
    * ``acting``: the rest of collecting, mostly the agent network's forward pass per step;
    * ``learning``: the gradient steps (sampling the batch is done before ``update``, and
      counts as ``other``);
    * ``setup``: building the environments, networks and optimizer (the first run in a
      process also pays one-time imports here);
    * ``other``: everything else (replay buffer, evaluation bookkeeping, history).

    The timers cost a few microseconds per call, small against one env step.
    """
    import time

    from .coma import COMALearner
    from .config import Config
    from .envs.batched import BatchedSimpleSpread
    from .envs.core import MultiAgentEnv
    from .learner import QLearner
    from .runner import EpisodeRunner
    from .train import Trainer, train

    if not isinstance(config, Config):
        raise TypeError(f"cost_split takes a Config, got {type(config).__name__}")
    spent = {"env": 0.0, "runner": 0.0, "learning": 0.0, "setup": 0.0}
    targets = [
        (Trainer, "__init__", "setup"),
        (MultiAgentEnv, "step", "env"),
        (MultiAgentEnv, "reset", "env"),
        (BatchedSimpleSpread, "step", "env"),
        (BatchedSimpleSpread, "reset", "env"),
        (EpisodeRunner, "run", "runner"),
        (QLearner, "update", "learning"),
        (COMALearner, "update", "learning"),
    ]
    originals = [(cls, name, cls.__dict__[name]) for cls, name, _ in targets]

    def timed(fn: Any, key: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start

        return wrapper

    for (cls, name, key), (_, _, fn) in zip(targets, originals, strict=True):
        setattr(cls, name, timed(fn, key))
    try:
        start = time.perf_counter()
        train(config, progress=False)
        total = time.perf_counter() - start
    finally:
        for cls, name, fn in originals:
            setattr(cls, name, fn)
    return {
        "env": spent["env"],
        "acting": spent["runner"] - spent["env"],
        "learning": spent["learning"],
        "setup": spent["setup"],
        "other": total - spent["setup"] - spent["runner"] - spent["learning"],
        "total": total,
    }


def curve_summary(
    runs: Sequence[tuple[np.ndarray, np.ndarray]], last: int = 5, target: float | None = None
) -> dict[str, Any]:
    """Notebook 06: one setting's stored learning curves, summed up per seed.

    ``runs`` holds one ``(env_steps, greedy_return)`` pair of 1-D arrays per seed. Returns
    ``seeds`` (their number), ``end_steps`` (each run's last env step), ``final`` (each
    seed's mean over its last ``last`` evaluations), ``final_median`` (the median of
    ``final`` over seeds) and, when ``target`` is given, ``first_at_target``: each seed's
    first env step whose return is at or above ``target`` (``None`` where it never was).

    >>> s = curve_summary([(np.array([0, 10, 20]), np.array([-9.0, -5.0, -3.0]))], 2, -5.0)
    >>> s["final"], s["first_at_target"]
    ([-4.0], [10])
    """
    if last < 1:
        raise ValueError(f"last must be at least 1, got {last}")
    if not runs:
        raise ValueError("runs holds no (env_steps, return) pair")
    end_steps, final, first = [], [], []
    for i, (x, y) in enumerate(runs):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape:
            raise ValueError(
                f"run {i}: env_steps and return must be 1-D of one length, got shapes "
                f"{x.shape} and {y.shape}"
            )
        if len(y) < last or not np.isfinite(y[-last:]).all():
            raise ValueError(f"run {i}: needs {last} finite evaluations at its end, has {len(y)}")
        end_steps.append(int(x[-1]))
        final.append(float(y[-last:].mean()))
        if target is not None:
            reached = np.flatnonzero(y >= target)
            first.append(int(x[reached[0]]) if len(reached) else None)
    summary: dict[str, Any] = {
        "seeds": len(runs),
        "end_steps": end_steps,
        "final": final,
        "final_median": float(np.median(final)),
    }
    if target is not None:
        summary["first_at_target"] = first
    return summary


def settings_curves_figure(
    curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]],
    title: str,
    ylabel: str = "greedy test return",
    target: float | None = None,
    zoom_from: float | None = None,
) -> Figure:
    """Notebook 06: one algorithm under several settings (e.g. TD(lambda)'s lambda), over seeds.

    ``curves`` maps a setting's label to one ``(env_steps, return)`` pair per seed; each is
    drawn as the mean over its seeds with the range across them (min to max) as a band, in
    shades of the algorithm's blue from the first setting (light) to the last (dark), each
    with its own line style. ``target`` draws a dashed level line; ``zoom_from`` adds a
    second panel showing env steps from there on, with the y axis fitted to that stretch.
    """
    import matplotlib as mpl
    from matplotlib.colors import to_hex
    from matplotlib.ticker import FuncFormatter

    from .plotting import common_grid

    if not curves:
        raise ValueError("curves holds no setting")
    shades = [to_hex(c) for c in mpl.colormaps["Blues"](np.linspace(0.55, 0.95, len(curves)))]
    styles = (":", "-", "--", "-.")
    with style():
        fig = Figure(figsize=(11 if zoom_from is not None else 6.4, 4.0), layout="constrained")
        axes = fig.subplots(1, 2 if zoom_from is not None else 1, squeeze=False)[0]
        zoom_low, zoom_high, x_end = np.inf, -np.inf, 0.0
        for i, (label, runs) in enumerate(curves.items()):
            x, ys = common_grid(runs)
            x_end = max(x_end, float(x[-1]))
            mean = ys.mean(axis=0)
            n = f"{len(ys)} seed" + ("s" if len(ys) > 1 else "")
            for ax in axes:
                ax.plot(x, mean, styles[i % len(styles)], color=shades[i], label=f"{label} ({n})")
                ax.fill_between(x, ys.min(axis=0), ys.max(axis=0), color=shades[i], alpha=0.18,
                                linewidth=0)  # fmt: skip
            if zoom_from is not None and (x >= zoom_from).any():
                zoom_low = min(zoom_low, float(ys[:, x >= zoom_from].min()))
                zoom_high = max(zoom_high, float(ys[:, x >= zoom_from].max()))
        for ax in axes:
            if target is not None:
                ax.axhline(target, color=ALGO_COLORS["paper"], linestyle="--", linewidth=1.0,
                           alpha=0.7, label=f"{target:g}")  # fmt: skip
            ax.set(xlabel="environment steps", ylabel=ylabel)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v else "0"))
        axes[0].set_title(title)
        axes[0].legend(loc="lower right")
        if zoom_from is not None:
            axes[1].set_xlim(zoom_from, max(x_end, zoom_from + 1.0))
            if np.isfinite(zoom_low):
                pad = 0.05 * (zoom_high - zoom_low) + 0.5
                axes[1].set_ylim(zoom_low - pad, zoom_high + pad)
            axes[1].set_title(f"from {zoom_from:,.0f} steps on (mean and range)")
    return fig
