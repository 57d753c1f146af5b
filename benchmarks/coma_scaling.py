"""COMA's centralised critic against QMIX's mixer as the number of agents grows.

For 2 to 32 agents (each with a 16-number observation and 5 actions; the state is every
agent's observation side by side, as in ``benchmarks/speed.py``), it measures:

- input width and parameter count of COMA's critic and of QMIX's mixer (the package
  defaults: critic of 128 units, mixer embed 32 with two-layer hypernetworks of 64);
- the joint actions of the other agents the critic must tell apart, 5^(n-1);
- the time of one COMA update (8 episodes of 25 steps, as the ``coma_*`` presets: 25
  critic steps, then one actor step) and of its critic part, beside one QMIX update
  (32 episodes of 25 steps, as the ``simple_spread`` preset) and of its mixer part
  (forward and backward of the mixer alone), GRU agents in both; medians of ``--reps``.

Writes ``scaling.csv``, ``scaling.md`` and ``scaling.png`` into ``--out``
(default ``figures/data/coma``). Run from the repository root, with nothing else busy::

    python benchmarks/coma_scaling.py --reps 5
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from qmix_tut import __version__
from qmix_tut.agents import RNNAgent, agent_input_dim
from qmix_tut.coma import COMALearner, critic_input_dim, make_critic
from qmix_tut.learner import QLearner
from qmix_tut.mixers import QMixer
from qmix_tut.train import deterministic_torch

OBS_DIM, N_ACTIONS, STEPS = 16, 5, 25
COMA_EPISODES, QMIX_EPISODES = 8, 32
AGENTS = (2, 4, 8, 16, 32)


def random_batch(n_agents: int, episodes: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Episodes of random observations, actions and rewards, every step real."""
    g = torch.Generator().manual_seed(seed)
    b, t, n = episodes, STEPS, n_agents
    obs = torch.randn(b, t + 1, n, OBS_DIM, generator=g)
    return {
        "obs": obs,
        "state": obs.reshape(b, t + 1, n * OBS_DIM).clone(),
        "avail": torch.ones(b, t + 1, n, N_ACTIONS),
        "actions": torch.randint(N_ACTIONS, (b, t, n), generator=g),
        "reward": torch.randn(b, t, generator=g),
        "terminated": torch.zeros(b, t),
        "mask": torch.ones(b, t),
        "final_actions": torch.randint(N_ACTIONS, (b, n), generator=g),
        "epsilon": torch.full((b,), 0.1, dtype=torch.float64),
    }


def params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def median_ms(fn, reps: int) -> float:
    fn()  # warm up (allocations, first-call dispatch)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def measure(n: int, reps: int) -> dict[str, float]:
    """One row of the table for ``n`` agents."""
    torch.manual_seed(0)
    in_dim = agent_input_dim(OBS_DIM, N_ACTIONS, n)
    state_dim = n * OBS_DIM
    info = {"n_agents": n, "n_actions": N_ACTIONS, "obs_dim": OBS_DIM, "state_dim": state_dim}
    critic = make_critic(info)
    coma = COMALearner(RNNAgent(in_dim, N_ACTIONS), critic, n_agents=n, n_actions=N_ACTIONS)
    mixer = QMixer(n, state_dim)
    qmix = QLearner(RNNAgent(in_dim, N_ACTIONS), mixer, n_actions=N_ACTIONS, optimizer="adam")
    coma_batch = random_batch(n, COMA_EPISODES)
    qmix_batch = {k: v for k, v in random_batch(n, QMIX_EPISODES).items() if k in (
        "obs", "state", "avail", "actions", "reward", "terminated", "mask")}  # fmt: skip

    def critic_only() -> None:
        batch = coma.trim(coma_batch)
        inputs = coma.critic_inputs(batch)
        targets = coma.critic_targets(batch, inputs)
        for t in reversed(range(STEPS)):  # what the update does for the critic, step by step
            q = coma.critic(inputs[:, t]).gather(-1, batch["actions"][:, t, :, None]).squeeze(-1)
            loss = ((q - targets[:, t]) ** 2).mean()
            coma.critic_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            coma.critic_optimizer.step()

    agent_qs = torch.randn(QMIX_EPISODES, STEPS, n, requires_grad=True)
    states = qmix_batch["state"][:, :-1]

    def mixer_only() -> None:
        mixer.zero_grad(set_to_none=True)
        mixer(agent_qs, states).sum().backward()

    return {
        "n_agents": n,
        "critic_input": critic_input_dim(state_dim, OBS_DIM, n, N_ACTIONS),
        "critic_params": params(critic),
        "other_joint_actions": N_ACTIONS ** (n - 1),
        "mixer_input": n + state_dim,
        "mixer_params": params(mixer),
        "coma_update_ms": median_ms(lambda: coma.update(coma_batch), reps),
        "critic_ms": median_ms(critic_only, reps),
        "qmix_update_ms": median_ms(lambda: qmix.update(qmix_batch), reps),
        "mixer_ms": median_ms(mixer_only, reps),
    }


