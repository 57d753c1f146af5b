"""Estimate what a sweep file costs: train each of its (task, algorithm) kinds of run for a
few thousand steps, one process at a time, and scale the measured speed to the full budget.

    python benchmarks/sweep_cost.py figures/data/benchmark/sweep.toml --json cost.json

Speed is counted in CPU seconds of this process between the first and the last evaluation
(so the start-up, the import of torch and building the environments are left out and
counted once per run as ``startup``), which a machine shared with other work inflates
less than wall seconds. Wall time is then estimated for an idle machine of C cores as a
greedy schedule of the runs, longest first, one run per core.
"""

from __future__ import annotations

import argparse
import heapq
import json
import time
from pathlib import Path

from qmix_tut import Config, train
from qmix_tut.sweep import load_sweep_file

SAMPLE_STEPS = {"mpe": 10_000, "lbf": 20_000}


def measure(config: dict, steps: int) -> dict:
    """CPU seconds per env step of one short run of ``config`` (evaluations included)."""
    ticks: list[tuple[float, float]] = []
    short = Config.from_dict(
        {**config, "total_steps": steps, "eval_interval": steps // 4, "checkpoint_interval": 0}
    )
    started = time.process_time()
    wall = time.perf_counter()
    train(
        short,
        progress=False,
        callback=lambda row: ticks.append((row["env_steps"], time.process_time())),
    )
    total_cpu = time.process_time() - started
    (s0, c0), (s1, c1) = ticks[1], ticks[-1]  # from the first evaluation after learning began
    per_step = (c1 - c0) / (s1 - s0)
    return {
        "sample_steps": steps,
        "cpu_seconds_per_step": per_step,
        "steps_per_cpu_second": 1.0 / per_step,
        "startup_cpu_seconds": max(0.0, total_cpu - per_step * steps),
        "wall_seconds": time.perf_counter() - wall,
    }


def schedule(durations: list[float], cores: int) -> float:
    """Makespan of running jobs longest first, each on the next free core."""
    free = [0.0] * cores
    for d in sorted(durations, reverse=True):
        heapq.heappush(free, heapq.heappop(free) + d)
    return max(free)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a sweep file")
    parser.add_argument("--json", help="write the measurements and the estimate here")
    parser.add_argument("--cores", type=int, nargs="+", default=[2, 16, 64, 128])
    args = parser.parse_args()
    runs = load_sweep_file(args.file)
    kinds: dict[tuple[str, str], dict] = {}
    for run in runs:
        kinds.setdefault((run.task, run.variant), run.config)
    rates = {}
    for (task, variant), config in kinds.items():
        steps = SAMPLE_STEPS[config["env"].split(":")[0]]
        rates[(task, variant)] = m = measure(config, steps)
        print(f"{task:<16}{variant:<20}{m['steps_per_cpu_second']:>8.0f} steps per CPU s "
              f"(startup {m['startup_cpu_seconds']:.1f} s)", flush=True)  # fmt: skip
    durations, by_task = [], {}
    for run in runs:
        m = rates[(run.task, run.variant)]
        seconds = run.config["total_steps"] * m["cpu_seconds_per_step"] + m["startup_cpu_seconds"]
        durations.append(seconds)
        by_task[run.task] = by_task.get(run.task, 0.0) + seconds
    total = sum(durations)
    print(
        f"\n{len(runs)} runs, {total / 3600:.1f} CPU hours in all; longest run {max(durations) / 60:.0f} min"
    )
    for task, seconds in by_task.items():
        print(f"  {task:<16}{seconds / 3600:6.1f} CPU hours")
    walls = {c: schedule(durations, c) for c in args.cores}
    for cores, seconds in walls.items():
        print(f"  wall time on {cores:>3} idle cores: {seconds / 3600:6.2f} h")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "sweep_file": args.file,
            "rates": [{"task": t, "variant": v, **m} for (t, v), m in rates.items()],
            "runs": len(runs),
            "cpu_hours": total / 3600,
            "cpu_hours_by_task": {t: s / 3600 for t, s in by_task.items()},
            "longest_run_minutes": max(durations) / 60,
            "wall_hours_by_cores": {str(c): s / 3600 for c, s in walls.items()},
        }, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
