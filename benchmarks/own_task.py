"""QMIX on environments this package did not write: random play beside a trained team.

Each environment is named as a user would name their own (an mpe2 scenario, a PettingZoo
module path, ``module:function`` for the tiny test envs in tests/envs_fixture.py), checked
with ``check_env``, trained from ``Config(env=...)`` with one CPU thread, and scored by
the mean greedy return of the last two evaluations beside uniform random play over the
available actions. Writes figures/data/own_task/returns.json with the exact configs.

    python benchmarks/own_task.py                       # every task, full budgets
    python benchmarks/own_task.py --scale 0.05 --out /tmp/own_task.json   # a smoke run
    python benchmarks/own_task.py --tasks speaker_listener kaz

(Run from the repository root: tests/ is put on the import path for the tiny envs.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # envs_fixture, the tiny envs named module:function

from qmix_tut import Config, train  # noqa: E402
from qmix_tut.envs import check_env  # noqa: E402

SMALL_NETS: dict[str, Any] = dict(
    algo="qmix", agent="mlp", hidden_dim=64, mixer_embed=32, hypernet_embed=64,
    num_envs=4, optimizer="adam", lr=5e-4, batch_size=32, buffer_size=2000,
    target_update_interval=200, threads=1, device="cpu",
)  # fmt: skip

# name, env_kwargs, env steps, extra config fields, what the task shows
TASKS: dict[str, tuple[str, dict, int, dict, str]] = {
    "masked_choice": (
        "envs_fixture:masked_choice",
        {},
        6000,
        {},
        "action masks in the observation dict",
    ),
    "leaving_team": (
        "envs_fixture:leaving_team",
        {},
        6000,
        {},
        "agents leaving before the episode ends",
    ),
    "speaker_listener": ("mpe:simple_speaker_listener", {}, 60000, {}, "heterogeneous team (mpe2)"),
    "reference": ("mpe:simple_reference", {}, 60000, {}, "50 actions per agent (mpe2)"),
    "kaz": (
        "pettingzoo.butterfly.knights_archers_zombies_v11",
        {"max_cycles": 100},
        30000,
        {"batch_size": 16},
        "agents killed mid-episode (PettingZoo butterfly)",
    ),
    "tictactoe": (
        "envs_fixture:tictactoe",
        {"episode_limit": 9},
        6000,
        {},
        "a turn-based game with masks; zero-sum, so the team return is 0 by construction",
    ),
}


def run_task(key: str, scale: float, seed: int) -> dict[str, Any]:
    env, env_kwargs, steps, extra, shows = TASKS[key]
    steps = max(200, int(steps * scale))
    report = check_env(env, episodes=50, seed=10_000, verbose=False, **env_kwargs)
    if not report.ok:
        raise SystemExit(f"{env} failed its check: {report.problems}")
    fields = {
        **SMALL_NETS,
        "epsilon_anneal_steps": steps // 2,
        "eval_interval": steps // 10,
        "eval_episodes": 16,
        **extra,
    }
    config = Config(env=env, env_kwargs=env_kwargs, seed=seed, total_steps=steps, **fields)
    start = time.perf_counter()
    result = train(config, progress=False)
    seconds = time.perf_counter() - start
    trained = float(np.mean([row["eval_return"] for row in result.history[-2:]]))
    return {
        "task": key,
        "env": env,
        "shows": shows,
        "random_return": report.random_return,
        "random_episodes": len(report.random_returns),
        "trained_return": trained,
        "untrained_greedy_return": float(result.history[0]["eval_return"]),
        "env_steps": int(result.history[-1]["env_steps"]),
        "seconds": round(seconds, 1),
        "config": config.to_dict(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS), default=list(TASKS))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every step budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "figures" / "data" / "own_task" / "returns.json"
    )
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 10:
        parser.error(f"--scale must be in (0, 10], got {args.scale}")
    command = "python benchmarks/own_task.py " + " ".join(sys.argv[1:] if argv is None else argv)
    rows = []
    print(f"{'task':<18}{'random':>10}{'trained':>10}{'steps':>8}{'seconds':>9}")
    for key in args.tasks:
        row = {**run_task(key, args.scale, args.seed), "command": command.strip()}
        rows.append(row)
        print(
            f"{key:<18}{row['random_return']:>10.3f}{row['trained_return']:>10.3f}"
            f"{row['env_steps']:>8}{row['seconds']:>9.1f}",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    merged = {**previous.get("tasks", {}), **{r["task"]: r for r in rows}}
    args.out.write_text(json.dumps({"tasks": merged}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
