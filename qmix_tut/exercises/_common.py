"""What every exercise checker shares: one failure type, one way to report a pass, and
the check that an answer is a tensor of the right shape."""

from __future__ import annotations

from typing import Any

import torch


class ExerciseFailed(AssertionError):
    """Your answer differs from the reference; the message says how, with a hint."""


def report_pass(name: str, detail: str = "") -> bool:
    """Print a short pass line and return True (so a checker can be used in an assert)."""
    print(f"PASS {name}" + (f": {detail}" if detail else ""))
    return True


def fail(name: str, problem: str, hint: str) -> ExerciseFailed:
    """Build the error a checker raises: what went wrong, then a hint."""
    return ExerciseFailed(f"{name}: {problem}\nHint: {hint}")


def tensor_like(name: str, got: Any, expected: torch.Tensor, hint: str) -> torch.Tensor:
    """Return ``got`` if it is a tensor shaped like ``expected``; else raise, with ``hint``."""
    if not isinstance(got, torch.Tensor):
        raise fail(name, f"returned {type(got).__name__}", "return a torch.Tensor.")
    if got.shape != expected.shape:
        raise fail(
            name, f"returned shape {tuple(got.shape)}, expected {tuple(expected.shape)}", hint
        )
    return got
