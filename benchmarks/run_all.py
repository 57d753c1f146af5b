"""Speed benchmarks: every figure of the speed targets, beside the target and the reference.

Measures, on one CPU thread:

1. throughput: bare-env random-action steps/s and training steps/s, interleaved in one
   run, on ``mpe:simple_spread`` and ``lbf:Foraging-8x8-2p-2f-coop-v3`` with their presets;
2. time to target: wall and CPU seconds until QMIX's greedy test return first reaches
   each target (the first evaluation at or past it) and until it holds it (the mean of 5
   consecutive evaluations at or past it), median of 3 seeds, evaluation and set-up
   included; each run goes on past its first crossing until it holds every target or
   its budget of env steps (the preset's ``total_steps`` unless ``--steps``) is spent;
3. the two-step game in the QMIX paper's setting: seconds per 10k-step run, and when the
   greedy return 8 is first reached and when it is held;
4. scaling: learner update time and memory against the number of agents (2 to 32) and
   the episode length, with a linear fit over agents.

and writes ``results.md`` (the table), ``results.json`` (every number, with the machine's
load) and ``scaling.png`` to ``figures/data/benchmarks/``. A run of some parts only keeps
the stored numbers of the others, so the table always shows every part.

    python benchmarks/run_all.py                        # everything (up to about an hour)
    python benchmarks/run_all.py --parts throughput two_step scaling
    python benchmarks/run_all.py --parts ttt --tasks simple_spread
    python benchmarks/run_all.py --parts ttt --tasks lbf --seeds 5 --steps 1000000
    python benchmarks/run_all.py --quick                # a smoke run of every part (~2 min)

Run it on a quiet machine: the wall-clock figures assume nothing else is running. The
CPU-second figures are the fairer ones on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402  (the helpers next to this file)

import qmix_tut  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "figures" / "data" / "benchmarks"
PARTS = ("throughput", "ttt", "two_step", "scaling")

# The reference implementation's figures, measured on the same machine type.
TASKS = {
    "simple_spread": {
        "env": "mpe:simple_spread",
        "label": "MPE simple_spread",
        "targets": [(-57.0, 30.0), (-48.6, 180.0)],
        "reference": {
            "bare": 2555,
            "train": 390,
            "ratio": "1/6.6",
            -57.0: "140 s (-56.9 at 50k steps)",
            -48.6: "882 s (330k steps)",
        },
    },
    "lbf": {
        "env": "lbf:Foraging-8x8-2p-2f-coop-v3",
        "label": "LBF 8x8-2p-2f-coop",
        "targets": [(0.9, 600.0)],
        "reference": {
            "bare": 7960,
            "train": 510,
            "ratio": "1/15.7",
            0.9: "never (best < 0.05 in 15 min, 430k steps)",
        },
    },
}
REFERENCE_SPLIT = "1050 / 300-700 / 600-800"  # us per env step: acting / env / learning


def machine() -> dict:
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "qmix_tut": qmix_tut.__version__,
        "load_average": list(os.getloadavg()),
    }


# ------------------------------------------------------------------------------------------
# running the parts
# ------------------------------------------------------------------------------------------
def run_throughput(tasks: list[str], quick: bool) -> dict:
    out = {}
    for name in tasks:
        t = TASKS[name]
        print(f"throughput: {t['label']} ...", flush=True)
        out[name] = speed.throughput(
            t["env"], name, seconds=4.0 if quick else 40.0, chunks=4 if quick else 10
        )
        r = out[name]
        print(f"  bare {r['bare_rate_wall']:.0f} steps/s, training {r['train_rate_wall']:.0f} "
              f"steps/s, ratio {r['ratio_wall']:.2f} (CPU: {r['ratio_cpu']:.2f})")  # fmt: skip
    return out


def _at(row: dict | None) -> str:
    """One level's point of one run: env steps, CPU and wall seconds."""
    if row is None:
        return "never"
    return f"{row['env_steps'] / 1000:.1f}k steps, {row['cpu']:.1f} s CPU, {row['wall']:.1f} s wall"


def print_levels(run: dict, targets: list[float]) -> None:
    """Both levels of every target for one run, named."""
    for target in targets:
        key = str(target)
        print(f"  {target:g}: first evaluation at or past it: {_at(run['reached'][key])}; "
              f"held (mean of {run['window']} consecutive evaluations): "
              f"{_at(run['held'][key])}")  # fmt: skip


