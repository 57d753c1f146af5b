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
from ._common import array_like, fail, report_pass, scalar_like, tensor_like

__all__ = sorted(
    [
        "check_expected_payoff",
        "check_ow_weights",
        "check_weighted_td_loss",
        "check_optimism_needed",
        "check_cw_weights",
    ]
)


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
        got = array_like(
            name,
            fn(payoff.copy(), policy.copy()),
            expected,
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
        got = tensor_like(name, got, expected, "one weight per transition, the shape of q_tot.")
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
        value = scalar_like(name, got, "return the loss as a one-element tensor.").detach()
        if not torch.allclose(value, expected, atol=1e-5):
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


def _optimism_needed(payoff: np.ndarray, o: int) -> float:
    others = [j for j in range(payoff.shape[1]) if j != o]
    low, high = 0.0, 1.0
    for i in range(payoff.shape[0]):
        if i == o:
            continue
        a = payoff[o, o] - payoff[i, o]  # the advantage of o when the partner plays o
        b = float(np.mean(payoff[o, others] - payoff[i, others]))  # ... when it plays the rest
        if a >= 0 and b >= 0:
            continue
        if a < 0 and b < 0:
            return float("nan")
        cross = b / (b - a)  # where p a + (1 - p) b = 0
        if a < 0:
            high = min(high, cross)  # only p up to here keep o a best reply against row i
        else:
            low = max(low, cross)
    return low if low <= high + 1e-12 else float("nan")


def check_optimism_needed(fn: Callable[[np.ndarray, int], float]) -> bool:
    """``fn(payoff, action)`` returns the smallest probability ``p`` with which agent 2 must
    play ``action`` (spreading the rest uniformly over its other actions) for agent 1's own
    ``action`` to be a best reply, i.e. to earn at least as much on average as any other
    row; ``nan`` if no ``p`` in [0, 1] does it."""
    name = "optimism_needed"
    games = {
        "climbing": np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]]),
        "qtran": np.array([[8.0, -12.0, -12.0], [-12.0, 0.0, 0.0], [-12.0, 0.0, 0.0]]),
        "penalty": np.array([[-100.0, 0.0, 10.0], [0.0, 2.0, 0.0], [10.0, 0.0, -100.0]]),
        "dominant": np.array([[5.0, 4.0], [1.0, 0.0]]),
    }
    cases = [
        ("climbing", 0),
        ("qtran", 0),
        ("penalty", 2),
        ("penalty", 1),
        ("dominant", 0),
        ("dominant", 1),
    ]
    for game, action in cases:
        payoff = games[game]
        expected = _optimism_needed(payoff, action)
        got = float(fn(payoff.copy(), action))
        if (np.isnan(expected) and np.isnan(got)) or abs(got - expected) < 1e-4:
            continue
        seen = f"{game} {payoff.tolist()}, action {action}: got {got:.4g}, expected {expected:.4g}"
        if np.isnan(expected):
            hint = "here no probability makes the action a best reply: return nan."
        elif abs(expected) < 1e-12:
            hint = "this action is a best reply whatever the partner does: p = 0."
        else:
            hint = "E_i(p) = p * payoff[i, a] + (1 - p) * mean of payoff[i, others]; find the smallest p with E_a(p) >= E_i(p) for every row i (each condition is linear in p)."
        raise fail(name, seen, hint)
    return report_pass(
        name, f"{len(cases)} cases: climbing's A needs p >= 0.61, QTRAN's A p >= 0.375"
    )


def check_cw_weights(fn: Callable[[np.ndarray, np.ndarray, float], np.ndarray]) -> bool:
    """``fn(q_tot, payoff, alpha)`` returns central weights for a one-step game, where the
    true value of a joint action is its payoff: 1 for the current greedy joint action
    (the argmax of ``q_tot``) and for every joint action whose payoff beats that greedy
    action's payoff; ``alpha`` elsewhere."""
    name = "cw_weights"
    rng = np.random.default_rng(21)
    qtran = np.array([[8.0, -12.0, -12.0], [-12.0, 0.0, 0.0], [-12.0, 0.0, 0.0]])
    cases = [
        (rng.normal(size=(3, 3)), np.round(rng.normal(size=(3, 3)) * 3, 1), a) for a in (0.1, 0.5)
    ]
    cases.append((np.array([[-7.8, -7.8, -7.8], [-7.8, 0.2, 0.3], [-7.8, 0.2, 0.2]]), qtran, 0.1))
    for q_tot, payoff, alpha in cases:
        greedy = np.unravel_index(np.argmax(q_tot), q_tot.shape)
        expected = np.where(payoff > payoff[greedy], 1.0, alpha)
        expected[greedy] = 1.0
        got = array_like(
            name, fn(q_tot.copy(), payoff.copy(), alpha), q_tot, "one weight per joint action."
        )
        if np.allclose(got, expected):
            continue
        seen = f"q_tot {np.round(q_tot, 2).tolist()}, payoff {payoff.tolist()}, alpha {alpha}"
        if np.allclose(got, np.where(payoff > payoff[greedy], 1.0, alpha)):
            hint = "the greedy joint action itself always gets full weight."
        elif np.allclose(got, np.where(q_tot < payoff, 1.0, alpha)):
            hint = "that is the optimistic weighting; the central one compares each payoff with the payoff of Q_tot's greedy joint action."
        else:
            hint = "w(u) = 1 if payoff[u] > payoff[argmax q_tot] or u is that argmax, else alpha."
        raise fail(name, seen, hint)
    return report_pass(name, f"{len(cases)} tables, QTRAN's game included")
