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
from ._common import fail, report_pass

__all__ = ["check_add_agent_ids", "check_independent_values", "check_iql_update"]


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
        got = np.asarray(got, dtype=np.float64)
        if got.shape != expected.shape:
            raise fail(
                name,
                f"returned shape {got.shape}, expected {expected.shape}",
                "return the whole table of this agent, one value per action.",
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
        got = np.asarray(fn(payoff.copy()), dtype=np.float64)
        if got.shape != expected.shape:
            raise fail(
                name,
                f"returned shape {got.shape} for a {payoff.shape} payoff, expected {expected.shape}",
                "one row per agent, one column per action: np.stack([agent_1, agent_2]).",
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
        got = fn(obs.clone())
        if not isinstance(got, torch.Tensor):
            raise fail(name, f"returned {type(got).__name__}", "return a torch.Tensor.")
        n = shape[-2]
        if got.shape != expected.shape:
            hint = f"append n_agents = {n} columns (one-hot of the agent's index) to the last axis."
            if got.shape[-1] == shape[-1] + 1:
                hint = (
                    "the id is one-hot, n_agents columns, not one column holding the index: "
                    "an index would tell the network that agent 2 is 'twice' agent 1."
                )
            raise fail(name, f"obs {tuple(shape)} gave {tuple(got.shape)}, expected "
                       f"{tuple(expected.shape)}", hint)  # fmt: skip
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
