"""What every exercise checker shares: one failure type and one way to report a pass."""

from __future__ import annotations


class ExerciseFailed(AssertionError):
    """Your answer differs from the reference; the message says how, with a hint."""


def report_pass(name: str, detail: str = "") -> bool:
    """Print a short pass line and return True (so a checker can be used in an assert)."""
    print(f"PASS {name}" + (f": {detail}" if detail else ""))
    return True


def fail(name: str, problem: str, hint: str) -> ExerciseFailed:
    """Build the error a checker raises: what went wrong, then a hint."""
    return ExerciseFailed(f"{name}: {problem}\nHint: {hint}")
