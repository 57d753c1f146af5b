"""Exercises for notebook 03 (monotonic mixing).

>>> import torch.nn.functional as F
>>> check_monotonic_mix(
...     lambda q, w1, b1, w2, b2: F.elu(q @ w1.abs() + b1) @ w2.abs() + b2)
PASS monotonic_mix: ...
True
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..analysis import mixer_gradients
from ..mixers import QMixer
from ._common import fail, report_pass, tensor_like

__all__ = sorted(
    [
        "check_joint_argmax",
        "check_monotonic_mix",
        "check_monotonicity_gradient",
        "check_monotonic_representable",
    ]
)


def _mix(q, w1, b1, w2, b2, weight=torch.abs, bias=lambda b: b, act=F.elu):
    return act(q @ weight(w1) + bias(b1)) @ weight(w2) + bias(b2)


def check_monotonic_mix(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(agent_qs[..., n], w1[n, e], b1[e], w2[e, 1], b2[1]) -> q_tot[..., 1]``.

    A monotonic mixing network without a state: ``ELU(agent_qs |w1| + b1) |w2| + b2``.
    The weights are made non-negative with ``abs``; the biases are left free.
    """
    name = "monotonic_mix"
    gen = torch.Generator().manual_seed(3)
    for lead, n, e in [((7,), 2, 4), ((3, 5), 3, 8), ((2, 2, 4), 5, 6)]:
        agent_qs = torch.randn(*lead, n, generator=gen) * 2
        w1, b1 = torch.randn(n, e, generator=gen), torch.randn(e, generator=gen) - 0.5
        w2, b2 = torch.randn(e, 1, generator=gen), torch.randn(1, generator=gen) - 1.5
        args = (agent_qs, w1, b1, w2, b2)
        expected = _mix(*args)
        got = tensor_like(
            name,
            fn(*(a.clone() for a in args)),
            expected,
            "agent_qs @ w1 maps [..., n] to [..., e]; then @ w2 maps [..., e] to [..., 1].",
            given=f"agent_qs {tuple(agent_qs.shape)}",
        )
        if torch.allclose(got, expected, atol=1e-5):
            continue
        candidates = {
            "no abs": _mix(*args, weight=lambda w: w),
            "abs w1 only": F.elu(agent_qs @ w1.abs() + b1) @ w2 + b2,
            "abs w2 only": F.elu(agent_qs @ w1 + b1) @ w2.abs() + b2,
            "abs biases": _mix(*args, bias=torch.abs),
            "relu": _mix(*args, act=F.relu),
            "no activation": _mix(*args, act=lambda x: x),
            "no biases": F.elu(agent_qs @ w1.abs()) @ w2.abs(),
        }
        hints = {
            "no abs": "the weights must be non-negative for dQ_tot/dQ_a >= 0: use w1.abs() "
            "and w2.abs().",
            "abs w1 only": "the second layer's weights need abs too: a negative w2 flips the "
            "sign of a hidden unit's slope.",
            "abs w2 only": "the first layer's weights need abs too: a negative w1 makes a "
            "hidden unit fall as an agent's value rises.",
            "abs biases": "leave the biases free: they shift the units without changing any "
            "slope, so monotonicity never needs them non-negative.",
            "relu": "the hidden layer uses ELU (F.elu), which is increasing everywhere; ReLU "
            "has zero slope for negative inputs.",
            "no activation": "apply ELU (F.elu) to the hidden layer; without it the mixer is "
            "linear, no more expressive than a weighted VDN.",
            "no biases": "add the biases b1 (hidden layer) and b2 (output).",
        }
        hint = next(
            (hints[k] for k, v in candidates.items() if torch.allclose(got, v, atol=1e-5)),
            "q_tot = F.elu(agent_qs @ w1.abs() + b1) @ w2.abs() + b2.",
        )
        raise fail(name, f"wrong values for agent_qs of shape {tuple(agent_qs.shape)}", hint)
    return report_pass(name, "3 shapes, negative biases included")


class _SignedMixer(nn.Module):
    """A mixer with weights of either sign: Q_tot need not be monotonic."""

    def __init__(self, n: int, embed: int, gen: torch.Generator) -> None:
        super().__init__()
        self.w1 = torch.randn(n, embed, generator=gen)
        self.b1 = torch.randn(embed, generator=gen)
        self.w2 = torch.randn(embed, 1, generator=gen)

    def forward(self, agent_qs: torch.Tensor, states: torch.Tensor | None = None) -> torch.Tensor:
        return F.elu(agent_qs @ self.w1 + self.b1) @ self.w2


