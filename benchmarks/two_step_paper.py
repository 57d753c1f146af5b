"""Reproduce the QMIX paper's two-step game table (Rashid et al. 2018, Table 1).

Trains QMIX, VDN and IQL with the paper's appendix-B settings on several seeds, one CPU
thread each, and prints the median learned Q_tot tables beside the published ones, the
greedy return of every seed and the time per run.

    python benchmarks/two_step_paper.py                 # 10 seeds, all three algorithms
    python benchmarks/two_step_paper.py --seeds 3 --algos qmix
    python benchmarks/two_step_paper.py --json figures/data/two_step_paper.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from qmix_tut import Config, train
from qmix_tut.algorithms import CORE_ALGOS, VALUE_ALGOS
from qmix_tut.analysis import PAPER_TWO_STEP, q_tot_tables


def run(algos: list[str], seeds: int, steps: int | None = None) -> dict:
    """Train every (algorithm, seed) with the paper's settings (``steps`` overrides the
    preset's 10k environment steps); returns per algorithm the greedy returns, seconds,
    and the learned Q_tot tables of every seed and their median."""
    out: dict = {}
    extra = {} if steps is None else {"total_steps": steps, "eval_interval": steps}
    for algo in algos:
        tables, returns, seconds = [], [], []
        for seed in range(seeds):
            start = time.perf_counter()
            config = Config.preset("two_step_paper", algo=algo, seed=seed, **extra)
            result = train(config, progress=False)
            seconds.append(time.perf_counter() - start)
            returns.append(result.final_eval_return)
            tables.append(q_tot_tables(result))
        median = {k: np.median(np.stack([t[k] for t in tables]), axis=0) for k in tables[0]}
        out[algo] = {
            "returns": returns,
            "seconds": seconds,
            "median_tables": {k: v.tolist() for k, v in median.items()},
            "tables": [{k: v.tolist() for k, v in t.items()} for t in tables],
        }
    return out


def report(results: dict) -> None:
    for algo, r in results.items():
        returns = np.array(r["returns"])
        print(f"\n{algo.upper()}  ({len(returns)} seeds)")
        print(f"  greedy returns: {returns.astype(int).tolist()}")
        print(f"  seeds earning 8: {int((returns == 8).sum())}/{len(returns)}, "
              f"earning 7: {int((returns == 7).sum())}/{len(returns)}")  # fmt: skip
        print(
            f"  seconds per run: median {np.median(r['seconds']):.1f}, max {max(r['seconds']):.1f}"
        )
        paper = PAPER_TWO_STEP.get(algo)
        for key, table in r["median_tables"].items():
            table = np.array(table)
            line = f"  state {key:<3} median ours {np.round(table, 2).tolist()}"
            if paper is not None:
                err = np.abs(table - paper[key]).max()
                line += f"  paper {paper[key].tolist()}  max |diff| {err:.2f}"
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--algos", nargs="+", default=list(CORE_ALGOS)[::-1], choices=VALUE_ALGOS)
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args()
    results = run(args.algos, args.seeds)
    report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
