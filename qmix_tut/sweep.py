"""Grids of training runs as Ray tasks, on this machine or on a Ray cluster; resumable.

A sweep is a list of runs (task x algorithm x seed x any swept ``Config`` values), each
trained by :func:`qmix_tut.train` into its own run directory::

    OUT/<task>/<algo>/seed<k>/                  e.g. runs/sweep/two_step/qmix/seed0
    OUT/<task>/<algo>+<key>=<value>/seed<k>/    a swept setting, e.g. qmix+agent=mlp

Every run is one Ray task that asks for one CPU and trains with one thread, so a local
sweep runs one run per core. Nothing is lost and nothing is done twice:

1. starting the same sweep again skips the runs that finished and continues the
   interrupted ones from their checkpoints (train writes one every
   ``checkpoint_interval`` steps and ``checkpoint_seconds`` seconds, and on a stop signal);
2. a worker that dies (a killed process, a lost node) is restarted by Ray
   (``max_retries``) and its run continues from its last checkpoint: a resumed run's
   history equals that of the same run left alone;
3. a run that fails for a reason of its own (an invalid config, an environment that
   cannot be built, a loss that turns NaN) is reported in the summary and not retried
   (``retry_exceptions=False``); the other runs go on.
4. runs already stored with :func:`store_histories` (their small files, kept in a
   repository while the sweep directory with its checkpoints is gone) count as done when
   ``run_sweep(..., stored=DIR)`` (``qmix-tut sweep --stored DIR``) finds them there with
   the same config and every step: a long sweep can be spread over several jobs or
   machines that share no disk, storing what each one finished.
5. every run trains with the code the sweep was started with: each task compares the
   package's source (:func:`code_fingerprint`) with the driver's and fails at once, with
   both places named, if they differ. Ray puts the directory a sweep is started from
   first on its workers' import path, so a sweep started inside another checkout of this
   package would otherwise train with that checkout's code.

>>> runs = plan_sweep(envs=["two_step"], algos=["qmix", "vdn"], seeds=[0, 1], steps=300,
...                   settings={"lr": [5e-4, 1e-3]})
>>> len(runs), runs[0].directory
(8, 'two_step/qmix+lr=0.0005/seed0')
>>> runs[0].config["total_steps"], runs[0].config["threads"]
(300, 1)

``run_sweep(runs, out)`` runs them (``qmix-tut sweep`` on the command line); sweep files
(TOML, YAML or JSON) describe larger grids, with settings per task: see
:func:`load_sweep_file` and ``figures/data/benchmark/sweep.toml``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

from ._paths import PACKAGE_DIR

# Beside each run directory (train keeps the run directory itself to its own files):
# the run's place in the sweep and how often it was started, and the mark left by the
# test hook that kills a worker once.
RECORD_SUFFIX = ".sweep.json"
CRASH_SUFFIX = ".crashed"
_SAFE = re.compile(r"[^A-Za-z0-9_.=+\-]")
_TOP_KEYS = {"description", "algos", "seeds", "total_steps", "preset", "set", "algo_set", "tasks"}
_TASK_KEYS = {"env", "env_kwargs", "preset", "total_steps", "set", "algos", "seeds", "description"}


# ------------------------------------------------------------------------------------------
# Planning
# ------------------------------------------------------------------------------------------
@dataclass
class RunSpec:
    """One run of a sweep: where it goes and the full config it trains."""

    task: str  # the task's directory name
    variant: str  # the algorithm's directory name: "qmix", or "qmix+agent=mlp" when swept
    seed: int
    config: dict[str, Any]

    @property
    def directory(self) -> str:
        """The run directory, relative to the sweep's: ``<task>/<variant>/seed<k>``."""
        return f"{self.task}/{self.variant}/seed{self.seed}"


def preset_for(env: str, algo: str = "qmix", preset: str | None = None) -> str:
    """The preset a run of a sweep starts from: ``preset``, else the one tuned for its env,
    and the QMIX paper's for the two-step and matrix games, else none (the Config
    defaults); for an actor-critic algorithm (COMA) its own counterpart of that preset
    where one exists. The mapping lives in :func:`qmix_tut.config.task_preset`.

    >>> preset_for("lbf:Foraging-8x8-2p-2f-coop-v3"), preset_for("two_step", "coma")
    ('lbf', 'coma_two_step')
    """
    from .config import task_preset

    return task_preset(env, algo, preset, paper_games=True)


