"""Statistics over many runs: interquartile means, stratified bootstrap intervals and
performance profiles (Agarwal et al. 2021, "Deep RL at the edge of the statistical
precipice"), computed with the ``rliable`` package that implements that paper.

A run's *score* is the mean greedy return of its last 5 evaluations (the README's
tables use the same). For one algorithm on one task, the runs' scores go into the
interquartile mean (IQM: the mean of the middle 50% of the scores, robust to one
seed that diverged and less noisy than the median) with a 95% percentile bootstrap
interval over runs. Scores of different tasks are on different scales, so they are
never pooled into one interval unless asked (``pool=True``), and then only after each
task's scores are normalised onto [0, 1] and with the bootstrap stratified by task.

>>> import numpy as np
>>> iqm(np.array([0.0, 1.0, 2.0, 3.0, 100.0]))   # the middle of five: 1, 2, 3
2.0
>>> point, (low, high) = iqm_interval(np.array([[1.0], [2.0], [3.0], [4.0]]), reps=200)
>>> point, bool(low <= point <= high)
(2.5, True)

``compare(paths)`` reads run directories, sweep directories and the stored benchmark
layout (``<task>/<algo>/seed<k>/history.csv``) and reports per task and algorithm;
``qmix-tut compare`` prints it and draws the IQMs with their intervals and the
performance profiles.

On one learning curve, ``first_crossing`` finds the first evaluation at or past a target
(which a few noisy evaluation episodes can reach by luck) and ``held_level`` the first
point where the mean of 5 consecutive evaluations is (a level the team keeps); the speed
benchmarks time runs to both.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LAST_EVALS = 5
"""How many of a run's last evaluations its score averages."""
DEFAULT_REPS = 2000
"""Bootstrap resamples for an interval (Agarwal et al. use 2,000 to 50,000)."""

_SEED_DIR = re.compile(r"^seed(\d+)$")


# ------------------------------------------------------------------------------------------
# The statistics (rliable does the bootstrap)
# ------------------------------------------------------------------------------------------
def iqm(scores: np.ndarray | Sequence[float]) -> float:
    """Interquartile mean of all the scores (any shape), as rliable's ``aggregate_iqm``.

    The lowest and highest ``floor(n / 4)`` scores are dropped and the rest averaged, so
    with fewer than 4 scores it is the plain mean.
    """
    from rliable import metrics

    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        raise ValueError("iqm needs at least one score, got an empty array")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"iqm needs finite scores, got {values.ravel().tolist()}")
    return float(metrics.aggregate_iqm(values))


@contextlib.contextmanager
def _numpy_seed(seed: int) -> Iterator[None]:
    # rliable's bootstrap draws its indices from numpy's global generator: seed it for a
    # reproducible interval, and give the caller's generator back afterwards
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved)


def _check_matrix(scores: np.ndarray, name: str, pool: bool) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.ndim != 2 or scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(f"{name} must have shape [runs, tasks], got {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{name} must be finite, got {scores.tolist()}")
    if scores.shape[1] > 1 and not pool:
        raise ValueError(
            f"{name} holds {scores.shape[1]} tasks (shape [runs, tasks] = {list(scores.shape)}); "
            "scores of different tasks are on different scales, so they are not pooled into one "
            "interval unless asked: pass pool=True (after normalising each task's scores)"
        )
    return scores


def iqm_interval(
    scores: np.ndarray,
    reps: int = DEFAULT_REPS,
    level: float = 0.95,
    seed: int = 0,
    pool: bool = False,
) -> tuple[float, tuple[float, float]]:
    """IQM of ``scores[runs, tasks]`` and its stratified bootstrap interval (rliable).

    Runs are resampled with replacement within each task (the strata). One task
    (shape ``[runs]`` or ``[runs, 1]``) is the usual case; several tasks are refused
    unless ``pool=True``. With one run the interval is the point itself.
    """
    from rliable import library, metrics

    scores = _check_matrix(scores, "scores", pool)
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    with _numpy_seed(seed):
        points, intervals = library.get_interval_estimates(
            {"x": scores},
            lambda x: np.array([metrics.aggregate_iqm(x)]),
            reps=reps,
            confidence_interval_size=level,
        )
    low, high = intervals["x"][:, 0]
    return float(points["x"][0]), (float(low), float(high))


