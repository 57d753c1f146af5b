"""Exercises for notebook 01 (independent Q-learning).

>>> check_iql_update(lambda q, action, reward, alpha: q + alpha * (reward - q) * (
...     np.arange(len(q)) == action))
PASS iql_update: ...
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..agents import build_inputs
from ._common import array_like, fail, report_pass, tensor_like

__all__ = sorted(
    [
        "check_add_agent_ids",
        "check_independent_values",
        "check_iql_update",
        "check_pure_equilibria",
        "check_partner_values",
    ]
)


def check_iql_update(fn: Callable[[np.ndarray, int, float, float], np.ndarray]) -> bool:
    """``fn(q, action, reward, alpha)`` returns an agent's table after one one-step update.

    ``q`` is one agent's table ``[n_actions]``; only the entry of the action taken moves,
    toward the reward, by the fraction ``alpha`` of the gap (a one-step game has no next
    state, so the target is the reward).
    """
    name = "iql_update"
    rng = np.random.default_rng(0)
    for _ in range(20):
        n_actions = int(rng.integers(2, 6))
        q = rng.normal(size=n_actions) * 3
        action = int(rng.integers(n_actions))
        reward = float(rng.normal() * 5)
        alpha = float(rng.uniform(0.05, 0.9))
        expected = q.copy()
        expected[action] += alpha * (reward - q[action])
        original = q.copy()
        got = fn(q.copy(), action, reward, alpha)
        if got is None:
            raise fail(
                name,
                "returned None",
                "return the updated table (a changed copy, or the same array after changing it).",
            )
        got = array_like(
            name, got, expected, "return the whole table of this agent, one value per action."
        )
        if np.allclose(got, expected):
            continue
        seen = f"q={np.round(original, 3)}, action={action}, reward={reward:.3f}, alpha={alpha:.3f}"
        others = np.arange(n_actions) != action
        if not np.allclose(got[others], original[others]):
            hint = (
                "only the action that was played gets new information; leave the other "
                "entries as they were."
            )
        elif np.isclose(got[action], original[action] + alpha * reward):
            hint = "move by alpha times the error (reward - q[action]), not by alpha * reward."
        elif np.isclose(got[action], reward):
            hint = "this jumps straight to the reward; move only a fraction alpha of the way."
        else:
            hint = "q[action] <- q[action] + alpha * (reward - q[action])."
        raise fail(name, f"wrong table for {seen}", hint)
    return report_pass(name, "20 random updates")


def check_independent_values(fn: Callable[[np.ndarray], np.ndarray]) -> bool:
    """``fn(payoff)`` returns ``[2, n_actions]``: what each of two independent learners'
    values converge to when the other agent picks its actions uniformly at random.

    Rows of ``payoff`` are agent 1's actions, columns agent 2's.
    """
    name = "independent_values"
    rng = np.random.default_rng(1)
    payoffs = [np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]])]
    payoffs += [rng.normal(size=(a, a)).round(2) * 10 for a in (2, 3, 4)]
    for payoff in payoffs:
        expected = np.stack([payoff.mean(axis=1), payoff.mean(axis=0)])
        got = array_like(
            name,
            fn(payoff.copy()),
            expected,
            "one row per agent, one column per action: np.stack([agent_1, agent_2]).",
            given=f"a {payoff.shape} payoff",
        )
        if np.allclose(got, expected):
            continue
        if np.allclose(got, expected[::-1]):
            hint = (
                "the two agents are swapped: agent 1 chooses the row, so its value averages "
                "each row over the columns (axis=1)."
            )
        elif np.allclose(got[0], expected[0]) and np.allclose(got[1], expected[0]):
            hint = "agent 2 chooses the column; average each column over the rows (axis=0)."
        elif np.allclose(got, np.stack([payoff.max(axis=1), payoff.max(axis=0)])):
            hint = (
                "that is the optimist's value, assuming the partner plays its best reply; a "
                "partner choosing uniformly at random gives the average."
            )
        else:
            hint = "agent 1's value of row i is the mean of payoff[i, :]; agent 2's of column j the mean of payoff[:, j]."
        raise fail(name, f"wrong values for the payoff\n{payoff}", hint)
    return report_pass(name, f"{len(payoffs)} payoffs, climbing included")


def check_add_agent_ids(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """``fn(obs)`` appends each agent's one-hot id: ``[..., n, d] -> [..., n, d + n]``."""
    name = "add_agent_ids"
    gen = torch.Generator().manual_seed(2)
    for shape in [(2, 3), (3, 4), (5, 2, 6), (4, 3, 3, 1)]:
        obs = torch.randn(shape, generator=gen)
        expected = build_inputs(obs, None, agent_id=True)
        n = shape[-2]

        def hint(got_shape: tuple[int, ...], n: int = n, width: int = shape[-1]) -> str:
            if got_shape[-1:] == (width + 1,):
                return (
                    "the id is one-hot, n_agents columns, not one column holding the index: "
                    "an index would tell the network that agent 2 is 'twice' agent 1."
                )
            return f"append n_agents = {n} columns (one-hot of the agent's index) to the last axis."

        got = tensor_like(name, fn(obs.clone()), expected, hint, given=f"obs {tuple(shape)}")
        if torch.allclose(got, expected):
            continue
        ids_first = torch.cat([expected[..., shape[-1] :], expected[..., : shape[-1]]], dim=-1)
        if torch.allclose(got, ids_first):
            hint = "put the id after the observation: torch.cat([obs, ids], dim=-1)."
        elif torch.allclose(got[..., : shape[-1]], obs):
            hint = (
                "the observation part is right; row i of the id block must be the i-th row of "
                "torch.eye(n_agents), the same for every leading index (use expand)."
            )
        else:
            hint = "keep the observation as it is and append the one-hot id after it."
        raise fail(name, f"wrong values for obs of shape {tuple(shape)}", hint)
    return report_pass(name, "4 shapes, with and without leading batch axes")


