"""Agent networks: one network shared by all agents, fed the agent's own view.

Each agent's input is its observation, optionally followed by the one-hot of its
previous action and the one-hot of its id (so one shared network can still behave
differently per agent). Both agents take whole sequences ``[batch, time, input_dim]``:
the recurrent one unrolls its GRU/LSTM over time in one fused call, which is what makes
learning over whole episodes fast.

>>> import torch
>>> agent = RNNAgent(input_dim=10, n_actions=5)
>>> q, h = agent(torch.zeros(4, 7, 10))          # 4 sequences of 7 steps
>>> q.shape, h.shape
(torch.Size([4, 7, 5]), torch.Size([1, 4, 64]))
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from .algorithms import AGENTS, RNN_CELLS

Hidden = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None


class AgentNetwork(Protocol):
    """What the runner and the learner need of an agent network (both agents here are one).

    ``forward(inputs[..., input_dim], hidden) -> (q[..., n_actions], hidden)``; a
    ``recurrent`` agent takes whole sequences ``[B, T, input_dim]``.
    """

    recurrent: bool
    n_actions: int

    def init_hidden(self, batch_size: int) -> Hidden: ...

    def __call__(
        self, inputs: torch.Tensor, hidden: Hidden = None
    ) -> tuple[torch.Tensor, Hidden]: ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...


def agent_input_dim(
    obs_dim: int, n_actions: int, n_agents: int, last_action: bool = True, agent_id: bool = True
) -> int:
    """Size of one agent's input vector: observation [+ last action one-hot] [+ id one-hot]."""
    return obs_dim + (n_actions if last_action else 0) + (n_agents if agent_id else 0)


def build_inputs(
    obs: torch.Tensor,
    last_actions: torch.Tensor | None = None,
    n_actions: int | None = None,
    agent_id: bool = True,
) -> torch.Tensor:
    """Concatenate each agent's observation, last-action one-hot and id one-hot.

    obs: ``[..., n_agents, obs_dim]``. last_actions: ``[..., n_agents]`` integer actions,
    with -1 meaning "no previous action" (the first step), or None to leave them out.
    Returns ``[..., n_agents, input_dim]``.

    >>> x = build_inputs(torch.zeros(2, 3, 4), torch.tensor([[0, 1, -1], [2, 2, 2]]), 3)
    >>> x.shape
    torch.Size([2, 3, 10])
    """
    if obs.dim() < 2:
        raise ValueError(f"obs must be [..., n_agents, obs_dim], got shape {tuple(obs.shape)}")
    n_agents = obs.shape[-2]
    parts = [obs]
    if last_actions is not None:
        if n_actions is None:
            raise ValueError("n_actions is needed to one-hot the last actions")
        if last_actions.shape != obs.shape[:-1]:
            raise ValueError(
                f"last_actions must have shape {tuple(obs.shape[:-1])}, got {tuple(last_actions.shape)}"
            )
        # -1 (no previous action) maps to an all-zero one-hot.
        one_hot = F.one_hot((last_actions + 1).long(), n_actions + 1)[..., 1:]
        parts.append(one_hot.to(obs.dtype))
    if agent_id:
        ids = torch.eye(n_agents, dtype=obs.dtype, device=obs.device)
        parts.append(ids.expand(*obs.shape[:-1], n_agents))
    return torch.cat(parts, dim=-1)