def performance_profile(
    scores: dict[str, np.ndarray],
    taus: np.ndarray,
    reps: int = DEFAULT_REPS,
    level: float = 0.95,
    seed: int = 0,
    pool: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Score distributions (Agarwal et al. 2021, sec. 4): for each threshold tau, the
    fraction of runs scoring above it, with stratified bootstrap bands (rliable).

    ``scores`` maps an algorithm to ``[runs, tasks]``; returns ``(profiles, bands)`` with
    ``profiles[algo]`` of shape ``[len(taus)]`` and ``bands[algo]`` of shape ``[2, len(taus)]``.
    """
    from rliable import library

    checked = {k: _check_matrix(v, f"scores[{k!r}]", pool) for k, v in scores.items()}
    taus = np.asarray(taus, dtype=np.float64)
    if taus.ndim != 1 or taus.size == 0:
        raise ValueError(f"taus must be a non-empty 1-D array, got shape {taus.shape}")
    with _numpy_seed(seed):
        return library.create_performance_profile(
            checked, taus, reps=reps, confidence_interval_size=level
        )


def normalise_per_task(scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map each task's scores onto [0, 1] by the lowest and highest score any run of any
    algorithm reached on it (a task where all runs scored alike maps to 0)."""
    stacked = np.concatenate([np.asarray(v, dtype=np.float64) for v in scores.values()])
    low, high = stacked.min(axis=0), stacked.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return {k: (np.asarray(v, dtype=np.float64) - low) / span for k, v in scores.items()}


# ------------------------------------------------------------------------------------------
# Levels on one learning curve: the first crossing and the held level
# ------------------------------------------------------------------------------------------
HELD_WINDOW = 5
"""How many consecutive evaluations a held level averages (as a run's score does)."""


@dataclass(frozen=True)
class LevelPoint:
    """The evaluation at which a learning curve first met a level.

    ``index`` is its row in the curve, ``env_steps`` its env step and ``value`` the greedy
    return there (first crossing) or the mean of the window that ends there (held level).
    """

    index: int
    env_steps: int
    value: float


def _curve(steps: Any, returns: Any, target: float) -> tuple[list[int], list[float]]:
    """Check a learning curve and a level; return the steps as ints and the returns as floats."""
    try:
        x = np.asarray(steps, dtype=np.float64)
        y = np.asarray(returns, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"steps and returns must be sequences of numbers: {err}") from None
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"steps and returns must be 1-D, got shapes {x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(
            f"steps and returns must have one length, got {len(x)} steps and {len(y)} returns"
        )
    if not np.isfinite(x).all() or (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("steps must be whole numbers of env steps, >= 0 and finite")
    if (np.diff(x) < 0).any():
        raise ValueError("steps must not decrease: one row per evaluation, in the order run")
    if np.isinf(y).any():
        raise ValueError("returns must be finite (NaN marks an evaluation with no value)")
    if isinstance(target, bool) or not isinstance(target, (int, float, np.integer, np.floating)):
        raise TypeError(f"target must be a number, got {type(target).__name__}")
    if not math.isfinite(target):
        raise ValueError(f"target must be finite, got {target}")
    return [int(v) for v in x], [float(v) for v in y]


def held_level(
    steps: Sequence[float] | np.ndarray,
    returns: Sequence[float] | np.ndarray,
    target: float,
    window: int = HELD_WINDOW,
) -> LevelPoint | None:
    """The first evaluation at which the mean of the last ``window`` evaluations is at or
    above ``target``: a level the team holds, not one lucky evaluation.

    ``steps`` and ``returns`` are one learning curve, one row per greedy evaluation in the
    order they were made (a history's ``env_steps`` and ``eval_return``). The point
    returned is the window's last evaluation, the first moment the level is known to be
    held; ``None`` if no window of ``window`` consecutive evaluations met it, also when the
    curve is shorter than the window. A NaN return is an evaluation with no value: it never
    meets a level, and no window that holds it does. The comparison is made on the sum of
    the differences to ``target`` (``math.fsum``), so evaluations exactly at the target hold
    it whatever the rounding of their mean.

    >>> steps, returns = [0, 10, 20, 30, 40, 50], [-60, -45, -58, -47, -48, -46]
    >>> first_crossing(steps, returns, -48.6)        # one noisy evaluation
    LevelPoint(index=1, env_steps=10, value=-45.0)
    >>> held_level(steps, returns, -48.6, window=3)  # -47, -48, -46: mean -47
    LevelPoint(index=5, env_steps=50, value=-47.0)
    >>> held_level(steps, returns, -48.6) is None    # no 5 in a row average -48.6
    True

    Raises ``ValueError`` when the lengths differ, the steps are not whole, non-negative
    and non-decreasing, a return is infinite, the target is not finite or ``window < 1``.
    """
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)):
        raise TypeError(f"window must be a whole number of evaluations, got {window!r}")
    if window < 1:
        raise ValueError(f"window must be at least 1 evaluation, got {window}")
    x, y = _curve(steps, returns, target)
    for end in range(window - 1, len(y)):
        values = y[end - window + 1 : end + 1]
        if any(math.isnan(v) for v in values):
            continue
        if math.fsum(v - target for v in values) >= 0.0:
            return LevelPoint(end, x[end], math.fsum(values) / window)
    return None


