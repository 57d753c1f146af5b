"""Measurements behind ``benchmarks/run_all.py``: throughput, time to target, scaling.

Every function returns plain dicts of numbers, with wall-clock seconds and the process's
CPU seconds side by side: on a machine shared with other work, CPU seconds are the fairer
figure for a single-threaded run, and on a quiet machine the two agree.

    import speed                                    # from inside benchmarks/
    speed.throughput("mpe:simple_spread", "simple_spread", seconds=10)
    speed.scaling_rows(n_agents=(2, 4, 8), lengths=(25,), reps=3)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from qmix_tut import Config, train
from qmix_tut.agents import MLPAgent, RNNAgent, agent_input_dim
from qmix_tut.envs.batched import BatchedEnv
from qmix_tut.learner import QLearner
from qmix_tut.mixers import QMixer
from qmix_tut.stats import HELD_WINDOW, first_crossing, held_level
from qmix_tut.train import Trainer, deterministic_torch


class Clock:
    """Wall and process CPU seconds since it was made."""

    def __init__(self) -> None:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall0, time.process_time() - self.cpu0


# ------------------------------------------------------------------------------------------
# bare environments
# ------------------------------------------------------------------------------------------
class BareEnv:
    """A task as its own package ships it, stepped with uniformly random actions.

    ``mpe:simple_spread`` is ``mpe2``'s PettingZoo parallel env and ``lbf:<id>`` the
    ``lbforaging`` gymnasium env, each through its own API, with no wrapper of ours. The
    random actions are drawn in advance so that drawing them costs nothing in the timing.
    """

    def __init__(self, task: str, seed: int = 0) -> None:
        self.task, self.rng = task, np.random.default_rng(seed)
        if task.startswith("lbf:"):
            import gymnasium
            import lbforaging  # noqa: F401  (registers the Foraging ids)

            self.env = gymnasium.make(task.partition(":")[2], disable_env_checker=True)
            self.kind = "gym"
            self.n_agents = len(self.env.action_space)
            self.n_actions = int(self.env.action_space[0].n)
        elif task == "mpe:simple_spread":
            from qmix_tut.envs.adapters import simple_spread

            self.env = simple_spread()
            self.kind = "pettingzoo"
            self.n_agents = len(self.env.possible_agents)
            self.n_actions = int(self.env.action_space(self.env.possible_agents[0]).n)
        else:
            raise ValueError(f"no bare version of {task!r}; use mpe:simple_spread or lbf:<id>")
        self.seed = seed
        self.started = False

    def _reset(self) -> None:
        seed = self.seed if not self.started else None
        self.started = True
        self.env.reset(seed=seed)

    def run(self, steps: int) -> int:
        """Take ``steps`` random steps (resetting at episode ends); returns the steps taken."""
        actions = self.rng.integers(self.n_actions, size=(steps, self.n_agents)).tolist()
        if not self.started:
            self._reset()
        env = self.env
        if self.kind == "gym":
            for joint in actions:
                _, _, terminated, truncated, _ = env.step(joint)
                if terminated or truncated:
                    env.reset()
        else:
            names = env.possible_agents
            for joint in actions:
                env.step({a: joint[i] for i, a in enumerate(names) if a in env.agents})
                if not env.agents:
                    env.reset()
        return steps


# ------------------------------------------------------------------------------------------
# training throughput, with where the time goes
# ------------------------------------------------------------------------------------------
class _Timed:
    """Wrap a callable and add up the wall seconds spent in it."""

    def __init__(self, fn: Callable) -> None:
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def throughput(task: str, preset: str, seconds: float = 20.0, chunks: int = 10) -> dict:
    """Bare-env and training env steps per second, measured in alternating chunks.

    Training runs ``Config.preset(preset)`` as is (its parallel envs, batch size and
    updates per round), after the replay buffer holds one batch; evaluation is left out
    here (time to target counts it). The two are interleaved in ``chunks`` pieces so that
    a change in the machine's load hits both alike. Also returns the microseconds per
    training env step spent in the env (through our wrapper), in choosing actions and
    bookkeeping, and in learning.
    """
    cfg = Config.preset(preset, env=task, total_steps=10**9)
    bare = BareEnv(task)
    with deterministic_torch(cfg.threads):
        trainer = Trainer(cfg)
        env_time = []
        # a batched env (the default for simple_spread) steps all environments in one call
        stepped = [trainer.envs] if isinstance(trainer.envs, BatchedEnv) else trainer.envs
        for env in stepped:
            env.step = _Timed(env.step)  # an instance attribute shadows the method
            env_time.append(env.step)
        update = _Timed(trainer.learner.update)
        trainer.learner.update = update
        while len(trainer.buffer) < cfg.batch_size:
            trainer.round()
        bare.run(200)
        for t in env_time:
            t.seconds = 0.0
        update.seconds = 0.0
        totals = {k: 0.0 for k in ("bare_wall", "bare_cpu", "train_wall", "train_cpu")}
        bare_steps = train_steps = 0
        per_chunk = seconds / chunks
        for _ in range(chunks):
            clock = Clock()
            while clock.read()[0] < per_chunk:
                bare_steps += bare.run(100)
            wall, cpu = clock.read()
            totals["bare_wall"] += wall
            totals["bare_cpu"] += cpu
            clock = Clock()
            before = trainer.env_steps
            while clock.read()[0] < per_chunk:
                trainer.round()
            wall, cpu = clock.read()
            train_steps += trainer.env_steps - before
            totals["train_wall"] += wall
            totals["train_cpu"] += cpu
    env_seconds = sum(t.seconds for t in env_time)
    out = {
        "task": task,
        "preset": preset,
        "bare_steps": bare_steps,
        "train_steps": train_steps,
        "bare_rate_wall": bare_steps / totals["bare_wall"],
        "bare_rate_cpu": bare_steps / totals["bare_cpu"],
        "train_rate_wall": train_steps / totals["train_wall"],
        "train_rate_cpu": train_steps / totals["train_cpu"],
        "us_per_step_env": 1e6 * env_seconds / train_steps,
        "us_per_step_learn": 1e6 * update.seconds / train_steps,
    }
    out["us_per_step_act"] = (
        1e6 * totals["train_wall"] / train_steps - out["us_per_step_env"] - out["us_per_step_learn"]
    )
    out["ratio_wall"] = out["train_rate_wall"] / out["bare_rate_wall"]
    out["ratio_cpu"] = out["train_rate_cpu"] / out["bare_rate_cpu"]
    return out


# ------------------------------------------------------------------------------------------
# time to target: the first crossing and the held level
# ------------------------------------------------------------------------------------------
LEVELS = ("reached", "held")
"""The two levels timed: ``reached``, the first evaluation at or past a target, and
``held``, the first point where the mean of ``HELD_WINDOW`` consecutive evaluations is."""


class _Done(Exception):
    """Raised from the evaluation callback to end a run early."""


def _level_rows(
    curve: Sequence[dict[str, float]], targets: Sequence[float], window: int
) -> tuple[dict[str, dict | None], dict[str, dict | None]]:
    """Per target, the curve's row at the first crossing and at the held level (or None).

    A held row carries ``mean``, the mean of the window of evaluations that ends there.
    """
    steps = [r["env_steps"] for r in curve]
    returns = [r["eval_return"] for r in curve]
    reached: dict[str, dict | None] = {}
    held: dict[str, dict | None] = {}
    for target in targets:
        first = first_crossing(steps, returns, target)
        reached[str(target)] = dict(curve[first.index]) if first else None
        kept = held_level(steps, returns, target, window)
        held[str(target)] = {**curve[kept.index], "mean": kept.value} if kept else None
    return reached, held


def time_to_target(
    preset: str,
    seed: int,
    targets: Sequence[float],
    limit_s: float | None = None,
    budget_steps: int | None = None,
    window: int = HELD_WINDOW,
    **overrides: Any,
) -> dict:
    """Train ``Config.preset(preset)`` and time when the greedy return first reaches each
    target, and when it holds it (the mean of ``window`` consecutive evaluations at or past it).

    The clock starts before the trainer is built and is read at every evaluation, so the
    times include building the envs and networks and every evaluation. A first crossing
    does not end the run: it goes on until every target is held, or until ``budget_steps``
    env steps (default: the preset's ``total_steps``) are spent, or, if ``limit_s`` is
    given, once ``limit_s`` CPU seconds have passed (CPU, so that a busy machine does not
    cut a run short). Returns, per target, the wall and CPU seconds and env steps at the
    first crossing (``reached``) and at the held level (``held``; None where a run never
    got there), how the run ``stopped`` (``"held"``, ``"budget"`` or ``"cpu limit"``), the
    mean of its last ``window`` evaluations (``final``) and the whole curve.
    """
    if budget_steps is not None and "total_steps" in overrides:
        raise ValueError("give the run's length once: budget_steps or total_steps, not both")
    if limit_s is not None and not limit_s > 0:
        raise ValueError(f"limit_s must be a positive number of CPU seconds, got {limit_s}")
    if budget_steps is not None:
        overrides["total_steps"] = budget_steps
    cfg = Config.preset(preset, seed=seed, **overrides)
    curve: list[dict[str, float]] = []
    stopped = {"why": "budget"}
    clock = Clock()

    def on_eval(row: dict) -> None:
        wall, cpu = clock.read()
        curve.append(
            {
                "env_steps": row["env_steps"],
                "eval_return": row["eval_return"],
                "wall": wall,
                "cpu": cpu,
            }
        )
        steps = [r["env_steps"] for r in curve]
        returns = [r["eval_return"] for r in curve]
        if all(held_level(steps, returns, t, window) is not None for t in targets):
            stopped["why"] = "held"
            raise _Done
        if limit_s is not None and cpu > limit_s:
            stopped["why"] = "cpu limit"
            raise _Done

    try:
        train(cfg, progress=False, callback=on_eval)
    except _Done:
        pass
    reached, held = _level_rows(curve, targets, window)
    last = [r["eval_return"] for r in curve[-window:]]
    return {
        "preset": preset,
        "seed": seed,
        "limit_s": limit_s,
        "budget_steps": cfg.total_steps,
        "window": window,
        "stopped": stopped["why"],
        "reached": reached,
        "held": held,
        "best": max(r["eval_return"] for r in curve),
        "final": float(np.mean(last)),
        "curve": curve,
    }


def _level(run: dict, target: float, level: str) -> dict | None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if level not in run:
        raise ValueError(
            f"this run has no {level!r} figures (stored before the held level was measured)"
        )
    return run[level][str(target)]


def median_time(
    runs: Sequence[dict], target: float, key: str = "wall", level: str = "reached"
) -> float:
    """Median over seeds of the seconds (or, with ``key="env_steps"``, the env steps) to
    ``target``: ``level="reached"`` times the first crossing, ``level="held"`` the held
    level. A seed that never got there counts as infinitely slow, so the median is finite
    only when most seeds got there."""
    times = []
    for run in runs:
        row = _level(run, target, level)
        times.append(row[key] if row else float("inf"))
    return float(statistics.median(times))


def never_count(runs: Sequence[dict], target: float, level: str = "reached") -> int:
    """How many of ``runs`` never reached (``level="reached"``) or never held ``target``."""
    return sum(_level(run, target, level) is None for run in runs)


# ------------------------------------------------------------------------------------------
# the two-step game in the paper's setting
# ------------------------------------------------------------------------------------------
TWO_STEP_TARGET = 8.0
"""The two-step game's best team return, which the paper's QMIX learns."""


def two_step_runs(
    seeds: Sequence[int], steps: int | None = None, window: int = HELD_WINDOW
) -> list[dict]:
    """Seconds per full run of ``Config.preset("two_step_paper")`` (10k steps), per seed,
    and when each run first reached the greedy return 8 and when it held it (the mean of
    ``window`` consecutive evaluations at 8; the preset evaluates every 1,000 steps).

    A short run first loads every module, so the times are those of a run in a session
    that has already trained once (as in the notebooks and the test suite). Every run goes
    its full length (``steps`` shortens it for a smoke run): the per-run time is the figure
    the target is set on.
    """
    extra = {} if steps is None else {"total_steps": steps}
    train(Config.preset("two_step_paper", total_steps=200), progress=False)
    out = []
    for seed in seeds:
        curve: list[dict[str, float]] = []
        clock = Clock()

        def on_eval(row: dict, curve: list = curve, clock: Clock = clock) -> None:
            wall, cpu = clock.read()
            curve.append({"env_steps": row["env_steps"], "eval_return": row["eval_return"],
                          "wall": wall, "cpu": cpu})  # fmt: skip

        config = Config.preset("two_step_paper", seed=seed, **extra)
        result = train(config, progress=False, callback=on_eval)
        wall, cpu = clock.read()
        reached, held = _level_rows(curve, [TWO_STEP_TARGET], window)
        out.append({
            "seed": seed, "wall": wall, "cpu": cpu, "return": result.final_eval_return,
            "steps": config.total_steps, "window": window, "reached": reached, "held": held,
            "final": float(np.mean([r["eval_return"] for r in curve[-window:]])), "curve": curve,
        })  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------
# scaling with the number of agents and the episode length
# ------------------------------------------------------------------------------------------
def _batch(b: int, t: int, n: int, obs_dim: int, state_dim: int, n_actions: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    return {
        "obs": torch.randn(b, t + 1, n, obs_dim, generator=g),
        "state": torch.randn(b, t + 1, state_dim, generator=g),
        "avail": torch.ones(b, t + 1, n, n_actions),
        "actions": torch.randint(n_actions, (b, t, n), generator=g),
        "reward": torch.randn(b, t, generator=g),
        "terminated": torch.zeros(b, t),
        "mask": torch.ones(b, t),
    }


def _bytes(tensors) -> int:
    return sum(x.element_size() * x.nelement() for x in tensors)


def measure_update(
    n_agents: int,
    episode_length: int,
    batch_size: int = 32,
    obs_dim: int = 16,
    n_actions: int = 5,
    reps: int = 5,
    seed: int = 0,
) -> dict:
    """Cost of one QMIX learner update with DRQN agents on a synthetic batch.

    The global state is every agent's observation side by side (``state_dim = n_agents *
    obs_dim``), as in the PettingZoo tasks. Times are the median of ``reps`` updates after
    one warm-up, for the whole update and for the mixer alone (forward and backward).
    Memory is what one update holds: the batch, the activations saved for the backward
    pass (counted once per storage, parameters excluded), and the weights, gradients,
    Adam moments and target weights.
    """
    state_dim = n_agents * obs_dim
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        agent = RNNAgent(agent_input_dim(obs_dim, n_actions, n_agents), n_actions)
        mixer = QMixer(n_agents, state_dim)
    learner = QLearner(agent, mixer, n_actions=n_actions, optimizer="adam", td_lambda=0.6)
    batch = _batch(batch_size, episode_length, n_agents, obs_dim, state_dim, n_actions, seed)

    param_storages = {p.untyped_storage().data_ptr() for p in learner.params}
    saved: dict[int, int] = {}

    def pack(x: torch.Tensor) -> torch.Tensor:
        storage = x.untyped_storage()
        if storage.data_ptr() not in param_storages:
            saved[storage.data_ptr()] = storage.nbytes()
        return x

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
        learner.update(batch)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        learner.update(batch)
        times.append(time.perf_counter() - start)

    agent_qs = torch.randn(batch_size, episode_length, n_agents, requires_grad=True)
    states = batch["state"][:, :-1]
    mixer_times = []
    for _ in range(reps + 1):
        start = time.perf_counter()
        mixer(agent_qs, states).sum().backward()
        mixer_times.append(time.perf_counter() - start)

    n_params = sum(p.numel() for p in learner.params)
    weights_bytes = 4 * n_params * learner.params[0].element_size()  # w, grad, 2 moments
    weights_bytes += n_params * learner.params[0].element_size()  # the target networks
    memory = {
        "batch_mb": _bytes(batch.values()) / 2**20,
        "activations_mb": sum(saved.values()) / 2**20,
        "weights_mb": weights_bytes / 2**20,
    }
    return {
        "n_agents": n_agents,
        "episode_length": episode_length,
        "batch_size": batch_size,
        "update_ms": 1e3 * statistics.median(times),
        "mixer_ms": 1e3 * statistics.median(mixer_times[1:]),
        "mixer_params": sum(p.numel() for p in mixer.parameters()),
        "agent_params": sum(p.numel() for p in agent.parameters()),
        **memory,
        "memory_mb": sum(memory.values()),
    }


def scaling_rows(
    n_agents: Sequence[int] = (2, 4, 8, 16, 32),
    lengths: Sequence[int] = (25, 50, 100, 200),
    fixed_agents: int = 8,
    fixed_length: int = 25,
    reps: int = 5,
    batch_size: int = 32,
) -> dict[str, list[dict]]:
    """``measure_update`` over agent counts (episode length fixed) and lengths (agents fixed)."""
    with deterministic_torch(1):
        by_agents = [measure_update(n, fixed_length, batch_size, reps=reps) for n in n_agents]
        by_length = [measure_update(fixed_agents, t, batch_size, reps=reps) for t in lengths]
    return {"agents": by_agents, "length": by_length}


def linear_fit(x: Sequence[float], y: Sequence[float]) -> dict[str, float]:
    """Least-squares line y = a + b x and its R^2 (1 means exactly linear)."""
    x_arr, y_arr = np.asarray(x, float), np.asarray(y, float)
    b, a = np.polyfit(x_arr, y_arr, 1)
    residual = y_arr - (a + b * x_arr)
    total = ((y_arr - y_arr.mean()) ** 2).sum()
    r2 = 1.0 - (residual**2).sum() / total if total > 0 else 1.0
    return {"intercept": float(a), "slope": float(b), "r2": float(r2)}


def scaling_figure(rows: dict[str, list[dict]]):
    """Update time and memory against agents (left pair) and episode length (right pair)."""
    import matplotlib.pyplot as plt

    from qmix_tut.plotting import algo_color, style

    qmix, other = algo_color("qmix"), "#555555"
    with style():
        fig, axes = plt.subplots(2, 2, figsize=(9.5, 6.5))
        for col, (key, label) in enumerate(
            [("agents", "number of agents"), ("length", "episode length (steps)")]
        ):
            data = rows[key]
            x = [r["n_agents" if key == "agents" else "episode_length"] for r in data]
            ax = axes[0, col]
            ax.plot(x, [r["update_ms"] for r in data], "o-", color=qmix, label="whole update")
            ax.plot(x, [r["mixer_ms"] for r in data], "s--", color=other, label="mixer only")
            ax.set_ylabel("ms per update")
            ax.legend(loc="upper left")
            ax = axes[1, col]
            ax.plot(x, [r["memory_mb"] for r in data], "o-", color=qmix, label="total")
            ax.plot(x, [r["activations_mb"] for r in data], "s--", color=other, label="activations")
            ax.set_ylabel("MB per update")
            ax.set_xlabel(label)
            ax.legend(loc="upper left")
            for ax in axes[:, col]:
                ax.set_xticks(x)
                ax.set_ylim(bottom=0)
        fixed = rows["agents"][0]["episode_length"], rows["length"][0]["n_agents"]
        axes[0, 0].set_title(f"QMIX learner, episodes of {fixed[0]} steps")
        axes[0, 1].set_title(f"QMIX learner, {fixed[1]} agents")
        fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------
# the learner's update: torch.optim against the earlier flat-parameter optimizer
# ------------------------------------------------------------------------------------------
class _FlatParameters:
    """The earlier learner's parameters rehoused as views into one flat tensor (kept here
    only to measure against; it stopped learning when anything rebound the storage)."""

    def __init__(self, params: list[torch.nn.Parameter]) -> None:
        self.params = params
        total = sum(p.numel() for p in params)
        first = params[0]
        self.weights = torch.nn.Parameter(torch.empty(total, dtype=first.dtype))
        self.grads = torch.zeros_like(self.weights)
        self.weights.grad = self.grads
        self.grad_views: list[torch.Tensor] = []
        offset = 0
        with torch.no_grad():
            for p in params:
                n = p.numel()
                self.weights[offset : offset + n].copy_(p.reshape(-1))
                p.data = self.weights.data[offset : offset + n].view_as(p)
                self.grad_views.append(self.grads[offset : offset + n].view_as(p))
                offset += n
        self.zero_grad()

    def zero_grad(self) -> None:
        self.grads.zero_()
        for p, view in zip(self.params, self.grad_views, strict=True):
            if p.grad is not view:
                p.grad = view

    def clip_grad_norm_(self, max_norm: float) -> torch.Tensor:
        for p, view in zip(self.params, self.grad_views, strict=True):
            if p.grad is not view:
                view.copy_(p.grad if p.grad is not None else torch.zeros_like(view))
                p.grad = view
        norms = torch._foreach_norm(self.grad_views, 2.0)
        total = torch.linalg.vector_norm(torch.stack(norms), 2.0)
        self.grads.mul_(torch.clamp(max_norm / (total + 1e-6), max=1.0))
        return total


class _FlatAdam:
    """Adam on the flat tensor, as the earlier learner wrote it out."""

    def __init__(self, flat: _FlatParameters, lr: float, eps: float) -> None:
        self.flat, self.lr, self.eps, self.steps = flat, lr, eps, 0
        self.exp_avg = torch.zeros_like(flat.weights)
        self.exp_avg_sq = torch.zeros_like(flat.weights)

    @torch.no_grad()
    def step(self) -> None:
        w, g = self.flat.weights, self.flat.grads
        self.steps += 1
        self.exp_avg.lerp_(g, 0.1)
        self.exp_avg_sq.mul_(0.999).addcmul_(g, g, value=0.001)
        step_size = -self.lr / (1 - 0.9 ** float(self.steps))
        denom = self.exp_avg_sq.sqrt().div_((1 - 0.999 ** float(self.steps)) ** 0.5).add_(self.eps)
        w.addcdiv_(self.exp_avg, denom, value=step_size)


class FlatUpdateLearner(QLearner):
    """The earlier update: the same maths, on flat parameters, a hand-written Adam and a
    flat Polyak step, with the statistics read one ``float()`` at a time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flat = _FlatParameters(self.params)
        self.target_flat = _FlatParameters(
            [p for _, target in self._pairs() for p in target.parameters()]
        )
        self.flat_optimizer = _FlatAdam(self.flat, kwargs.get("lr", 5e-4), 1e-5)

    def update(self, batch, episodes_seen: int = 0):  # type: ignore[override]
        inputs = self.agent_inputs(batch)
        q = self.episode_q_values(self.agent, inputs)
        q_tot = self.q_tot_taken(batch, q)
        target_tot = self.next_values(batch, q=q, inputs=inputs)
        mask = batch["mask"].unsqueeze(-1)
        targets = self.targets(
            batch["reward"].unsqueeze(-1), batch["terminated"].unsqueeze(-1), mask, target_tot
        )
        m = mask.expand_as(q_tot)
        td = (q_tot - targets) * m
        loss = (td**2).sum() / m.sum()
        self.flat.zero_grad()
        loss.backward()
        grad_norm = self.flat.clip_grad_norm_(self.grad_clip)
        self.flat_optimizer.step()
        if self.tau > 0:
            with torch.no_grad():
                self.target_flat.weights.lerp_(self.flat.weights, self.tau)
        with torch.no_grad():
            n_real = m.sum()
            return {
                "loss": float(loss),
                "grad_norm": float(grad_norm),
                "q_taken": float((q_tot * m).sum() / n_real),
                "target": float((targets * m).sum() / n_real),
            }


