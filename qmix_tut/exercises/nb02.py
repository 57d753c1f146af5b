"""Exercises for notebook 02 (value decomposition: VDN).

>>> check_vdn_sum(lambda agent_qs: agent_qs.sum(dim=-1, keepdim=True))
PASS vdn_sum: ...
True
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from ..mixers import VDNMixer
from ._common import array_like, fail, report_pass, tensor_like

__all__ = sorted(
    [
        "check_additive_fit",
        "check_vdn_sum",
        "check_vdn_target",
        "check_vdn_first_step",
        "check_weighted_additive_fit",
    ]
)


def check_vdn_sum(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """``fn(agent_qs[..., n_agents]) -> q_tot[..., 1]``, the sum over agents."""
    name = "vdn_sum"
    gen = torch.Generator().manual_seed(0)
    for shape in [(5, 2), (4, 7, 3), (2, 3, 4, 5), (6,)]:
        agent_qs = torch.randn(shape, generator=gen)
        expected = VDNMixer()(agent_qs)

        def hint(got_shape: tuple[int, ...], batched: bool = agent_qs.dim() > 1) -> str:
            if batched and math.prod(got_shape) == 1:
                return "sum over the agents only (dim=-1), not over the whole batch."
            return "sum over the last axis (the agents) and keep it: sum(dim=-1, keepdim=True)."

        got = tensor_like(name, fn(agent_qs.clone()), expected, hint, given=f"agent_qs {shape}")
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
        got = array_like(
            name, fn(payoff.copy()), payoff, "return the fitted table, one value per joint action."
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


def _uniform_fit(table: np.ndarray) -> np.ndarray:
    return table.mean(axis=1, keepdims=True) + table.mean(axis=0, keepdims=True) - table.mean()


def check_vdn_first_step(fn: Callable[[np.ndarray, np.ndarray, float], tuple]) -> bool:
    """``fn(payoff_2a, payoff_2b, gamma)`` returns ``(value_a, value_b, greedy_return)``: the
    values VDN trained on uniform data gives agent 1's actions A (to 2A) and B (to 2B) in
    state 1, and the return its greedy team earns (ties go to A)."""
    name = "vdn_first_step"
    rng = np.random.default_rng(8)
    cases = [(np.full((2, 2), 7.0), np.array([[0.0, 1.0], [1.0, 8.0]]), 0.99)]
    cases.append((np.full((2, 2), 5.0), np.array([[0.0, 1.0], [1.0, 8.0]]), 0.99))
    cases += [
        (
            np.round(rng.normal(size=(2, 2)) * 4 + 3, 1),
            np.round(rng.normal(size=(2, 2)) * 4 + 3, 1),
            0.9,
        )
        for _ in range(4)
    ]
    for a, b, gamma in cases:
        fit_a, fit_b = _uniform_fit(a), _uniform_fit(b)
        va, vb = gamma * fit_a.max(), gamma * fit_b.max()
        table, fit = (b, fit_b) if vb > va else (a, fit_a)
        ret = float(table[np.unravel_index(np.argmax(fit), fit.shape)])
        try:
            got_a, got_b, got_ret = (float(x) for x in fn(a.copy(), b.copy(), gamma))
        except (TypeError, ValueError):
            raise fail(
                name, "did not return three numbers", "return (value_a, value_b, greedy_return)."
            ) from None
        if np.allclose([got_a, got_b, got_ret], [va, vb, ret], atol=1e-6):
            continue
        seen = f"2A {a.tolist()}, 2B {b.tolist()}, gamma {gamma}: got {(round(got_a, 3), round(got_b, 3), round(got_ret, 3))}, expected {(round(float(va), 3), round(float(vb), 3), ret)}"
        if np.allclose([got_a, got_b], [va, vb]):
            hint = "the greedy team goes where its value is higher, then plays the fit's best joint action; the return is what the payoff pays there."
        elif np.isclose(got_b, gamma * b.max()) and np.isclose(got_a, gamma * a.max()):
            hint = (
                "VDN's value of a state is the best entry of its additive fit, not of the payoff."
            )
        elif np.isclose(got_b, fit_b.max()) and not np.isclose(gamma, 1.0):
            hint = "state 1 pays nothing; its value is the next state's, discounted once by gamma."
        else:
            hint = "fit each second state's payoff additively (row mean + column mean - grand mean), take its best entry, multiply by gamma."
        raise fail(name, seen, hint)
    return report_pass(
        name, f"{len(cases)} two-step games, the paper's (6.93 against 6.44: return 7) included"
    )


def check_weighted_additive_fit(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> bool:
    """``fn(payoff, weights)`` returns the additive table ``fit[i, j] = a_i + b_j`` that
    minimises ``sum_ij weights[i, j] * (payoff[i, j] - fit[i, j]) ** 2`` (weights > 0)."""
    from ..tabular import additive_fit

    name = "weighted_additive_fit"
    rng = np.random.default_rng(9)
    climbing = np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]])
    heavy = np.ones((3, 3))
    heavy[0, 0] = 10.0
    cases = [
        (climbing, np.ones((3, 3))),
        (climbing, heavy),
        (np.array([[0.0, 1.0], [1.0, 8.0]]), np.array([[1.0, 1.0], [1.0, 20.0]])),
    ]
    cases += [
        (np.round(rng.normal(size=(4, 4)) * 3, 1), rng.uniform(0.2, 5.0, size=(4, 4)))
        for _ in range(2)
    ]
    for payoff, weights in cases:
        expected = additive_fit(payoff, weights=weights).fit
        got = array_like(
            name,
            fn(payoff.copy(), weights.copy()),
            payoff,
            "return the fitted table, one value per joint action.",
        )
        if np.allclose(got, expected, atol=1e-6):
            continue
        seen = f"payoff {payoff.tolist()} with weights {np.round(weights, 2).tolist()}"
        if np.allclose(got, _uniform_fit(payoff), atol=1e-6):
            hint = "that is the unweighted fit; the closed form holds only for equal weights. Solve the weighted least-squares problem (np.linalg.lstsq on rows scaled by sqrt(w))."
        else:
            hint = "one unknown per row (a_i) and per column (b_j); each joint action is an equation a_i + b_j = payoff[i, j] with weight w[i, j]."
        raise fail(name, seen, hint)
    return report_pass(name, f"{len(cases)} payoffs, equal and unequal weights")
