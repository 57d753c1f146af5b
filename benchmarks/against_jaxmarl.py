"""This package beside JaxMARL's QMIX on MPE simple_spread: seconds from process start to a
level the team reaches once and to one it holds, per seed, with one thread and with two.

    python benchmarks/against_jaxmarl.py                       # 5 seeds, 1 and 2 threads
    python benchmarks/against_jaxmarl.py --seeds 5 --threads 1 --json against_jaxmarl.json
    python benchmarks/against_jaxmarl.py --quick               # a smoke run of a few seconds
    python benchmarks/against_jaxmarl.py --threads 1 --set batch_size=64 --set tau=0.002
                                                               # a candidate change to the preset
    python benchmarks/against_jaxmarl.py --threads 1 --jaxmarl /tmp/jaxmarl/bin/python \
        JaxMARL/baselines/QLearning/qmix_rnn.py --jaxmarl-episode-steps 26 25
                                                               # JaxMARL measured side by side

Each seed trains ``Config.preset("simple_spread")`` in a fresh Python process, so its CPU
and wall seconds are counted from the process's start: importing torch, building the
environments and networks and every evaluation are included, as JaxMARL's figures include
its compilation. The runs alternate between the thread counts so that the machine's load
falls on both alike, and every run goes its whole budget of env steps (the preset's
300,000, unless ``--steps``; 200,000 before the preset moved to batches of 64 and tau
0.002): it never stops at a first crossing. Per seed it reports the
env steps and CPU and wall seconds to the first greedy evaluation at or past -57, to the
first at or past -48.6, and to -48.6 held (the mean of 5 consecutive evaluations at or past
it), the mean of the last 5 evaluations, the training env steps per CPU second and per wall
second (evaluation and start-up left out) and the start-up before the first step; then the medians over
seeds, beside the JaxMARL figures of issue 19 and the ratio ours / JaxMARL for the held
level. Run it on a quiet machine; JaxMARL itself is not needed (its figures are quoted).

With ``--jaxmarl PYTHON SCRIPT`` JaxMARL is measured too, side by side: after each seed's
runs of this package, ``benchmarks/jaxmarl_qmix.py`` runs JaxMARL's QMIX-RNN baseline
script (``SCRIPT``, JaxMARL's ``baselines/QLearning/qmix_rnn.py``) on the same seed with
``PYTHON`` (one that has ``jaxmarl[algs]`` installed), on one thread, timed the same way,
for each episode length of ``--jaxmarl-episode-steps`` (26: the default config, whose MPE
episodes are one step longer than mpe2's; 25: the same task as this package's). The
verdict is then given against those measurements as well as against the quoted figures.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from qmix_tut.stats import HELD_WINDOW, first_crossing, held_level  # noqa: E402  (no torch)

PRESET = "simple_spread"
EASY, HARD = -57.0, -48.6
"""The two greedy returns timed: the easy target, and the one the team must also hold."""
QUICK = {"steps": 1200, "eval_interval": 200, "eval_episodes": 2}
"""A smoke run: learning starts at 800 steps (32 episodes in the buffer), 7 evaluations."""

JAXMARL_SOURCE = (
    "issue 19, JaxMARL 0.2.0 QMIX-RNN default config, measured on the same 2-core machine type"
)
JAXMARL: dict[str, Any] = {
    # MPE_simple_spread_v3, one core, quiet machine, 16-episode greedy evaluations every
    # ~2,500 steps; each list holds the values of its runs as quoted there
    "train_steps_per_cpu_s": [11_500, 12_700],
    "startup_cpu_s": [40.0],  # "about 40 (most of it XLA compilation)"
    "first_easy_cpu_s": [64.0],
    "first_hard_cpu_s": [104.0],
    "first_hard_steps": [761_000],
    "held_hard_cpu_s": [121.0, 181.0],
    "held_hard_steps": [1_000_000, 1_600_000],
    "final": [-46.7, -50.7],
}
"""JaxMARL's figures, quoted from ``JAXMARL_SOURCE`` (JaxMARL is not a dependency)."""
ISSUE_19_OURS: dict[str, Any] = {
    # the same measurements of this package when issue 19 was filed (4 seeds, one core)
    "train_steps_per_cpu_s": [1_100, 1_300],
    "startup_cpu_s": [2.0],
    "first_easy_cpu_s": [27.0],
    "first_hard_cpu_s": [96.0],
    "first_hard_steps": [121_000],
    "held_hard_cpu_s": [],  # never within the preset's 200,000 steps (then its budget)
    "final": [-49.4, -66.2, -50.0, -50.9],
}
"""This package's figures in issue 19, the "before" of the comparison."""
TARGET_RATIO = 0.5
"""Issue 19's target: CPU seconds to the held level at most half of JaxMARL's."""

