"""Exercises for notebook 04 (hypernetworks).

>>> check_vdn_s(lambda agent_qs, states, v: agent_qs.sum(-1, keepdim=True) + v(states))
PASS vdn_s: ...
True
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..mixers import QMixer, VDNSMixer
from ._common import fail, report_pass, tensor_like

__all__ = sorted(["check_hypernet_weights", "check_qmix_forward", "check_vdn_s", "check_qmix_lin"])


def _seeded(seed: int, build: Callable[[], nn.Module]) -> nn.Module:
    # the checker's networks are the same on every call, and the reader's seed is untouched
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def check_hypernet_weights(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(hyper_w_1, states[..., s], n_agents, embed_dim) -> w1[..., n_agents, embed_dim]``.

    ``hyper_w_1`` maps a state to ``n_agents * embed_dim`` numbers; reshape them agent by
    agent (as the original QMIX code does) and make them non-negative with ``abs``.
    """
    name = "hypernet_weights"
    gen = torch.Generator().manual_seed(11)
    for lead, s, n, e, layers in [((6,), 4, 3, 5, 1), ((2, 7), 5, 2, 8, 2), ((3,), 3, 4, 4, 2)]:

        def build(s=s, n=n, e=e, layers=layers) -> nn.Module:
            return QMixer(n, s, e, hypernet_layers=layers, hypernet_embed=16).hyper_w_1

        hyper_w_1 = _seeded(len(lead) * 100 + n, build)
        states = torch.randn(*lead, s, generator=gen)
        with torch.no_grad():
            raw = hyper_w_1(states)
            expected = raw.abs().reshape(*lead, n, e)
            got = fn(hyper_w_1, states.clone(), n, e)
        got = tensor_like(
            name,
            got,
            expected,
            "keep the leading dimensions and split the last one: "
            "w1.view(*states.shape[:-1], n_agents, embed_dim).",
            given=f"states {tuple(states.shape)}",
        )
        got = got.detach()
        if torch.allclose(got, expected, atol=1e-6):
            continue
        if torch.allclose(got, raw.reshape(*lead, n, e), atol=1e-6):
            hint = "apply torch.abs: QMIX's mixing weights must be non-negative."
        elif torch.allclose(got, raw.abs().reshape(*lead, e, n).transpose(-1, -2), atol=1e-6):
            hint = (
                "the layout is agent-major: the first embed_dim numbers belong to agent 1. "
                "Reshape to (..., n_agents, embed_dim) directly, with no transpose."
            )
        elif torch.allclose(got, F.relu(raw).reshape(*lead, n, e), atol=1e-6):
            hint = "use abs, not ReLU: ReLU zeroes negative outputs and their gradients."
        else:
            hint = (
                "w1 = torch.abs(hyper_w_1(states)).view(*states.shape[:-1], n_agents, embed_dim)."
            )
        raise fail(name, f"wrong weights for {n} agents, embed_dim {e}", hint)
    return report_pass(name, "3 hypernetworks, one- and two-layer")


def _forward_variants(m: QMixer, q: torch.Tensor, s: torch.Tensor) -> dict[str, torch.Tensor]:
    lead, n, e = s.shape[:-1], m.n_agents, m.embed_dim
    raw_w1 = m.hyper_w_1(s).view(*lead, n, e)
    b1 = m.hyper_b_1(s).view(*lead, 1, e)
    raw_w2 = m.hyper_w_final(s).view(*lead, e, 1)
    v = m.V(s).view(*lead, 1, 1)
    q = q.unsqueeze(-2)

    def mix(w1, b1_, w2, v_, act=F.elu):
        return (act(q @ w1 + b1_) @ w2 + v_).squeeze(-1)

    w1, w2 = raw_w1.abs(), raw_w2.abs()
    return {
        "right": mix(w1, b1, w2, v),
        "no V": mix(w1, b1, w2, 0.0),
        "abs b1": mix(w1, b1.abs(), w2, v),
        "abs V": mix(w1, b1, w2, v.abs()),
        "no abs w1": mix(raw_w1, b1, w2, v),
        "no abs w2": mix(w1, b1, raw_w2, v),
        "relu": mix(w1, b1, w2, v, act=F.relu),
        "no b1": mix(w1, 0.0, w2, v),
    }


