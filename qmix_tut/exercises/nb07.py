"""Exercises for notebook 07 (COMA: counterfactual baselines).

Both are about a one-step game of two agents with a shared payoff table ``payoff[A, A]``
and independent softmax policies ``pi_a = softmax(logits[a])``, ``logits`` of shape
``[2, A]``: the setting in which the notebook measured the baseline's effect.

>>> import torch
>>> def autograd_gradient(payoff, logits):
...     theta = logits.clone().requires_grad_(True)
...     pi = torch.softmax(theta, -1)
...     return torch.autograd.grad(pi[0] @ payoff @ pi[1], theta)[0]
>>> check_exact_policy_gradient(autograd_gradient)
PASS exact_policy_gradient: ...
True
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._common import fail, report_pass, scalar_like, tensor_like

__all__ = ["check_exact_policy_gradient", "check_gradient_variance"]

BASELINES = ("none", "value", "counterfactual")


def _cases(seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    cases = []
    for n_actions in (2, 3, 4):
        payoff = torch.randn(n_actions, n_actions, generator=gen, dtype=torch.float64) * 5
        logits = torch.randn(2, n_actions, generator=gen, dtype=torch.float64)
        cases.append((payoff, logits))
    return cases


def _reference_gradient(payoff: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    pi = torch.softmax(logits, -1)
    q = torch.stack([payoff @ pi[1], payoff.T @ pi[0]])  # Q_a(k): the other agent averaged
    v = (pi * q).sum(-1, keepdim=True)
    return pi * (q - v)


def check_exact_policy_gradient(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(payoff[A, A], logits[2, A])`` returns dJ/dlogits, ``[2, A]``, in closed form.

    ``J = sum_{u1, u2} pi_1(u1) pi_2(u2) payoff[u1, u2]``, the expected team reward.
    """
    name = "exact_policy_gradient"
    for payoff, logits in _cases(7):
        expected = _reference_gradient(payoff, logits)
        got = fn(payoff.clone(), logits.clone())
        got = tensor_like(name, got, expected, "one derivative per logit: [2, A], like logits.")
        if torch.allclose(got.to(expected.dtype), expected, atol=1e-8):
            continue
        pi = torch.softmax(logits, -1)
        q = torch.stack([payoff @ pi[1], payoff.T @ pi[0]])
        if torch.allclose(got.to(expected.dtype), pi * q, atol=1e-8):
            hint = (
                "the softmax's Jacobian has two terms: d pi(u)/d theta_k = pi(u) (1[u=k] - "
                "pi(k)); the second one subtracts agent a's average value V_a = sum_u pi(u) Q_a(u)."
            )
        elif torch.allclose(got.to(expected.dtype), q - (pi * q).sum(-1, keepdim=True), atol=1e-8):
            hint = "each component is weighted by the probability pi_a(k) of its own action."
        elif torch.allclose(got.flip(0).to(expected.dtype), expected, atol=1e-8):
            hint = "row a of the answer belongs to agent a: agent 1 picks the row of payoff."
        else:
            hint = (
                "with Q_a(k) = E over the other agent's policy of payoff with agent a playing "
                "k, dJ/dtheta_{a,k} = pi_a(k) (Q_a(k) - sum_u pi_a(u) Q_a(u))."
            )
        raise fail(name, f"wrong gradient for a {tuple(payoff.shape)} payoff", hint)
    return report_pass(name, "matches autograd on three payoff tables")


def _reference_variance(payoff: torch.Tensor, logits: torch.Tensor, baseline: str) -> torch.Tensor:
    pi = torch.softmax(logits, -1)
    n_actions = payoff.shape[0]
    eye = torch.eye(n_actions, dtype=payoff.dtype)
    value = pi[0] @ payoff @ pi[1]
    second_moment = torch.zeros((), dtype=payoff.dtype)
    mean = torch.zeros(2, n_actions, dtype=payoff.dtype)
    for u1 in range(n_actions):
        for u2 in range(n_actions):
            p = pi[0, u1] * pi[1, u2]
            joint = (u1, u2)
            g = torch.zeros(2, n_actions, dtype=payoff.dtype)
            for a in range(2):
                if baseline == "none":
                    weight = payoff[u1, u2]
                elif baseline == "value":
                    weight = payoff[u1, u2] - value
                else:
                    q_a = payoff[:, u2] if a == 0 else payoff[u1, :]
                    weight = payoff[u1, u2] - (pi[a] * q_a).sum()
                g[a] = weight * (eye[joint[a]] - pi[a])  # grad of log softmax at u_a
            second_moment = second_moment + p * (g**2).sum()
            mean = mean + p * g
    return second_moment - (mean**2).sum()


def check_gradient_variance(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(payoff[A, A], logits[2, A], baseline)`` returns the total variance (a scalar).

    The estimator is ``g(u) = sum_a (R(u) - b_a) grad log pi_a(u_a)`` for one joint action
    ``u`` drawn from the policies; its total variance is ``E ||g||^2 - ||E g||^2``, exactly,
    summed over all ``2 A`` logits. ``baseline`` is ``"none"`` (b = 0), ``"value"``
    (b = J, the expected team reward) or ``"counterfactual"`` (COMA's
    b_a = sum_k pi_a(k) R(u with agent a's action replaced by k)).
    """
    name = "gradient_variance"
    for payoff, logits in _cases(11):
        for baseline in BASELINES:
            expected = _reference_variance(payoff, logits, baseline)
            got = scalar_like(name, fn(payoff.clone(), logits.clone(), baseline))
            if torch.isclose(got.to(expected.dtype), expected, rtol=1e-6, atol=1e-8):
                continue
            if baseline == "none":
                hint = "E ||g||^2 - ||E g||^2, over every joint action weighted by pi_1 pi_2."
            elif baseline == "value":
                hint = "the value baseline is the same number for both agents: J = pi_1 @ payoff @ pi_2."
            else:
                hint = (
                    "agent 1's counterfactual baseline averages payoff[k, u2] over its own k "
                    "with pi_1, holding u2; agent 2's averages payoff[u1, k] with pi_2."
                )
            raise fail(
                name,
                f"wrong variance with baseline {baseline!r} ({tuple(payoff.shape)} payoff)",
                hint,
            )
    return report_pass(name, "exact variances for no baseline, the value and COMA's")