CHILD = """
import json, os, resource, sys, time
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["root"])


def process_cpu():
    # this process's CPU seconds and those of the children it has waited for: the C++
    # compiler that torch.compile runs (Config.compile) is one
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


time.process_time = process_cpu
import torch
torch.set_num_threads(spec["threads"])
from qmix_tut import Config, train
from qmix_tut.train import Trainer

evaluate, eval_cpu, eval_wall = Trainer.evaluate, [0.0], [0.0]


def timed_evaluate(self, *args, **kwargs):
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        return evaluate(self, *args, **kwargs)
    finally:
        eval_cpu[0] += time.process_time() - cpu
        eval_wall[0] += time.perf_counter() - wall


Trainer.evaluate = timed_evaluate
config = Config.preset(spec["preset"], seed=spec["seed"], threads=spec["threads"],
                       total_steps=spec["steps"], **spec["overrides"])
curve = []


def on_eval(row):
    curve.append({"env_steps": row["env_steps"], "eval_return": row["eval_return"],
                  "cpu": time.process_time(), "wall": time.time() - spec["started"],
                  "eval_cpu": eval_cpu[0], "eval_wall": eval_wall[0]})


train(config, progress=False, callback=on_eval)
print(json.dumps({"curve": curve, "cpu": time.process_time(),
                  "wall": time.time() - spec["started"], "eval_cpu": eval_cpu[0],
                  "eval_wall": eval_wall[0],
                  "torch": torch.__version__}))
"""
"""One run in a fresh process: CPU seconds are the process's own and its waited-for
children's (counted from its start), wall seconds run from just before the parent started
it. torch.compile (``--set compile=true``) compiles in the process itself
(``TORCHINDUCTOR_COMPILE_THREADS=1``), so that every CPU second it takes is counted."""


def run_once(
    seed: int, threads: int, steps: int, overrides: dict[str, Any], cache: str | None = None
) -> dict[str, Any]:
    """Train one seed in a fresh process; returns its curve and end-of-run clocks.

    ``cache`` is torch.compile's cache folder for the run (``TORCHINDUCTOR_CACHE_DIR``);
    None: a fresh empty one, removed afterwards, so that the run compiles from scratch.
    """
    spec = {
        "root": str(ROOT),
        "preset": PRESET,
        "seed": seed,
        "threads": threads,
        "steps": steps,
        "overrides": overrides,
        "started": time.time(),
    }
    with tempfile.TemporaryDirectory(prefix="qmix-tut-compile-") as fresh:
        env = {
            **os.environ,
            "TORCHINDUCTOR_CACHE_DIR": cache or fresh,
            "TORCHINDUCTOR_COMPILE_THREADS": "1",
        }
        done = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(spec)],
            capture_output=True,
            text=True,
            cwd=tempfile.gettempdir(),  # so that only ROOT's package is imported
            env=env,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"seed {seed} with {threads} thread(s) failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


JAXMARL_SCRIPT = Path(__file__).resolve().parent / "jaxmarl_qmix.py"


def run_jaxmarl(
    python: str,
    script: Path,
    seed: int,
    episode_steps: int,
    max_steps: int,
    stop_after_held: int | None,
) -> dict[str, Any]:
    """One run of JaxMARL's QMIX-RNN baseline in a fresh process (``jaxmarl_qmix.py``)."""
    with tempfile.TemporaryDirectory(prefix="qmix-tut-jaxmarl-") as folder:
        out = Path(folder) / "run.json"
        command = [python, str(JAXMARL_SCRIPT), str(script), "--seed", str(seed),
                   "--episode-steps", str(episode_steps), "--max-steps", str(max_steps),
                   "--json", str(out)]  # fmt: skip
        if stop_after_held is not None:
            command += ["--stop-after-held", str(stop_after_held)]
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=tempfile.gettempdir(), check=False
        )
        if done.returncode != 0 or not out.is_file():
            raise SystemExit(
                f"JaxMARL, seed {seed}, {episode_steps}-step episodes, failed "
                f"(exit status {done.returncode}):\n{done.stderr[-2000:]}"
            )
        return json.loads(out.read_text())