def check_qmix_forward(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(mixer, agent_qs[..., n], states[..., s]) -> q_tot[..., 1]`` for a
    :class:`~qmix_tut.mixers.QMixer`, built from its hypernetworks ``hyper_w_1``,
    ``hyper_b_1``, ``hyper_w_final`` and ``V`` (not by calling ``mixer(...)``)."""
    name = "qmix_forward"
    gen = torch.Generator().manual_seed(12)
    hints = {
        "no V": "add the state-dependent bias V(s) (mixer.V) to the output.",
        "abs b1": "leave the hidden bias b1(s) as it is: biases do not affect monotonicity.",
        "abs V": "leave V(s) as it is: a bias does not affect monotonicity.",
        "no abs w1": "the first layer's weights need torch.abs(mixer.hyper_w_1(states)).",
        "no abs w2": "the final weights need torch.abs(mixer.hyper_w_final(states)).",
        "relu": "the hidden layer uses ELU (F.elu), not ReLU.",
        "no b1": "add the hidden bias b1(s) = mixer.hyper_b_1(states) before the ELU.",
    }
    for lead, n, s, e, layers in [((5,), 2, 3, 4, 1), ((3, 4), 3, 6, 8, 2), ((2,), 5, 4, 6, 2)]:
        mixer = _seeded(
            n * 10 + e, lambda n=n, s=s, e=e, layers=layers: QMixer(n, s, e, layers, 16)
        )
        agent_qs = torch.randn(*lead, n, generator=gen) * 2
        states = torch.randn(*lead, s, generator=gen)
        with torch.no_grad():
            variants = _forward_variants(mixer, agent_qs, states)
            got = fn(mixer, agent_qs.clone(), states.clone())
        expected = variants.pop("right")
        got = tensor_like(
            name,
            got,
            expected,
            "treat agent_qs as a row vector [..., 1, n] so that @ w1 [..., n, e] gives "
            "[..., 1, e]; at the end squeeze(-1) turns [..., 1, 1] into [..., 1].",
            given=f"agent_qs {tuple(agent_qs.shape)}",
        )
        got = got.detach()
        if torch.allclose(got, expected, atol=1e-5):
            continue
        hint = next(
            (hints[k] for k, v in variants.items() if torch.allclose(got, v, atol=1e-5)),
            "hidden = ELU(q |W1(s)| + b1(s)); q_tot = hidden |W2(s)| + V(s).",
        )
        raise fail(name, f"wrong Q_tot for {n} agents, state_dim {s}", hint)
    return report_pass(name, "3 mixers, equal to QMixer.forward")


def check_vdn_s(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(agent_qs[..., n], states[..., s], v) -> q_tot[..., 1]``: VDN-S, the sum of the
    agents' values plus a state-dependent bias ``v(states)`` (``v`` returns ``[..., 1]``)."""
    name = "vdn_s"
    gen = torch.Generator().manual_seed(13)
    for lead, n, s in [((6,), 2, 3), ((2, 5), 4, 7)]:
        reference = _seeded(n + s, lambda n=n, s=s: VDNSMixer(n, s, embed_dim=8))
        agent_qs = torch.randn(*lead, n, generator=gen)
        states = torch.randn(*lead, s, generator=gen)
        with torch.no_grad():
            expected = reference(agent_qs, states)
            got = fn(agent_qs.clone(), states.clone(), reference.V)
        got = tensor_like(
            name,
            got,
            expected,
            "sum over the agents with keepdim=True, so [..., n] becomes [..., 1] like v(s).",
        )
        got = got.detach()
        if torch.allclose(got, expected, atol=1e-5):
            continue
        with torch.no_grad():
            v = reference.V(states)
            total = agent_qs.sum(-1, keepdim=True)
            candidates = {
                "VDN-S adds V(s) to the sum; you returned the plain VDN sum.": total,
                "add V(s) once to the team's value, not once per agent.": total + n * v,
                "VDN-S sums the agents' values; you averaged them.": agent_qs.mean(-1, True) + v,
            }
        hint = next(
            (h for h, c in candidates.items() if torch.allclose(got, c, atol=1e-5)),
            "q_tot = agent_qs.sum(-1, keepdim=True) + v(states).",
        )
        raise fail(name, f"wrong values for {n} agents", hint)
    return report_pass(name, "2 shapes, equal to VDNSMixer")


def check_qmix_lin(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(hyper_w, V, agent_qs[..., n], states[..., s]) -> q_tot[..., 1]``: the QMIX-Lin
    ablation, ``sum_a |w_a(s)| Q_a + V(s)`` with ``w(s) = hyper_w(s)`` ``[..., n]`` and
    ``V(s)`` ``[..., 1]``. The checker compares it with the package's ``LinearMixer``."""
    from ..mixers import LinearMixer

    name = "qmix_lin"
    for seed, (n, s, layers, lead) in enumerate(
        [(2, 3, 1, (8,)), (3, 5, 2, (4, 6)), (5, 7, 2, (2, 3, 4))]
    ):
        mixer = _seeded(
            seed, lambda n=n, s=s, layers=layers: LinearMixer(n, s, hypernet_layers=layers)
        )
        gen = torch.Generator().manual_seed(seed)
        agent_qs, states = (
            torch.randn(*lead, n, generator=gen),
            torch.randn(*lead, s, generator=gen),
        )
        with torch.no_grad():
            expected = mixer(agent_qs, states)
            got = fn(mixer.hyper_w_1, mixer.V, agent_qs.clone(), states.clone())
            got = tensor_like(
                name, got, expected, "sum over the agents and keep that axis: [..., 1]."
            )
            if torch.allclose(got, expected, atol=1e-5):
                continue
            w, v = mixer.hyper_w_1(states), mixer.V(states)
            if torch.allclose(got, (agent_qs * w).sum(-1, keepdim=True) + v, atol=1e-5):
                hint = "the weights must be non-negative: |w_a(s)|, or Q_tot is not monotonic."
            elif torch.allclose(got, (agent_qs * w.abs()).sum(-1, keepdim=True), atol=1e-5):
                hint = "add the state-dependent bias V(s)."
            else:
                hint = "q_tot = (agent_qs * |hyper_w(states)|).sum(-1, keepdim=True) + V(states)."
        raise fail(name, f"wrong values for {n} agents, batch shape {lead}", hint)
    return report_pass(name, "3 mixers, equal to LinearMixer (QMIX-Lin)")
