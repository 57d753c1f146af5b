"""The QMIX paper's ablations on the two-step game: QMIX, QMIX-NS, QMIX-Lin, VDN-S, VDN, IQL.

Trains each algorithm with the paper's appendix-B settings (the ``two_step_paper`` preset)
on several seeds, one CPU thread each, and writes every evaluation row (greedy return and
mean TD loss since the previous row) to a CSV that notebook 04 plots beside the reader's
own shorter run. Prints, per algorithm, the final greedy returns, the final loss and the
seconds per run, side by side.

    python benchmarks/ablations_two_step.py                      # 5 seeds, 10k steps each
    python benchmarks/ablations_two_step.py --seeds 2 --steps 2000 --csv /tmp/abl.csv

References: Rashid et al. (2018), QMIX, ICML, arXiv:1803.11485; Rashid et al. (2020),
Monotonic value function factorisation for deep multi-agent RL, JMLR 21(178),
arXiv:2003.08839 (the ablations).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch

from qmix_tut import Config, train
from qmix_tut.algorithms import ABLATION_ALGOS

ALGOS = list(ABLATION_ALGOS)
COLUMNS = ["algo", "seed", "env_steps", "episodes", "eval_return", "loss"]
DEFAULT_CSV = Path(__file__).resolve().parent.parent / "figures" / "data" / "ablations_two_step.csv"


def run(algos: list[str], seeds: int, steps: int, eval_interval: int) -> tuple[list[dict], dict]:
    """Train every (algorithm, seed); returns the CSV rows and the seconds of each run."""
    rows: list[dict] = []
    seconds: dict[str, list[float]] = {}
    for algo in algos:
        for seed in range(seeds):
            config = Config.preset(
                "two_step_paper",
                algo=algo,
                seed=seed,
                total_steps=steps,
                eval_interval=eval_interval,
            )
            start = time.perf_counter()
            result = train(config, progress=False)
            seconds.setdefault(algo, []).append(time.perf_counter() - start)
            for row in result.history:
                rows.append(
                    {
                        "algo": algo,
                        "seed": seed,
                        "env_steps": int(row["env_steps"]),
                        "episodes": int(row["episodes"]),
                        "eval_return": float(row["eval_return"]),
                        "loss": float(row["loss"]),
                    }
                )
            print(
                f"{algo:<9} seed {seed}: greedy return {result.final_eval_return:g}, "
                f"{seconds[algo][-1]:.1f} s",
                flush=True,
            )
    return rows, seconds


def write_csv(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            out = dict(row)
            out["loss"] = "" if np.isnan(out["loss"]) else f"{out['loss']:.6g}"
            out["eval_return"] = f"{out['eval_return']:g}"
            writer.writerow(out)


def report(rows: list[dict], seconds: dict[str, list[float]]) -> None:
    print(f"\n{'algorithm':<9}  {'final greedy returns':<28} {'final loss':>10} {'s/run':>6}")
    for algo, times in seconds.items():
        mine = [r for r in rows if r["algo"] == algo]
        last_step = max(r["env_steps"] for r in mine)
        final = [r for r in mine if r["env_steps"] == last_step]
        returns = [int(r["eval_return"]) for r in final]
        loss = np.median([r["loss"] for r in final])
        print(f"{algo:<9}  {str(returns):<28} {loss:>10.3f} {np.median(times):>6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10_000, help="environment steps per run")
    parser.add_argument("--eval-interval", type=int, default=500)
    parser.add_argument("--algos", nargs="+", default=ALGOS, choices=ALGOS)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows, seconds = run(args.algos, args.seeds, args.steps, args.eval_interval)
    report(rows, seconds)
    write_csv(rows, args.csv)
    print(f"\nwrote {args.csv}")


if __name__ == "__main__":
    main()
