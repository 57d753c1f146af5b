"""The command line: ``qmix-tut demo | train | eval | compare | envs | figures``.

Examples::

    qmix-tut demo                                   # QMIX vs VDN on the two-step game
    qmix-tut train --env mpe:simple_spread --algo qmix --steps 50000 --out runs/qmix0
    qmix-tut train --resume runs/qmix0              # continue an interrupted run
    qmix-tut eval runs/qmix0 --episodes 32
    qmix-tut compare runs/qmix0 runs/qmix1 runs/vdn0 --out runs/compare
    qmix-tut envs
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .algorithms import ALGOS as ALGO_CHOICES


class CliError(Exception):
    """A bad argument: reported by argparse with exit code 2."""


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """A --set value: JSON where it parses (numbers, true/false, lists, dicts), else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return text


def format_table(
    table: np.ndarray, names: tuple[str, ...] = ("A", "B", "C", "D", "E")
) -> list[str]:
    rows = []
    a = table.shape[1]
    header = "      " + "".join(f"{names[j] if j < len(names) else j:>8}" for j in range(a))
    rows.append(header)
    for i, row in enumerate(table):
        label = names[i] if i < len(names) else str(i)
        rows.append(f"  {label:>3} " + "".join(f"{v:8.2f}" for v in row))
    return rows


def print_tables_side_by_side(
    ours: dict[str, np.ndarray], paper: dict[str, np.ndarray] | None, title: str
) -> None:
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


def _run_dir_result(run_dir: Path):
    from .train import load

    if not run_dir.exists():
        raise CliError(f"argument run_dir: {run_dir} does not exist")
    try:
        return load(run_dir)
    except (OSError, ValueError) as err:
        raise CliError(f"argument run_dir: {err}") from None


# ------------------------------------------------------------------------------------------
# commands
# ------------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from .analysis import PAPER_TWO_STEP, q_tot_tables
    from .config import Config
    from .train import train

    print("The QMIX paper's two-step game (Rashid et al. 2018, sec. 5): agent 1 picks state 2A")
    print("(every joint action pays 7) or 2B (pays 8 only if both agents pick B).")
    print("Training QMIX and VDN with the paper's settings (10k steps, uniform exploration).\n")
    for algo in ("qmix", "vdn"):
        cfg = Config.preset("two_step_paper", algo=algo, seed=args.seed)
        start = time.perf_counter()
        result = train(cfg, progress=not args.quiet)
        seconds = time.perf_counter() - start
        tables = q_tot_tables(result)
        print_tables_side_by_side(
            tables,
            PAPER_TWO_STEP[algo],
            f"\n{algo.upper()}: learned Q_tot beside the paper's Table 1",
        )
        print(
            f"  greedy return: {result.final_eval_return:.0f} (optimal 8)   trained in {seconds:.1f} s\n"
        )
    print("QMIX's monotonic mixing represents the state-dependent payoff and earns 8;")
    print("VDN's sum cannot, and settles for the safe 7.")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .config import Config
    from .envs import make
    from .train import train

    if args.resume:
        run_dir = Path(args.resume)
        cfg_path = run_dir / "config.json"
        if not cfg_path.exists():
            raise CliError(f"argument --resume: {run_dir} is not a run directory (no config.json)")
        config = Config.from_dict(json.loads(cfg_path.read_text()))
        if args.steps is not None:
            config = config.replace(total_steps=args.steps)
        out = run_dir
        print(f"Resuming {run_dir} to {config.total_steps} steps")
        result = train(config, resume_from=run_dir, progress=not args.quiet, run_dir=out)
    else:
        overrides: dict[str, Any] = {}
        if args.env:
            overrides["env"] = args.env
        if args.algo:
            overrides["algo"] = args.algo
        if args.steps is not None:
            overrides["total_steps"] = args.steps
        if args.seed is not None:
            overrides["seed"] = args.seed
        for item in args.set or []:
            if "=" not in item:
                raise CliError(f"argument --set: expected key=value, got {item!r}")
            key, value = item.split("=", 1)
            overrides[key.strip()] = parse_value(value)
        try:
            config = Config.preset(args.preset, **overrides)
        except ValueError as err:
            raise CliError(f"argument --set/--preset: {err}") from None
        try:  # an unknown task is reported now, not after the run directory is made
            make(config.env, **config.env_kwargs).close()
        except (TypeError, ValueError) as err:
            raise CliError(f"argument --env: {err}") from None
        out = (
            Path(args.out)
            if args.out
            else Path("runs") / f"{config.env.replace(':', '_')}-{config.algo}-s{config.seed}"
        )
        if (out / "checkpoint.pt").exists() and not args.overwrite:
            raise CliError(
                f"argument --out: {out} already holds a run; use --resume {out} to continue it "
                "or --overwrite to start again"
            )
        print("Config:")
        print(json.dumps(config.to_dict(), indent=2))
        result = train(config, progress=not args.quiet, run_dir=out)
    _write_learning_curve(result, out)
    last = result.history[-1]
    print(
        f"{'Stopped' if result.interrupted else 'Finished'}: {int(last['env_steps'])} env steps, "
        f"{int(last['episodes'])} episodes, greedy return {last['eval_return']:.3f}. Run directory: {out}"
    )
    return 130 if result.interrupted else 0


