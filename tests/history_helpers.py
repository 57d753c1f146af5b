"""Helpers shared by the tests that compare training histories."""

import math


def history_rows(history):
    """The rows of a history without ``wall_seconds``, the one column that may differ."""
    return [{k: v for k, v in row.items() if k != "wall_seconds"} for row in history]


def same_history(a, b) -> bool:
    """Every row and column but ``wall_seconds`` equal (NaN where NaN: the loss before
    learning)."""
    if len(a) != len(b):
        return False
    for x, y in zip(history_rows(a), history_rows(b), strict=True):
        for key in x:
            if not ((math.isnan(x[key]) and math.isnan(y[key])) or x[key] == y[key]):
                return False
    return True


def assert_same_history(a, b) -> None:
    """Assert :func:`same_history`, naming the first row and column that differ."""
    assert len(a) == len(b), (len(a), len(b))
    for x, y in zip(history_rows(a), history_rows(b), strict=True):
        for key in x:
            assert (math.isnan(x[key]) and math.isnan(y[key])) or x[key] == y[key], (key, x, y)