def _point(curve: list[dict[str, float]], found: Any) -> dict[str, float] | None:
    if found is None:
        return None
    row = curve[found.index]
    return {"env_steps": row["env_steps"], "cpu": row["cpu"], "wall": row["wall"]}


def summarise(raw: dict[str, Any], seed: int, threads: int) -> dict[str, Any]:
    """One run's figures: both levels of both targets, final mean, rates and start-up."""
    curve = raw["curve"]
    if not curve:
        raise ValueError(f"seed {seed} with {threads} thread(s) made no evaluation")
    steps = [r["env_steps"] for r in curve]
    returns = [r["eval_return"] for r in curve]
    first, end = curve[0], curve[-1]
    # CPU spent in training rounds: after the evaluation at step 0, less later evaluations
    train_cpu = (raw["cpu"] - first["cpu"]) - (raw["eval_cpu"] - first["eval_cpu"])
    train_wall = (raw["wall"] - first["wall"]) - (raw["eval_wall"] - first["eval_wall"])
    return {
        "seed": seed,
        "threads": threads,
        "first_easy": _point(curve, first_crossing(steps, returns, EASY)),
        "first_hard": _point(curve, first_crossing(steps, returns, HARD)),
        "held_hard": _point(curve, held_level(steps, returns, HARD, HELD_WINDOW)),
        "final": statistics.fmean(returns[-HELD_WINDOW:]),
        "end_steps": end["env_steps"],
        "train_steps_per_cpu_s": end["env_steps"] / train_cpu if train_cpu > 0 else math.nan,
        "train_steps_per_wall_s": end["env_steps"] / train_wall if train_wall > 0 else math.nan,
        "startup_cpu_s": first["cpu"] - first["eval_cpu"],
        "cpu": raw["cpu"],
        "wall": raw["wall"],
        "torch": raw.get("torch"),
        "curve": curve,
    }


