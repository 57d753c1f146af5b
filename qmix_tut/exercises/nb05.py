"""Exercises for notebook 05 (DRQN agents).

>>> from qmix_tut.agents import build_inputs
>>> check_build_inputs(lambda obs, last, n_actions: build_inputs(obs, last, n_actions))
PASS build_inputs: ...
True
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..agents import build_inputs
from ._common import fail, report_pass

__all__ = ["check_build_inputs", "check_gru_step", "check_unroll_with_resets"]


def _as_tensor(name: str, got, hint: str) -> torch.Tensor:
    if not isinstance(got, torch.Tensor):
        raise fail(name, f"returned {type(got).__name__}", hint)
    return got


def check_build_inputs(fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> bool:
    """``fn(obs, last_actions, n_actions)`` returns each agent's network input.

    ``obs [..., n_agents, obs_dim]``, ``last_actions [..., n_agents]`` (integers, -1 for
    "no previous action" at the first step). The input is the observation, then the one-hot
    of the last action (all zeros for -1), then the one-hot of the agent's id:
    ``[..., n_agents, obs_dim + n_actions + n_agents]``.
    """
    name = "build_inputs"
    gen = torch.Generator().manual_seed(5)
    for lead, n_agents, obs_dim, n_actions in [((), 2, 3, 4), ((5,), 3, 4, 2), ((2, 3), 4, 2, 5)]:
        obs = torch.randn(*lead, n_agents, obs_dim, generator=gen)
        last = torch.randint(-1, n_actions, (*lead, n_agents), generator=gen)
        last.view(-1)[0] = -1  # at least one first step in every case
        expected = build_inputs(obs, last, n_actions, agent_id=True)
        got = _as_tensor(name, fn(obs.clone(), last.clone(), n_actions), "return a torch.Tensor.")
        if got.shape != expected.shape:
            size = obs_dim + n_actions + n_agents
            if got.shape[-1] == obs_dim + n_actions:
                hint = "append the one-hot of each agent's id (torch.eye(n_agents)) as well."
            elif got.shape[-1] == obs_dim + n_agents:
                hint = "append the one-hot of the last action as well (F.one_hot)."
            elif got.shape[-1] == obs_dim + n_actions + 1 + n_agents:
                hint = (
                    "one-hot -1 as all zeros with n_actions columns: one-hot (action + 1) "
                    "over n_actions + 1 classes, then drop the first column."
                )
            else:
                hint = f"concatenate along the last axis: obs_dim + n_actions + n_agents = {size}."
            raise fail(
                name, f"returned shape {tuple(got.shape)}, expected {tuple(expected.shape)}", hint
            )
        got = got.to(expected.dtype)
        if torch.allclose(got, expected):
            continue
        obs_part = got[..., :obs_dim]
        act_part = got[..., obs_dim : obs_dim + n_actions]
        id_part = got[..., obs_dim + n_actions :]
        exp_act = expected[..., obs_dim : obs_dim + n_actions]
        if not torch.allclose(obs_part, obs):
            hint = "put the observation first, unchanged."
        elif not torch.allclose(act_part, exp_act):
            wrapped = F.one_hot(last % n_actions, n_actions).to(got.dtype)
            if torch.allclose(act_part, wrapped):
                hint = (
                    "-1 (no previous action) became the last action: Python's negative "
                    "indexing. The first step's last-action part must be all zeros."
                )
            else:
                hint = "the middle part is the one-hot of last_actions (all zeros where -1)."
        elif not torch.allclose(id_part, expected[..., obs_dim + n_actions :]):
            hint = "the last part is agent i's id: a one at position i, for every batch entry."
        else:
            hint = "order: observation, last-action one-hot, agent-id one-hot."
        raise fail(name, f"wrong inputs for batch shape {lead}, {n_agents} agents", hint)
    return report_pass(name, "3 batch shapes, first steps included")


def check_gru_step(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(x, h, w_ih, w_hh, b_ih, b_hh)`` returns the GRU's next hidden state ``h'``.

    ``x [B, D]``, ``h [B, H]``; the weights are laid out as in ``torch.nn.GRUCell``: rows of
    ``w_ih [3H, D]``, ``w_hh [3H, H]``, ``b_ih``, ``b_hh [3H]`` hold the reset gate, the update
    gate and the candidate, in that order::

        r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h
    """
    name = "gru_step"
    torch.manual_seed(0)
    for batch, d, hidden in [(3, 4, 5), (1, 6, 2), (7, 3, 8)]:
        cell = torch.nn.GRUCell(d, hidden)
        x, h = torch.randn(batch, d), torch.randn(batch, hidden)
        w_ih, w_hh = cell.weight_ih.detach(), cell.weight_hh.detach()
        b_ih, b_hh = cell.bias_ih.detach(), cell.bias_hh.detach()
        with torch.no_grad():
            expected = cell(x, h)
        got = _as_tensor(
            name, fn(x.clone(), h.clone(), w_ih, w_hh, b_ih, b_hh), "return h' as a tensor."
        )
        if got.shape != expected.shape:
            raise fail(
                name,
                f"returned shape {tuple(got.shape)}, expected {tuple(expected.shape)}",
                "h' has the shape of h: [batch, hidden].",
            )
        got = got.detach()
        if torch.allclose(got, expected, atol=1e-5):
            continue
        gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        r = torch.sigmoid(gi[:, :hidden] + gh[:, :hidden])
        z = torch.sigmoid(gi[:, hidden : 2 * hidden] + gh[:, hidden : 2 * hidden])
        n = torch.tanh(gi[:, 2 * hidden :] + r * gh[:, 2 * hidden :])
        n_outside = torch.tanh(
            gi[:, 2 * hidden :] + r * (h @ w_hh[2 * hidden :].T) + b_hh[2 * hidden :]
        )
        if torch.allclose(got, z * n + (1 - z) * h, atol=1e-5):
            hint = "PyTorch keeps z of the OLD state: h' = (1 - z) * n + z * h."
        elif torch.allclose(got, (1 - z) * n_outside + z * h, atol=1e-5):
            hint = "the reset gate multiplies (W_hn h + b_hn), bias included."
        elif torch.allclose(got, _swapped_gates(gi, gh, h, hidden), atol=1e-5):
            hint = "the gate order in the weight rows is reset (r), update (z), candidate (n)."
        else:
            hint = "split the rows into three blocks of H: r, z, n; see the docstring's equations."
        raise fail(name, f"wrong h' for batch {batch}, input {d}, hidden {hidden}", hint)
    return report_pass(name, "equal to torch.nn.GRUCell on 3 random cells")


