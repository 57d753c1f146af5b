"""Widgets of notebooks 05-06: a recurrent agent's memory step by step, and the TD target
of the full learner piece by piece.

Each experiment is a plain function returning a dict (tested with pytest) and a function
drawing that dict as a :class:`~matplotlib.figure.Figure`; the ``*_widget()`` builders only
wire ipywidgets controls to them, and never train. Every builder returns its container with
two extra attributes: ``controls`` (name -> widget, so a test or a reader can set ``.value``)
and ``results`` (the latest output of the experiment function).

>>> import torch
>>> from qmix_tut.agents import RNNAgent, agent_input_dim
>>> from qmix_tut.envs import make
>>> env = make("memory")
>>> agent = RNNAgent(agent_input_dim(env.obs_dim, env.n_actions, env.n_agents), env.n_actions)
>>> trace = memory_trace(agent, cue=1)
>>> trace["cue"], trace["q"].shape, trace["hidden"].shape
(1, (4, 2, 2), (4, 2, 64))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from ..agents import build_inputs
from ..envs import make
from ..learner import QLearner
from ..plotting import ALGO_COLORS, OKABE_ITO, style
from ._common import publish, show_figure

__all__ = [
    "memory_stepper_widget",
    "memory_trace",
    "memory_trace_figure",
    "td_target_breakdown",
    "td_target_explorer",
    "td_target_figure",
]


# ------------------------------------------------------------------------------------------
# notebook 05: what a recurrent agent remembers on the memory task
# ------------------------------------------------------------------------------------------
def _seed_for_cue(env, cue: int, tries: int = 1000) -> int:
    """The first reset seed whose episode shows ``cue`` (the memory task draws it at reset)."""
    for seed in range(tries):
        env.reset(seed=seed)
        if int(env.env.cue) == cue:
            return seed
    raise RuntimeError(f"no seed below {tries} draws cue {cue}")


def _hidden_rows(hidden: Any, n_agents: int) -> np.ndarray | None:
    """Each agent's hidden vector [n, H] (the LSTM's h, not its cell state); None for an MLP."""
    if hidden is None:
        return None
    h = hidden[0] if isinstance(hidden, tuple) else hidden
    return h.detach().reshape(n_agents, -1).cpu().numpy().copy()


@torch.no_grad()
def memory_trace(
    agent: Any,
    cue: int = 0,
    wipe_before: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    last_action_input: bool = True,
    agent_id_input: bool = True,
) -> dict[str, Any]:
    """Play one greedy episode of the memory task and record what the agents compute.

    ``agent`` is an agent network, or a :class:`~qmix_tut.Result` trained on ``"memory"``
    (its network, env arguments and input options are then used). The episode is the first
    reset seed showing ``cue``. The hidden state starts at zeros and is carried from step to
    step, exactly as during a rollout; ``wipe_before=k`` resets it to zeros before step
    ``k``, to see what the agents do once they have forgotten.

    Returns ``cue``, ``seed``, ``obs [T, n, obs_dim]``, ``q [T, n, A]`` (Q-values at each
    step), ``avail [T, n, A]``, ``actions [T, n]`` (greedy), ``hidden [T, n, H]`` (after
    reading step t's input; None for a feed-forward agent), ``rewards [T]``, ``return``,
    ``recurrent`` and ``wipe_before``.
    """
    if hasattr(agent, "config") and hasattr(agent, "build"):
        cfg = agent.config
        if cfg.env != "memory":
            raise ValueError(f"memory_trace needs a run on 'memory', got one on {cfg.env!r}")
        env_kwargs = dict(cfg.env_kwargs) if env_kwargs is None else env_kwargs
        last_action_input, agent_id_input = cfg.last_action_input, cfg.agent_id_input
        agent, _ = agent.build()
    if not isinstance(agent, nn.Module):
        raise ValueError(f"agent must be an agent network or a Result, got {type(agent).__name__}")
    env = make("memory", **(env_kwargs or {}))
    if not 0 <= cue < env.n_actions:
        raise ValueError(f"cue must be in 0..{env.n_actions - 1}, got {cue}")
    if wipe_before is not None and not 0 <= wipe_before < env.episode_limit:
        raise ValueError(f"wipe_before must be in 0..{env.episode_limit - 1} or None")
    seed = _seed_for_cue(env, cue)
    obs, _, avail = env.reset(seed=seed)
    n = env.n_agents
    hidden = agent.init_hidden(n)
    last = torch.full((n,), -1, dtype=torch.int64)
    rows: dict[str, list] = {k: [] for k in ("obs", "q", "avail", "actions", "hidden", "rewards")}
    for t in range(env.episode_limit):
        if wipe_before is not None and t == wipe_before:
            hidden = agent.init_hidden(n)
        x = build_inputs(
            torch.as_tensor(obs),
            last if last_action_input else None,
            env.n_actions,
            agent_id_input,
        )
        q, hidden = agent(x[:, None, :], hidden)  # every agent, one step long
        q = q[:, 0]
        avail_t = torch.as_tensor(avail)
        actions = q.masked_fill(avail_t == 0, -torch.inf).argmax(-1)
        rows["obs"].append(obs)
        rows["q"].append(q.numpy().copy())
        rows["avail"].append(avail)
        rows["actions"].append(actions.numpy().copy())
        rows["hidden"].append(_hidden_rows(hidden, n))
        obs, _, avail, reward, terminated, truncated, _ = env.step(actions.numpy())
        rows["rewards"].append(reward)
        last = actions
        if terminated or truncated:
            break
    recurrent = rows["hidden"][0] is not None
    return {
        "cue": cue,
        "seed": seed,
        "obs": np.stack(rows["obs"]),
        "q": np.stack(rows["q"]),
        "avail": np.stack(rows["avail"]),
        "actions": np.stack(rows["actions"]),
        "hidden": np.stack(rows["hidden"]) if recurrent else None,
        "rewards": np.array(rows["rewards"], dtype=np.float64),
        "return": float(np.sum(rows["rewards"])),
        "recurrent": recurrent,
        "wipe_before": wipe_before,
    }


def memory_trace_figure(trace: Mapping[str, Any], step: int | None = None) -> Figure:
    """Agent 0's observations and hidden state over the episode, and every agent's
    Q-values at ``step`` (default: the last step, where the cue must be recalled)."""
    obs, q, avail = trace["obs"], trace["q"], trace["avail"]
    n_steps, n_agents, n_actions = q.shape
    step = n_steps - 1 if step is None else int(step)
    if not 0 <= step < n_steps:
        raise ValueError(f"step must be in 0..{n_steps - 1}, got {step}")
    with style():
        fig = Figure(figsize=(11, 3.6), layout="constrained")
        ax_obs, ax_h, ax_q = fig.subplots(1, 3, width_ratios=(1.0, 1.3, 1.4))
        # what agent 0 sees: one row per step; the cue is only in the first row
        ax_obs.imshow(obs[:, 0], cmap="Greys", vmin=0, vmax=1, aspect="auto")
        n_cues = obs.shape[-1] - n_steps
        labels = [f"cue {c}" for c in range(n_cues)] + [f"t={t}" for t in range(n_steps)]
        ax_obs.set_xticks(range(obs.shape[-1]), labels, rotation=60, fontsize=9)
        ax_obs.set_yticks(range(n_steps), [f"step {t}" for t in range(n_steps)])
        ax_obs.axhline(step, color=OKABE_ITO["vermillion"], linewidth=3, alpha=0.5)
        ax_obs.grid(False)
        ax_obs.set_title("agent 0 observes")
        # its memory: the hidden vector after each step, one column per step
        if trace["hidden"] is not None:
            h = trace["hidden"][:, 0].T  # [H, T]
            image = ax_h.imshow(h, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
            ax_h.set_xticks(range(n_steps), [f"step {t}" for t in range(n_steps)])
            ax_h.set_ylabel("hidden unit")
            ax_h.axvline(step, color=OKABE_ITO["vermillion"], linewidth=3, alpha=0.5)
            fig.colorbar(image, ax=ax_h, shrink=0.8, pad=0.01)
            wiped = trace.get("wipe_before")
            title = "agent 0's hidden state $h_t$"
            if wiped is not None:
                ax_h.axvline(wiped - 0.5, color="black", linestyle="--", linewidth=1.5)
                title += f"\n(wiped before step {wiped})"
            ax_h.set_title(title)
        else:
            ax_h.text(0.5, 0.5, "feed-forward agent:\nno hidden state,\nno memory",
                      ha="center", va="center", transform=ax_h.transAxes)  # fmt: skip
            ax_h.set_axis_off()
        ax_h.grid(False)
        # the Q-values at the chosen step, unavailable actions drawn hollow
        width = 0.8 / n_agents
        colors = (ALGO_COLORS["qmix"], ALGO_COLORS["vdn"], ALGO_COLORS["iql"], OKABE_ITO["grey"])
        for i in range(n_agents):
            x = np.arange(n_actions) + (i - (n_agents - 1) / 2) * width
            for a in range(n_actions):
                ok = avail[step, i, a] > 0
                ax_q.bar(x[a], q[step, i, a], width * 0.95, color=colors[i % 4] if ok else "white",
                         edgecolor=colors[i % 4], hatch=None if ok else "//",
                         label=f"agent {i}" if a == 0 else None)  # fmt: skip
            chosen = int(trace["actions"][step, i])
            ax_q.plot(x[chosen], q[step, i, chosen], marker="v", color="black", markersize=8,
                      linestyle="none", label="greedy choice" if i == 0 else None)  # fmt: skip
        ax_q.axhline(0, color="black", linewidth=0.8)
        ax_q.set_xticks(range(n_actions), [f"action {a}" for a in range(n_actions)])
        ax_q.set_ylabel("Q-value")
        ax_q.set_title(f"step {step}: Q-values (hollow: unavailable)")
        ax_q.legend(loc="best", fontsize=9)
        kind = "recurrent" if trace["recurrent"] else "feed-forward"
        fig.suptitle(
            f"{kind} agents, cue {trace['cue']}: episode return {trace['return']:.0f}",
            fontweight="bold",
        )
    return fig


def memory_stepper_widget(runs: Mapping[str, Any], cue: int = 0):
    """Step through a greedy memory-task episode of each trained run in ``runs``
    (label -> :class:`~qmix_tut.Result` or agent network): observations, hidden state and
    Q-values at every step, with an option to wipe the memory part way."""
    import ipywidgets as w

    if not runs:
        raise ValueError("runs is empty: pass at least one trained run on 'memory'")
    first = memory_trace(next(iter(runs.values())), cue)
    n_steps, _, n_cues = first["q"].shape
    cache: dict[tuple, dict[str, Any]] = {}

    def trace_for(label: str, cue_: int, wipe: int | None) -> dict[str, Any]:
        key = (label, cue_, wipe)
        if key not in cache:
            cache[key] = memory_trace(runs[label], cue_, wipe)
        return cache[key]

    style_ = {"description_width": "110px"}
    run_box = w.Dropdown(options=list(runs), description="agents", style=style_)
    cue_box = w.ToggleButtons(options=list(range(n_cues)), value=cue, description="cue",
                              style=style_)  # fmt: skip
    step_slider = w.IntSlider(value=n_steps - 1, min=0, max=n_steps - 1, description="step",
                              style=style_)  # fmt: skip
    wipe_box = w.Dropdown(
        # -1 stands for "never": ipywidgets 8 shows an option whose value is None as blank
        options=[("never", -1)] + [(f"before step {k}", k) for k in range(1, n_steps)],
        value=-1,
        description="wipe memory",
        style=style_,
    )
    summary = w.HTML()
    output = w.Image(format="png")
    box = w.VBox([w.HBox([run_box, cue_box]), w.HBox([step_slider, wipe_box]), summary, output])
    box.controls = {"run": run_box, "cue": cue_box, "step": step_slider, "wipe": wipe_box}
    box.results = {}

    def update(_=None) -> None:
        trace = trace_for(
            run_box.value, cue_box.value, None if wipe_box.value < 0 else wipe_box.value
        )
        step = step_slider.value
        publish(box, trace)
        box.results["step"] = step
        last = tuple(int(a) for a in trace["actions"][-1])
        summary.value = (
            f"Cue <b>{trace['cue']}</b> (seen at step 0 only). Greedy actions at the last step: "
            f"<b>{last}</b>, episode return <b>{trace['return']:.0f}</b>."
        )
        show_figure(output, memory_trace_figure(trace, step))

    for control in (run_box, cue_box, step_slider, wipe_box):
        control.observe(update, names="value")
    update()
    return box


# ------------------------------------------------------------------------------------------
# notebook 06: the TD target of one transition, piece by piece
# ------------------------------------------------------------------------------------------
@torch.no_grad()
def td_target_breakdown(
    learner: QLearner,
    batch: Mapping[str, torch.Tensor],
    episode: int,
    t: int,
    gamma: float | None = None,
    double_q: bool | None = None,
    terminated: bool | None = None,
) -> dict[str, Any]:
    """Every piece of the learner's target ``y = r + gamma (1 - d) B`` for one step.

    The bootstrap ``B`` is ``Q_tot^-(s', u'*)`` for one-step targets, and with TD(lambda)
    ``(1 - lambda) Q_tot^-(s', u'*) + lambda G_{t+1}`` (the next step's own target, when
    the next step is real). The values come from the learner's own public steps
    (:meth:`~qmix_tut.learner.QLearner.next_values`, ``targets`` and ``loss``), so the
    breakdown shows exactly the target and loss weight that an update uses.

    ``batch`` comes from ``EpisodeBuffer.sample``; ``episode`` and ``t`` pick a real (not
    padded) transition. ``gamma`` and ``double_q`` default to the learner's; ``terminated``
    overrides the stored end flag, to see what treating a time limit as an ending would do.

    Returns the per-agent ``actions``, ``q_taken``, next-step values of the online and the
    target network (``online_next``, ``target_next_all`` ``[n, A]``, unavailable actions set
    to -inf), the action each network would pick (``online_choice``, ``target_choice``),
    the ``chosen`` one and its target value ``target_next`` ``[n]``; then ``q_tot``,
    ``target_q_tot_next``, ``td_lambda``, ``next_return`` (G_{t+1}, NaN when not used),
    ``bootstrap``, ``reward``, ``terminated``, ``ending`` (``"none"``, ``"terminated"`` or
    ``"truncated"``), ``gamma``, ``double_q``, ``y``, ``td_error`` (Q_tot - y) and its
    ``weight`` in the loss (1, or Weighted QMIX's alpha where Q_tot is above y).
    """
    if learner.mixer is None:
        raise ValueError("td_target_breakdown needs a learner with a mixer (VDN or QMIX)")
    mask = batch["mask"]
    n_episodes, n_steps = mask.shape
    if not 0 <= episode < n_episodes:
        raise ValueError(f"episode must be in 0..{n_episodes - 1}, got {episode}")
    if not 0 <= t < n_steps or mask[episode, t] == 0:
        length = int(mask[episode].sum())
        raise ValueError(f"step {t} is not a real step of episode {episode} (it has {length})")
    gamma = learner.gamma if gamma is None else float(gamma)
    double_q = learner.double_q if double_q is None else bool(double_q)

    one = {k: v[episode : episode + 1] for k, v in batch.items()}
    stored_done = bool(one["terminated"][0, t] > 0)
    done = stored_done if terminated is None else bool(terminated)
    one["terminated"] = one["terminated"].clone()
    one["terminated"][0, t] = float(done)

    # the learner's own steps, over the whole episode (TD(lambda) needs the steps after t)
    inputs = learner.agent_inputs(one)
    q_all = QLearner.episode_q_values(learner.agent, inputs)  # [1, T+1, n, A]
    target_next_agents = learner.next_agent_values(one, q_all, inputs, double_q)  # [1, T, n]
    target_tot = learner.next_values(one, q_all, inputs, double_q)  # [1, T, 1]
    m = one["mask"].unsqueeze(-1)
    y_all = learner.targets(
        one["reward"].unsqueeze(-1), one["terminated"].unsqueeze(-1), m, target_tot, gamma
    )
    q_tot_all = learner.q_tot_taken(one, q_all)  # [1, T, 1]
    _, td = learner.loss(q_tot_all, y_all, m)
    weight = float(learner.td_weights(td)[0, t, 0])

    # what each network would pick at the next step, shown beside the value used
    q = q_all[0]
    target_q = QLearner.episode_q_values(learner.target_agent, inputs)[0]
    actions = one["actions"][0, t]
    q_taken = q[t].gather(-1, actions[:, None]).squeeze(-1)
    next_avail = one["avail"][0, t + 1]
    # after the end nothing is available (padding): let any action through, as the learner does
    has_action = next_avail.sum(-1, keepdim=True) > 0
    next_avail = torch.where(has_action, next_avail, torch.ones_like(next_avail))
    online_next = q[t + 1].masked_fill(next_avail == 0, -torch.inf)
    target_next_all = target_q[t + 1].masked_fill(next_avail == 0, -torch.inf)
    online_choice = online_next.argmax(-1)
    target_choice = target_next_all.argmax(-1)
    chosen = online_choice if double_q else target_choice

    last_real = t + 1 == n_steps or bool(one["mask"][0, t + 1] == 0)
    ending = "terminated" if stored_done else ("truncated" if last_real else "none")
    target_q_tot_next = float(target_tot[0, t, 0])
    next_return = float("nan") if last_real or learner.td_lambda == 0 else float(y_all[0, t + 1, 0])
    bootstrap = target_q_tot_next
    if next_return == next_return:  # TD(lambda) with a real next step
        bootstrap += learner.td_lambda * (next_return - target_q_tot_next)
    y = float(y_all[0, t, 0])
    return {
        "episode": episode,
        "t": t,
        "actions": actions.cpu().numpy().copy(),
        "q_taken": q_taken.cpu().numpy().copy(),
        "online_next": online_next.cpu().numpy().copy(),
        "target_next_all": target_next_all.cpu().numpy().copy(),
        "online_choice": online_choice.cpu().numpy().copy(),
        "target_choice": target_choice.cpu().numpy().copy(),
        "chosen": chosen.cpu().numpy().copy(),
        "target_next": target_next_agents[0, t].cpu().numpy().copy(),
        "q_tot": float(q_tot_all[0, t, 0]),
        "target_q_tot_next": target_q_tot_next,
        "td_lambda": learner.td_lambda,
        "next_return": next_return,
        "bootstrap": bootstrap,
        "reward": float(one["reward"][0, t]),
        "terminated": done,
        "stored_terminated": stored_done,
        "ending": ending,
        "gamma": gamma,
        "double_q": double_q,
        "y": y,
        "td_error": float(q_tot_all[0, t, 0]) - y,
        "weight": weight,
    }


def td_target_figure(b: Mapping[str, Any]) -> Figure:
    """Left: next-step Q-values of the online and target networks per agent, the action the
    target uses marked. Right: the pieces of the target beside Q_tot(s, u)."""
    online, target = b["online_next"], b["target_next_all"]
    n_agents, n_actions = online.shape
    with style():
        fig = Figure(figsize=(11, 3.8), layout="constrained")
        ax_next, ax_y = fig.subplots(1, 2, width_ratios=(1.6, 1.0))
        group = n_actions + 1
        for i in range(n_agents):
            x0 = i * group
            xs = x0 + np.arange(n_actions)
            ok = np.isfinite(online[i])
            ax_next.bar(xs[ok] - 0.2, online[i][ok], 0.4, color=ALGO_COLORS["qmix"],
                        label="online network" if i == 0 else None)  # fmt: skip
            ax_next.bar(xs[ok] + 0.2, target[i][ok], 0.4, color=OKABE_ITO["sky_blue"],
                        label="target network" if i == 0 else None)  # fmt: skip
            c = int(b["chosen"][i])
            ax_next.plot(xs[c] + 0.2, target[i, c], marker="v", color="black", markersize=9,
                         linestyle="none", label="value used" if i == 0 else None)  # fmt: skip
            ax_next.text(x0 + (n_actions - 1) / 2, 1.0, f"agent {i}", ha="center", va="bottom",
                         transform=ax_next.get_xaxis_transform(), fontsize=10)  # fmt: skip
        ticks = [i * group + a for i in range(n_agents) for a in range(n_actions)]
        ax_next.set_xticks(ticks, [str(a) for _ in range(n_agents) for a in range(n_actions)])
        ax_next.set_xlabel("action at the next step (available ones only)")
        ax_next.set_ylabel("Q-value")
        rule = "online argmax, target value" if b["double_q"] else "max of the target network"
        ax_next.set_title(f"next step: {rule}", pad=18)
        ax_next.axhline(0, color="black", linewidth=0.8)
        ax_next.legend(loc="best", fontsize=9)

        discounted = b["gamma"] * (1.0 - float(b["terminated"])) * b["bootstrap"]
        if b["next_return"] == b["next_return"]:  # TD(lambda): a mix with the next return
            middle = r"$\gamma(1-d)[(1-\lambda)Q^-_{tot}(s')+\lambda G_{t+1}]$"
        else:
            middle = r"$\gamma(1-d)\,Q^-_{tot}(s')$"
        names = ["$r$", middle, "$y$", "$Q_{tot}(s,u)$"]
        values = [b["reward"], discounted, b["y"], b["q_tot"]]
        colors = [OKABE_ITO["grey"], OKABE_ITO["sky_blue"], OKABE_ITO["black"], ALGO_COLORS["qmix"]]
        ax_y.bar(range(4), values, color=colors)
        for k, v in enumerate(values):
            ax_y.annotate(f"{v:.2f}", (k, v), xytext=(0, 3 if v >= 0 else -12),
                          textcoords="offset points", ha="center", fontsize=10)  # fmt: skip
        ax_y.set_xticks(range(4), names, fontsize=10)
        ax_y.axhline(0, color="black", linewidth=0.8)
        ax_y.margins(y=0.18)  # room for the value labels
        ax_y.set_title(f"target and prediction (TD error {b['td_error']:+.2f})")
    return fig


def td_target_explorer(learner: QLearner, batch: Mapping[str, torch.Tensor]):
    """Pick a transition of ``batch`` and see how its TD target is made; change gamma,
    switch double Q, or pretend the step ended the task. Nothing is trained."""
    import ipywidgets as w

    lengths = batch["mask"].sum(1).long().tolist()
    style_ = {"description_width": "120px"}
    episode_slider = w.IntSlider(value=0, min=0, max=len(lengths) - 1, description="episode",
                                 style=style_)  # fmt: skip
    step_slider = w.IntSlider(value=lengths[0] - 1, min=0, max=lengths[0] - 1,
                              description="step t", style=style_)  # fmt: skip
    gamma_slider = w.FloatSlider(value=learner.gamma, min=0.0, max=1.0, step=0.01,
                                 description="gamma", style=style_)  # fmt: skip
    double_box = w.Checkbox(value=learner.double_q, description="double Q")
    end_box = w.Dropdown(
        # "stored" rather than None: ipywidgets 8 shows an option valued None as blank
        options=[
            ("as stored", "stored"),
            ("terminated (d=1)", True),
            ("not terminated (d=0)", False),
        ],
        value="stored",
        description="end flag d",
        style=style_,
    )
    summary = w.HTML()
    output = w.Image(format="png")
    box = w.VBox([
        w.HBox([episode_slider, step_slider]),
        w.HBox([gamma_slider, double_box, end_box]),
        summary,
        output,
    ])  # fmt: skip
    box.controls = {
        "episode": episode_slider,
        "step": step_slider,
        "gamma": gamma_slider,
        "double_q": double_box,
        "terminated": end_box,
    }
    box.results = {}

    def update(_=None) -> None:
        step_slider.max = lengths[episode_slider.value] - 1  # clamps the value too
        b = td_target_breakdown(learner, batch, episode_slider.value, step_slider.value,
                                gamma_slider.value, double_box.value,
                                None if end_box.value == "stored" else end_box.value)  # fmt: skip
        publish(box, b)
        note = {
            "terminated": "this step ended the task: nothing to bootstrap from",
            "truncated": "the time limit cut the episode here: the target still bootstraps",
            "none": "the episode goes on",
        }[b["ending"]]
        if b["next_return"] == b["next_return"]:
            boot = (
                f"[(1 - {b['td_lambda']:.2f}) &times; {b['target_q_tot_next']:.3f} + "
                f"{b['td_lambda']:.2f} &times; G<sub>t+1</sub> {b['next_return']:.3f}]"
            )
        else:
            boot = f"{b['target_q_tot_next']:.3f}"
        weight = "" if b["weight"] == 1.0 else f" Its weight in the loss: {b['weight']:.2f}."
        summary.value = (
            f"y = {b['reward']:.3f} + {b['gamma']:.2f} &times; (1 - {int(b['terminated'])}) "
            f"&times; {boot} = <b>{b['y']:.3f}</b>; "
            f"Q<sub>tot</sub>(s, u) = {b['q_tot']:.3f}. Step {b['t']} of episode "
            f"{b['episode']} ({lengths[b['episode']]} steps): {note}.{weight}"
        )
        show_figure(output, td_target_figure(b))

    for control in (episode_slider, step_slider, gamma_slider, double_box, end_box):
        control.observe(update, names="value")
    update()
    return box
