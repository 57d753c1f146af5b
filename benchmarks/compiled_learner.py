"""The learner compiled by torch.compile (``Config.compile``) beside the plain one, side by
side: the ``simple_spread`` preset, one thread, a fresh process per run.

    python benchmarks/compiled_learner.py                  # 3 seeds, 40,000 env steps each
    python benchmarks/compiled_learner.py --seeds 5 --steps 60000 --json compiled.json
    python benchmarks/compiled_learner.py --quick          # a smoke run of a few seconds

Per seed it trains three runs, one after the other: plain, compiled with an empty
compile cache (cold: the run compiles everything), and compiled again with the cache the
cold run filled (warm: as on a machine that has trained the preset before). Each run
reports its CPU seconds (its own and its waited-for children's, the C++ compiler among
them) for the start-up (importing torch, building the environments and the networks),
for the first round that learns (where the compilation happens), and for the training
after it, per 1,000 env steps. Then the medians over seeds and the ratios compiled /
plain. Evaluations are switched off: only training is timed. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRESET = "simple_spread"

CHILD = """
import json, resource, sys, time
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["root"])


def cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


import torch
torch.set_num_threads(1)
from qmix_tut import Config
from qmix_tut.train import Trainer

config = Config.preset(spec["preset"], seed=spec["seed"], threads=1, compile=spec["compile"],
                       total_steps=spec["steps"], eval_episodes=0)
trainer = Trainer(config)
built = cpu()
first = None
while trainer.env_steps < config.total_steps:
    updates = trainer.learner.updates
    trainer.round()
    if first is None and trainer.learner.updates > updates:
        first = {"cpu": cpu(), "env_steps": trainer.env_steps}
end = cpu()
print(json.dumps({"startup": built, "first_learning_round": first["cpu"] - built,
                  "train_after": end - first["cpu"],
                  "steps_after": trainer.env_steps - first["env_steps"],
                  "compiled": trainer.learner.compiled, "total": end,
                  "returns": trainer.recent_returns[-8:]}))
"""


def run_once(seed: int, steps: int, compile_: bool, cache: str) -> dict[str, Any]:
    spec = {"root": str(ROOT), "preset": PRESET, "seed": seed, "steps": steps,
            "compile": compile_}  # fmt: skip
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache, "TORCHINDUCTOR_COMPILE_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        capture_output=True, text=True, cwd=tempfile.gettempdir(), env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"seed {seed} (compile={compile_}) failed:\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["per_1000_steps"] = 1000 * out["train_after"] / max(out["steps_after"], 1)
    return out


KINDS = ("plain", "cold", "warm")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--steps", type=int, default=40_000, help="env steps per run (40000)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write every figure to OUT")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 seed, 3,200 steps")
    args = parser.parse_args(argv)
    seeds, steps = (1, 3_200) if args.quick else (args.seeds, args.steps)
    if seeds < 1:
        parser.error(f"--seeds must be at least 1, got {seeds}")
    if steps < 2_000:
        parser.error(f"--steps must be at least 2000 (learning starts at 1,600), got {steps}")
    if args.json is not None and not args.json.parent.is_dir():
        parser.error(f"--json: no folder {str(args.json.parent)!r} to write into")
    print(f"QMIX, preset {PRESET!r}: plain, compiled (cold cache), compiled (warm cache); "
          f"{seeds} seed(s), {steps:,} env steps each, one thread, no evaluations; load "
          f"average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
          + (" (smoke run: not a measurement)" if args.quick else ""), flush=True)  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for seed in range(seeds):
        with tempfile.TemporaryDirectory(prefix="qmix-tut-compile-") as cache:
            for kind in KINDS:
                run = run_once(seed, steps, kind != "plain", cache)
                runs[kind].append(run)
                print(f"  seed {seed} {kind:5s}: start-up {run['startup']:.1f} CPU s, first "
                      f"learning round {run['first_learning_round']:.2f} s, then "
                      f"{run['per_1000_steps']:.3f} s per 1,000 steps; whole run "
                      f"{run['total']:.1f} s; compiled: {run['compiled']}", flush=True)  # fmt: skip
    medians = {
        kind: {key: statistics.median(r[key] for r in rs)
               for key in ("startup", "first_learning_round", "per_1000_steps", "total")}
        for kind, rs in runs.items()
    }  # fmt: skip
    print("\nmedians (CPU s)        start-up  first learning round  per 1,000 steps  whole run")
    for kind, m in medians.items():
        print(f"  {kind:20s} {m['startup']:9.1f}  {m['first_learning_round']:20.2f}  "
              f"{m['per_1000_steps']:15.3f}  {m['total']:9.1f}")  # fmt: skip
    plain = medians["plain"]
    ratios = {
        "per_1000_steps": medians["cold"]["per_1000_steps"] / plain["per_1000_steps"],
        "total_cold": medians["cold"]["total"] / plain["total"],
        "total_warm": medians["warm"]["total"] / plain["total"],
    }

    def extra(kind: str) -> float:  # CPU s before training runs at its steady pace
        m, p = medians[kind], plain
        return m["startup"] + m["first_learning_round"] - p["startup"] - p["first_learning_round"]

    extra_cold, extra_warm = extra("cold"), extra("warm")
    saved = plain["per_1000_steps"] - medians["cold"]["per_1000_steps"]
    print(f"\ntraining after the first update, compiled / plain: {ratios['per_1000_steps']:.3f}")
    print(f"whole {steps:,}-step run, compiled / plain: cold {ratios['total_cold']:.3f}, warm "
          f"{ratios['total_warm']:.3f}")  # fmt: skip
    if saved > 0:
        print(f"the compilation costs {extra_cold:.1f} CPU s cold and {extra_warm:.1f} s warm, "
              f"and saves {saved:.3f} s per 1,000 steps: it pays for itself after "
              f"{1000 * extra_cold / saved:,.0f} steps cold and {1000 * extra_warm / saved:,.0f} "
              "warm")  # fmt: skip
    else:
        print("the compiled learner is not faster per step here")
    if args.json is not None:
        data = {"settings": {"preset": PRESET, "seeds": seeds, "steps": steps,
                             "quick": args.quick},
                "runs": runs, "medians": medians, "ratios": ratios,
                "extra_cpu_s": {"cold": extra_cold, "warm": extra_warm}}  # fmt: skip
        args.json.write_text(json.dumps(data, indent=1) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