def task_label(env: str) -> str:
    """A task's directory name from its env name: ``mpe:simple_spread -> mpe_simple_spread``."""
    return _SAFE.sub("_", env.replace(":", "_"))


def _value_label(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return _SAFE.sub("_", text.replace(" ", ""))


def _grid(settings: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Split settings into fixed values and the list of combinations of the swept ones."""
    fixed = {k: v for k, v in settings.items() if not isinstance(v, list)}
    swept = {k: v for k, v in settings.items() if isinstance(v, list)}
    for key, values in swept.items():
        if not values:
            raise ValueError(f"setting {key!r} has an empty list of values")
        labels = [_value_label(v) for v in values]
        if len(set(labels)) != len(labels):
            raise ValueError(f"setting {key!r} lists a value twice: {values}")
    combos = [dict(zip(swept, c, strict=True)) for c in product(*swept.values())]
    return fixed, combos


def _unique(name: str, values: Sequence[Any]) -> list[Any]:
    values = list(values)
    if not values:
        raise ValueError(f"a sweep needs at least one {name}")
    if len(set(map(str, values))) != len(values):
        raise ValueError(f"{name}s list a value twice: {values}")
    return values


def _plan_task(
    task: str,
    env: str,
    algos: Sequence[str],
    seeds: Sequence[int],
    preset: str | None,
    steps: int | None,
    settings: Mapping[str, Any],
    env_kwargs: Mapping[str, Any] | None,
    algo_settings: Mapping[str, Mapping[str, Any]],
) -> list[RunSpec]:
    from .config import Config

    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", task):
        raise ValueError(f"task name {task!r} must be letters, digits, '_', '.' or '-'")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seeds must be non-negative integers, got {seed!r}")
    fixed, combos = _grid(settings)
    for key in ("env", "algo", "seed"):
        if key in fixed or any(key in c for c in combos):
            raise ValueError(f"set the {key} of a sweep with its own option, not as a setting")
    bases = {a: Config.preset(preset_for(env, a, preset)).to_dict() for a in algos}
    runs = []
    for algo, combo, seed in product(algos, combos, seeds):
        values = {**bases[algo], **fixed, **algo_settings.get(algo, {}), **combo}
        values.update(env=env, algo=algo, seed=seed, threads=1)
        if env_kwargs is not None:
            values["env_kwargs"] = dict(env_kwargs)
        if steps is not None:
            values["total_steps"] = steps
        variant = "+".join([algo, *(f"{k}={_value_label(v)}" for k, v in combo.items())])
        runs.append(RunSpec(task, variant, seed, values))
    return runs


def plan_sweep(
    envs: Sequence[str] | None = None,
    algos: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    steps: int | None = None,
    settings: Mapping[str, Any] | None = None,
    preset: str | None = None,
    file: str | Path | None = None,
) -> list[RunSpec]:
    """The runs of a sweep: every env x algorithm x seed x combination of swept settings.

    settings: ``Config`` field -> a value for every run, or a list of values to sweep.
    preset: the preset every task starts from (default: the one made for each task, see
    :func:`preset_for`). file: a sweep file (see :func:`load_sweep_file`); ``algos``,
    ``seeds`` and ``steps`` then replace the file's (handy for a short trial run).
    Configs are checked when the sweep runs: one invalid config fails its run only.
    """
    if file is not None:
        if envs or settings or preset:
            raise ValueError(
                "give the tasks, settings and presets in the sweep file, not beside it"
            )
        return load_sweep_file(file, algos=algos, seeds=seeds, steps=steps)
    if not envs:
        raise ValueError("a sweep needs at least one env (or a sweep file)")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    runs: list[RunSpec] = []
    for env in _unique("env", envs):
        runs += _plan_task(
            task_label(env),
            env,
            _unique("algo", algos or []),
            _unique("seed", seeds or []),
            preset,
            steps,
            dict(settings or {}),
            None,
            {},
        )
    return _check_distinct(runs)


def _parse_one(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.lower() == "true" if text.lower() in ("true", "false") else text


def parse_settings(items: Sequence[str]) -> dict[str, Any]:
    """Command-line settings ``key=value`` or ``key=v1,v2,...`` (a list: swept).

    >>> parse_settings(["lr=0.001,0.0005", "agent=mlp", "double_q=false"])
    {'lr': [0.001, 0.0005], 'agent': 'mlp', 'double_q': False}
    """
    settings: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or not text:
            raise ValueError(f"argument --set: expected key=value or key=v1,v2, got {item!r}")
        if key in settings:
            raise ValueError(f"argument --set: {key} is set twice")
        try:
            values = json.loads(f"[{text}]")  # numbers, true/false, quoted strings
        except json.JSONDecodeError:
            values = [_parse_one(part.strip()) for part in text.split(",")]
        settings[key] = values[0] if len(values) == 1 else values
    return settings


def _check_distinct(runs: list[RunSpec]) -> list[RunSpec]:
    seen: dict[str, RunSpec] = {}
    for run in runs:
        if run.directory in seen:
            raise ValueError(f"two runs of the sweep would share the directory {run.directory}")
        seen[run.directory] = run
    return runs


def _read_file(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise ValueError(f"sweep file {path} must end in .toml, .yaml, .yml or .json")
    text = path.read_text()
    try:
        if suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as err:  # each parser has its own error types
        raise ValueError(f"sweep file {path} cannot be read: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"sweep file {path} must hold a table of keys, got {type(data).__name__}")
    return data


def load_sweep_file(
    path: str | Path,
    algos: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    steps: int | None = None,
) -> list[RunSpec]:
    """The runs a sweep file describes. In TOML (YAML and JSON hold the same keys)::

        algos = ["iql", "vdn", "qmix"]      # every task's algorithms
        seeds = [0, 1, 2, 3, 4]
        [set]                               # Config values for every run;
        checkpoint_interval = 50000         # a list sweeps its values
        [algo_set.coma]                     # Config values for one algorithm
        lr = 0.0005
        [tasks.spread]                      # one table per task; its name is its directory
        env = "mpe:simple_spread"
        preset = "simple_spread"            # default: the preset made for the env
        total_steps = 200000
        [tasks.spread.set]                  # the task's own values (and swept lists)
        agent = ["rnn", "mlp"]

    A task may also give ``env_kwargs``, and its own ``algos`` and ``seeds``. ``algos``,
    ``seeds`` and ``steps`` passed here replace the file's everywhere.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"sweep file {path} does not exist")
    data = _read_file(path)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ValueError(
            f"sweep file {path}: unknown key(s) {', '.join(unknown)}; it takes {', '.join(sorted(_TOP_KEYS))}"
        )
    tasks = data.get("tasks")
    if not isinstance(tasks, dict) or not tasks:
        raise ValueError(f"sweep file {path} needs a [tasks.<name>] table for each task")
    top_set = _table(data, "set", path)
    algo_set = _table(data, "algo_set", path)
    for algo, values in algo_set.items():
        if not isinstance(values, dict):
            raise ValueError(f"sweep file {path}: algo_set.{algo} must be a table of Config values")
    runs: list[RunSpec] = []
    for name, task in tasks.items():
        where = f"sweep file {path}, task {name!r}"
        if not isinstance(task, dict) or "env" not in task:
            raise ValueError(f'{where}: needs env = "<task name>"')
        unknown = sorted(set(task) - _TASK_KEYS)
        if unknown:
            raise ValueError(
                f"{where}: unknown key(s) {', '.join(unknown)}; it takes {', '.join(sorted(_TASK_KEYS))}"
            )
        task_steps = (
            steps if steps is not None else task.get("total_steps", data.get("total_steps"))
        )
        try:
            runs += _plan_task(
                name,
                task["env"],
                _unique("algo", algos or task.get("algos") or data.get("algos") or []),
                _unique("seed", seeds or task.get("seeds") or data.get("seeds") or []),
                task.get("preset", data.get("preset")),
                task_steps,
                {**top_set, **_table(task, "set", path)},
                task.get("env_kwargs"),
                algo_set,
            )
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
    return _check_distinct(runs)


def _table(data: Mapping[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"sweep file {path}: {key} must be a table, got {value!r}")
    return value


# ------------------------------------------------------------------------------------------
# One run (a Ray task)
# ------------------------------------------------------------------------------------------
def _history_steps(run_dir: Path) -> int:
    path = run_dir / "history.csv"
    if not path.exists():
        return 0
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if len(lines) < 2:
        return 0
    return int(float(lines[-1].split(",")[0]))


def run_state(run_dir: str | Path, config: Mapping[str, Any]) -> str:
    """``"new"``, ``"finished"`` (result.pt written, all ``total_steps`` done) or
    ``"resume"`` (a checkpoint to continue from) for the run ``config`` in ``run_dir``."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").exists():
        return "new"
    done = _history_steps(run_dir) >= config["total_steps"]
    if done and (run_dir / "result.pt").exists():
        try:
            stored = json.loads((run_dir / "config.json").read_text())
        except (OSError, ValueError):
            return "resume" if (run_dir / "checkpoint.pt").exists() else "new"
        if stored.get("total_steps") == config["total_steps"]:
            return "finished"
    return "resume" if (run_dir / "checkpoint.pt").exists() else "new"


def is_stored(stored_dir: str | Path, config: Mapping[str, Any]) -> bool:
    """Whether ``stored_dir`` (one run in the layout :func:`store_histories` writes) holds
    the finished run of ``config``: the same config but for the fields a resumed run may
    change other than its budget and evaluation (checkpoints, device, threads, preset
    name: how it was kept, not what it learned; an older config.json without a field made
    since reads as that field's default), and every one of its ``total_steps`` evaluated.
    A run stored with another budget, evaluation or setting is not this run."""
    from .config import Config
    from .rundir import RESUMABLE_CHANGES

    bookkeeping = RESUMABLE_CHANGES - {"total_steps", "eval_interval", "eval_episodes"}
    stored_dir = Path(stored_dir)
    try:
        stored = Config.from_dict(json.loads((stored_dir / "config.json").read_text()))
    except (OSError, ValueError, TypeError):
        return False
    wanted = Config.from_dict(dict(config)).to_dict()
    have = stored.to_dict()
    same = all(have[k] == wanted[k] for k in wanted if k not in bookkeeping)
    return same and _history_steps(stored_dir) >= config["total_steps"]


def record_path(run_dir: str | Path) -> Path:
    """The sweep's record of a run, beside its directory: ``<variant>/.seed<k>.sweep.json``."""
    run_dir = Path(run_dir)
    return run_dir.with_name(f".{run_dir.name}{RECORD_SUFFIX}")


def _starts(run_dir: Path) -> int:
    path = record_path(run_dir)
    return int(json.loads(path.read_text()).get("starts", 0)) if path.exists() else 0


def _record_start(run_dir: Path, spec: dict[str, Any]) -> int:
    """Count this start in the run's record; returns how many starts it has had."""
    path = record_path(run_dir)
    record = json.loads(path.read_text()) if path.exists() else {}
    record.update(
        task=spec["task"], variant=spec["variant"], algo=spec["config"]["algo"], seed=spec["seed"]
    )
    record["starts"] = int(record.get("starts", 0)) + 1
    record.setdefault("workers", []).append(
        {"pid": os.getpid(), "host": os.uname().nodename, "time": time.time()}
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)
    return record["starts"]


def code_fingerprint(root: str | Path | None = None) -> str:
    """A hash of this package's Python source (every ``.py`` file under it, with its path):
    equal for two copies of the same code wherever they are installed. ``root``: another
    copy's package directory (default: this one)."""
    root = PACKAGE_DIR if root is None else Path(root)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


class CodeMismatchError(RuntimeError):
    """A sweep's worker imports other code than the process that started the sweep."""


def check_code(expected: Mapping[str, str]) -> None:
    """Raise :class:`CodeMismatchError` unless this process's package source has the
    fingerprint ``expected["fingerprint"]`` (``expected["path"]``: where the driver's is)."""
    here = code_fingerprint()
    if here == expected["fingerprint"]:
        return
    raise CodeMismatchError(
        f"this worker imports qmix_tut from {PACKAGE_DIR} (source {here}), but the sweep was started "
        f"with {expected['path']} (source {expected['fingerprint']}); the run was not "
        "started. Ray puts the directory a sweep is started from first on its workers' "
        "import path: start the sweep from a directory that holds no other copy of "
        "qmix_tut (or from the checkout whose code it should run), and on a cluster install "
        "the same code on every node."
    )


def execute_run(
    spec: dict[str, Any],
    run_dir: str,
    crash_after_checkpoint: bool = False,
    code: Mapping[str, str] | None = None,
) -> dict:
    """Train one run of a sweep into ``run_dir`` (continuing its checkpoint if it has one).

    This is what each Ray task calls; it may be called directly too. Returns the run's
    outcome. ``crash_after_checkpoint`` is for tests: the process kills itself (SIGKILL,
    as an out-of-memory killer would) once, at the first evaluation after a checkpoint.
    ``code``: the driver's ``{"fingerprint": ..., "path": ...}``; the run fails with
    :class:`CodeMismatchError` before it touches ``run_dir`` if this process's code differs.
    """
    if code is not None:
        check_code(code)
    from . import train
    from .config import Config

    run_path = Path(run_dir)
    run_path.parent.mkdir(parents=True, exist_ok=True)
    config = Config.from_dict(spec["config"])
    state = run_state(run_path, spec["config"])
    if state == "finished":
        return _outcome(spec, run_path, "skipped")
    starts = _record_start(run_path, spec)
    started_at = _history_steps(run_path) if state == "resume" else 0
    callback = None
    if crash_after_checkpoint:

        def callback(row: dict[str, float]) -> None:
            mark = run_path.with_name(f".{run_path.name}{CRASH_SUFFIX}")
            if (run_path / "checkpoint.pt").exists() and not mark.exists():
                mark.write_text(f"{os.getpid()}\n")
                os.kill(os.getpid(), signal.SIGKILL)

    result = train(
        config,
        resume_from=run_path if state == "resume" else None,
        progress=False,
        run_dir=run_path,
        callback=callback,
    )
    if result.interrupted:
        status = "interrupted"
    elif state == "resume" or starts > 1:
        status = "resumed"
    else:
        status = "trained"
    return _outcome(spec, run_path, status, resumed_from=started_at)


def _outcome(spec: dict[str, Any], run_path: Path, status: str, **extra: Any) -> dict[str, Any]:
    starts = _starts(run_path)
    score, steps, wall = math.nan, 0, math.nan
    history_path = run_path / "history.csv"
    if history_path.exists():
        from .stats import _read_history, run_score

        history = _read_history(history_path)
        if history:
            score = run_score(history)
            steps = int(history[-1]["env_steps"])
            wall = float(history[-1]["wall_seconds"])
    return {
        "task": spec["task"],
        "variant": spec["variant"],
        "seed": spec["seed"],
        "run_dir": str(run_path),
        "status": status,
        "starts": starts,
        "env_steps": steps,
        "score": score,
        "wall_seconds": wall,
        "error": "",
        **extra,
    }


# ------------------------------------------------------------------------------------------
# The sweep
# ------------------------------------------------------------------------------------------
@dataclass
class SweepReport:
    """What a sweep did: one outcome per run, in the plan's order."""

    out: Path
    outcomes: list[dict[str, Any]]
    wall_seconds: float
    retries: dict[str, int] = field(default_factory=dict)  # run directory -> extra starts

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [o for o in self.outcomes if o["status"] in ("failed", "interrupted")]

    def count(self, status: str) -> int:
        return sum(o["status"] == status for o in self.outcomes)

    def table(self) -> str:
        """The summary table ``qmix-tut sweep`` prints at the end."""
        head = f"{'task':<24}{'algo':<20}{'seed':>5}  {'status':<14}{'env steps':>10}{'score':>10}{'wall s':>9}"
        lines = [head]
        for o in self.outcomes:
            status = o["status"]
            extra = self.retries.get(o["run_dir"], 0)
            if extra:
                status += f" (+{extra})"
            lines.append(
                f"{o['task']:<24.24}{o['variant']:<20.20}{o['seed']:>5}  {status:<14}"
                f"{o['env_steps']:>10}{o['score']:>10.3f}{o['wall_seconds']:>9.1f}"
            )
        for o in self.outcomes:
            if o["error"]:
                lines.append(f"{o['task']}/{o['variant']}/seed{o['seed']}: {o['error']}")
        counts = ", ".join(
            f"{self.count(s)} {s}"
            for s in ("trained", "resumed", "skipped", "stored", "failed", "interrupted")
            if self.count(s)
        )
        retried = sum(1 for v in self.retries.values() if v)
        lines.append(
            f"{len(self.outcomes)} runs in {self.wall_seconds:.0f} s: {counts}"
            + (
                f"; {retried} restarted after their worker died (+N: extra starts)"
                if retried
                else ""
            )
            + ". Score: mean greedy return of the last 5 evaluations."
        )
        return "\n".join(lines)


def _error_text(err: BaseException) -> str:
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {str(cause).strip().splitlines()[0] if str(cause).strip() else ''}"
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def _start_ray(address: str | None, cpus: int | None) -> bool:
    """Connect to Ray (start a local instance, or join ``address``); True if started here."""
    import ray

    if ray.is_initialized():
        return False
    if address is not None and cpus is not None:
        raise ValueError("cpus is for a local Ray instance; a cluster's workers have their own")
    if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1):
        raise ValueError(f"cpus must be a positive integer, got {cpus!r}")
    # A local Ray node gives its helper processes (the dashboard agent) about 15 s to start;
    # on a busy machine they can take longer, and then the start is tried again.
    for attempt in (1, 2, 3):
        try:
            ray.init(
                address=address,
                num_cpus=cpus if address is None else None,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
            return True
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise ValueError(f"cannot reach the Ray cluster at {address!r}: {err}") from None
        except Exception as err:  # Ray gives up on a local start whose helpers are slow
            if "timed out during startup" not in str(err):
                raise
            ray.shutdown()
            if attempt == 3:
                raise ConnectionError(
                    "Ray could not start on this machine in time (3 tries): its helper processes "
                    "start slowly on a busy machine. Try again, or start Ray once with "
                    "`ray start --head` and pass --address auto"
                ) from None
    return True


def run_sweep(
    runs: Sequence[RunSpec] | None = None,
    out: str | Path = "runs/sweep",
    address: str | None = None,
    cpus: int | None = None,
    progress: bool = True,
    max_retries: int = 3,
    stored: str | Path | None = None,
    _crash_after_checkpoint: bool = False,
    **plan: Any,
) -> SweepReport:
    """Run a sweep as Ray tasks and return its report (also written to ``OUT/sweep.json``).

    runs: from :func:`plan_sweep` or :func:`load_sweep_file`; or give plan_sweep's
    arguments here (``envs=..., algos=..., seeds=..., steps=..., settings=..., file=...``).
    address: an existing Ray cluster (``"auto"``, or ``"HOST:6379"``); its workers need
    this package installed and ``out`` on a file system they all share. Otherwise Ray
    starts in this process with ``cpus`` CPUs (default: all), one run per CPU, and stops
    at the end. max_retries: restarts of a run whose worker died. stored: a directory
    written by :func:`store_histories`; a run found there finished, with the same config,
    is not run again (its outcome is ``"stored"``, read from there).
    """
    if runs is None:
        runs = plan_sweep(**plan)
    elif plan:
        raise ValueError(
            f"give either runs or plan_sweep's arguments, not both ({', '.join(plan)})"
        )
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
    from tqdm.auto import tqdm

    from .config import Config

    if stored is not None and not Path(stored).is_dir():
        raise ValueError(f"stored: {stored} is not a directory")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    outcomes: dict[int, dict[str, Any]] = {}
    starts_before: dict[str, int] = {}
    to_run: list[tuple[int, RunSpec, Path]] = []
    for i, run in enumerate(runs):
        run_dir = out / run.directory
        spec = {"task": run.task, "variant": run.variant, "seed": run.seed, "config": run.config}
        try:
            Config.from_dict(run.config)
        except (TypeError, ValueError) as err:
            outcomes[i] = {**_outcome(spec, run_dir, "failed"), "error": f"ValueError: {err}"}
            continue
        if run_state(run_dir, run.config) == "finished":
            outcomes[i] = _outcome(spec, run_dir, "skipped")
            continue
        stored_dir = None if stored is None else Path(stored) / run.directory
        if stored_dir is not None and is_stored(stored_dir, run.config):
            outcomes[i] = _outcome(spec, stored_dir, "stored")
            continue
        starts_before[str(run_dir)] = _starts(run_dir)
        to_run.append((i, run, run_dir))

    bar = tqdm(total=len(runs), initial=len(outcomes), disable=not progress, unit="run",
               desc=f"sweep {out}", dynamic_ncols=True)  # fmt: skip
    retries: dict[str, int] = {}
    if to_run:
        import ray

        started_here = _start_ray(address, cpus)
        try:
            task = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(
                execute_run
            )
            pending = {}
            code = {"fingerprint": code_fingerprint(), "path": str(PACKAGE_DIR)}
            for i, run, run_dir in to_run:
                spec = {"task": run.task, "variant": run.variant, "seed": run.seed,
                        "config": run.config}  # fmt: skip
                ref = task.remote(spec, str(run_dir), _crash_after_checkpoint, code)
                pending[ref] = (i, spec, run_dir)
            while pending:
                # a short wait in a loop, so that Ctrl-C reaches Python between waits
                done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                if not done:
                    continue
                i, spec, run_dir = pending.pop(done[0])
                try:
                    outcomes[i] = ray.get(done[0])
                except ray.exceptions.RayError as err:
                    outcomes[i] = {**_outcome(spec, run_dir, "failed"), "error": _error_text(err)}
                bar.update(1)
                bar.set_postfix(failed=sum(o["status"] == "failed" for o in outcomes.values()))
        except KeyboardInterrupt:
            bar.close()
            print(f"Sweep stopped; run the same command again to continue it (runs in {out}).")
            raise
        finally:
            if started_here:
                ray.shutdown()
        for _, _, run_dir in to_run:
            retries[str(run_dir)] = max(0, _starts(run_dir) - starts_before[str(run_dir)] - 1)
    bar.close()
    report = SweepReport(
        out, [outcomes[i] for i in range(len(runs))], time.perf_counter() - started, retries
    )
    _write_report(report, runs)
    return report


def _write_report(report: SweepReport, runs: Sequence[RunSpec]) -> None:
    def clean(o: dict[str, Any]) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in o.items()
        }

    data = {
        "wall_seconds": round(report.wall_seconds, 1),
        "runs": [
            {**clean(o), "retries": report.retries.get(o["run_dir"], 0), "config": r.config}
            for o, r in zip(report.outcomes, runs, strict=True)
        ],
    }
    tmp = report.out / ".sweep.json.tmp"
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, report.out / "sweep.json")


def store_histories(sweep_dir: str | Path, dest: str | Path) -> list[Path]:
    """Copy each finished run's small files (history.csv, config.json, versions.json) into ``dest/<task>/<algo>/seed<k>/``: the stored benchmark layout,
    without the checkpoints (tens of MB each). Returns the run directories written."""
    import shutil

    sweep_dir, dest = Path(sweep_dir), Path(dest)
    written = []
    for history in sorted(sweep_dir.glob("*/*/seed*/history.csv")):
        run = history.parent
        config = json.loads((run / "config.json").read_text())
        if run_state(run, config) != "finished":
            continue
        target = dest / run.relative_to(sweep_dir)
        target.mkdir(parents=True, exist_ok=True)
        for name in ("history.csv", "config.json", "versions.json"):
            if (run / name).exists():
                shutil.copyfile(run / name, target / name)
        written.append(target)
    return written