def _joint_extremes(mixer, agent_qs: torch.Tensor) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The joint actions with the largest and the smallest Q_tot."""
    n, a = agent_qs.shape
    joint = torch.tensor(list(itertools.product(range(a), repeat=n)))
    chosen = agent_qs[torch.arange(n), joint]
    with torch.no_grad():
        q_tot = mixer(chosen).reshape(-1)
    best, worst = joint[int(q_tot.argmax())], joint[int(q_tot.argmin())]
    return tuple(int(i) for i in best), tuple(int(i) for i in worst)


def check_joint_argmax(fn: Callable[[Callable, torch.Tensor], tuple[int, ...]]) -> bool:
    """``fn(mixer, agent_qs[n, A]) -> tuple`` of n ints: the joint action maximising Q_tot.

    ``mixer`` maps the chosen values of any number of joint actions, ``[N, n]``, to
    ``[N, 1]``. The checker's mixers are not monotonic, so each agent's own argmax is
    often not the answer: score every one of the A^n joint actions.
    """
    name = "joint_argmax"
    gen = torch.Generator().manual_seed(5)
    answers = []  # (n, a, got, expected, worst, per_agent) for every case
    for n, a in [(2, 3), (3, 2), (2, 4), (3, 3), (4, 2)] * 4:
        mixer = _SignedMixer(n, 4, gen)
        agent_qs = torch.randn(n, a, generator=gen) * 2
        expected, worst = _joint_extremes(mixer, agent_qs)
        per_agent = tuple(int(i) for i in agent_qs.argmax(-1))
        got = fn(mixer, agent_qs.clone())
        if isinstance(got, (int, np.integer)) or (
            isinstance(got, torch.Tensor | np.ndarray) and np.ndim(got) == 0
        ):
            raise fail(
                name,
                f"returned one number ({int(got)}) for {n} agents",
                "return one action per agent: turn a flat index into a tuple with "
                "np.unravel_index(index, (n_actions,) * n_agents).",
            )
        try:
            got = tuple(int(i) for i in got)
        except (TypeError, ValueError):
            raise fail(
                name, f"returned {type(got).__name__}", "return a tuple of ints, one per agent."
            ) from None
        answers.append((n, a, got, expected, worst, per_agent))
    wrong = [case for case in answers if case[2] != case[3]]
    differs = sum(case[5] != case[3] for case in answers)
    if not wrong:
        return report_pass(
            name, f"{len(answers)} non-monotonic mixers, {differs} where per-agent argmax fails"
        )
    # name the mistake that explains every answer, not just the first wrong one
    n, a, got, expected, _, _ = wrong[0]
    if all(case[2] == case[5] for case in answers):
        hint = (
            "that is each agent's own argmax, which is the joint argmax only when the mixer "
            "is monotonic; score all joint actions, e.g. "
            "itertools.product(range(n_actions), repeat=n_agents)."
        )
    elif all(case[2] == case[4] for case in answers):
        hint = "those joint actions have the smallest Q_tot: take the argmax, not the argmin."
    elif len(got) != n:
        hint = f"return one action per agent ({n} here)."
    else:
        hint = (
            "build the [A^n, n] table of chosen values agent_qs[a, u^a] for every joint "
            "action u, mix them all in one call, and take the argmax of Q_tot."
        )
    raise fail(
        name,
        f"{len(wrong)} of {len(answers)} wrong; e.g. {n} agents, {a} actions: got {got}, "
        f"expected {expected}",
        hint,
    )


def check_monotonicity_gradient(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(mixer, agent_qs[..., n], states[..., s]) -> grad[..., n]``: dQ_tot/dQ_a at every
    point, by autograd (each point's Q_tot depends on its own agent values only)."""
    name = "monotonicity_gradient"
    gen = torch.Generator().manual_seed(8)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(8)
        mixers = [QMixer(3, 4, embed_dim=8), QMixer(2, 5, embed_dim=4, hypernet_layers=1)]
    signed = _SignedMixer(3, 6, gen)
    cases = [
        (mixers[0], torch.randn(16, 3, generator=gen), torch.randn(16, 4, generator=gen)),
        (mixers[1], torch.randn(4, 6, 2, generator=gen), torch.randn(4, 6, 5, generator=gen)),
        (signed, torch.randn(32, 3, generator=gen) * 2, torch.zeros(32, 1)),
    ]
    for mixer, agent_qs, states in cases:
        expected = mixer_gradients(mixer, agent_qs, states)

        def hint(got_shape: tuple[int, ...], state_shape: tuple[int, ...] = states.shape) -> str:
            if got_shape == tuple(state_shape):
                return "that is the gradient with respect to the states; take it for agent_qs."
            return "return the gradient with respect to agent_qs (same shape as agent_qs)."

        got = tensor_like(name, fn(mixer, agent_qs.clone(), states.clone()), expected, hint)
        got = got.detach()
        if torch.allclose(got, expected, atol=1e-4, rtol=1e-3):
            continue
        points = agent_qs.shape[:-1].numel()
        if torch.allclose(got * points, expected, atol=1e-4, rtol=1e-3):
            hint = (
                "differentiate q_tot.sum(), not q_tot.mean(): the points are independent, so "
                "the sum's gradient is each point's own gradient; the mean divides it by N."
            )
        elif torch.allclose(got.abs(), expected.abs(), atol=1e-4, rtol=1e-3):
            hint = "keep the sign: a negative gradient is exactly what this check must find."
        else:
            hint = (
                "agent_qs = agent_qs.detach().clone().requires_grad_(True); q_tot = "
                "mixer(agent_qs, states); torch.autograd.grad(q_tot.sum(), agent_qs)[0]."
            )
        raise fail(name, f"wrong gradients for {type(mixer).__name__}", hint)
    return report_pass(name, "2 QMixers and a mixer with negative weights")


