"""Exercises for notebook 09 (the experiment lab): reading a mixer surface and a learning curve.

>>> import numpy as np
>>> check_min_slopes(lambda g, h: (np.diff(g, axis=0).min() / h, np.diff(g, axis=1).min() / h))
PASS min_slopes: ...
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ._common import fail, report_pass

__all__ = ["check_min_slopes", "check_steps_to_target"]


def check_min_slopes(fn: Callable[[np.ndarray, float], tuple[float, float]]) -> bool:
    """``fn(q_tot[n, n], spacing) -> (slope_1, slope_2)``: the smallest finite-difference
    slope of a grid of Q_tot values along agent 1's axis (rows) and agent 2's (columns);
    both are >= 0 exactly when the grid is non-decreasing in both agents' values."""
    name = "min_slopes"
    rng = np.random.default_rng(6)
    q = np.linspace(-2.0, 2.0, 9)
    q1, q2 = np.meshgrid(q, q, indexing="ij")
    grids = [
        (np.log1p(np.exp(q1)) + 0.5 * q2, q[1] - q[0]),  # monotonic in both
        (q1 - 2.0 * q2, q[1] - q[0]),  # decreasing in agent 2
        (q1 * q2, q[1] - q[0]),  # not monotonic
        (np.cumsum(np.cumsum(rng.random((6, 6)), 0), 1), 0.25),
    ]
    for grid, spacing in grids:
        expected = (
            float(np.diff(grid, axis=0).min() / spacing),
            float(np.diff(grid, axis=1).min() / spacing),
        )
        got = fn(grid.copy(), spacing)
        try:
            got = tuple(float(v) for v in got)
        except (TypeError, ValueError):
            raise fail(
                name, f"returned {got!r}", "return two numbers: (slope_1, slope_2)."
            ) from None
        if len(got) == 2 and np.allclose(got, expected, atol=1e-9):
            continue
        if len(got) != 2:
            hint = "return two numbers, one per agent."
        elif np.allclose(got, expected[::-1], atol=1e-9):
            hint = "agent 1 runs down the rows (axis 0), agent 2 along the columns (axis 1)."
        elif np.allclose(np.array(got) / spacing, expected, atol=1e-9) or np.allclose(
            got, np.array(expected) * spacing, atol=1e-9
        ):
            hint = "a slope is a difference divided by the grid spacing."
        elif np.allclose(
            got,
            (np.diff(grid, axis=0).max() / spacing, np.diff(grid, axis=1).max() / spacing),
            atol=1e-9,
        ):
            hint = "monotonicity needs the smallest slope to be >= 0: take the min, not the max."
        else:
            hint = "np.diff(q_tot, axis=0).min() / spacing, and the same along axis 1."
        raise fail(name, f"grid of shape {grid.shape}: got {got}, expected {expected}", hint)
    return report_pass(name, f"{len(grids)} grids, monotonic and not")


def _reference_steps_to_target(steps: np.ndarray, returns: np.ndarray, target: float) -> float:
    good = returns >= target
    if not good[-1]:
        return math.nan
    bad = np.flatnonzero(~good)
    return float(steps[bad[-1] + 1] if len(bad) else steps[0])


def check_steps_to_target(fn: Callable[[Sequence[float], Sequence[float], float], float]) -> bool:
    """``fn(steps, returns, target) -> step``: the first logged step from which the greedy
    return stays at or above ``target`` to the end of the run; ``nan`` if the run ends
    below it."""
    name = "steps_to_target"
    rng = np.random.default_rng(7)
    steps = np.arange(0, 5250, 250, dtype=np.float64)
    cases = [
        np.r_[np.full(4, 7.0), np.full(len(steps) - 4, 8.0)],  # learns once, stays
        np.r_[7.0, 8.0, 8.0, 7.0, 7.0, np.full(len(steps) - 5, 8.0)],  # a relapse
        np.full(len(steps), 8.0),  # optimal from the first evaluation
        np.r_[np.full(len(steps) - 1, 8.0), 7.0],  # ends below the target
        np.full(len(steps), 7.0),  # never
    ]
    cases += [np.where(rng.random(len(steps)) < 0.7, 8.0, 7.0) for _ in range(5)]
    for returns in cases:
        expected = _reference_steps_to_target(steps, returns, 8.0)
        got = fn(steps.copy(), returns.copy(), 8.0)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise fail(name, f"returned {got!r}", "return one number (a step) or nan.") from None
        if (math.isnan(expected) and math.isnan(got)) or got == expected:
            continue
        shown = ", ".join(f"{r:g}" for r in returns)
        first = np.flatnonzero(returns >= 8.0)
        if math.isnan(expected):
            hint = "a run that ends below the target never stays there: return nan."
        elif len(first) and got == steps[first[0]]:
            hint = (
                "that is the first time the target is reached; the return can fall back. "
                "Look for the step after the last evaluation below the target."
            )
        elif len(np.flatnonzero(returns < 8.0)) and got == steps[np.flatnonzero(returns < 8.0)[-1]]:
            hint = "you found the last step below the target; the answer is the step after it."
        else:
            hint = "scan from the end backwards while the return is at the target."
        raise fail(name, f"returns [{shown}]: got {got}, expected {expected}", hint)
    return report_pass(name, f"{len(cases)} learning curves, relapses and failures included")
