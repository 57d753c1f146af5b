"""Exercises for notebook 02 (value decomposition: VDN).

>>> check_vdn_sum(lambda agent_qs: agent_qs.sum(dim=-1, keepdim=True))
PASS vdn_sum: ...
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..mixers import VDNMixer
from ._common import fail, report_pass, tensor_like

__all__ = ["check_additive_fit", "check_vdn_sum", "check_vdn_target"]


def check_vdn_sum(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """``fn(agent_qs[..., n_agents]) -> q_tot[..., 1]``, the sum over agents."""
    name = "vdn_sum"
    gen = torch.Generator().manual_seed(0)
    for shape in [(5, 2), (4, 7, 3), (2, 3, 4, 5), (6,)]:
        agent_qs = torch.randn(shape, generator=gen)
        expected = VDNMixer()(agent_qs)
        got = fn(agent_qs.clone())
        if not isinstance(got, torch.Tensor):
            raise fail(name, f"returned {type(got).__name__}", "return a torch.Tensor.")
        if got.shape != expected.shape:
            hint = "sum over the last axis (the agents) and keep it: sum(dim=-1, keepdim=True)."
            if got.numel() == 1 and agent_qs.dim() > 1:
                hint = "sum over the agents only (dim=-1), not over the whole batch."
            raise fail(
                name,
                f"agent_qs {tuple(shape)} gave shape {tuple(got.shape)}, expected {tuple(expected.shape)}",
                hint,
            )
        if torch.allclose(got, expected, atol=1e-6):
            continue
        if torch.allclose(got * shape[-1], expected, atol=1e-5):
            hint = "that is the mean; VDN adds the agents' values: Q_tot = sum_a Q_a."
        else:
            hint = "Q_tot is the plain sum of the agents' chosen-action values, no weights."
        raise fail(name, f"wrong values for agent_qs of shape {tuple(shape)}", hint)
    return report_pass(name, "4 shapes, equal to VDNMixer")


def check_additive_fit(fn: Callable[[np.ndarray], np.ndarray]) -> bool:
    """``fn(payoff[A, A]) -> fit[A, A]``: the least-squares fit ``fit[i, j] = a_i + b_j``,
    every joint action weighted the same."""
    name = "additive_fit"
    rng = np.random.default_rng(3)
    payoffs = [np.array([[0.0, 1.0], [1.0, 8.0]])]
    payoffs += [np.round(rng.normal(size=(a, a)) * 5, 2) for a in (3, 4, 5)]
    for payoff in payoffs:
        rows, cols, grand = payoff.mean(axis=1), payoff.mean(axis=0), payoff.mean()
        expected = rows[:, None] + cols[None, :] - grand
        got = np.asarray(fn(payoff.copy()), dtype=np.float64)
        if got.shape != payoff.shape:
            raise fail(
                name,
                f"returned shape {got.shape}, expected {payoff.shape}",
                "return the fitted table, one value per joint action.",
            )
        if np.allclose(got, expected, atol=1e-6):
            continue
        if np.allclose(got, rows[:, None] + cols[None, :], atol=1e-6):
            hint = (
                "row mean + column mean counts the overall level twice; subtract the grand "
                "mean once: fit = row_mean[i] + col_mean[j] - grand_mean."
            )
        elif np.allclose(got, payoff):
            hint = "the payoff itself is not additive in general; fit row and column effects."
        elif np.allclose(got - got.mean(axis=1, keepdims=True), 0.0):
            hint = "the fit also needs a column (agent 2) effect, not only a row effect."
        else:
            hint = "fit[i, j] = row_mean[i] + col_mean[j] - grand_mean."
        raise fail(name, f"wrong fit of the payoff\n{payoff}", hint)
    return report_pass(name, f"{len(payoffs)} payoffs, the two-step game's state 2B included")


def check_vdn_target(fn: Callable) -> bool:
    """``fn(reward[B], terminated[B], next_agent_qs[B, n, A], gamma) -> y[B]``.

    VDN's TD target: ``y = r + gamma * (1 - terminated) * sum_a max_u Q_a(next, u)``
    (values of the target network at the next step; the max of a sum of independent
    terms is the sum of their maxes).
    """
    name = "vdn_target"
    gen = torch.Generator().manual_seed(4)
    for batch, n_agents, n_actions in [(6, 2, 3), (8, 3, 5), (5, 4, 2)]:
        reward = torch.randn(batch, generator=gen)
        terminated = (torch.rand(batch, generator=gen) < 0.4).float()
        terminated[0], terminated[1] = 1.0, 0.0
        next_qs = torch.randn(batch, n_agents, n_actions, generator=gen) * 3
        gamma = 0.9
        best = next_qs.max(dim=-1).values.sum(dim=-1)
        expected = reward + gamma * (1 - terminated) * best
        got = fn(reward.clone(), terminated.clone(), next_qs.clone(), gamma)
        got = tensor_like(
            name,
            got,
            expected,
            "one target per transition: max over actions (dim=-1), then sum over agents.",
        )
        if torch.allclose(got, expected, atol=1e-5):
            continue
        candidates = {
            "forgot": reward + gamma * best,
            "mean": reward + gamma * (1 - terminated) * next_qs.max(dim=-1).values.mean(dim=-1),
            "swapped": reward + gamma * (1 - terminated) * next_qs.sum(dim=-2).max(dim=-1).values,
            "sum_all": reward + gamma * (1 - terminated) * next_qs.sum(dim=(-1, -2)),
        }
        hints = {
            "forgot": "a terminated transition has no next state: multiply by (1 - terminated).",
            "mean": "VDN's Q_tot is the sum of the agents' values, not their mean.",
            "swapped": (
                "each agent maximises its own value; summing over agents first and then taking "
                "one action for everyone forces all agents onto the same action index."
            ),
            "sum_all": "take the max over each agent's actions (dim=-1) before summing over agents.",
        }
        hint = next(
            (hints[k] for k, v in candidates.items() if torch.allclose(got, v, atol=1e-5)),
            "y = r + gamma * (1 - terminated) * next_agent_qs.max(-1).values.sum(-1).",
        )
        raise fail(name, f"wrong targets for batch {batch}, {n_agents} agents", hint)
    return report_pass(name, "3 batches, terminated and running transitions")