def markdown(rows: list[dict], header: str) -> str:
    lines = [
        header,
        "",
        "| agents | critic input | critic params | others' joint actions | mixer input "
        "| mixer params | COMA update ms (8 ep.) | critic ms | QMIX update ms (32 ep.) "
        "| mixer ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n_agents']} | {r['critic_input']:,} | {r['critic_params']:,} "
            f"| {r['other_joint_actions']:.3g} | {r['mixer_input']:,} | {r['mixer_params']:,} "
            f"| {r['coma_update_ms']:.1f} | {r['critic_ms']:.1f} | {r['qmix_update_ms']:.1f} "
            f"| {r['mixer_ms']:.2f} |"
        )
    first, last = rows[0], rows[-1]
    lines += [
        "",
        f"From {first['n_agents']} to {last['n_agents']} agents the critic's input grows "
        f"{last['critic_input'] / first['critic_input']:.1f}x and its parameters "
        f"{last['critic_params'] / first['critic_params']:.1f}x; the mixer's input "
        f"{last['mixer_input'] / first['mixer_input']:.1f}x and its parameters "
        f"{last['mixer_params'] / first['mixer_params']:.1f}x.",
    ]
    return "\n".join(lines) + "\n"


def figure(rows: list[dict]):
    import matplotlib.pyplot as plt

    from qmix_tut.plotting import algo_color, style

    x = [r["n_agents"] for r in rows]
    coma, qmix = algo_color("coma"), algo_color("qmix")
    with style():
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
        ax = axes[0]
        ax.plot(x, [r["critic_input"] for r in rows], "o-", color=coma, label="COMA critic")
        ax.plot(x, [r["mixer_input"] for r in rows], "s--", color=qmix, label="QMIX mixer")
        ax.set_ylabel("input width")
        ax = axes[1]
        ax.plot(x, [r["critic_params"] for r in rows], "o-", color=coma, label="COMA critic")
        ax.plot(x, [r["mixer_params"] for r in rows], "s--", color=qmix, label="QMIX mixer")
        ax.set_ylabel("parameters")
        ax = axes[2]
        ax.plot(x, [r["coma_update_ms"] for r in rows], "o-", color=coma, label="COMA update")
        ax.plot(x, [r["critic_ms"] for r in rows], "o:", color=coma, label="its critic")
        ax.plot(x, [r["qmix_update_ms"] for r in rows], "s--", color=qmix, label="QMIX update")
        ax.plot(x, [r["mixer_ms"] for r in rows], "s:", color=qmix, label="its mixer")
        ax.set_ylabel("ms per update")
        for ax in axes:
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xticks(x, [str(v) for v in x])
            ax.set_xlabel("number of agents")
            ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions (median)")
    parser.add_argument("--out", default="figures/data/coma", help="output folder")
    parser.add_argument("--agents", type=int, nargs="+", default=list(AGENTS))
    args = parser.parse_args(argv)
    if args.reps < 1 or min(args.agents) < 1:
        print("coma_scaling: --reps and --agents must be >= 1", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    with deterministic_torch(1):
        rows = [measure(n, args.reps) for n in args.agents]
    with open(out / "scaling.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    header = (
        f"# COMA critic vs QMIX mixer against the number of agents\n\n"
        f"Measured by `python benchmarks/coma_scaling.py --reps {args.reps}` on "
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC: {platform.machine()}, "
        f"{os.cpu_count()} cores, one thread, torch {torch.__version__}, qmix_tut "
        f"{__version__}; load average at the start {load[0]:.1f} (other work shared the "
        f"machine, so the times are upper bounds; the widths and counts are exact). "
        f"Observations of {OBS_DIM} numbers, {N_ACTIONS} actions, episodes of {STEPS} steps, "
        "GRU agents; times are medians."
    )
    (out / "scaling.md").write_text(markdown(rows, header))
    figure(rows).savefig(out / "scaling.png", dpi=100)
    print(markdown(rows, header))
    return 0


if __name__ == "__main__":
    sys.exit(main())
