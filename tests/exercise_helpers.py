"""Helpers shared by the exercise-checker tests."""

import pytest

from qmix_tut.exercises import ExerciseFailed


def fails_with(checker, fn, *fragments):
    """``checker(fn)`` raises ExerciseFailed whose message holds every fragment and a hint."""
    with pytest.raises(ExerciseFailed) as info:
        checker(fn)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "Hint:" in message