def first_crossing(
    steps: Sequence[float] | np.ndarray, returns: Sequence[float] | np.ndarray, target: float
) -> LevelPoint | None:
    """The first evaluation whose greedy return is at or above ``target`` (``None`` if none).

    One evaluation of a few episodes is noisy (16 episodes on ``simple_spread``: a standard
    error of about 3.5 return points), so a first crossing can be luck; ``held_level`` is
    the level kept. This is ``held_level`` with a window of one evaluation.

    >>> first_crossing([0, 10, 20], [-9.0, -5.0, -3.0], -5.0)
    LevelPoint(index=1, env_steps=10, value=-5.0)
    >>> first_crossing([0, 10], [float("nan"), -9.0], -5.0) is None
    True
    """
    return held_level(steps, returns, target, window=1)


# ------------------------------------------------------------------------------------------
# Reading runs
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunScore:
    """One run's place in a comparison and its score."""

    path: Path
    task: str
    algo: str  # the algorithm, with any swept settings: "qmix" or "qmix+agent=mlp"
    seed: int | None
    score: float
    env_steps: int
    finished: bool
    evaluations: int


def _read_history(path: Path) -> list[dict[str, float]]:
    with open(path, newline="") as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    if rows and "eval_return" not in rows[0]:
        raise ValueError(f"{path} has no eval_return column")
    return rows