def compare_update(
    agent_kind: str,
    n_agents: int = 3,
    episode_length: int = 25,
    batch_size: int = 32,
    obs_dim: int = 18,
    n_actions: int = 5,
    reps: int = 200,
    seed: int = 0,
    warmup: int = 5,
) -> dict[str, Any]:
    """Median ms of one QMIX update, the flat-parameter update against the torch.optim one.

    Both learners start from the same weights and take the same batches, with the
    simple_spread preset's update (Adam, soft targets, TD(lambda)); the two are timed
    alternately, one update each in turn, so that the machine's load falls on both alike.
    The sizes default to ``mpe:simple_spread``'s (3 agents, 18 observations, 5 actions,
    25 steps) and its batch of 32 episodes.
    """
    state_dim = n_agents * obs_dim
    in_dim = agent_input_dim(obs_dim, n_actions, n_agents)
    settings = dict(n_actions=n_actions, optimizer="adam", lr=1e-3, tau=0.005, td_lambda=0.6)
    learners = {}
    for name, cls in (("flat", FlatUpdateLearner), ("torch_optim", QLearner)):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            agent = (
                RNNAgent(in_dim, n_actions) if agent_kind == "gru" else MLPAgent(in_dim, n_actions)
            )
            mixer = QMixer(n_agents, state_dim)
        learners[name] = cls(agent, mixer, **settings)
    batch = _batch(batch_size, episode_length, n_agents, obs_dim, state_dim, n_actions, seed)
    times: dict[str, list[float]] = {name: [] for name in learners}
    for rep_ in range(reps + warmup):
        for name, learner in learners.items():
            start = time.perf_counter()
            learner.update(batch)
            if rep_ >= warmup:  # the first few warm up the allocator and the caches
                times[name].append(time.perf_counter() - start)
    flat_ms = 1e3 * statistics.median(times["flat"])
    optim_ms = 1e3 * statistics.median(times["torch_optim"])
    return {
        "agent": agent_kind,
        "flat_ms": flat_ms,
        "torch_optim_ms": optim_ms,
        "ratio": optim_ms / flat_ms,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python benchmarks/speed.py [--reps N]``: the update comparison, side by side."""
    import argparse

    parser = argparse.ArgumentParser(description="learner update: flat parameters vs torch.optim")
    parser.add_argument("--reps", type=int, default=200, help="timed updates per learner")
    args = parser.parse_args(argv)
    if args.reps < 1:
        parser.error("--reps must be >= 1")
    print(f"QMIX update, simple_spread sizes, 1 thread, median of {args.reps} (ms)")
    print(f"{'agent':<6} {'flat':>8} {'torch.optim':>12} {'ratio':>7}")
    with deterministic_torch(1):
        for kind in ("mlp", "gru"):
            r = compare_update(kind, reps=args.reps)
            print(f"{kind:<6} {r['flat_ms']:8.2f} {r['torch_optim_ms']:12.2f} {r['ratio']:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
