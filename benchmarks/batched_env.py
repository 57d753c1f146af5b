"""Bare-environment speed of simple_spread: mpe2 one env at a time against the batched env.

Both sides play whole episodes with uniformly random joint actions (drawn in advance, so
that drawing them is not timed) and count environment steps: one step of one
environment. The reference side is ``make("mpe:simple_spread")`` (mpe2 through
:class:`MultiAgentEnv`), looped over E environments as the runner loops over them; the
batched side is ``make_batched("mpe:simple_spread", E)`` stepping all E in one call.
Process CPU seconds are the figure compared (the machine may be shared); wall seconds
are printed beside them.

    python benchmarks/batched_env.py                      # E = 1, 8, 16; 2 s per side
    python benchmarks/batched_env.py --envs 1 4 --seconds 1
    python benchmarks/batched_env.py --train 20000        # also whole training runs

With ``--train STEPS`` it also trains the ``simple_spread`` preset (seed 0, one thread,
evaluations included) for STEPS env steps with ``batched_env`` False and True, and prints
training env steps per CPU second of each and their ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

from qmix_tut import Config, train
from qmix_tut.envs import make
from qmix_tut.envs.batched import make_batched

TASK = "mpe:simple_spread"


def steps_per_second(kind: str, n_envs: int, seconds: float, seed: int = 0) -> dict[str, float]:
    """Environment steps per CPU and per wall second for ``kind`` ``"mpe2"`` or ``"batched"``.

    Plays whole episodes of ``n_envs`` environments until at least ``seconds`` of CPU time
    have passed (at least one episode). Returns ``steps``, ``cpu_s``, ``wall_s``,
    ``per_cpu_s`` and ``per_wall_s``.
    """
    if kind not in ("mpe2", "batched"):
        raise ValueError(f"kind must be 'mpe2' or 'batched', got {kind!r}")
    if n_envs < 1:
        raise ValueError(f"n_envs must be at least 1, got {n_envs}")
    rng = np.random.default_rng(seed)
    envs = [make(TASK) for _ in range(n_envs)] if kind == "mpe2" else []
    batched = make_batched(TASK, n_envs) if kind == "batched" else None
    sizes = envs[0] if envs else batched
    assert sizes is not None
    limit, n_agents, n_actions = sizes.episode_limit, sizes.n_agents, sizes.n_actions
    steps, episode = 0, 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while episode == 0 or time.process_time() - cpu0 < seconds:
        seeds = [seed + episode * n_envs + i for i in range(n_envs)]
        actions = rng.integers(0, n_actions, size=(limit, n_envs, n_agents))
        if batched is not None:
            batched.reset(seeds)
            for t in range(limit):
                batched.step(actions[t])
        else:
            for env, s in zip(envs, seeds, strict=True):
                env.reset(seed=s)
            for t in range(limit):
                for i, env in enumerate(envs):
                    env.step(actions[t, i])
        steps += n_envs * limit
        episode += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {
        "steps": steps,
        "cpu_s": cpu,
        "wall_s": wall,
        "per_cpu_s": steps / cpu if cpu > 0 else float("inf"),
        "per_wall_s": steps / wall if wall > 0 else float("inf"),
    }


def compare(n_envs: Sequence[int], seconds: float) -> list[dict[str, float]]:
    """One row per E: both sides' steps per CPU second and the batched/mpe2 ratio."""
    rows = []
    for e in n_envs:
        ref = steps_per_second("mpe2", e, seconds)
        fast = steps_per_second("batched", e, seconds)
        rows.append(
            {
                "n_envs": e,
                "mpe2_per_cpu_s": ref["per_cpu_s"],
                "batched_per_cpu_s": fast["per_cpu_s"],
                "ratio_cpu": fast["per_cpu_s"] / ref["per_cpu_s"],
                "mpe2_per_wall_s": ref["per_wall_s"],
                "batched_per_wall_s": fast["per_wall_s"],
            }
        )
    return rows


def training_rate(batched: bool, steps: int, seed: int = 0) -> dict[str, float]:
    """Train the ``simple_spread`` preset for ``steps`` env steps (one thread).

    Returns ``steps``, ``cpu_s``, ``wall_s`` (of the whole ``train`` call, evaluations and
    set-up included), ``per_cpu_s`` and the last evaluation's return ``eval_return``.
    """
    cfg = Config.preset(
        "simple_spread", total_steps=steps, seed=seed, threads=1, batched_env=batched
    )
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = train(cfg, progress=False)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    done = int(result.history[-1]["env_steps"])
    return {
        "steps": done,
        "cpu_s": cpu,
        "wall_s": wall,
        "per_cpu_s": done / cpu,
        "eval_return": float(result.history[-1]["eval_return"]),
    }


def format_rows(rows: list[dict[str, float]]) -> str:
    """The rows as a plain-text table."""
    lines = [
        f"{'E':>3}  {'mpe2 steps/CPU s':>17}  {'batched steps/CPU s':>20}  {'ratio':>6}  "
        f"{'mpe2 steps/wall s':>18}  {'batched steps/wall s':>21}"
    ]
    for r in rows:
        lines.append(
            f"{r['n_envs']:>3}  {r['mpe2_per_cpu_s']:>17,.0f}  {r['batched_per_cpu_s']:>20,.0f}  "
            f"{r['ratio_cpu']:>5.1f}x  {r['mpe2_per_wall_s']:>18,.0f}  "
            f"{r['batched_per_wall_s']:>21,.0f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 8, 16], metavar="E")
    parser.add_argument("--seconds", type=float, default=2.0, help="CPU seconds per side")
    parser.add_argument(
        "--train", type=int, default=0, metavar="STEPS", help="also train for STEPS env steps"
    )
    args = parser.parse_args(argv)
    if any(e < 1 for e in args.envs) or not args.seconds > 0 or args.train < 0:
        print(
            "batched_env.py: --envs must be positive, --seconds above 0, --train at least 0",
            file=sys.stderr,
        )
        return 2
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"{TASK}, random actions, one process (OMP_NUM_THREADS={threads})")
    print(format_rows(compare(args.envs, args.seconds)))
    if args.train:
        print(f"\ntraining, simple_spread preset, {args.train} env steps, seed 0, threads=1")
        training_rate(False, 400)  # a warm-up: torch's first calls cost more
        rates = {}
        for batched in (False, True):
            r = rates[batched] = training_rate(batched, args.train)
            print(
                f"batched_env={batched!s:<5}  {r['per_cpu_s']:>7,.0f} env steps/CPU s  "
                f"({r['steps']} steps in {r['cpu_s']:.1f} CPU s, {r['wall_s']:.1f} wall s; "
                f"last eval return {r['eval_return']:.1f})"
            )
        print(f"ratio {rates[True]['per_cpu_s'] / rates[False]['per_cpu_s']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