def run_ttt(tasks: list[str], seeds: int, quick: bool, budget: int | None = None) -> dict:
    out = {}
    for name in tasks:
        t = TASKS[name]
        targets = [target for target, _ in t["targets"]]
        limit = 20.0 if quick else None  # a smoke run stops after 20 CPU s
        runs = []
        for seed in range(seeds):
            steps = budget or qmix_tut.Config.preset(name).total_steps
            print(f"time to target: {t['label']} seed {seed} (until every target is held, "
                  f"at most {steps:,} env steps) ...", flush=True)  # fmt: skip
            run = speed.time_to_target(name, seed, targets, limit, budget_steps=budget)
            runs.append(run)
            print_levels(run, targets)
            print(f"  stopped: {run['stopped']} at {run['curve'][-1]['env_steps']:,} env steps; "
                  f"best {run['best']:.2f}, mean of the last {run['window']} evaluations "
                  f"{run['final']:.2f}")  # fmt: skip
        out[name] = {"runs": runs, "targets": t["targets"]}
    return out


def run_two_step(seeds: int) -> dict:
    print("two-step game, paper setting ...", flush=True)
    runs = speed.two_step_runs(range(seeds))
    for r in runs:
        print(f"  seed {r['seed']}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU, "
              f"greedy return {r['return']:.0f}")  # fmt: skip
        print_levels(r, [speed.TWO_STEP_TARGET])
    return {"runs": runs}


def run_scaling(quick: bool) -> dict:
    print("scaling ...", flush=True)
    if quick:
        rows = speed.scaling_rows(n_agents=(2, 4, 8), lengths=(10, 25), fixed_agents=4, reps=2)
    else:
        rows = speed.scaling_rows()
    agents = rows["agents"]
    rows["fit_update_ms"] = speed.linear_fit(
        [r["n_agents"] for r in agents], [r["update_ms"] for r in agents]
    )
    rows["fit_memory_mb"] = speed.linear_fit(
        [r["n_agents"] for r in agents], [r["memory_mb"] for r in agents]
    )
    rows["fit_mixer_params"] = speed.linear_fit(
        [r["n_agents"] for r in agents], [r["mixer_params"] for r in agents]
    )
    return rows


# ------------------------------------------------------------------------------------------
# the table
# ------------------------------------------------------------------------------------------
def _num(x: float | None, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isinf(x)):
        return "not reached"
    return f"{x:,.{digits}f}"


def _level_cell(runs: list[dict], target: float, key: str, level: str) -> str:
    """The median seconds over seeds, and how many seeds never got there."""
    n, never = len(runs), speed.never_count(runs, target, level)
    median = speed.median_time(runs, target, key, level)
    if not math.isfinite(median):
        return f"never ({never} of {n} seeds)"
    return f"{median:,.1f} s" + (f" (never in {never} of {n} seeds)" if never else "")


def _where(runs: list[dict], target: float, level: str) -> str:
    """The median env steps of the seeds that got there, for the row's label."""
    steps = [row["env_steps"] for run in runs if (row := run[level][str(target)])]
    return f", {statistics.median(steps) / 1000:.0f}k steps" if steps else ""


def _has(runs: list[dict], level: str) -> bool:
    """Whether every run recorded ``level`` (results stored before the held level was
    measured have first crossings only)."""
    return bool(runs) and all(level in run for run in runs)


def level_rows(label: str, runs: list[dict], target: float, goal: str, ref: str) -> list:
    """The table's rows for one target: the first crossing, then the held level if measured."""
    n = len(runs)
    rows = [[
        f"{label}: time to greedy return {target:g}, first evaluation at or past it "
        f"(median of {n} seeds{_where(runs, target, 'reached')})",
        _level_cell(runs, target, "wall", "reached"),
        _level_cell(runs, target, "cpu", "reached"), goal, ref,
    ]]  # fmt: skip
    if _has(runs, "held"):
        window = runs[0].get("window", speed.HELD_WINDOW)
        rows.append([
            f"{label}: time to greedy return {target:g} held: mean of {window} consecutive "
            f"evaluations at or past it (median of {n} seeds{_where(runs, target, 'held')})",
            _level_cell(runs, target, "wall", "held"),
            _level_cell(runs, target, "cpu", "held"), "", "",
        ])  # fmt: skip
    return rows