def _swapped_gates(gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor, hidden: int):
    # the first block read as the update gate and the second as the reset gate
    z = torch.sigmoid(gi[:, :hidden] + gh[:, :hidden])
    r = torch.sigmoid(gi[:, hidden : 2 * hidden] + gh[:, hidden : 2 * hidden])
    n = torch.tanh(gi[:, 2 * hidden :] + r * gh[:, 2 * hidden :])
    return (1 - z) * n + z * h


def _unroll(
    cell: torch.nn.GRUCell,
    inputs: torch.Tensor,
    starts: torch.Tensor,
    reset_before: bool = True,
    reset: bool = True,
) -> torch.Tensor:
    h, out = torch.zeros(inputs.shape[1], cell.hidden_size), []
    for t in range(inputs.shape[0]):
        keep = (~starts[t]).float()[:, None]
        if reset and reset_before:
            h = h * keep
        h = cell(inputs[t], h)
        if reset and not reset_before:
            h = h * keep
        out.append(h)
    return torch.stack(out)


def check_unroll_with_resets(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(cell, inputs, starts)`` runs a ``torch.nn.GRUCell`` over a stream of steps.

    ``inputs [T, B, D]`` are B streams of T steps in which episodes follow one another;
    ``starts [T, B]`` is True where a new episode begins. The hidden state starts at zeros,
    is carried from step to step, and is reset to zeros *before* every step that starts an
    episode. Returns every step's hidden state, ``[T, B, H]``.
    """
    name = "unroll_with_resets"
    torch.manual_seed(1)
    for steps, batch, d, hidden in [(6, 2, 3, 4), (9, 3, 2, 5)]:
        cell = torch.nn.GRUCell(d, hidden)
        inputs = torch.randn(steps, batch, d)
        starts = torch.rand(steps, batch) < 0.3
        starts[0] = True
        starts[steps // 2, 0] = True
        starts[1:, -1] = False  # one stream is a single long episode

        with torch.no_grad():
            expected = _unroll(cell, inputs, starts)
            got = fn(cell, inputs.clone(), starts.clone())
            got = _as_tensor(name, got, "return the stacked hidden states [T, B, H].")
            if got.shape != expected.shape:
                raise fail(
                    name,
                    f"returned shape {tuple(got.shape)}, expected {tuple(expected.shape)}",
                    "one hidden state per step and stream: torch.stack over time.",
                )
            if torch.allclose(got, expected, atol=1e-5):
                continue
            if torch.allclose(got, _unroll(cell, inputs, starts, reset=False), atol=1e-5):
                hint = (
                    "the hidden state leaked from one episode into the next: zero it where "
                    "starts is True."
                )
            elif torch.allclose(got, _unroll(cell, inputs, starts, reset_before=False), atol=1e-5):
                hint = (
                    "reset BEFORE the step that starts an episode (its input is the first "
                    "observation of the new episode), not after it."
                )
            else:
                hint = "h = cell(inputs[t], h * (~starts[t]).float()[:, None]) at every step t."
            raise fail(name, f"wrong hidden states for {steps} steps of {batch} streams", hint)
    return report_pass(name, "2 streams of episodes, resets in place")
