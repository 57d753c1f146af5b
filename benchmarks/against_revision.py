"""This package against an earlier revision of itself, side by side: the two-step game in
the QMIX paper's setting (``two_step_paper``, 10k steps) or another preset, one process per
run, the two versions alternating so that both see the same machine (and the same load).

    python benchmarks/against_revision.py b0f7230 --seeds 3
    python benchmarks/against_revision.py HEAD --preset simple_spread --steps 30000

It checks the revision out into a temporary git worktree (removed afterwards), runs
``train`` in a fresh process for each seed and version, and prints CPU and wall seconds
per run, the greedy return, the ratio of the medians (this package / the revision), and
whether the two versions' histories (every logged value but the clock) are equal: a change
meant only to be faster should say "equal".
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

RUN = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(1)
from qmix_tut import Config, train
config = Config.preset(
    sys.argv[4], seed=int(sys.argv[2]), threads=1, total_steps=int(sys.argv[3])
)
cpu, wall = time.process_time(), time.perf_counter()
result = train(config, progress=False)
history = [{k: v for k, v in row.items() if k != "wall_seconds"} for row in result.history]
print(json.dumps({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
                  "return": result.final_eval_return, "history": repr(history)}))
"""


def run_once(package_root: Path, seed: int, steps: int, preset: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(package_root), str(seed), str(steps), preset],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),  # so that neither checkout is imported by accident
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"a run of {package_root} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="a git revision of this repository, e.g. b0f7230")
    parser.add_argument("--seeds", type=int, default=3, help="runs per version (default 3)")
    parser.add_argument("--steps", type=int, default=10_000, help="env steps per run (10000)")
    sys.path.insert(0, str(ROOT))
    from qmix_tut.config import PRESETS

    parser.add_argument(
        "--preset",
        default="two_step_paper",
        choices=sorted(PRESETS),
        help="the preset trained (two_step_paper)",
    )
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.steps < 1:
        parser.error("--seeds and --steps must be at least 1")
    worktree = Path(tempfile.mkdtemp(prefix="qmix-tut-revision-"))
    added = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.revision],
        capture_output=True,
        text=True,
        check=False,
    )
    if added.returncode != 0:
        parser.error(f"cannot check out {args.revision!r}: {added.stderr.strip()}")
    try:
        runs: dict[str, list[dict[str, Any]]] = {"revision": [], "current": []}
        for seed in range(args.seeds):
            for name, root in (("revision", worktree), ("current", ROOT)):
                row = run_once(root, seed, args.steps, args.preset)
                runs[name].append(row)
                print(
                    f"{name:>8} ({args.revision if name == 'revision' else 'working tree'}) "
                    f"seed {seed}: {row['cpu']:.2f} s CPU, {row['wall']:.2f} s wall, "
                    f"greedy return {row['return']:g}",
                    flush=True,
                )
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)],
            capture_output=True,
            check=False,
        )
    print(f"{args.preset}, {args.steps} env steps, {args.seeds} seed(s), one thread")
    for key in ("cpu", "wall"):
        old = statistics.median(r[key] for r in runs["revision"])
        new = statistics.median(r[key] for r in runs["current"])
        print(
            f"median {key}: {args.revision} {old:.2f} s, working tree {new:.2f} s, "
            f"ratio {new / old:.3f}"
        )
    equal = sum(a["history"] == b["history"] for a, b in zip(*runs.values(), strict=True))
    print(f"histories (all but the clock) equal for {equal} of {args.seeds} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