def _pure_equilibria(payoff: np.ndarray) -> list[tuple[int, int]]:
    best_rows = payoff >= payoff.max(axis=0, keepdims=True) - 1e-12  # agent 1 cannot gain
    best_cols = payoff >= payoff.max(axis=1, keepdims=True) - 1e-12  # agent 2 cannot gain
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(best_rows & best_cols), strict=True)]


def check_pure_equilibria(fn: Callable[[np.ndarray], list]) -> bool:
    """``fn(payoff)`` lists the pure Nash equilibria of a two-agent game (rows: agent 1):
    the joint actions ``(i, j)`` from which neither agent gains by changing its own action
    alone, sorted."""
    name = "pure_equilibria"
    rng = np.random.default_rng(11)
    games = {
        "climbing": np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]]),
        "penalty": np.array([[-100.0, 0.0, 10.0], [0.0, 2.0, 0.0], [10.0, 0.0, -100.0]]),
        "qtran": np.array([[8.0, -12.0, -12.0], [-12.0, 0.0, 0.0], [-12.0, 0.0, 0.0]]),
    }
    for k in range(4):
        games[f"random {k}"] = rng.integers(-3, 4, size=(3, 3)).astype(np.float64)
    for game, payoff in games.items():
        expected = _pure_equilibria(payoff)
        try:
            got = sorted(tuple(int(u) for u in joint) for joint in fn(payoff.copy()))
        except TypeError:
            raise fail(
                name, "did not return a list of joint actions", "return a list of (i, j) tuples."
            ) from None
        if got == expected:
            continue
        seen = f"{game} {payoff.tolist()}: got {got}, expected {expected}"
        missing, extra = set(expected) - set(got), set(got) - set(expected)

        def tied(joint: tuple[int, int], payoff: np.ndarray = payoff) -> bool:
            i, j = joint
            return bool(
                (payoff[:, j] == payoff[i, j]).sum() > 1 or (payoff[i, :] == payoff[i, j]).sum() > 1
            )

        if extra:
            i, j = sorted(extra)[0]
            hint = (
                f"{(i, j)} is not an equilibrium: agent 1 compares column {j} of the payoff "
                f"(its own deviations), agent 2 compares row {i}; one of them can do better."
            )
        elif any(tied(joint) for joint in missing):
            hint = f"missed {sorted(missing)}: ties count, no deviation may pay strictly more (>=, not >)."
        elif len(got) == 1:
            hint = "an equilibrium need not be the optimum: check every joint action, not only the best one."
        else:
            hint = f"missed {sorted(missing)}: from there no single agent can do better alone."
        raise fail(name, seen, hint)
    return report_pass(name, f"{len(games)} games: climbing has (A, A) and (B, B), not (C, C)")


def check_partner_values(fn: Callable[[np.ndarray, int, float], np.ndarray]) -> bool:
    """``fn(payoff, partner_greedy, epsilon)`` returns the values ``[n_actions]`` agent 1's
    independent learner converges to when agent 2 plays epsilon-greedy: its greedy action
    ``partner_greedy`` with probability ``1 - epsilon``, otherwise an action drawn uniformly
    from all of them."""
    name = "partner_values"
    climbing = np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]])
    rng = np.random.default_rng(5)
    cases = [(climbing, 2, 0.05), (climbing, 0, 0.5), (climbing, 1, 1.0), (climbing, 2, 0.0)]
    cases += [
        (np.round(rng.normal(size=(4, 4)) * 5, 1), int(rng.integers(4)), float(e))
        for e in (0.1, 0.3)
    ]
    for payoff, g, eps in cases:
        expected = (1 - eps) * payoff[:, g] + eps * payoff.mean(axis=1)
        got = array_like(
            name, fn(payoff.copy(), g, eps), expected, "one value per action of agent 1."
        )
        if np.allclose(got, expected, atol=1e-9):
            continue
        others = np.delete(payoff, g, axis=1).mean(axis=1)
        seen = f"payoff {payoff.tolist()}, partner greedy {g}, epsilon {eps}: got {np.round(got, 3).tolist()}, expected {np.round(expected, 3).tolist()}"
        if np.allclose(got, (1 - eps) * payoff[:, g] + eps * others):
            hint = "the random action is drawn from all actions, the greedy one included."
        elif np.allclose(got, payoff.mean(axis=1)):
            hint = "that is the uniform partner (epsilon = 1); with epsilon < 1 the partner mostly plays its greedy action."
        elif np.allclose(got, (1 - eps) * payoff[g, :] + eps * payoff.mean(axis=0)):
            hint = "agent 1's actions are the rows: use the column of the partner's action, payoff[:, partner_greedy]."
        else:
            hint = "Q_1(u) = (1 - eps) * payoff[u, g] + eps * mean_j payoff[u, j]."
        raise fail(name, seen, hint)
    return report_pass(name, f"{len(cases)} partners, from greedy to uniform")