def _write_learning_curve(result, out: Path) -> None:
    from .plotting import learning_curve_figure

    fig = learning_curve_figure(
        result.history, title=f"{result.config.algo} on {result.config.env}"
    )
    fig.savefig(out / "learning_curve.png", dpi=120, bbox_inches="tight")


def cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from .analysis import PAPER_TWO_STEP, q_tot_tables
    from .envs import make
    from .runner import EpisodeRunner
    from .train import episode_seed

    result = _run_dir_result(Path(args.run_dir))
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
    from .plotting import compare_figure, group_runs

    results = [(Path(d), _run_dir_result(Path(d))) for d in args.run_dirs]
    groups = group_runs([r for _, r in results])
    print(f"{'algo':<10}{'seeds':>6}{'final return':>14}{'95% CI':>22}")
    for algo, g in groups.items():
        print(f"{algo:<10}{g['n']:>6}{g['mean']:>14.3f}   [{g['low']:8.3f}, {g['high']:8.3f}]")
    out = Path(args.out) if args.out else Path("runs") / "compare"
    out.mkdir(parents=True, exist_ok=True)
    fig = compare_figure([r for _, r in results])
    fig.savefig(out / "compare.png", dpi=120, bbox_inches="tight")
    print(f"plot: {out / 'compare.png'}")
    return 0


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
            f"{name:<36}{i['n_agents']:>7}{i['n_actions']:>8}{i['obs_dim']:>6}{i['state_dim']:>7}{i['episode_limit']:>7}"
        )
        env.close()
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from .figures import generate

    try:
        paths = generate(args.out, args.names or None)
    except (FileNotFoundError, ValueError) as err:
        raise CliError(f"argument names: {err}") from None
    print(f"wrote {len(paths)} files to {args.out}")
    return 0


# ------------------------------------------------------------------------------------------
# parser
# ------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from .config import PRESETS

    parser = argparse.ArgumentParser(
        prog="qmix-tut",
        description="Train and inspect IQL, VDN and QMIX on small games and PettingZoo tasks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "demo", help="train QMIX and VDN on the two-step game and print their tables"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("train", help="train one run and write a run directory")
    p.add_argument("--env", help="environment name (see `qmix-tut envs`)")
    p.add_argument("--algo", choices=ALGO_CHOICES, help="algorithm (default: the preset's)")
    p.add_argument(
        "--preset",
        default="default",
        choices=sorted(PRESETS),
        help="starting config (default: default)",
    )
    p.add_argument("--steps", type=int, help="total environment steps")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--out", help="run directory (default runs/ENV-ALGO-sSEED)")
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override any Config field, repeatable"
    )
    p.add_argument(
        "--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR exactly where it stopped"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="start again in an --out that holds a run"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="greedy evaluation of a saved run")
    p.add_argument("run_dir", help="a run directory written by `qmix-tut train`")
    p.add_argument("--episodes", type=_positive_int, default=16, help="episodes (default 16)")
    p.add_argument("--render", action="store_true", help="show the episodes on screen (MPE tasks)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("compare", help="compare runs: table and plot with 95%% bootstrap CIs")
    p.add_argument("run_dirs", nargs="+", help="run directories")
    p.add_argument("--out", help="where to write compare.png (default runs/compare)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("envs", help="list the environments with their sizes")
    p.set_defaults(func=cmd_envs)

    p = sub.add_parser("figures", help="regenerate the figures")
    p.add_argument("names", nargs="*", help="figure names (default: all)")
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if (
        args.command == "train"
        and args.resume
        and (args.env or args.algo or args.seed is not None or args.set)
    ):
        parser.error("argument --resume: cannot be combined with --env, --algo, --seed or --set")
    try:
        return args.func(args)
    except CliError as err:
        parser.error(str(err))
    except BrokenPipeError:  # the output was piped into a reader that stopped, like `head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
