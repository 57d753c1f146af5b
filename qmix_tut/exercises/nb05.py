"""Exercises for notebook 05 (DRQN agents).

>>> from qmix_tut.agents import build_inputs
>>> check_build_inputs(lambda obs, last, n_actions: build_inputs(obs, last, n_actions))
PASS build_inputs: ...
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..agents import build_inputs
from ._common import fail, report_pass, tensor_like

__all__ = sorted(
    ["check_build_inputs", "check_gru_step", "check_unroll_with_resets", "check_memory_bounds"]
)


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

        def hint(
            got_shape: tuple[int, ...], o: int = obs_dim, a: int = n_actions, n: int = n_agents
        ) -> str:
            width = got_shape[-1] if got_shape else 0
            if width == o + a:
                return "append the one-hot of each agent's id (torch.eye(n_agents)) as well."
            if width == o + n:
                return "append the one-hot of the last action as well (F.one_hot)."
            if width == o + a + 1 + n:
                return (
                    "one-hot -1 as all zeros with n_actions columns: one-hot (action + 1) "
                    "over n_actions + 1 classes, then drop the first column."
                )
            return f"concatenate along the last axis: obs_dim + n_actions + n_agents = {o + a + n}."

        got = tensor_like(name, fn(obs.clone(), last.clone(), n_actions), expected, hint)
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
        got = tensor_like(
            name,
            fn(x.clone(), h.clone(), w_ih, w_hh, b_ih, b_hh),
            expected,
            "h' has the shape of h: [batch, hidden].",
            type_hint="return h' as a tensor.",
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
            got = tensor_like(
                name,
                got,
                expected,
                "one hidden state per step and stream: torch.stack over time.",
                type_hint="return the stacked hidden states [T, B, H].",
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


def check_memory_bounds(fn: Callable[[int, int], tuple]) -> bool:
    """``fn(n_agents, n_cues)`` returns ``(memoryless, random)`` for the memory task with
    ``n_cues`` equally likely cues (and as many actions at the last step): the best
    expected return of a team without memory, and that of a team picking its last actions
    uniformly at random."""
    name = "memory_bounds"
    cases = [(2, 2), (2, 3), (3, 2), (4, 5), (1, 4)]
    for n_agents, n_cues in cases:
        expected = (1.0 / n_cues, (1.0 / n_cues) ** n_agents)
        try:
            got = tuple(float(x) for x in fn(n_agents, n_cues))
        except (TypeError, ValueError):
            raise fail(name, "did not return two numbers", "return (memoryless, random).") from None
        if len(got) == 2 and np.allclose(got, expected):
            continue
        seen = f"fn({n_agents}, {n_cues}) returned {got}, expected {expected}"
        if len(got) == 2 and np.isclose(got[0], (1.0 / n_cues) ** n_agents):
            hint = "a memoryless team need not play at random: it plays one fixed joint action at the last step, all agents naming the same cue, right for one cue in n_cues."
        elif len(got) == 2 and np.isclose(got[1], 1.0 / n_cues):
            hint = (
                "at random, every one of the n agents must name the cue: (1 / n_cues) ** n_agents."
            )
        else:
            hint = "memoryless: one fixed joint action, paid when the cue matches it: 1 / n_cues; random: (1 / n_cues) ** n_agents."
        raise fail(name, seen, hint)
    return report_pass(
        name, f"{len(cases)} task sizes: 1/2 without memory, 1/4 at random for 2 agents and 2 cues"
    )
