"""What every exercise checker shares: one failure type, one way to report a pass, and
the check that an answer is a tensor of the right shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
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


Hint = str | Callable[[tuple[int, ...]], str]
"""A hint, or a function of the shape the answer had that picks the hint."""


def _shape_problem(got: tuple[int, ...], expected: tuple[int, ...], given: str) -> str:
    if given:
        return f"{given} gave shape {got}, expected {expected}"
    return f"returned shape {got}, expected {expected}"


def tensor_like(
    name: str,
    got: Any,
    expected: torch.Tensor | tuple[int, ...],
    hint: Hint,
    given: str = "",
    type_hint: str = "return a torch.Tensor.",
) -> torch.Tensor:
    """Return ``got`` if it is a tensor shaped like ``expected`` (a tensor or a shape);
    else raise with ``hint``. ``given`` names the input in the message ("agent_qs (2, 3)")."""
    if not isinstance(got, torch.Tensor):
        raise fail(name, f"returned {type(got).__name__}", type_hint)
    want = tuple(expected.shape if isinstance(expected, torch.Tensor) else expected)
    if tuple(got.shape) != want:
        shape = tuple(got.shape)
        raise fail(
            name, _shape_problem(shape, want, given), hint(shape) if callable(hint) else hint
        )
    return got


def array_like(
    name: str, got: Any, expected: np.ndarray | tuple[int, ...], hint: Hint, given: str = ""
) -> np.ndarray:
    """``got`` as a float64 array if it has ``expected``'s shape; else raise with ``hint``."""
    if got is None:
        raise fail(name, "returned None", "return the result (an array), not only print it.")
    array = np.asarray(got, dtype=np.float64)
    want = tuple(expected.shape if isinstance(expected, np.ndarray) else expected)
    if array.shape != want:
        shape = tuple(array.shape)
        raise fail(
            name, _shape_problem(shape, want, given), hint(shape) if callable(hint) else hint
        )
    return array


def scalar_like(
    name: str, got: Any, hint: str = "return one number (a one-element tensor)."
) -> torch.Tensor:
    """``got`` as a 0-d tensor if it is a one-element tensor; else raise with ``hint``."""
    if not isinstance(got, torch.Tensor):
        raise fail(name, f"returned {type(got).__name__}", "return a torch.Tensor.")
    if got.numel() != 1:
        raise fail(name, f"returned shape {tuple(got.shape)}", hint)
    return got.reshape(())