class MLPAgent(nn.Module):
    """A feed-forward agent: Linear-ReLU-Linear-ReLU-Linear to one Q-value per action.

    It has no memory; ``hidden`` is accepted and returned as None so that it can be used
    wherever a recurrent agent can.
    """

    recurrent = False

    def __init__(self, input_dim: int, n_actions: int, hidden_dim: int = 64) -> None:
        super().__init__()
        self.input_dim, self.n_actions, self.hidden_dim = input_dim, n_actions, hidden_dim
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, hidden_dim)
        self.fc3 = nn.Linear(hidden_dim, n_actions)

    def init_hidden(self, batch_size: int) -> None:
        """No memory: always None."""
        return None

    def forward(self, inputs: torch.Tensor, hidden: Hidden = None) -> tuple[torch.Tensor, None]:
        """``inputs[..., input_dim] -> (q[..., n_actions], None)``."""
        _check_last_dim(inputs, self.input_dim, "inputs")
        # one row per (..., agent): a 2-D Linear is a single fused matmul-plus-bias (addmm),
        # cheaper forwards and backwards than the same Linear over a 4-D batch. The ReLUs
        # work in place (a Linear's gradient needs its input, not its output): a replay
        # batch's hidden layer is over a megabyte, and a second copy of it leaves the cache
        x = F.relu(self.fc1(inputs.reshape(-1, self.input_dim)), inplace=True)
        x = F.relu(self.fc2(x), inplace=True)
        return self.fc3(x).view(*inputs.shape[:-1], self.n_actions), None


class RNNAgent(nn.Module):
    """DRQN agent (Hausknecht & Stone 2015): Linear-ReLU, a GRU (or LSTM), Linear to Q.

    ``forward(inputs[B, T, input_dim], hidden)`` unrolls over all T steps in one fused
    call and returns ``(q[B, T, n_actions], hidden)``. ``hidden`` is ``[1, B, hidden_dim]``
    (a pair of them for the LSTM); None means zeros, the start of an episode.
    """

    recurrent = True

    def __init__(
        self, input_dim: int, n_actions: int, hidden_dim: int = 64, cell: str = "gru"
    ) -> None:
        super().__init__()
        if cell not in RNN_CELLS:
            raise ValueError(f"cell must be one of {', '.join(RNN_CELLS)}, got {cell!r}")
        self.input_dim, self.n_actions, self.hidden_dim, self.cell = (
            input_dim,
            n_actions,
            hidden_dim,
            cell,
        )
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        rnn_class = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn_class(hidden_dim, hidden_dim, batch_first=True)
        self.fc2 = nn.Linear(hidden_dim, n_actions)

    def init_hidden(self, batch_size: int) -> Hidden:
        """Zeros ``[1, batch_size, hidden_dim]`` (a pair for the LSTM): an episode's start."""
        h = self.fc1.weight.new_zeros(1, batch_size, self.hidden_dim)
        return (h, h.clone()) if self.cell == "lstm" else h

    def forward(self, inputs: torch.Tensor, hidden: Hidden = None) -> tuple[torch.Tensor, Hidden]:
        """``inputs[B, T, input_dim] -> (q[B, T, n_actions], hidden)``, unrolled over T."""
        _check_last_dim(inputs, self.input_dim, "inputs")
        if inputs.dim() != 3:
            raise ValueError(
                f"RNNAgent expects inputs [batch, time, {self.input_dim}], got {tuple(inputs.shape)}"
            )
        x = F.relu(self.fc1(inputs), inplace=True)  # in place, as in MLPAgent
        x, hidden = self.rnn(x, hidden)
        return self.fc2(x), hidden


def make_agent(
    kind: str, input_dim: int, n_actions: int, hidden_dim: int = 64, cell: str = "gru"
) -> MLPAgent | RNNAgent:
    """Build an agent by name: one of :data:`qmix_tut.algorithms.AGENTS`."""
    if kind == "mlp":
        return MLPAgent(input_dim, n_actions, hidden_dim)
    if kind == "rnn":
        return RNNAgent(input_dim, n_actions, hidden_dim, cell)
    raise ValueError(f"agent must be one of {', '.join(AGENTS)}, got {kind!r}")


def _check_last_dim(x: torch.Tensor, expected: int, name: str) -> None:
    if x.shape[-1] != expected:
        raise ValueError(f"{name} last dimension must be {expected}, got shape {tuple(x.shape)}")