def _comparable(lines: np.ndarray) -> bool:
    """Every pair of rows is ordered the same way in every column (<= everywhere, or >=)."""
    for a, b in itertools.combinations(lines, 2):
        if not ((a <= b + 1e-12).all() or (a >= b - 1e-12).all()):
            return False
    return True


def check_monotonic_representable(fn: Callable[[np.ndarray], bool]) -> bool:
    """``fn(payoff)`` says whether a two-agent payoff can be written exactly as
    ``f(Q_1(u^1), Q_2(u^2))`` with ``f`` non-decreasing in both arguments, for some
    per-agent values ``Q_1, Q_2``: what a monotonic mixer can represent in one state."""
    name = "monotonic_representable"
    rng = np.random.default_rng(13)
    games = {
        "two-step 2B": (np.array([[0.0, 1.0], [1.0, 8.0]]), True),
        "additive": (np.array([[0.0, 2.0], [1.0, 3.0]]), True),
        "climbing": (np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]]), False),
        "qtran": (np.array([[8.0, -12.0, -12.0], [-12.0, 0.0, 0.0], [-12.0, 0.0, 0.0]]), False),
        "coordination": (np.array([[1.0, 0.0], [0.0, 1.0]]), False),
        "rows ordered, columns crossing": (np.array([[0.0, 1.0], [5.0, 2.0]]), False),
        "columns ordered, rows crossing": (np.array([[0.0, 5.0], [1.0, 2.0]]), False),
        "product": (np.outer([1.0, 3.0, 2.0], [2.0, 0.5, 4.0]), True),
        "max of values": (np.maximum.outer([0.0, 2.0, 1.0], [1.5, 0.0, 3.0]), True),
    }
    for k in range(3):
        table = rng.integers(0, 4, size=(3, 3)).astype(np.float64)
        games[f"random {k}"] = (table, _comparable(table) and _comparable(table.T))
    for game, (payoff, expected) in games.items():
        got = fn(payoff.copy())
        if not isinstance(got, (bool, np.bool_)):
            raise fail(name, f"returned {got!r}", "return True or False.")
        if bool(got) == expected:
            continue
        seen = f"{game} {payoff.tolist()}: got {bool(got)}, expected {expected}"
        residual = (
            payoff - payoff.mean(1, keepdims=True) - payoff.mean(0, keepdims=True) + payoff.mean()
        )
        if expected and np.abs(residual).max() > 1e-9:
            hint = "monotonic is wider than additive: [[0, 1], [1, 8]] is not a sum, yet Q_1 = Q_2 = (0, 1) and f = the table itself work."
        elif not expected and _comparable(payoff):
            hint = "the columns must be ordered too: agent 2's values rank its actions the same way whatever agent 1 does."
        elif not expected:
            hint = "if Q_1(i) <= Q_1(k), a non-decreasing f gives payoff[i, j] <= payoff[k, j] in EVERY column: two rows that cross cannot both be fitted."
        else:
            hint = "rows (and columns) need only be ordered, not equal: compare each pair of rows entry by entry."
        raise fail(name, seen, hint)
    return report_pass(
        name, f"{len(games)} payoffs: 2B yes, climbing, QTRAN's game and coordination no"
    )
