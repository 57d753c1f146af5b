"""Mixers: turn the chosen agents' Q-values into one joint value Q_tot.

Every mixer maps ``agent_qs[..., n_agents]`` (and the global state ``states[...,
state_dim]`` where it uses one) to ``q_tot[..., 1]``. IQL has no mixer; VDN sums;
QMIX mixes with a monotonic network whose weights come from hypernetworks of the state.

>>> import torch
>>> mixer = QMixer(n_agents=3, state_dim=5, embed_dim=8)
>>> mixer(torch.randn(32, 10, 3), torch.randn(32, 10, 5)).shape
torch.Size([32, 10, 1])

Parameter names follow the original reference implementation (``hyper_w_1``,
``hyper_b_1``, ``hyper_w_final``, ``V``) so weights can be moved between the two.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .algorithms import HYPERNET_LAYERS, MIXER_NAMES, spec


def check_mixer_inputs(
    agent_qs: torch.Tensor, states: torch.Tensor | None, n_agents: int, state_dim: int | None
) -> None:
    """Raise TypeError for what is not a float tensor, ValueError naming shapes seen and expected.

    >>> import numpy as np
    >>> check_mixer_inputs(np.zeros((4, 2)), None, 2, None)
    Traceback (most recent call last):
    ...
    TypeError: agent_qs must be a floating-point torch.Tensor, got numpy.ndarray
    """
    _check_float_tensor("agent_qs", agent_qs)
    if states is not None:
        _check_float_tensor("states", states)
    if agent_qs.dim() < 1 or agent_qs.shape[-1] != n_agents:
        raise ValueError(
            f"agent_qs must be [..., n_agents={n_agents}], got shape {tuple(agent_qs.shape)}"
        )
    if state_dim is None:
        return
    if states is None:
        raise ValueError(f"this mixer needs states [..., state_dim={state_dim}], got None")
    expected = (*agent_qs.shape[:-1], state_dim)
    if tuple(states.shape) != expected:
        raise ValueError(f"states must have shape {expected}, got {tuple(states.shape)}")


def _check_float_tensor(name: str, value: object) -> None:
    if not isinstance(value, torch.Tensor):
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        if type(value).__module__ == "builtins":
            kind = type(value).__qualname__
        raise TypeError(f"{name} must be a floating-point torch.Tensor, got {kind}")
    if not value.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point torch.Tensor, got dtype {value.dtype} "
            f"(convert with .float())"
        )


class VDNMixer(nn.Module):
    """VDN (Sunehag et al. 2018): Q_tot = sum over agents of Q_a. No parameters."""

    def __init__(self, n_agents: int | None = None) -> None:
        super().__init__()
        self.n_agents = n_agents

    def forward(self, agent_qs: torch.Tensor, states: torch.Tensor | None = None) -> torch.Tensor:
        """``agent_qs[..., n_agents] -> q_tot[..., 1]``; ``states`` is ignored."""
        if self.n_agents is not None:
            check_mixer_inputs(agent_qs, None, self.n_agents, None)
        else:
            _check_float_tensor("agent_qs", agent_qs)
        return agent_qs.sum(dim=-1, keepdim=True)


class VDNSMixer(nn.Module):
    """VDN-S (QMIX paper ablation): the VDN sum plus a state-dependent bias V(s)."""

    def __init__(self, n_agents: int, state_dim: int, embed_dim: int = 32) -> None:
        super().__init__()
        self.n_agents, self.state_dim = n_agents, state_dim
        self.V = nn.Sequential(
            nn.Linear(state_dim, embed_dim), nn.ReLU(inplace=True), nn.Linear(embed_dim, 1)
        )

    def forward(self, agent_qs: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """``agent_qs[..., n_agents], states[..., state_dim] -> q_tot[..., 1]``."""
        check_mixer_inputs(agent_qs, states, self.n_agents, self.state_dim)
        return agent_qs.sum(dim=-1, keepdim=True) + self.V(states)


MANY_VALUES = 4096
"""From this many hidden values on (states x mixing width), the mixers take their fast path
for large batches: broadcast products and :func:`elu` with ``exp``. Below it, for the
two-step game's batches of a few dozen states, ``torch.bmm`` and ``F.elu`` are faster,
being fewer operations, each with its fixed cost."""


def elu(x: torch.Tensor) -> torch.Tensor:
    """ELU with alpha 1: x where x > 0, e^x - 1 elsewhere (the QMIX mixer's non-linearity).

    For a tensor of at least :data:`MANY_VALUES` values, it is computed with ``exp``: on the
    CPU, ``F.elu`` evaluates e^x - 1 with ``expm1`` one element at a time, several times
    slower than this on the mixer's hidden layer of a replay batch. The result equals
    ``F.elu``'s to within 1e-7, with the same gradient; ``min(x, 0)`` is written
    ``-relu(-x)``, whose gradient is cheaper than clamp's. Smaller tensors go to ``F.elu``,
    one operation instead of seven.

    >>> x = torch.linspace(-5, 5, 5001)
    >>> torch.allclose(elu(x), F.elu(x), atol=1e-7), torch.equal(elu(x[:100]), F.elu(x[:100]))
    (True, True)
    """
    if x.numel() < MANY_VALUES:
        return F.elu(x)
    return F.relu(x) + (torch.exp(-F.relu(-x)) - 1.0)


def _check_layers(hypernet_layers: int) -> None:
    if hypernet_layers not in HYPERNET_LAYERS:
        choices = " or ".join(map(str, HYPERNET_LAYERS))
        raise ValueError(f"hypernet_layers must be {choices}, got {hypernet_layers}")


def _hypernet(state_dim: int, out_dim: int, layers: int, embed: int) -> nn.Module:
    # in-place ReLUs here and in V, as in the agents: a Linear's gradient needs its input only
    if layers == 1:
        return nn.Linear(state_dim, out_dim)
    return nn.Sequential(
        nn.Linear(state_dim, embed), nn.ReLU(inplace=True), nn.Linear(embed, out_dim)
    )


class QMixer(nn.Module):
    """QMIX (Rashid et al. 2018): a monotonic mixing network conditioned on the state.

    ``q_tot = |W_2(s)|^T ELU(|W_1(s)|^T q + b_1(s)) + V(s)``. The weights pass through abs,
    so dq_tot/dq_a >= 0 for every agent; the biases are free, since they do not affect
    monotonicity.
    """

    def __init__(
        self,
        n_agents: int,
        state_dim: int,
        embed_dim: int = 32,
        hypernet_layers: int = 2,
        hypernet_embed: int = 64,
    ) -> None:
        super().__init__()
        _check_layers(hypernet_layers)
        self.n_agents, self.state_dim, self.embed_dim = n_agents, state_dim, embed_dim
        self.hyper_w_1 = _hypernet(state_dim, n_agents * embed_dim, hypernet_layers, hypernet_embed)
        self.hyper_w_final = _hypernet(state_dim, embed_dim, hypernet_layers, hypernet_embed)
        self.hyper_b_1 = nn.Linear(state_dim, embed_dim)
        self.V = nn.Sequential(
            nn.Linear(state_dim, embed_dim), nn.ReLU(inplace=True), nn.Linear(embed_dim, 1)
        )

    def mixing_weights(self, states: torch.Tensor) -> dict[str, torch.Tensor]:
        """The state's mixing network: w1 [..., n, e], b1 [..., 1, e], w2 [..., e, 1], v [..., 1, 1]."""
        lead = states.shape[:-1]
        s = states.reshape(-1, self.state_dim)  # rows: one fused matmul per Linear (as agents)
        return {
            "w1": torch.abs(self.hyper_w_1(s)).view(*lead, self.n_agents, self.embed_dim),
            "b1": self.hyper_b_1(s).view(*lead, 1, self.embed_dim),
            "w2": torch.abs(self.hyper_w_final(s)).view(*lead, self.embed_dim, 1),
            "v": self.V(s).view(*lead, 1, 1),
        }

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden layer's non-linearity (ELU, as in the paper); a subclass may swap it."""
        return elu(x)

    def forward(self, agent_qs: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """``agent_qs[..., n_agents], states[..., state_dim] -> q_tot[..., 1]``."""
        check_mixer_inputs(agent_qs, states, self.n_agents, self.state_dim)
        # one row per state: w1 [rows, n, e], b1 [rows, 1, e], w2 [rows, e, 1], v [rows, 1, 1]
        p = self.mixing_weights(states.reshape(-1, self.state_dim))
        # hidden = ELU(b1 + q^T |W1|), q_tot = V + hidden^T |w2|: two batches of tiny matrix
        # products, one per state (1 x n by n x e, then 1 x e by e x 1)
        rows = agent_qs.reshape(-1, 1, self.n_agents)  # the agents' values as [rows, 1, n]
        if rows.shape[0] * self.embed_dim < MANY_VALUES:  # a few states: torch.baddbmm,
            # bias + x @ W in one batched call each
            hidden = self.activation(torch.baddbmm(p["b1"], rows, p["w1"]))  # [rows, 1, e]
            q_tot = torch.baddbmm(p["v"], hidden, p["w2"])  # [rows, 1, 1]
        else:  # many (a replay batch): bmm pays a fixed cost per state, and a broadcast
            # multiply and a sum take about a third of its time, forward and backward
            q = rows.view(-1, self.n_agents, 1)
            hidden = self.activation(p["b1"] + (q * p["w1"]).sum(1, keepdim=True))
            q_tot = (hidden * p["w2"].view(-1, 1, self.embed_dim)).sum(-1, keepdim=True) + p["v"]
        return q_tot.view(*agent_qs.shape[:-1], 1)  # [..., 1]


class LinearMixer(nn.Module):
    """QMIX-Lin (QMIX paper ablation): no hidden layer, so Q_tot is linear in the agents' Qs.

    ``q_tot = sum_a |w_a(s)| q_a + V(s)``: state-dependent non-negative weights and bias.
    """

    def __init__(
        self, n_agents: int, state_dim: int, hypernet_layers: int = 2, hypernet_embed: int = 64
    ) -> None:
        super().__init__()
        _check_layers(hypernet_layers)
        self.n_agents, self.state_dim = n_agents, state_dim
        self.hyper_w_1 = _hypernet(state_dim, n_agents, hypernet_layers, hypernet_embed)
        self.V = nn.Sequential(
            nn.Linear(state_dim, hypernet_embed),
            nn.ReLU(inplace=True),
            nn.Linear(hypernet_embed, 1),
        )

    def forward(self, agent_qs: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """``agent_qs[..., n_agents], states[..., state_dim] -> q_tot[..., 1]``."""
        check_mixer_inputs(agent_qs, states, self.n_agents, self.state_dim)
        w = torch.abs(self.hyper_w_1(states))
        return (agent_qs * w).sum(dim=-1, keepdim=True) + self.V(states)


class QMixerNoState(nn.Module):
    """QMIX-NS (QMIX paper ablation): the same monotonic network, weights not from the state.

    The mixing weights and biases are plain learned parameters; ``states`` is ignored.
    """

    def __init__(self, n_agents: int, state_dim: int | None = None, embed_dim: int = 32) -> None:
        super().__init__()
        self.n_agents, self.embed_dim = n_agents, embed_dim
        self.w_1 = nn.Parameter(torch.rand(n_agents, embed_dim) / n_agents**0.5)
        self.b_1 = nn.Parameter(torch.zeros(embed_dim))
        self.w_final = nn.Parameter(torch.rand(embed_dim, 1) / embed_dim**0.5)
        self.v = nn.Parameter(torch.zeros(1))

    def forward(self, agent_qs: torch.Tensor, states: torch.Tensor | None = None) -> torch.Tensor:
        """``agent_qs[..., n_agents] -> q_tot[..., 1]``; ``states`` is ignored."""
        check_mixer_inputs(agent_qs, None, self.n_agents, None)
        hidden = elu(agent_qs @ torch.abs(self.w_1) + self.b_1)
        return hidden @ torch.abs(self.w_final) + self.v


_BUILDERS: dict[str, Callable[[int, int, int, int, int], nn.Module]] = {
    "vdn": lambda n, s, e, layers, h: VDNMixer(n),
    "vdn_s": lambda n, s, e, layers, h: VDNSMixer(n, s, e),
    "qmix": lambda n, s, e, layers, h: QMixer(n, s, e, layers, h),
    "qmix_ns": lambda n, s, e, layers, h: QMixerNoState(n, s, e),
    "qmix_lin": lambda n, s, e, layers, h: LinearMixer(n, s, layers, h),
}
assert tuple(_BUILDERS) == MIXER_NAMES, "every mixer named in the registry has a builder"


def make_mixer(
    algo: str,
    n_agents: int,
    state_dim: int,
    embed_dim: int = 32,
    hypernet_layers: int = 2,
    hypernet_embed: int = 64,
) -> nn.Module | None:
    """The mixer of an algorithm (see :mod:`qmix_tut.algorithms`); None when it has none.

    >>> make_mixer("iql", 2, 3) is None, type(make_mixer("qmix_lin", 2, 3)).__name__
    (True, 'LinearMixer')
    """
    mixer = spec(algo).mixer
    if mixer is None:
        return None
    return _BUILDERS[mixer](n_agents, state_dim, embed_dim, hypernet_layers, hypernet_embed)