def run_score(history: Sequence[dict[str, float]], last: int = LAST_EVALS) -> float:
    """Mean greedy return of the last ``last`` evaluations (NaN if none is finite)."""
    values = np.array([row["eval_return"] for row in history[-last:]], dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else math.nan


def _identify(run: Path) -> tuple[str, str, int | None, int | None]:
    """(task, algo, seed, total_steps) of a run directory."""
    total = None
    config: dict[str, Any] = {}
    if (run / "config.json").exists():
        config = json.loads((run / "config.json").read_text())
        total = config.get("total_steps")
    match = _SEED_DIR.match(run.name)
    if match and run.parent != run.parent.parent:
        # the stored layout: <task>/<algo>/seed<k>
        return run.parent.parent.name, run.parent.name, int(match.group(1)), total
    if config:
        task = config["env"]
        if config.get("env_kwargs"):
            task += json.dumps(config["env_kwargs"], sort_keys=True)
        return task, config["algo"], config.get("seed"), total
    raise ValueError(
        f"cannot tell the task and algorithm of {run}: it has no config.json and is not "
        "laid out as <task>/<algo>/seed<k>"
    )


def find_runs(paths: Sequence[str | Path]) -> list[Path]:
    """Every run directory (one holding history.csv) at or below ``paths``, each once.

    The same directory given twice, or reached through two paths (a symbolic link, a
    sweep and one of its runs), is counted once.
    """
    found: dict[Path, None] = {}
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise ValueError(f"{path} does not exist")
        if not path.is_dir():
            raise ValueError(f"{path} is not a directory (give run or sweep directories)")
        if (path / "history.csv").exists():
            found.setdefault(path.resolve(), None)
            continue
        below = sorted(p.parent for p in path.rglob("history.csv"))
        if not below:
            raise ValueError(f"{path} holds no run (no history.csv at or below it)")
        for run in below:
            found.setdefault(run.resolve(), None)
    return list(found)


def read_runs(paths: Sequence[str | Path], last: int = LAST_EVALS) -> list[RunScore]:
    """The score of every run at or below ``paths`` (see :func:`find_runs`)."""
    runs = []
    for run in find_runs(paths):
        history = _read_history(run / "history.csv")
        task, algo, seed, total = _identify(run)
        steps = int(history[-1]["env_steps"]) if history else 0
        runs.append(
            RunScore(
                path=run,
                task=task,
                algo=algo,
                seed=seed,
                score=run_score(history, last) if history else math.nan,
                env_steps=steps,
                finished=bool(history) and (total is None or steps >= total),
                evaluations=len(history),
            )
        )
    return runs


# ------------------------------------------------------------------------------------------
# The comparison
# ------------------------------------------------------------------------------------------
@dataclass
class GroupStats:
    """One algorithm on one task (or pooled over tasks)."""

    task: str
    algo: str
    n: int
    iqm: float
    low: float | None  # None with one run: no interval
    high: float | None
    scores: np.ndarray  # [runs] (or [runs, tasks] when pooled)
    seeds: list[int | None] = field(default_factory=list)


@dataclass(frozen=True)
class Contrast:
    """Two groups of one task that differ in one thing (``qmix`` against ``vdn``, or
    ``qmix+agent=rnn`` against ``qmix+agent=mlp``): their IQMs and whether their
    intervals are apart. With 5 seeds a difference counts only when they are."""

    task: str
    a: GroupStats
    b: GroupStats

    @property
    def difference(self) -> float:
        """IQM of ``a`` minus IQM of ``b``."""
        return self.a.iqm - self.b.iqm

    @property
    def overlap(self) -> float | None:
        """How far the two intervals overlap (0 when apart or touching; None without intervals)."""
        a, b = self.a, self.b
        if a.low is None or b.low is None or a.high is None or b.high is None:
            return None
        return max(0.0, min(a.high, b.high) - max(a.low, b.low))

    @property
    def verdict(self) -> str:
        """In words: which is higher, and whether that is established at this many runs."""
        overlap = self.overlap
        higher, lower = (self.a, self.b) if self.difference >= 0 else (self.b, self.a)
        if overlap is None:
            return "no interval (one run): not established"
        if self.difference == 0.0:
            return "equal IQMs"
        if overlap == 0.0 and higher.low == lower.high:
            return f"{higher.algo} higher by IQM, intervals touch: not established"
        if overlap == 0.0:
            return f"{higher.algo} higher, intervals apart"
        return f"{higher.algo} higher by IQM, intervals overlap by {overlap:.3g}: not established"


def _swap(name: str, a: str, b: str) -> str | None:
    """``name`` with its part ``a`` replaced by ``b`` (parts are split at '+'), or None."""
    parts = name.split("+")
    if a not in parts:
        return None
    parts[parts.index(a)] = b
    return "+".join(parts)


@dataclass
class Comparison:
    """What :func:`compare` found: per task and algorithm, and pooled if asked."""

    groups: list[GroupStats]
    profiles: dict[str, tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]]
    pooled: list[GroupStats] | None
    pooled_tasks: list[str]
    excluded: list[tuple[Path, str]]
    reps: int
    level: float
    last: int
    contrast_pairs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(g.task for g in self.groups))

    def contrasts(self, a: str, b: str) -> list[Contrast]:
        """``a`` against ``b`` on every task that has both: algorithm names (``"qmix"``,
        ``"vdn"``) or swept settings (``"agent=rnn"``, ``"agent=mlp"``). A group is paired
        with the one whose name has ``b`` where it has ``a``, everything else equal, so
        ``qmix`` against ``vdn`` pairs ``qmix+agent=rnn`` with ``vdn+agent=rnn``."""
        found = []
        for task in self.tasks:
            by_name = {g.algo: g for g in self.groups if g.task == task}
            for name, group in by_name.items():
                other = _swap(name, a, b)
                if other is not None and other in by_name:
                    found.append(Contrast(task, group, by_name[other]))
        return found

    def table(self) -> str:
        """The report as text (what ``qmix-tut compare`` prints)."""
        pct = f"{self.level:.0%}"
        lines = [
            f"score: mean greedy return of each run's last {self.last} evaluations; "
            f"IQM over runs with a {pct} stratified bootstrap interval ({self.reps} resamples, rliable)"
        ]
        for task in self.tasks:
            lines += ["", f"task {task}", _header(pct)]
            lines += [_row(g) for g in self.groups if g.task == task]
        if self.pooled is not None:
            lines += [
                "",
                f"POOLED over {len(self.pooled_tasks)} tasks ({', '.join(self.pooled_tasks)}): "
                "each task's scores normalised onto [0, 1] by the lowest and highest score on it, "
                "bootstrap stratified by task. Tasks differ; read the per-task tables first.",
                _header(pct),
            ]
            lines += [_row(g) for g in self.pooled]
        elif len(self.tasks) > 1:
            lines += [
                "",
                f"{len(self.tasks)} tasks, reported separately (pass --pool to pool them).",
            ]
        for a, b in self.contrast_pairs:
            lines += ["", f"{a} against {b} (IQM difference, and whether the intervals are apart)"]
            for c in self.contrasts(a, b):
                lines.append(
                    f"{c.task:<18}{c.a.algo + ' - ' + c.b.algo:<40}{c.difference:>+10.3f}   "
                    f"{c.verdict}"
                )
        for path, why in self.excluded:
            lines.append(f"left out {path}: {why}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        def group(g: GroupStats) -> dict[str, Any]:
            return {
                "task": g.task,
                "algo": g.algo,
                "n": g.n,
                "iqm": g.iqm,
                "low": g.low,
                "high": g.high,
                "seeds": g.seeds,
                "scores": np.asarray(g.scores).tolist(),
            }

        return {
            "score": f"mean eval_return of the last {self.last} evaluations",
            "interval": f"{self.level:.0%} stratified percentile bootstrap, {self.reps} resamples",
            "groups": [group(g) for g in self.groups],
            "pooled": None if self.pooled is None else [group(g) for g in self.pooled],
            "pooled_tasks": self.pooled_tasks,
            "excluded": [[str(p), why] for p, why in self.excluded],
            "contrasts": [
                {
                    "task": c.task,
                    "a": c.a.algo,
                    "b": c.b.algo,
                    "difference": c.difference,
                    "overlap": c.overlap,
                    "verdict": c.verdict,
                }
                for a, b in self.contrast_pairs
                for c in self.contrasts(a, b)
            ],
        }


def _header(pct: str) -> str:
    return f"{'algo':<22}{'runs':>5}{'IQM':>11}   {pct} interval"


def _row(g: GroupStats) -> str:
    if g.low is None:
        interval = "(n=1: no interval)"
    else:
        interval = f"[{g.low:9.3f}, {g.high:9.3f}]"
    return f"{g.algo:<22}{g.n:>5}{g.iqm:>11.3f}   {interval}"


def _algo_order(names: Sequence[str]) -> list[str]:
    from .algorithms import ALGOS

    def key(name: str) -> tuple[int, str]:
        base = name.split("+", 1)[0]
        return (ALGOS.index(base) if base in ALGOS else len(ALGOS), name)

    return sorted(set(names), key=key)


def _group(task: str, algo: str, scores: np.ndarray, seeds, reps, level, seed, pool=False):
    n = scores.shape[0]
    if n == 1:
        return GroupStats(task, algo, 1, float(np.mean(scores)), None, None, scores, seeds)
    point, (low, high) = iqm_interval(scores, reps=reps, level=level, seed=seed, pool=pool)
    return GroupStats(task, algo, n, point, low, high, scores, seeds)


def compare(
    paths: Sequence[str | Path],
    pool: bool = False,
    reps: int = DEFAULT_REPS,
    level: float = 0.95,
    last: int = LAST_EVALS,
    seed: int = 0,
    include_unfinished: bool = False,
    n_taus: int = 101,
    contrasts: Sequence[tuple[str, str]] = (),
) -> Comparison:
    """Compare runs per task and algorithm: IQM, interval and performance profile.

    paths: run directories, sweep directories, or the stored benchmark folder (each run
    counted once however often it is reached). Unfinished runs (fewer env steps than
    their config's ``total_steps``) are left out and listed, unless ``include_unfinished``.
    pool: also pool the tasks into one interval per algorithm (scores normalised per
    task; every algorithm needs the same number of runs on every task).
    contrasts: pairs ``(a, b)`` to set side by side on every task that has both (see
    :meth:`Comparison.contrasts`); a pair no task has is an error.
    """
    if last < 1:
        raise ValueError(f"last must be >= 1, got {last}")
    runs = read_runs(paths, last)
    excluded: list[tuple[Path, str]] = []
    kept: list[RunScore] = []
    for run in runs:
        if not math.isfinite(run.score):
            excluded.append((run.path, "no finite greedy return in its history"))
        elif not run.finished and not include_unfinished:
            excluded.append((run.path, f"unfinished ({run.env_steps} env steps)"))
        else:
            kept.append(run)
    if not kept:
        raise ValueError("no finished run with a finite greedy return to compare")

    by_task: dict[str, dict[str, list[RunScore]]] = {}
    for run in kept:
        by_task.setdefault(run.task, {}).setdefault(run.algo, []).append(run)
    groups: list[GroupStats] = []
    profiles = {}
    for task, algos in by_task.items():
        task_scores: dict[str, np.ndarray] = {}
        for algo in _algo_order(list(algos)):
            members = sorted(algos[algo], key=lambda r: (r.seed is None, r.seed or 0, str(r.path)))
            scores = np.array([r.score for r in members])
            task_scores[algo] = scores[:, None]
            groups.append(_group(task, algo, scores, [r.seed for r in members], reps, level, seed))
        everything = np.concatenate(list(task_scores.values())).ravel()
        taus = np.linspace(everything.min(), everything.max(), n_taus)
        prof, bands = performance_profile(task_scores, taus, reps=reps, level=level, seed=seed)
        profiles[task] = (taus, prof, bands)

    pooled = None
    tasks = list(by_task)
    if pool:
        pooled, pooled_profile = _pool(by_task, reps, level, seed, n_taus)
        profiles["pooled"] = pooled_profile
    comparison = Comparison(
        groups, profiles, pooled, tasks if pool else [], excluded, reps, level, last
    )
    for a, b in contrasts:
        if not comparison.contrasts(a, b):
            names = sorted({g.algo for g in groups})
            raise ValueError(
                f"no task has both {a!r} and {b!r} (groups differing only there); the groups "
                f"are {', '.join(names)}"
            )
        comparison.contrast_pairs.append((a, b))
    return comparison


def _pool(by_task, reps, level, seed, n_taus):
    tasks = list(by_task)
    algos = _algo_order([a for algos in by_task.values() for a in algos])
    matrices: dict[str, np.ndarray] = {}
    for algo in algos:
        counts = {t: len(by_task[t].get(algo, [])) for t in tasks}
        if len(set(counts.values())) != 1 or 0 in counts.values():
            raise ValueError(
                f"pooling needs every algorithm to have the same number of runs on every task; "
                f"{algo} has " + ", ".join(f"{n} on {t}" for t, n in counts.items())
            )
        columns = [
            np.array([r.score for r in sorted(by_task[t][algo], key=lambda r: r.seed or 0)])
            for t in tasks
        ]
        matrices[algo] = np.stack(columns, axis=1)
    normalised = normalise_per_task(matrices)
    pooled = [
        _group("pooled", algo, m, [], reps, level, seed, pool=True)
        for algo, m in normalised.items()
    ]
    taus = np.linspace(0.0, 1.0, n_taus)
    prof, bands = performance_profile(
        normalised, taus, reps=reps, level=level, seed=seed, pool=True
    )
    return pooled, (taus, prof, bands)


# ------------------------------------------------------------------------------------------
# The figure
# ------------------------------------------------------------------------------------------
def comparison_figure(comparison: Comparison):
    """One row per task (and one for the pooled result): the IQM of each algorithm with
    its interval (left) and the performance profile with its bands (right)."""
    from matplotlib.figure import Figure

    from .algorithms import label
    from .plotting import ALGO_COLORS, style

    rows = comparison.tasks + (["pooled"] if comparison.pooled is not None else [])
    cycle = ["#000000", "#999999", "#D55E00", "#CC79A7", "#F0E442"]
    with style():
        fig = Figure(figsize=(10, 2.9 * len(rows) + 0.4), layout="constrained")
        axes = np.atleast_2d(fig.subplots(len(rows), 2, width_ratios=(1, 1.3)))
        for row, task in enumerate(rows):
            ax_iqm, ax_prof = axes[row]
            groups = (
                comparison.pooled
                if task == "pooled"
                else [g for g in comparison.groups if g.task == task]
            )
            names = [g.algo for g in groups]

            def colour(name: str, i: int) -> str:
                base = name.split("+", 1)[0]
                return ALGO_COLORS.get(base, cycle[i % len(cycle)])

            def shown(name: str) -> str:
                base, _, rest = name.partition("+")
                return label(base) + (f" ({rest})" if rest else "")

            # variants of one algorithm (a swept setting: "qmix+agent=rnn", "qmix+agent=mlp")
            # share its colour; the second and later get dashed lines and open markers
            order: dict[str, int] = {}
            for name in names:
                base = name.split("+", 1)[0]
                order[name] = sum(n.split("+", 1)[0] == base for n in order)
            dashes = ["-", "--", ":", "-."]

            for i, g in enumerate(groups):
                c = colour(g.algo, i)
                face = c if order[g.algo] == 0 else "white"
                ax_iqm.scatter(
                    np.ravel(g.scores), [i] * np.size(g.scores), color=c, alpha=0.35, s=14
                )
                if g.low is not None:
                    ax_iqm.errorbar(g.iqm, i, xerr=[[g.iqm - g.low], [g.high - g.iqm]], fmt="o",
                                    color=c, mfc=face, capsize=4, markersize=6)  # fmt: skip
                else:
                    ax_iqm.plot(g.iqm, i, "o", color=c, mfc=face, markersize=6)
            ax_iqm.set_yticks(
                range(len(groups)),
                [f"{shown(n)}  n={g.n}" for n, g in zip(names, groups, strict=True)],
            )
            ax_iqm.set_ylim(len(groups) - 0.4, -0.6)  # first algorithm on top
            what = "normalised score" if task == "pooled" else "score"
            ax_iqm.set_xlabel(f"IQM {what}, {comparison.level:.0%} interval")
            ax_iqm.set_title(task if task != "pooled" else "pooled over tasks (normalised)")
            taus, prof, bands = comparison.profiles[task]
            for i, name in enumerate(names):
                c = colour(name, i)
                ax_prof.plot(taus, prof[name], color=c, label=shown(name),
                             linestyle=dashes[order[name] % len(dashes)])  # fmt: skip
                ax_prof.fill_between(taus, bands[name][0], bands[name][1], color=c, alpha=0.15,
                                     linewidth=0)  # fmt: skip
            ax_prof.set_xlabel(f"{what} threshold tau")
            ax_prof.set_ylabel("fraction of runs > tau")
            ax_prof.set_ylim(-0.02, 1.02)
            if len(names) > 6:  # a long legend goes beside the axes, not over the curves
                ax_prof.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
            else:
                ax_prof.legend(loc="best", fontsize="small")
    return fig


def write_comparison(comparison: Comparison, out: str | Path) -> list[Path]:
    """Write ``compare.txt``, ``compare.json`` and ``compare.png`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.txt").write_text(comparison.table() + "\n")
    (out / "compare.json").write_text(json.dumps(comparison.to_dict(), indent=2) + "\n")
    fig = comparison_figure(comparison)
    fig.savefig(out / "compare.png", dpi=110, bbox_inches="tight")
    return [out / "compare.txt", out / "compare.json", out / "compare.png"]