def summary_rows(results: dict) -> list[list[str]]:
    """[measure, ours (wall), ours (CPU), target, reference] for every stored figure."""
    rows = []
    for name, r in results.get("throughput", {}).items():
        t, ref = TASKS[name], TASKS[name]["reference"]
        label = t["label"]
        rows += [
            [f"{label}: bare env, random actions (steps/s)", _num(r["bare_rate_wall"]),
             _num(r["bare_rate_cpu"]), "", _num(ref["bare"])],
            [f"{label}: training, preset `{name}` (steps/s)", _num(r["train_rate_wall"]),
             _num(r["train_rate_cpu"]), "", _num(ref["train"])],
            [f"{label}: training / bare env", f"{r['ratio_wall']:.2f} (1/{1 / r['ratio_wall']:.1f})",
             f"{r['ratio_cpu']:.2f} (1/{1 / r['ratio_cpu']:.1f})", ">= 0.33 (1/3)",
             f"{ref['train'] / ref['bare']:.2f} ({ref['ratio']})"],
            [f"{label}: us per training step, acting / env / learning",
             f"{r['us_per_step_act']:.0f} / {r['us_per_step_env']:.0f} / "
             f"{r['us_per_step_learn']:.0f}", "", "", REFERENCE_SPLIT],
        ]  # fmt: skip
    for name, r in results.get("ttt", {}).items():
        t, ref = TASKS[name], TASKS[name]["reference"]
        for target, limit in r["targets"]:
            rows += level_rows(t["label"], r["runs"], target, f"<= {limit:.0f} s",
                               ref.get(target, ref.get(str(target), "")))  # fmt: skip
    if "two_step" in results:
        runs = results["two_step"]["runs"]
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        returns = sorted({int(r["return"]) for r in runs})
        rows.append([
            f"two-step game, paper setting: s per 10k-step run (median of {len(runs)}; "
            f"greedy return {'/'.join(map(str, returns))})",
            f"{wall:.1f} s", f"{cpu:.1f} s", "<= 10 s", "",
        ])  # fmt: skip
        if _has(runs, "reached"):
            rows += level_rows("two-step game, paper setting", runs, speed.TWO_STEP_TARGET, "", "")
    if "scaling" in results:
        s = results["scaling"]
        a = s["agents"]
        fit = s["fit_update_ms"]
        rows.append([
            f"QMIX update, {a[0]['n_agents']} -> {a[-1]['n_agents']} agents "
            f"(ms; linear fit R^2 = {fit['r2']:.3f})",
            f"{a[0]['update_ms']:.1f} -> {a[-1]['update_ms']:.1f}", "", "linear in agents", "",
        ])  # fmt: skip
        mfit = s["fit_memory_mb"]
        rows.append([
            f"QMIX update memory, {a[0]['n_agents']} -> {a[-1]['n_agents']} agents "
            f"(MB; linear fit R^2 = {mfit['r2']:.3f})",
            f"{a[0]['memory_mb']:.1f} -> {a[-1]['memory_mb']:.1f}", "", "linear in agents", "",
        ])  # fmt: skip
    return rows


def scaling_table(scaling: dict) -> list[str]:
    head = ("| agents | steps | update ms | mixer ms | mixer params | activations MB "
            "| total MB |")  # fmt: skip
    lines = [head, "|" + "---:|" * 7]
    for key in ("agents", "length"):
        for r in scaling[key]:
            lines.append(
                f"| {r['n_agents']} | {r['episode_length']} | {r['update_ms']:.1f} | "
                f"{r['mixer_ms']:.2f} | {r['mixer_params']:,} | {r['activations_mb']:.1f} | "
                f"{r['memory_mb']:.1f} |"
            )
    return lines


def _seed_cell(row: dict | None) -> str:
    if row is None:
        return "never"
    return f"{row['env_steps'] / 1000:.1f}k / {row['cpu']:.1f} / {row['wall']:.1f}"


