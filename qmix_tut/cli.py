"""The command line: ``qmix-tut demo | train | eval | show | compare | envs | presets | figures``.

Examples::

    qmix-tut demo                                   # QMIX vs VDN on the two-step game
    qmix-tut train --env mpe:simple_spread --algo qmix --steps 50000 --out runs/qmix0
    qmix-tut train --resume runs/qmix0              # continue an interrupted run
    qmix-tut show runs/qmix0                        # what a run directory holds
    qmix-tut eval runs/qmix0 --episodes 32
    qmix-tut compare runs/qmix0 runs/qmix1 runs/vdn0 --out compare
    qmix-tut envs
    qmix-tut presets simple_spread

``--help``, ``--version``, ``envs`` and ``presets`` answer without importing torch: this
module imports only the torch-free parts of the package at the top, and each command
imports what it needs.

Errors are reported as one line, ``qmix-tut <command>: error: <what was wrong>``, with
exit status 2; a run stopped by a signal exits with 128 + the signal's number (130 for
Ctrl-C).
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import shlex
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._version import __version__
from .algorithms import ALGORITHMS, ALGOS
from .config import FIELD_DOCS, PRESETS, Config

# the command-line flag that sets a Config field, to name it in error messages
FLAG_OF_FIELD = {
    "env": "--env",
    "algo": "--algo",
    "seed": "--seed",
    "total_steps": "--steps",
    "threads": "--threads",
    "device": "--device",
}
DEFAULT_TASK = "mpe:simple_spread"  # what `qmix-tut train` trains when no --env is given
LAST_EVALUATIONS = 5  # "mean of the last 5 evaluations", as the README's tables report
REFERENCES = (
    "'reference' gives the value of the QMIX paper (Rashid et al. 2018) or of the reference "
    "code where ours differs: PyMARL is the QMIX authors' original code, EPyMARL the code of "
    "the benchmark study of Papoudakis et al. (2021)."
)


class CliError(Exception):
    """A bad argument or input: reported as one line with exit status 2."""


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """A --set value: JSON where it parses (numbers, true/false, lists, dicts), else a string.

    >>> parse_value("0.001"), parse_value("true"), parse_value("True"), parse_value("adam")
    (0.001, True, True, 'adam')
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return text


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` items as a dict; an unknown key's error lists the valid ones.

    >>> parse_overrides(["lr=0.001", "agent=mlp"])
    {'lr': 0.001, 'agent': 'mlp'}
    >>> parse_overrides(["gama=0.9"])
    Traceback (most recent call last):
    ...
    qmix_tut.cli.CliError: argument --set: unknown key 'gama' (did you mean gamma?); valid keys: ...
    """
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CliError(f"argument --set: expected KEY=VALUE, got {item!r}")
        if key not in FIELD_DOCS:
            close = difflib.get_close_matches(key, list(FIELD_DOCS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise CliError(
                f"argument --set: unknown key {key!r}{hint}; valid keys: {', '.join(FIELD_DOCS)}"
                " (see qmix-tut train --help)"
            )
        overrides[key] = parse_value(value)
    return overrides


def preset_line(config: Config) -> str:
    """One line saying which preset supplied the config's values and what overrides it."""
    from .config import task_preset

    name, env = config.preset_name, config.env
    tuned = task_preset(env, config.algo)
    if name == "none" and tuned == "none":
        return (
            f"No preset applied: {env} has no tuned preset, so the fields not set explicitly "
            "have the Config defaults (--preset NAME starts from one)."
        )
    if name == "none":
        return (
            f"No preset applied: the Config defaults, not {tuned} (the preset tuned for "
            f"{env}), for every field not set explicitly."
        )
    if name == tuned:
        source = f", the one tuned for {env}"
    elif tuned == "none":
        source = f" as named ({env} has no tuned preset)"
    else:
        source = f" as named, not {tuned} (the one tuned for {env})"
    return f"Preset {name} applied{source}; fields set explicitly override it."


def config_error(err: ValueError, default_flag: str) -> CliError:
    """A Config's ValueError, naming the flag that set the field it is about."""
    message = str(err)
    for name, flag in FLAG_OF_FIELD.items():
        if message.startswith(f"Config.{name} "):
            return CliError(f"argument {flag}: {message}")
    return CliError(f"argument {default_flag}: {message}")


def field_help(width: int = 100, indent: int = 26) -> str:
    """Every Config field with its documentation, one wrapped entry per field."""
    lines = []
    for name, doc in FIELD_DOCS.items():
        kind = str(Config.__dataclass_fields__[name].type).split("[")[0]
        head = f"  {name} ({kind})"
        body = textwrap.wrap(doc.line(), width - indent) or [""]
        if len(head) >= indent - 1:
            lines.append(head)
            head = ""
        lines.append(f"{head:<{indent}}{body[0]}")
        lines.extend(" " * indent + more for more in body[1:])
    return "\n".join(lines)


def default_run_dir(config: Config) -> Path:
    """``runs/ENV-ALGO-sSEED``, with characters a file name cannot hold replaced."""
    env = "".join(c if c.isalnum() or c in "-_." else "_" for c in config.env)
    return Path("runs") / f"{env}-{config.algo}-s{config.seed}"


def check_out_dir(out: Path) -> None:
    """Refuse a run directory that cannot be one (a file, below a file) before training."""
    for parent in [out, *out.parents]:
        if parent.exists() and not parent.is_dir():
            where = (
                "is a file, not a directory" if parent == out else f"lies below {parent}, a file"
            )
            raise CliError(f"argument --out: {out} {where}")


def format_table(table: Any, names: tuple[str, ...] = ("A", "B", "C", "D", "E")) -> list[str]:
    """A 2-D Q-table as text lines, rows and columns labelled by action names."""
    rows = []
    a = table.shape[1]
    header = "      " + "".join(f"{names[j] if j < len(names) else j:>8}" for j in range(a))
    rows.append(header)
    for i, row in enumerate(table):
        label = names[i] if i < len(names) else str(i)
        rows.append(f"  {label:>3} " + "".join(f"{v:8.2f}" for v in row))
    return rows


def print_tables_side_by_side(
    ours: dict[str, Any], paper: dict[str, Any] | None, title: str
) -> None:
    """Print each learned table beside the paper's, when there is one."""
    print(title)
    for key, table in ours.items():
        if table.ndim != 2:
            print(f"  state {key}: table of shape {table.shape}")
            continue
        left = format_table(table)
        right = format_table(paper[key]) if paper and key in paper else [""] * len(left)
        print(f"  state {key:<4}{'ours':<{len(left[0]) - 4}}{'paper' if paper else ''}")
        for a_line, b_line in zip(left, right, strict=True):
            print(f"  {a_line:<{len(left[0]) + 4}}{b_line}")


def run_dir_result(run_dir: Path):
    """The Result in a run directory, or a CliError naming what is wrong with it."""
    from .results import load

    if not run_dir.exists():
        raise CliError(f"argument run_dir: {run_dir} does not exist")
    try:
        return load(run_dir)
    except (OSError, ValueError) as err:
        raise CliError(f"argument run_dir: {err}") from None


def eval_summary(history: list[dict[str, float]]) -> str:
    """Last and best greedy return, and the mean of the last evaluations, as one line."""
    values = [(row["env_steps"], row.get("eval_return", math.nan)) for row in history]
    values = [(s, r) for s, r in values if not math.isnan(r)]
    if not values:
        return "no greedy evaluation yet"
    last_steps, last = values[-1]
    best_steps, best = max(values, key=lambda v: v[1])
    tail = [r for _, r in values[-LAST_EVALUATIONS:]]
    return (
        f"greedy return {last:.3f} at {int(last_steps)} env steps; best {best:.3f} at "
        f"{int(best_steps)}; mean of the last {len(tail)} evaluations {sum(tail) / len(tail):.3f}"
    )


def _last_steps(history: list[dict[str, float]]) -> int:
    return int(history[-1]["env_steps"]) if history else 0


def _size(num_bytes: int) -> str:
    """A file size for people: ``_size(950) == "950 B"``, ``_size(6_300_000) == "6.0 MB"``."""
    size = float(num_bytes)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


# ------------------------------------------------------------------------------------------
# commands
# ------------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from .analysis import PAPER_TWO_STEP, q_tot_tables
    from .train import train

    try:
        configs = [Config.preset("two_step_paper", algo=a, seed=args.seed) for a in ("qmix", "vdn")]
    except ValueError as err:
        raise config_error(err, "--seed") from None
    print("The QMIX paper's two-step game (Rashid et al. 2018, sec. 5): agent 1 picks state 2A")
    print("(every joint action pays 7) or 2B (pays 8 only if both agents pick B).")
    print("Training QMIX and VDN with the paper's settings (10k steps, uniform exploration).\n")
    for cfg in configs:
        algo = cfg.algo
        start = time.perf_counter()
        result = train(cfg, progress=not args.quiet)
        if result.interrupted:
            return result.exit_status
        seconds = time.perf_counter() - start
        print_tables_side_by_side(
            q_tot_tables(result),
            PAPER_TWO_STEP[algo],
            f"\n{algo.upper()}: learned Q_tot beside the paper's Table 1",
        )
        print(
            f"  greedy return: {result.final_eval_return:.0f} (optimal 8)   "
            f"trained in {seconds:.1f} s\n"
        )
    print("QMIX's monotonic mixing represents the state-dependent payoff and earns 8;")
    print("VDN's sum cannot, and settles for the safe 7.")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    if args.resume:
        return _resume(args)
    from .envs import make

    overrides = parse_overrides(args.set or [])
    for name, value in (
        ("env", args.env),
        ("algo", args.algo),
        ("total_steps", args.steps),
        ("seed", args.seed),
        ("threads", args.threads),
        ("device", args.device),
    ):
        if value is not None:
            overrides[name] = value
    if args.preset is not None:
        if "preset_name" in overrides:
            raise CliError("argument --preset: give the preset once, not also as --set preset_name")
        overrides["preset_name"] = args.preset
    elif "env" not in overrides:
        overrides["env"] = DEFAULT_TASK
    try:  # with no preset named, the task's own (see qmix_tut.config.task_preset)
        config = Config.from_dict(overrides)
    except ValueError as err:
        raise config_error(err, "--set") from None
    try:  # an unknown task is reported now, not after the run directory is made
        make(config.env, **config.env_kwargs).close()
    except (TypeError, ValueError) as err:
        flag = "--set env_kwargs" if "env_kwargs" in overrides else "--env"
        raise CliError(f"argument {flag}: {err}") from None
    out = Path(args.out) if args.out else default_run_dir(config)
    check_out_dir(out)
    if (out / "checkpoint.pt").exists() and not args.overwrite:
        raise CliError(
            f"argument --out: {out} already holds a run; continue it with "
            f"qmix-tut train --resume {shlex.quote(str(out))}, or start again with --overwrite"
        )
    if not args.quiet:
        print("Config:")
        print(json.dumps(config.to_dict(), indent=2))
        print(preset_line(config))
    from .train import train

    result = train(config, progress=not args.quiet, run_dir=out, overwrite=args.overwrite)
    return _report_run(result, out)


def _resume(args: argparse.Namespace) -> int:
    from .results import read_config_json, read_history_csv
    from .train import train

    run_dir = Path(args.resume)
    clash = [flag for flag, value in (("--env", args.env), ("--algo", args.algo),
             ("--seed", args.seed), ("--set", args.set), ("--out", args.out),
             ("--overwrite", args.overwrite or None),
             ("--preset", args.preset))
             if value is not None]  # fmt: skip
    if clash:
        raise CliError(
            f"argument --resume: cannot be combined with {', '.join(clash)} (a resumed run "
            "keeps its config; only --steps, --threads and --device may change)"
        )
    if not run_dir.is_dir():
        raise CliError(f"argument --resume: {run_dir} is not a run directory")
    try:
        config = read_config_json(run_dir)
    except (OSError, ValueError) as err:
        raise CliError(f"argument --resume: {err}") from None
    if not (run_dir / "checkpoint.pt").exists():
        raise CliError(f"argument --resume: {run_dir} holds no checkpoint.pt to continue from")
    history = (
        read_history_csv(run_dir / "history.csv") if (run_dir / "history.csv").exists() else []
    )
    done = _last_steps(history)
    changes: dict[str, Any] = {}
    if args.steps is not None:
        if args.steps <= done:
            raise CliError(
                f"argument --steps: the run in {run_dir} is already at {done} env steps; "
                f"give more than {done}"
            )
        changes["total_steps"] = args.steps
    elif done >= config.total_steps:
        raise CliError(
            f"argument --resume: the run in {run_dir} has finished ({done} of "
            f"{config.total_steps} env steps); give --steps N, more than {done}, to extend it"
        )
    if args.threads is not None:
        changes["threads"] = args.threads
    if args.device is not None:
        changes["device"] = args.device
    try:
        config = config.replace(**changes)
    except ValueError as err:
        raise config_error(err, "--resume") from None
    print(
        f"Resuming {run_dir} (last evaluation at {done} env steps) up to "
        f"{config.total_steps} env steps; --steps N extends or caps that."
    )
    result = train(config, resume_from=run_dir, progress=not args.quiet, run_dir=run_dir)
    return _report_run(result, run_dir)


def _report_run(result: Any, out: Path) -> int:
    """Draw the learning curve; one closing line for a finished run (a stopped one has
    printed its own, with the command that resumes it)."""
    if result.history:
        from .plotting import learning_curve_figure

        fig = learning_curve_figure(
            result.history, title=f"{result.config.algo} on {result.config.env}"
        )
        fig.savefig(out / "learning_curve.png", dpi=120, bbox_inches="tight")
    if result.interrupted:
        return result.exit_status
    last = result.history[-1] if result.history else {"env_steps": 0, "episodes": 0}
    print(
        f"Finished: {int(last['env_steps'])} env steps, {int(last['episodes'])} episodes, "
        f"{eval_summary(result.history)}. Run directory: {out}"
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .results import read_config_json, read_history_csv

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise CliError(f"argument run_dir: {run_dir} is not a directory")
    try:
        config = read_config_json(run_dir)
        history = (
            read_history_csv(run_dir / "history.csv") if (run_dir / "history.csv").exists() else []
        )
    except (OSError, ValueError) as err:
        raise CliError(f"argument run_dir: {err}") from None
    name = config.preset_name
    base = Config(env=config.env, algo=config.algo, preset_name=name).to_dict()
    changed = {k: v for k, v in config.to_dict().items() if v != base[k]}
    done = _last_steps(history)
    print(f"{run_dir}: {ALGORITHMS[config.algo].label} on {config.env}, seed {config.seed}")
    if "preset_name" not in json.loads((run_dir / "config.json").read_text(encoding="utf-8")):
        print("  preset: not recorded (the run was saved before presets were recorded)")
    else:
        print(f"  {preset_line(config)}")
    against = "the Config defaults" if name == "none" else f"preset {name}"
    print(
        f"  config (fields that differ from {against}): "
        + (", ".join(f"{k}={json.dumps(v)}" for k, v in changed.items()) or "none")
    )
    if done >= config.total_steps:
        state = f"finished: {done} of {config.total_steps} env steps"
    else:
        state = (
            f"stopped: last evaluation at {done} of {config.total_steps} env steps; "
            f"continue with qmix-tut train --resume {shlex.quote(str(run_dir))}"
        )
    print(f"  {state}")
    if history:
        last = history[-1]
        print(
            f"  {len(history)} evaluations, {int(last.get('episodes', 0))} episodes, "
            f"{last.get('wall_seconds', math.nan):.0f} s of training"
        )
    print(f"  {eval_summary(history)}")
    files = sorted(p for p in run_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    print("  files: " + ", ".join(f"{p.name} ({_size(p.stat().st_size)})" for p in files))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from .analysis import PAPER_TWO_STEP, q_tot_tables
    from .envs import make
    from .runner import EpisodeRunner
    from .train import episode_seed

    result = run_dir_result(Path(args.run_dir))
    cfg = result.config
    agent, _ = result.build()
    render_mode = {"render_mode": "human"} if args.render else {}
    try:
        envs = [make(cfg.env, **cfg.env_kwargs, **render_mode)]
    except (TypeError, ValueError) as err:
        raise CliError(f"argument --render: {err}") from None
    runner = EpisodeRunner(
        envs, agent, cfg.last_action_input, cfg.agent_id_input, torch.Generator()
    )
    returns = []
    for i in range(args.episodes):
        _, stats = runner.run(0.0, [episode_seed(cfg.seed, i, 2)])
        returns.append(float(stats["returns"][0]))
    r = np.array(returns)
    print(f"{cfg.algo} on {cfg.env}: greedy return over {len(r)} episodes: mean {r.mean():.3f}, "
          f"std {r.std():.3f}, min {r.min():.3f}, max {r.max():.3f}")  # fmt: skip
    if cfg.env == "two_step" or cfg.env.startswith("matrix"):
        print_tables_side_by_side(
            q_tot_tables(result),
            PAPER_TWO_STEP.get(cfg.algo) if cfg.env == "two_step" else None,
            "Learned Q_tot:",
        )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .stats import compare, write_comparison

    pairs = []
    for text in args.contrast or []:
        a, sep, b = text.partition(":")
        if not sep or not a or not b or ":" in b:
            raise CliError(f"argument --contrast: expected A:B (e.g. qmix:vdn), got {text!r}")
        pairs.append((a, b))
    comparison = compare(
        args.run_dirs, pool=args.pool, reps=args.reps, last=args.last, contrasts=pairs
    )
    print(comparison.table())
    paths = write_comparison(comparison, args.out)
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import parse_settings, plan_sweep, run_sweep

    if args.file is None and not (args.env and args.algo and args.seed):
        raise CliError("argument --env/--algo/--seed: all three are needed unless --file is given")
    runs = plan_sweep(args.env, args.algo, args.seed, args.steps, parse_settings(args.set or []),
                      args.preset, args.file)  # fmt: skip
    if args.stored is not None and not Path(args.stored).is_dir():
        raise CliError(f"argument --stored: {args.stored} is not a directory")
    report = run_sweep(runs, args.out, args.address, args.cpus, progress=not args.quiet,
                       stored=args.stored)  # fmt: skip
    print(report.table())
    print(f"Compare the runs: qmix-tut compare {args.out}")
    return 1 if report.failed else 0


def cmd_envs(args: argparse.Namespace) -> int:
    from .envs import list_envs, make

    print(f"{'name':<36}{'agents':>7}{'actions':>8}{'obs':>6}{'state':>7}{'limit':>7}")
    for name in list_envs():
        try:
            env = make(name)
        except Exception as err:  # an optional task that cannot be built here
            print(f"{name:<36}  unavailable: {err}")
            continue
        i = env.info()
        print(
            f"{name:<36}{i['n_agents']:>7}{i['n_actions']:>8}{i['obs_dim']:>6}"
            f"{i['state_dim']:>7}{i['episode_limit']:>7}"
        )
        env.close()
    return 0


def cmd_check_env(args: argparse.Namespace) -> int:
    from .envs.check import run_check_env_command

    env_kwargs: dict[str, Any] = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"argument --set: expected KEY=VALUE, got {item!r}")
        env_kwargs[key.strip()] = parse_value(value)
    return run_check_env_command(
        args.name, args.episodes, args.seed, env_kwargs, api_test=not args.no_api_test
    )


def cmd_presets(args: argparse.Namespace) -> int:
    if args.name is None:
        configs = {name: Config.preset(name) for name in sorted(PRESETS)}
        w_name = max(map(len, configs)) + 2
        w_env = max(len(c.env) for c in configs.values()) + 2
        print(f"{'preset':<{w_name}}{'env':<{w_env}}{'algo':<10}{'steps':>10}  agent")
        for name, c in configs.items():
            print(f"{name:<{w_name}}{c.env:<{w_env}}{c.algo:<10}{c.total_steps:>10,}  {c.agent}")
        print("\nqmix-tut presets NAME shows every field of one, with what it means.")
        return 0
    if args.name not in PRESETS:
        close = difflib.get_close_matches(args.name, list(PRESETS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise CliError(
            f"argument name: unknown preset {args.name!r}{hint}; choose one of "
            f"{', '.join(sorted(PRESETS))}"
        )
    config = Config.preset(args.name).to_dict()
    set_here = PRESETS[args.name]
    print(f"Preset {args.name} (* set by the preset; the rest are Config's defaults).")
    print(textwrap.fill(REFERENCES, 100) + "\n")
    width = max(map(len, FIELD_DOCS)) + 2
    for name, doc in FIELD_DOCS.items():
        mark = "*" if name in set_here else " "
        value = json.dumps(config[name])
        print(f"{mark} {name:<{width}}{value}")
        for line in textwrap.wrap(doc.line(), 100 - width - 4):
            print(" " * (width + 4) + line)
    print(f"\nTrain it: qmix-tut train --preset {args.name} [--set KEY=VALUE ...]")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from .figures import generate

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"argument --out: {out} is a file, not a directory")
    try:
        paths = generate(out, args.names or None)
    except ValueError as err:
        raise CliError(f"argument names: {err}") from None
    print(f"wrote {len(paths)} files to {out}")
    return 0


# ------------------------------------------------------------------------------------------
# parser
# ------------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help can end with text made only when help is asked for
    (``figures --help`` lists the figure names, which takes importing matplotlib)."""

    def __init__(self, *args: Any, help_tail: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help_tail = help_tail

    def format_help(self) -> str:
        text = super().format_help()
        return text + self.help_tail() if self.help_tail else text


def _figure_names() -> str:
    from .figures import FIGURES

    names = textwrap.fill(", ".join(FIGURES), 96, initial_indent="  ", subsequent_indent="  ")
    return f"\nfigure names:\n{names}\n"


def build_parser() -> argparse.ArgumentParser:
    """The ``qmix-tut`` parser and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="qmix-tut",
        description="Train and inspect IQL, VDN, QMIX and COMA on small games and PettingZoo tasks.",
        epilog="Start with `qmix-tut demo`; `qmix-tut COMMAND --help` explains each command.",
    )
    parser.add_argument("--version", action="version", version=f"qmix-tut {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "demo", help="train QMIX and VDN on the two-step game and print their tables"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)

    algos = "; ".join(f"{name}: {spec.summary}" for name, spec in ALGORITHMS.items())
    p = sub.add_parser(
        "train",
        help="train one run and write a run directory",
        description=textwrap.fill(
            "Train one run: start from the preset tuned for --env (or --preset; --preset "
            "none gives the bare Config defaults), change fields with the flags below or "
            "--set KEY=VALUE, and write a run directory (config.json, versions.json, "
            "history.csv, checkpoint.pt, result.pt, learning_curve.png). Ctrl-C stops at "
            "the end of the round with a checkpoint; --resume continues it.",
            100,
        ),
        epilog=textwrap.fill(
            "Config fields: set any of them with --set KEY=VALUE; values are JSON (0.001, "
            'true, "adam", {"scale_obs": false}) or plain words; a preset\'s values are '
            "shown by qmix-tut presets NAME. " + REFERENCES,
            100,
        )
        + "\n\n"
        + field_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--env", help="environment name (see `qmix-tut envs`)")
    p.add_argument("--algo", choices=ALGOS, help=f"algorithm (default: the preset's). {algos}")
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="starting config (default: the one tuned for --env, or none, the Config defaults, "
        f"for a task without one; with no --env, {DEFAULT_TASK} and its preset; see "
        "qmix-tut presets)",
    )
    p.add_argument(
        "--steps",
        type=int,
        help="total environment steps; with --resume, the new goal (extends or caps the run)",
    )
    p.add_argument("--seed", type=int, help="random seed, >= 0")
    p.add_argument(
        "--threads", type=int, help="CPU threads torch may use (default 1; Config.threads)"
    )
    p.add_argument(
        "--device",
        help="auto (a GPU when torch sees one), cpu, cuda or cuda:N (default auto)",
    )
    p.add_argument("--out", help="run directory (default runs/ENV-ALGO-sSEED)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="set any Config field (listed below); repeatable",
    )
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR exactly where it stopped (with --steps, "
        "--threads, --device)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="start again in an --out that holds a run"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar and no config printout")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="greedy evaluation of a saved run")
    p.add_argument("run_dir", help="a run directory written by `qmix-tut train`")
    p.add_argument("--episodes", type=_positive_int, default=16, help="episodes (default 16)")
    p.add_argument("--render", action="store_true", help="show the episodes on screen (MPE tasks)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "show",
        help="summarise a run directory: config, progress, returns, files",
        description=(
            "Summarise a run directory: the config fields that differ from the defaults, "
            "finished or stopped (and how to resume), the last and best greedy return and "
            f"the mean of the last {LAST_EVALUATIONS} evaluations, and its files."
        ),
    )
    p.add_argument("run_dir", help="a run directory written by `qmix-tut train`")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "compare", help="IQM and 95%% stratified bootstrap intervals per task and algorithm"
    )
    p.add_argument("run_dirs", nargs="+", help="run directories, sweep directories or a benchmark")
    p.add_argument("--out", default="compare", help="folder for compare.png/.txt/.json (compare)")
    p.add_argument("--pool", action="store_true", help="also pool tasks (scores normalised)")
    p.add_argument("--reps", type=_positive_int, default=2000, help="bootstrap resamples (2000)")
    p.add_argument("--last", type=_positive_int, default=5, help="evaluations per score (5)")
    p.add_argument(
        "--contrast",
        action="append",
        metavar="A:B",
        help="set A against B on every task that has both, saying whether their intervals "
        "are apart: algorithms (qmix:vdn) or swept settings (agent=rnn:agent=mlp); repeatable",
    )
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", help="a grid of runs as Ray tasks, here or on a cluster; resumable")
    p.add_argument("--env", nargs="+", help="environment names")
    p.add_argument("--algo", nargs="+", choices=ALGOS, help="algorithms")
    p.add_argument("--seed", nargs="+", type=int, help="seeds")
    p.add_argument("--steps", type=_positive_int, help="total env steps per run")
    p.add_argument(
        "--set", action="append", metavar="KEY=V1[,V2...]", help="Config values; a list is swept"
    )
    p.add_argument("--preset", choices=sorted(PRESETS), help="preset (default: each task's own)")
    p.add_argument("--file", help="sweep file (TOML, YAML or JSON) with the tasks and settings")
    p.add_argument("--out", required=True, help="sweep directory: OUT/<task>/<algo>/seed<k>")
    p.add_argument("--address", help="an existing Ray cluster (default: Ray on this machine)")
    p.add_argument("--cpus", type=_positive_int, help="CPUs of the local Ray (default: all)")
    p.add_argument(
        "--stored",
        metavar="DIR",
        help="runs already stored here (store_histories' layout, same config, every step) "
        "count as done, e.g. figures/data/benchmark",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("envs", help="list the environments with their sizes")
    p.set_defaults(func=cmd_envs)

    p = sub.add_parser(
        "check-env",
        help="check that an environment can be trained (exit 0 usable, 1 not, 2 not built)",
    )
    p.add_argument("name", help="an environment name, 'package.module:function' or module path")
    p.add_argument("--episodes", type=_positive_int, default=5, help="random episodes (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="environment keyword argument"
    )
    p.add_argument("--no-api-test", action="store_true", help="skip PettingZoo's API test")
    p.set_defaults(func=cmd_check_env)

    p = sub.add_parser(
        "presets",
        help="list the named configs; `presets NAME` shows one with every field explained",
    )
    p.add_argument("name", nargs="?", help="a preset to show in full")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("figures", help="regenerate the figures", help_tail=_figure_names)
    p.add_argument("names", nargs="*", help="figure names (default: all; listed below)")
    p.add_argument("--out", default="figures", help="output folder (default figures)")
    p.set_defaults(func=cmd_figures)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _one_line(err: BaseException) -> str:
    """An exception as one line of text; an OSError names its file."""
    if isinstance(err, OSError) and err.strerror and err.filename:
        text = f"{err.strerror}: {err.filename}"
    else:
        text = str(err) or type(err).__name__
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (errors raise SystemExit(2))."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except BrokenPipeError:  # the output was piped into a reader that stopped, like `head`
        sys.stderr.close()
        return 0
    except (CliError, ValueError, TypeError, OSError) as err:
        print(f"qmix-tut {args.command}: error: {_one_line(err)}", file=sys.stderr)
        raise SystemExit(2) from None
    except ArithmeticError as err:  # the learner's NonFiniteError: the run diverged
        print(f"qmix-tut {args.command}: error: {_one_line(err)}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:  # outside training (which stops cleanly by itself)
        print(f"qmix-tut {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
