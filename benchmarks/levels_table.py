"""Per setting, how often and how soon runs reach and hold a greedy return, from stored
histories: the table of the simple_spread stability study (figures/data/stability).

    python benchmarks/levels_table.py figures/data/stability --target -48.6

Reads ``<folder>/<setting>/<algo>/seed<k>/history.csv`` (the layout ``qmix-tut sweep`` and
``qmix_tut.sweep.store_histories`` write) and prints one markdown row per setting: the
seeds that ever reach the target and that hold it (mean of 5 consecutive evaluations),
the median env steps to each, the median and range over seeds of the mean of the last 5
evaluations, and the median of each run's last mean Q_tot and gradient norm, the two
diagnostics that drift when a team loses its level.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from qmix_tut.stats import HELD_WINDOW, first_crossing, held_level  # noqa: E402  (no torch)


def read(path: Path) -> dict[str, list[float]]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows] for k in rows[0]}


def median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(folder: Path, target: float) -> list[dict]:
    rows = []
    for setting in sorted(p for p in folder.iterdir() if p.is_dir()):
        runs = sorted(setting.glob("*/seed*/history.csv"))
        if not runs:
            continue
        first, held, last5, q, grad = [], [], [], [], []
        for path in runs:
            h = read(path)
            steps = [int(s) for s in h["env_steps"]]
            point = first_crossing(steps, h["eval_return"], target)
            hold = held_level(steps, h["eval_return"], target)
            if point is not None:
                first.append(point.env_steps)
            if hold is not None:
                held.append(hold.env_steps)
            last5.append(statistics.fmean(h["eval_return"][-HELD_WINDOW:]))
            q.append(h["q_tot_mean"][-1])
            grad.append(h["grad_norm"][-1])
        rows.append(
            {
                "setting": setting.name,
                "seeds": len(runs),
                "reached": len(first),
                "held": len(held),
                "first_median": median_or_none(first),
                "held_median": median_or_none(held),
                "last5_median": statistics.median(last5),
                "last5_min": min(last5),
                "last5_max": max(last5),
                "q_median": statistics.median(q),
                "grad_median": statistics.median(grad),
            }
        )
    return rows


def _steps(value: float | None) -> str:
    return "never" if value is None else f"{value / 1000:.0f}k"


def markdown(rows: list[dict], target: float) -> str:
    lines = [
        f"| setting | reach {target:g} | hold {target:g} | median steps to reach | median steps "
        "to hold | last 5 evaluations, median (range) | last mean Q_tot | last gradient norm |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['setting']} | {r['reached']} of {r['seeds']} | {r['held']} of {r['seeds']} | "
            f"{_steps(r['first_median'])} | {_steps(r['held_median'])} | "
            f"{r['last5_median']:.1f} ({r['last5_min']:.1f} to {r['last5_max']:.1f}) | "
            f"{r['q_median']:.1f} | {r['grad_median']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a sweep folder or its stored copy")
    parser.add_argument("--target", type=float, default=-48.6, help="greedy return (-48.6)")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    if not math.isfinite(args.target):
        parser.error("--target must be a finite number")
    rows = summarise(args.folder, args.target)
    if not rows:
        parser.error(f"{args.folder} holds no <setting>/<algo>/seed<k>/history.csv")
    print(markdown(rows, args.target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