def seed_table(results: dict) -> list[str]:
    """Every seed's first crossing and held level, per task and target (the runs stored
    before the held level was measured show it as not measured)."""
    groups = [
        (TASKS[name]["label"], r["runs"], [target for target, _ in r["targets"]])
        for name, r in results.get("ttt", {}).items()
    ]
    if "two_step" in results and _has(results["two_step"]["runs"], "reached"):
        groups.append(
            ("two-step game, paper setting", results["two_step"]["runs"], [speed.TWO_STEP_TARGET])
        )
    lines = [
        "| task | target | seed | first evaluation at or past it | held: mean of 5 consecutive "
        "evaluations | mean of the last 5 evaluations | run ended |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, runs, targets in groups:
        for target in targets:
            for i, run in enumerate(runs):
                # older runs ended at the first crossing of their highest target, or at a
                # limit of CPU seconds
                highest = str(max(targets))
                early = "first crossing of " + highest if run["reached"][highest] else "cpu limit"
                held = _seed_cell(run["held"][str(target)]) if "held" in run else "not measured"
                final = run.get("final")  # not stored by older runs, which ended early
                if "stopped" in run:
                    ended = run["stopped"]
                else:  # the two-step runs go their full length; older runs stopped early
                    ended = "full run" if "held" in run else early
                lines.append(
                    f"| {label} | {target:g} | {run.get('seed', i)} | "
                    f"{_seed_cell(run['reached'][str(target)])} | {held} | "
                    f"{'' if final is None else f'{final:.2f}'} | {ended} |"
                )
    return lines


def markdown(results: dict) -> str:
    info = results.get("machine", {})
    lines = [
        "# Speed benchmarks",
        "",
        f"Measured by `python benchmarks/run_all.py` on {info.get('date', '?')}: "
        f"{info.get('processor', '?')}, {info.get('cpu_count', '?')} cores, one thread per "
        f"run, torch {info.get('torch', '?')}, qmix_tut {info.get('qmix_tut', '?')}; load "
        f"average at the start {', '.join(f'{x:.1f}' for x in info.get('load_average', []))}.",
        "Reference: the cooperative MARL benchmark's QMIX implementation with its default "
        "configuration, on the same machine type.",
        "",
        "| measure | ours (wall) | ours (CPU) | target | reference |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in summary_rows(results)]
    if results.get("ttt") or (
        "two_step" in results and _has(results["two_step"]["runs"], "reached")
    ):
        lines += [
            "",
            "## Time to target, seed by seed",
            "",
            "Each level as env steps / CPU s / wall s from the start of the run (building the "
            "envs and networks and every evaluation included). The first evaluation at or "
            "past a target can be one lucky evaluation; the held level is the first point "
            "where the mean of 5 consecutive evaluations is at or past it, a level the team "
            "keeps. A run ends once it holds every target, or when its budget of env steps "
            'is spent ("budget"); runs stored before the held level was measured ended at '
            "the first crossing of their highest target.",
            "",
            *seed_table(results),
        ]
    if "scaling" in results:
        lines += [
            "",
            "## Learner cost against agents and episode length",
            "",
            "One QMIX update (GRU agents, batch of 32 episodes, Adam, TD(lambda)) on random "
            "data; the state is every agent's 16-number observation side by side. Activations "
            "are the tensors kept for the backward pass; the total adds the batch, weights, "
            "gradients, Adam moments and target weights.",
            "",
            *scaling_table(results["scaling"]),
            "",
            "![update time and memory](scaling.png)",
        ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds for time to target")
    parser.add_argument(
        "--steps",
        type=int,
        help="time to target: each run's budget of env steps (default: the preset's total_steps)",
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run of every part")
    parser.add_argument("--out", type=Path, help="output folder (default figures/data/benchmarks)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    out = args.out or (Path(tempfile.gettempdir()) / "qmix_tut_bench_quick" if args.quick else OUT)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)

    path = out / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results["machine"] = machine()
    if "throughput" in args.parts:
        results.setdefault("throughput", {}).update(run_throughput(args.tasks, args.quick))
    if "ttt" in args.parts:
        seeds = 1 if args.quick else args.seeds
        results.setdefault("ttt", {}).update(run_ttt(args.tasks, seeds, args.quick, args.steps))
    if "two_step" in args.parts:
        results["two_step"] = run_two_step(1 if args.quick else 3)
    if "scaling" in args.parts:
        results["scaling"] = run_scaling(args.quick)
        fig = speed.scaling_figure(results["scaling"])
        fig.savefig(out / "scaling.png", dpi=110, bbox_inches="tight")
    results["machine"]["load_average_end"] = list(os.getloadavg())

    path.write_text(json.dumps(results, indent=1) + "\n")
    text = markdown(results)
    (out / "results.md").write_text(text)
    print("\n" + text)
    print(
        f"wrote {path}, {out / 'results.md'}" + (", scaling.png" if "scaling" in args.parts else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
