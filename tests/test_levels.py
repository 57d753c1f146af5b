"""The two levels a learning curve is timed to: the first crossing and the held level."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qmix_tut.stats import HELD_WINDOW, LevelPoint, first_crossing, held_level

STEPS = [0, 2500, 5000, 7500, 10000, 12500, 15000, 17500]


def test_a_crossing_that_is_not_held():
    # one lucky evaluation at -45 among ones near -55: crossed, never held
    returns = [-80, -60, -45, -55, -56, -54, -57, -55]
    assert first_crossing(STEPS, returns, -48.6) == LevelPoint(2, 5000, -45.0)
    assert held_level(STEPS, returns, -48.6) is None
    assert held_level(STEPS, returns, -48.6, window=2) is None


def test_a_held_level_is_timed_at_the_end_of_its_window():
    returns = [-80, -47, -60, -48, -47, -48, -49, -46]
    assert first_crossing(STEPS, returns, -48.6).env_steps == 2500
    held = held_level(STEPS, returns, -48.6)
    # -48, -47, -48, -49, -46 (mean -47.6) ends at index 7; the window before it
    # (-60, -48, -47, -48, -49: mean -50.4) does not hold the level
    assert held == LevelPoint(7, 17500, pytest.approx(-47.6))
    assert held_level(STEPS, returns, -48.6, window=3) == LevelPoint(
        5, 12500, pytest.approx(-47 - 2 / 3)
    )


def test_a_level_never_reached():
    returns = [-80, -70, -60, -55, -52, -51, -50, -49]
    assert first_crossing(STEPS, returns, -48.6) is None
    assert held_level(STEPS, returns, -48.6) is None


@pytest.mark.parametrize("target", [-48.6, 0.9, 8.0, 0.1 + 0.2])
def test_exactly_at_the_target_meets_it(target):
    returns = [target - 5.0] + [target] * 5
    assert first_crossing(STEPS[:6], returns, target).index == 1
    held = held_level(STEPS[:6], returns, target)
    assert held is not None and held.index == 5
    # one evaluation a hair below the target breaks the window
    returns[3] = np.nextafter(target, -math.inf)
    assert held_level(STEPS[:6], returns, target) is None


def test_a_window_longer_than_the_curve_is_never_held():
    returns = [9.0, 9.0, 9.0]
    assert held_level(STEPS[:3], returns, 8.0) is None
    assert held_level(STEPS[:3], returns, 8.0, window=3).index == 2
    assert first_crossing([], [], 8.0) is None and held_level([], [], 8.0) is None


def test_the_default_window_is_five_evaluations():
    assert HELD_WINDOW == 5
    returns = [8.0] * 4 + [0.0] + [8.0] * 5
    steps = list(range(0, 10_000, 1000))
    assert held_level(steps, returns, 8.0) == LevelPoint(9, 9000, 8.0)


def test_a_missing_evaluation_counts_as_not_reached():
    nan = math.nan
    returns = [nan, -40, -40, nan, -40, -40, -40, -40]
    assert first_crossing(STEPS, returns, -48.6).index == 1
    # every window of five that holds the NaN at index 3 is skipped
    assert held_level(STEPS, returns, -48.6) is None
    assert held_level(STEPS, returns, -48.6, window=4).index == 7


def test_arrays_and_float_steps_from_a_history_file():
    steps = np.array(STEPS, dtype=np.float64)  # read_history_csv gives floats
    returns = np.array([-90.0, -40, -40, -40, -40, -40, -40, -40])
    held = held_level(steps, returns, -48.6)
    assert held == LevelPoint(5, 12500, -40.0) and isinstance(held.env_steps, int)


@pytest.mark.parametrize(
    ("steps", "returns", "target", "window", "error", "match"),
    [
        ([0, 1, 2], [1.0, 2.0], 1.0, 5, ValueError, "3 steps and 2 returns"),
        ([0, 1], [1.0, 2.0], 1.0, 0, ValueError, "window must be at least 1"),
        ([0, 1], [1.0, 2.0], 1.0, -3, ValueError, "window must be at least 1"),
        ([0, 1], [1.0, 2.0], 1.0, 2.5, TypeError, "window must be a whole number"),
        ([0, 1], [1.0, 2.0], 1.0, True, TypeError, "window must be a whole number"),
        ([[0, 1]], [[1.0, 2.0]], 1.0, 1, ValueError, r"1-D, got shapes \(1, 2\)"),
        ([0, 2, 1], [1.0, 2.0, 3.0], 1.0, 1, ValueError, "steps must not decrease"),
        ([0, 1.5], [1.0, 2.0], 1.0, 1, ValueError, "whole numbers"),
        ([-1, 1], [1.0, 2.0], 1.0, 1, ValueError, ">= 0"),
        ([0, math.nan], [1.0, 2.0], 1.0, 1, ValueError, "finite"),
        ([0, 1], [1.0, math.inf], 1.0, 1, ValueError, "returns must be finite"),
        ([0, 1], [1.0, 2.0], math.nan, 1, ValueError, "target must be finite"),
        ([0, 1], [1.0, 2.0], "high", 1, TypeError, "target must be a number"),
        ([0, 1], ["a", "b"], 1.0, 1, TypeError, "sequences of numbers"),
    ],
)
def test_bad_input_is_named(steps, returns, target, window, error, match):
    with pytest.raises(error, match=match):
        held_level(steps, returns, target, window=window)


def test_first_crossing_checks_its_input_too():
    with pytest.raises(ValueError, match="one length"):
        first_crossing([0, 1], [1.0], 0.0)


def _brute_force(returns, target, window):
    """Every window's plain mean against the target, in exact rational arithmetic."""
    from fractions import Fraction

    for end in range(window - 1, len(returns)):
        values = returns[end - window + 1 : end + 1]
        if not any(math.isnan(v) for v in values):
            if sum(Fraction(v) for v in values) >= window * Fraction(target):
                return end
    return None


@given(
    st.lists(
        st.one_of(st.floats(-100, 100, allow_nan=False), st.just(math.nan)),
        max_size=20,
    ),
    st.floats(-100, 100),
    st.integers(1, 7),
)
def test_held_level_agrees_with_exact_arithmetic(returns, target, window):
    steps = [1000 * i for i in range(len(returns))]
    found = held_level(steps, returns, target, window)
    expected = _brute_force(returns, target, window)
    assert (found.index if found else None) == expected
    if found is not None:
        assert found.env_steps == steps[found.index]
    # a held level is never before the first crossing
    crossed = first_crossing(steps, returns, target)
    if found is not None:
        assert crossed is not None and crossed.index <= found.index
