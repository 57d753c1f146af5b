"""Exercises for notebook 10 (beyond monotonicity): relative overgeneralisation and the
optimistic weighting of Weighted QMIX.

>>> import torch
>>> check_ow_weights(lambda q_tot, y, alpha: torch.where(q_tot < y, 1.0, alpha))
PASS ow_weights: ...
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..envs.games import NAMED_MATRIX_GAMES
from ._common import fail, report_pass

__all__ = ["check_expected_payoff", "check_ow_weights", "check_weighted_td_loss"]


def check_expected_payoff(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> bool:
    """``fn(payoff[A, A], partner_policy[A]) -> values[A]``: what each of agent 1's actions
    earns on average when agent 2 plays ``partner_policy`` (a probability per action)."""
    name = "expected_payoff"
    rng = np.random.default_rng(8)
    qtran = np.array(NAMED_MATRIX_GAMES["qtran"](), dtype=np.float64)
    cases = [(qtran, np.full(3, 1 / 3)), (qtran, np.array([0.8, 0.1, 0.1]))]
    for a in (2, 3, 4):
        policy = rng.random(a)
        cases.append((np.round(rng.normal(size=(a, a)) * 5, 1), policy / policy.sum()))
    for payoff, policy in cases:
        expected = payoff @ policy
        got = np.asarray(fn(payoff.copy(), policy.copy()), dtype=np.float64)
        if got.shape != expected.shape:
            raise fail(
                name,
                f"returned shape {got.shape}, expected {expected.shape}",
                "one value per action of agent 1 (the rows).",
            )
        if np.allclose(got, expected, atol=1e-9):
            continue
        if np.allclose(got, policy @ payoff, atol=1e-9):
            hint = "rows are agent 1's actions: average each row over the partner's policy."
        elif np.allclose(got, payoff.mean(axis=1), atol=1e-9):
            hint = "weight each column by the partner's probability of playing it, not equally."
        elif np.allclose(got, payoff.max(axis=1), atol=1e-9):
            hint = "that is the best case (an optimistic learner's view); average instead."
        else:
            hint = "values[i] = sum_j payoff[i, j] * partner_policy[j]."
        raise fail(name, f"wrong values for payoff\n{payoff}\nand policy {policy}", hint)
    return report_pass(name, f"{len(cases)} games, QTRAN's among them")


def _random_td(gen: torch.Generator, shape: tuple[int, ...]):
    q_tot = torch.randn(shape, generator=gen) * 3
    targets = torch.randn(shape, generator=gen) * 3
    targets.view(-1)[0] = q_tot.view(-1)[0]  # a tie: QMIX is exactly right there
    return q_tot, targets


def check_ow_weights(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> bool:
    """``fn(q_tot, targets, alpha) -> weights``: 1 where Q_tot underestimates its target
    (``q_tot < targets``), ``alpha`` everywhere else (ties included)."""
    name = "ow_weights"
    gen = torch.Generator().manual_seed(9)
    for shape, alpha in [((8, 1, 1), 0.1), ((4, 5, 1), 0.5), ((16,), 0.01)]:
        q_tot, targets = _random_td(gen, shape)
        expected = torch.where(q_tot < targets, torch.ones(()), torch.tensor(alpha))
        got = fn(q_tot.clone(), targets.clone(), alpha)
        if not isinstance(got, torch.Tensor):
            got = torch.as_tensor(got)
        if got.shape != expected.shape:
            raise fail(
                name,
                f"returned shape {tuple(got.shape)}, expected {tuple(expected.shape)}",
                "one weight per transition, the shape of q_tot.",
            )
        got = got.float()
        if torch.allclose(got, expected):
            continue
        flipped = torch.where(q_tot > targets, torch.ones(()), torch.tensor(alpha))
        if torch.allclose(got, flipped):
            hint = (
                "the weighting is optimistic: full weight where Q_tot is BELOW its target "
                "(a joint action that may be better than it looks), alpha where it is above."
            )
        elif torch.allclose(
            got, torch.where(q_tot <= targets, torch.ones(()), torch.tensor(alpha))
        ):
            hint = "a tie (q_tot == target) is not an underestimate: it gets alpha."
        else:
            hint = "weights = 1 where q_tot < targets, else alpha."
        raise fail(name, f"wrong weights for shape {shape}, alpha {alpha}", hint)
    return report_pass(name, "3 batches, ties included")


def check_weighted_td_loss(fn: Callable) -> bool:
    """``fn(q_tot, targets, mask, alpha) -> loss``: the optimistically weighted, masked mean
    squared TD error ``sum(w * m * (q_tot - y)^2) / sum(m)``; the targets carry no gradient."""
    name = "weighted_td_loss"
    gen = torch.Generator().manual_seed(10)
    for shape, alpha in [((8, 1, 1), 0.1), ((6, 4, 1), 0.3)]:
        q_tot, targets = _random_td(gen, shape)
        mask = (torch.rand(shape, generator=gen) < 0.7).float()
        mask.view(-1)[:2] = 1.0
        w = torch.where(q_tot < targets, torch.ones(()), torch.tensor(alpha))
        expected = (w * mask * (q_tot - targets) ** 2).sum() / mask.sum()
        q_in = q_tot.clone().requires_grad_(True)
        y_in = targets.clone().requires_grad_(True)
        got = fn(q_in, y_in, mask.clone(), alpha)
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            raise fail(name, f"returned {got!r}", "return the loss as a one-element tensor.")
        if not torch.allclose(got.detach().reshape(()), expected, atol=1e-5):
            sq = (q_tot - targets) ** 2
            candidates = {
                "unweighted": (mask * sq).sum() / mask.sum(),
                "no_mask": (w * sq).mean(),
                "mean_all": (w * mask * sq).mean(),
                "weights_sum": (w * mask * sq).sum() / (w * mask).sum(),
            }
            hints = {
                "unweighted": "multiply each squared error by its weight (1 or alpha).",
                "no_mask": "padded steps must not count: multiply by the mask.",
                "mean_all": "divide by the number of real steps, mask.sum(), not by all entries.",
                "weights_sum": "divide by mask.sum(), as QMIX's loss does, not by the weights' sum.",
            }
            hint = "loss = sum(w * mask * (q_tot - targets)**2) / mask.sum()."
            for key, value in candidates.items():
                if torch.allclose(got.detach().reshape(()), value, atol=1e-5):
                    hint = hints[key]
                    break
            raise fail(name, f"got {float(got.detach()):.4f}, expected {float(expected):.4f}", hint)
        got.backward()
        if y_in.grad is not None and y_in.grad.abs().sum() > 0:
            raise fail(
                name,
                "the loss sends gradient into the targets",
                "targets come from the target network: use targets.detach() (or no_grad).",
            )
        if q_in.grad is None:
            raise fail(name, "no gradient reaches q_tot", "compute the loss from q_tot itself.")
    return report_pass(name, "2 batches, masked steps and gradient flow checked")