def medians(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Medians over seeds; a seed that never got to a level counts as infinitely slow."""
    out: dict[str, Any] = {"seeds": len(runs)}
    for level in ("first_easy", "first_hard", "held_hard"):
        points = [r[level] for r in runs]
        out[level] = {
            key: statistics.median(p[key] if p else math.inf for p in points)
            for key in ("env_steps", "cpu", "wall")
        }
        out[level]["never"] = sum(p is None for p in points)
    for key in ("final", "train_steps_per_cpu_s", "train_steps_per_wall_s", "startup_cpu_s"):
        out[key] = statistics.median(r[key] for r in runs)
    return out


def verdict(m: dict[str, Any], measured: dict[str, Any] | None = None) -> dict[str, Any]:
    """Issue 19's target for one thread count: held -48.6 in at most half of JaxMARL's CPU
    seconds (median against median), every seed holding it, and a final mean at least
    JaxMARL's. JaxMARL's figures are the quoted ones, or ``measured`` (``medians`` of
    JaxMARL's runs measured here)."""
    if measured is None:
        jax_held = statistics.median(JAXMARL["held_hard_cpu_s"])
        fastest = min(JAXMARL["held_hard_cpu_s"])
        jax_final = statistics.median(JAXMARL["final"])
    else:
        jax_held = fastest = measured["held_hard"]["cpu"]
        jax_final = measured["final"]
    ratio = m["held_hard"]["cpu"] / jax_held
    out = {
        "held_ratio": ratio,
        "held_ratio_to_fastest": m["held_hard"]["cpu"] / fastest,
        "every_seed_held": m["held_hard"]["never"] == 0,
        "final_at_least_jaxmarl": m["final"] >= jax_final,
    }
    out["met"] = bool(
        ratio <= TARGET_RATIO and out["every_seed_held"] and out["final_at_least_jaxmarl"]
    )
    return out


# ------------------------------------------------------------------------------------------
# printing
# ------------------------------------------------------------------------------------------
def _at(point: dict[str, float] | None) -> str:
    if point is None:
        return "never"
    return f"{point['env_steps'] / 1000:.1f}k / {point['cpu']:.1f} / {point['wall']:.1f}"


def _median_at(m: dict[str, Any], level: str) -> str:
    p, n = m[level], m["seeds"]
    if not math.isfinite(p["cpu"]):
        return f"never ({p['never']} of {n} seeds)"
    text = _at(p)
    return text + (f" (never in {p['never']} of {n})" if p["never"] else "")


def _values(values: Sequence[float], fmt: str = "{:,.0f}", joiner: str = " and ") -> str:
    if not values:
        return "never"
    return joiner.join(fmt.format(v) for v in values)


def _seconds(m: dict[str, Any], level: str, key: str = "cpu") -> str:
    p = m[level]
    if not math.isfinite(p[key]):
        return f"never ({p['never']} of {m['seeds']} seeds)"
    steps = f", {p['env_steps']:,.0f} steps" if level != "first_easy" else ""
    never = f", never in {p['never']} of {m['seeds']} seeds" if p["never"] else ""
    return f"{p[key]:.1f}{steps}{never}"


def seed_table(runs: Sequence[dict[str, Any]], m: dict[str, Any]) -> list[str]:
    head = (
        f"{'seed':>6}  {'first >= -57':>24}  {'first >= -48.6':>24}  "
        f"{'held -48.6 (5 evals)':>24}  {'last 5':>7}  {'steps/CPU s':>11}  {'start-up':>8}"
    )
    lines = [head]
    for r in runs:
        lines.append(
            f"{r['seed']:>6}  {_at(r['first_easy']):>24}  {_at(r['first_hard']):>24}  "
            f"{_at(r['held_hard']):>24}  {r['final']:7.2f}  {r['train_steps_per_cpu_s']:11,.0f}  "
            f"{r['startup_cpu_s']:8.1f}"
        )
    lines.append(
        f"{'median':>6}  {_median_at(m, 'first_easy'):>24}  {_median_at(m, 'first_hard'):>24}  "
        f"{_median_at(m, 'held_hard'):>24}  {m['final']:7.2f}  "
        f"{m['train_steps_per_cpu_s']:11,.0f}  {m['startup_cpu_s']:8.1f}"
    )
    return lines


def comparison_table(
    by_threads: dict[int, dict[str, Any]], measured: dict[int, dict[str, Any]] | None = None
) -> list[str]:
    """Markdown rows: JaxMARL as quoted, JaxMARL as ``measured`` here (``medians`` per
    episode length), ours per thread count, and ours when issue 19 was filed."""
    ours = list(by_threads.items())
    here = list((measured or {}).items())
    head = (
        "| measure | JaxMARL (issue 19) | "
        + "".join(f"JaxMARL here, {e}-step episodes (median of {m['seeds']}) | " for e, m in here)
        + " | ".join(
            f"qmix-tut, {t} thread{'s' if t > 1 else ''} (median of {m['seeds']})" for t, m in ours
        )
    )
    head += " | qmix-tut in issue 19 |"
    lines = [head, "|---|" + "---:|" * (len(here) + len(ours) + 2)]
    j, old = JAXMARL, ISSUE_19_OURS

    def row(label: str, jax: str, cell: Any, before: str) -> None:
        cells = [cell(m) for _, m in here] + [cell(m) for _, m in ours]
        lines.append(f"| {label} | {jax} | " + " | ".join(cells) + f" | {before} |")

    row(
        "training env steps per CPU second",
        _values(j["train_steps_per_cpu_s"], joiner="-"),
        lambda m: f"{m['train_steps_per_cpu_s']:,.0f}",
        _values(old["train_steps_per_cpu_s"], joiner="-"),
    )
    row(
        "training env steps per wall second",
        "",
        lambda m: f"{m['train_steps_per_wall_s']:,.0f}",
        "",
    )
    row(
        "start-up before the first step (CPU s)",
        f"about {j['startup_cpu_s'][0]:.0f}",
        lambda m: f"{m['startup_cpu_s']:.1f}",
        f"about {old['startup_cpu_s'][0]:.0f}",
    )
    row(
        "CPU s from process start to the first evaluation >= -57",
        _values(j["first_easy_cpu_s"]),
        lambda m: _seconds(m, "first_easy"),
        _values(old["first_easy_cpu_s"]),
    )
    row(
        "CPU s from process start to the first evaluation >= -48.6",
        f"{j['first_hard_cpu_s'][0]:.0f} ({j['first_hard_steps'][0]:,} steps)",
        lambda m: _seconds(m, "first_hard"),
        f"{old['first_hard_cpu_s'][0]:.0f} ({old['first_hard_steps'][0]:,} steps)",
    )
    row(
        f"CPU s until the mean of {HELD_WINDOW} consecutive evaluations >= -48.6 (held)",
        f"{_values(j['held_hard_cpu_s'])} "
        f"({_values([s / 1e6 for s in j['held_hard_steps']], '{:.1f}M')} steps)",
        lambda m: _seconds(m, "held_hard"),
        "never within 200,000 steps",
    )
    row(
        "wall s from process start until held -48.6",
        "",
        lambda m: _seconds(m, "held_hard", "wall"),
        "",
    )
    row(
        f"mean of the last {HELD_WINDOW} evaluations at the end",
        _values(j["final"], "{:.1f}"),
        lambda m: f"{m['final']:.1f} (median)",
        _values(old["final"], "{:.1f}", ", "),
    )
    return lines


def verdict_lines(
    by_threads: dict[int, dict[str, Any]], measured: dict[int, dict[str, Any]] | None = None
) -> list[str]:
    """The target per thread count, against the quoted JaxMARL figures and against each
    episode length of JaxMARL ``measured`` here."""
    against: list[tuple[str, dict[str, Any] | None, float, float]] = [
        ("JaxMARL in issue 19", None, statistics.median(JAXMARL["held_hard_cpu_s"]),
         statistics.median(JAXMARL["final"]))
    ]  # fmt: skip
    for episode_steps, jm in (measured or {}).items():
        name = f"JaxMARL measured here, {episode_steps}-step episodes"
        against.append((name, jm, jm["held_hard"]["cpu"], jm["final"]))
    lines = []
    for threads, m in by_threads.items():
        held = m["held_hard"]
        lines += [
            f"{threads} thread{'s' if threads > 1 else ''}:",
            f"  every seed holds -48.6: {'yes' if held['never'] == 0 else 'no'} "
            f"({m['seeds'] - held['never']} of {m['seeds']})",
        ]
        for name, jm, jax_held, jax_final in against:
            v = verdict(m, jm)
            if not math.isfinite(held["cpu"]):
                ratio = "undefined (not held by most of our seeds)"
            elif not math.isfinite(jax_held):
                ratio = f"{held['cpu']:.1f} / never (not held by most of JaxMARL's seeds)"
            else:
                ratio = f"{held['cpu']:.1f} / {jax_held:.1f} = {v['held_ratio']:.2f}"
                if jm is None:
                    ratio += (
                        f" (against JaxMARL's faster run, {min(JAXMARL['held_hard_cpu_s']):.0f}"
                        f" s: {v['held_ratio_to_fastest']:.2f})"
                    )
            lines += [
                f"  against {name}:",
                f"    held -48.6, CPU s ours / JaxMARL (medians): {ratio}; target <= "
                f"{TARGET_RATIO}",
                f"    mean of the last {HELD_WINDOW} evaluations, median {m['final']:.2f} "
                f"against JaxMARL's {jax_final:.2f}: "
                f"{'at least' if v['final_at_least_jaxmarl'] else 'below'}",
                f"    issue 19's target: {'met' if v['met'] else 'not met'}",
            ]
    return lines


def _json_safe(value: Any) -> Any:
    """Infinite medians (most seeds never got there) written as null, as JSON has no inf."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def machine() -> dict[str, Any]:
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()),
    }


# ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, help="seeds 0..N-1, one process each (default 5)")
    parser.add_argument(
        "--steps", type=int, help="each run's budget of env steps (default: the preset's)"
    )
    parser.add_argument(
        "--threads", type=int, nargs="+", help="torch threads per run, e.g. 1 2 (default 1 2)"
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write every figure to OUT")
    parser.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE",
        help="change one Config field of the preset for every run (repeatable), to measure a "
        "candidate setting the same way as the preset",
    )  # fmt: skip
    parser.add_argument(
        "--compile-cache", choices=("cold", "warm"), default="cold",
        help="with --set compile=true: cold (default) gives every run an empty torch.compile "
        "cache, so each pays the whole compilation; warm fills one cache by an untimed "
        "warm-up run first, as a machine that has trained the preset before has",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 1 seed, 1 thread, 1,200 steps"
    )
    parser.add_argument(
        "--jaxmarl", nargs=2, metavar=("PYTHON", "SCRIPT"),
        help="measure JaxMARL side by side: PYTHON has jaxmarl[algs] installed, SCRIPT is "
        "JaxMARL's baselines/QLearning/qmix_rnn.py (see benchmarks/jaxmarl_qmix.py)",
    )  # fmt: skip
    parser.add_argument(
        "--jaxmarl-episode-steps", type=int, nargs="+", choices=(26, 25), default=[26],
        help="with --jaxmarl: 26 (default, JaxMARL's default config) and/or 25 (mpe2's length)",
    )  # fmt: skip
    parser.add_argument(
        "--jaxmarl-max-steps", type=int, default=2_000_000,
        help="with --jaxmarl: env steps per JaxMARL run at most (default 2,000,000)",
    )  # fmt: skip
    parser.add_argument(
        "--jaxmarl-stop-after-held", type=int, metavar="N",
        help="with --jaxmarl: end a JaxMARL run N evaluations after it holds -48.6",
    )  # fmt: skip
    args = parser.parse_args(argv)
    seeds = args.seeds if args.seeds is not None else (1 if args.quick else 5)
    threads = args.threads or ([1] if args.quick else [1, 2])
    if seeds < 1:
        parser.error(f"--seeds must be at least 1, got {seeds}")
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    cores = os.cpu_count() or 1
    if any(t < 1 or t > 4 * cores for t in threads):
        parser.error(f"--threads must each be between 1 and {4 * cores}, got {threads}")
    if len(set(threads)) != len(threads):
        parser.error(f"--threads names a thread count twice: {threads}")
    if args.json is not None and not args.json.parent.is_dir():
        parser.error(f"--json: no folder {str(args.json.parent)!r} to write into")
    if args.jaxmarl is not None:
        python, script = args.jaxmarl
        if shutil.which(python) is None:
            parser.error(f"--jaxmarl: no Python {python!r} to run JaxMARL with")
        if not Path(script).is_file():
            parser.error(
                f"--jaxmarl: no file {script!r} (JaxMARL's baselines/QLearning/qmix_rnn.py)"
            )
        if args.jaxmarl_max_steps < 1:
            parser.error(f"--jaxmarl-max-steps must be at least 1, got {args.jaxmarl_max_steps}")
        if args.jaxmarl_stop_after_held is not None and args.jaxmarl_stop_after_held < 0:
            parser.error(
                f"--jaxmarl-stop-after-held must be at least 0, got {args.jaxmarl_stop_after_held}"
            )
    jax_lengths = list(dict.fromkeys(args.jaxmarl_episode_steps)) if args.jaxmarl else []
    from qmix_tut.config import Config  # torch-free
    from qmix_tut.sweep import parse_settings

    try:
        changes = parse_settings(args.set)
        lists = [k for k, v in changes.items() if isinstance(v, list)]
        if lists:
            raise ValueError(f"--set takes one value per field, got several for {lists[0]}")
        preset = Config.preset(PRESET, **changes)  # names a bad field or value before any run
    except (TypeError, ValueError) as err:
        parser.error(str(err))
    overrides: dict[str, Any] = dict(changes)
    if args.quick:
        steps = args.steps or QUICK["steps"]
        overrides.update(eval_interval=QUICK["eval_interval"], eval_episodes=QUICK["eval_episodes"])
    else:
        steps = args.steps or preset.total_steps

    compiled = preset.compile
    # warm: one cache for every run; cold: run_once gives each run an empty one of its own
    warm = compiled and args.compile_cache == "warm"
    cache = tempfile.mkdtemp(prefix="qmix-tut-compile-") if warm else None
    info = machine()
    changed = "".join(f", {k}={v}" for k, v in changes.items())
    if compiled:
        changed += f", torch.compile cache {args.compile_cache}"
    print(f"QMIX, preset {PRESET!r}{changed} on mpe:simple_spread: {seeds} seed(s), {steps:,} "
          f"env steps each, threads {threads}, a fresh process per run; {info['cpu_count']} "
          f"cores, load average {', '.join(f'{x:.1f}' for x in info['load_average'])}"
          + (" (smoke run: not a measurement)" if args.quick else ""), flush=True)  # fmt: skip
    warmup: dict[str, Any] | None = None
    if cache is not None:  # an untimed run of a few updates fills the cache
        raw = run_once(0, threads[0], 2_000, {**overrides, "eval_episodes": 0}, cache)
        warmup = {"cpu": raw["cpu"], "wall": raw["wall"], "steps": 2_000}
        print(f"  warm-up (not timed below): 2,000 steps, {raw['cpu']:.1f} CPU s, "
              f"{raw['wall']:.1f} wall s, compiling into {cache}", flush=True)  # fmt: skip
    runs: dict[int, list[dict[str, Any]]] = {t: [] for t in threads}
    jax_runs: dict[int, list[dict[str, Any]]] = {length: [] for length in jax_lengths}
    for seed in range(seeds):
        for t in threads:
            run = summarise(run_once(seed, t, steps, overrides, cache), seed, t)
            runs[t].append(run)
            print(f"  seed {seed}, {t} thread(s), k steps / CPU s / wall s: first >= -57 "
                  f"{_at(run['first_easy'])}; first >= -48.6 {_at(run['first_hard'])}; held "
                  f"-48.6 {_at(run['held_hard'])}; mean of the last {HELD_WINDOW} evaluations "
                  f"{run['final']:.2f}", flush=True)  # fmt: skip
        for length in jax_lengths:  # JaxMARL on the same seed, straight after ours
            raw = run_jaxmarl(args.jaxmarl[0], Path(args.jaxmarl[1]).resolve(), seed, length,
                              args.jaxmarl_max_steps, args.jaxmarl_stop_after_held)  # fmt: skip
            run = summarise(raw, seed, 1)
            run.update(episode_steps=length, jax=raw.get("jax"), jaxmarl=raw.get("jaxmarl"))
            jax_runs[length].append(run)
            print(f"  seed {seed}, JaxMARL {length}-step episodes, k steps / CPU s / wall s: "
                  f"first >= -57 {_at(run['first_easy'])}; first >= -48.6 "
                  f"{_at(run['first_hard'])}; held -48.6 {_at(run['held_hard'])}; mean of the "
                  f"last {HELD_WINDOW} evaluations {run['final']:.2f}", flush=True)  # fmt: skip
    by_threads = {t: medians(rs) for t, rs in runs.items()}
    measured = {length: medians(rs) for length, rs in jax_runs.items()}
    for t in threads:
        print(f"\n{t} thread{'s' if t > 1 else ''}: env steps (k) / CPU s / wall s from process "
              "start; held: the mean of 5 consecutive evaluations")  # fmt: skip
        print("\n".join(seed_table(runs[t], by_threads[t])))
    for length in jax_lengths:
        print(f"\nJaxMARL measured here, {length}-step episodes, 1 thread (its tests run inside "
              "its compiled loop, so its steps per second include them):")  # fmt: skip
        print("\n".join(seed_table(jax_runs[length], measured[length])))
    print(
        f"\nBeside JaxMARL ({JAXMARL_SOURCE}"
        + (", and JaxMARL measured here side by side" if jax_lengths else "")
        + "):\n"
    )
    print("\n".join(comparison_table(by_threads, measured)))
    print()
    print("\n".join(verdict_lines(by_threads, measured)))
    if args.json is not None:
        torch_version = next((r["torch"] for rs in runs.values() for r in rs), None)
        data = {
            "machine": {**info, "torch": torch_version, "load_average_end": list(os.getloadavg())},
            "settings": {"preset": PRESET, "changes": changes, "seeds": seeds, "steps": steps, "threads": threads,
                         "overrides": overrides, "quick": args.quick, "window": HELD_WINDOW,
                         "compile_cache": args.compile_cache if compiled else None,
                         "warmup": warmup,
                         "targets": [EASY, HARD]},
            "jaxmarl": {"source": JAXMARL_SOURCE, **JAXMARL},
            "issue_19_ours": ISSUE_19_OURS,
            "runs": {str(t): rs for t, rs in runs.items()},
            "medians": {str(t): m for t, m in by_threads.items()},
            "verdict": {str(t): verdict(m) for t, m in by_threads.items()},
        }  # fmt: skip
        if jax_lengths:
            data["jaxmarl_measured"] = {
                "python": args.jaxmarl[0], "script": args.jaxmarl[1],
                "max_steps": args.jaxmarl_max_steps,
                "stop_after_held": args.jaxmarl_stop_after_held,
                "runs": {str(e): rs for e, rs in jax_runs.items()},
                "medians": {str(e): m for e, m in measured.items()},
                "verdict": {f"{t} thread(s), {e}-step episodes": verdict(m, measured[e])
                            for t, m in by_threads.items() for e in jax_lengths},
            }  # fmt: skip
        args.json.write_text(json.dumps(_json_safe(data), indent=1) + "\n")
        print(f"\nwrote {args.json}")
    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
