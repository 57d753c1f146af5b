"""Read what was learned: Q_tot tables for the small games, and monotonicity checks.

>>> from qmix_tut import Config, train
>>> from qmix_tut.analysis import q_tot_tables
>>> result = train(Config.preset("two_step_paper", total_steps=400), progress=False)
>>> sorted(q_tot_tables(result))
['1', '2A', '2B']
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
from torch import nn

from .agents import build_inputs
from .envs import make
from .learner import QLearner
from .reference import PAPER_TWO_STEP  # noqa: F401  (its earlier home; notebooks import it here)


def agent_q_values(result, trajectory: list[tuple[int, ...]]) -> np.ndarray:
    """Each agent's Q-values at the end of a trajectory of joint actions from a reset.

    Returns ``[n_agents, n_actions]`` for the observation reached after playing the joint
    actions in ``trajectory`` (an empty trajectory: the first step).
    """
    agent, mixer = result.build()
    env = make(result.config.env, **result.config.env_kwargs)
    obs, state, _ = env.reset(seed=0)
    obs_seq, state_seq = [obs], [state]
    for joint in trajectory:
        obs, state, *_ = env.step(list(joint))
        obs_seq.append(obs)
        state_seq.append(state)
    q = _sequence_q(result, agent, env, obs_seq, trajectory)
    return q[-1].numpy()


def _sequence_q(result, agent: nn.Module, env, obs_seq, trajectory) -> torch.Tensor:
    cfg = result.config
    obs = torch.as_tensor(np.stack(obs_seq))[None]  # [1, T, n, obs_dim]
    last = None
    if cfg.last_action_input:
        previous = [(-1,) * env.n_agents, *trajectory]
        last = torch.tensor(previous, dtype=torch.int64)[None]
    inputs = build_inputs(obs, last, env.n_actions, cfg.agent_id_input)
    with torch.no_grad():
        return QLearner.episode_q_values(agent, inputs)[0]  # [T, n, A]


def joint_q_table(mixer: nn.Module | None, agent_qs: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Q_tot for every joint action: ``agent_qs [n, A]`` -> array of shape ``[A] * n``.

    With no mixer (IQL) the entries are the sum of the agents' values, for comparison.
    """
    n, a = agent_qs.shape
    joint = np.array(list(itertools.product(range(a), repeat=n)))  # [A^n, n]
    chosen = torch.as_tensor(agent_qs[np.arange(n), joint], dtype=torch.float32)  # [A^n, n]
    with torch.no_grad():
        if mixer is None:
            q_tot = chosen.sum(-1)
        else:
            states = torch.as_tensor(state, dtype=torch.float32).expand(len(joint), -1)
            q_tot = mixer(chosen, states).squeeze(-1)
    return q_tot.numpy().reshape([a] * n)


def q_tot_tables(result) -> dict[str, np.ndarray]:
    """Learned Q_tot over joint actions for the two-step game or a one-step matrix game.

    Two-step game: keys ``"1"``, ``"2A"``, ``"2B"`` (rows agent 1's action, columns agent
    2's). State 2A is reached by (A, A) and 2B by (B, B); with last-action inputs the
    tables are read for those histories. Matrix game: key ``"matrix"``.
    """
    env_name = result.config.env
    agent, mixer = result.build()
    env = make(env_name, **result.config.env_kwargs)
    if env_name == "two_step":
        paths = {"1": [], "2A": [(0, 0)], "2B": [(1, 1)]}
    elif env_name.startswith("matrix"):
        paths = {"matrix": []}
    else:
        raise ValueError(f"q_tot_tables reads the two-step and matrix games only, not {env_name!r}")
    tables = {}
    for key, trajectory in paths.items():
        obs, state, _ = env.reset(seed=0)
        obs_seq = [obs]
        for joint in trajectory:
            obs, state, *_ = env.step(list(joint))
            obs_seq.append(obs)
        q = _sequence_q(result, agent, env, obs_seq, trajectory)[-1].numpy()
        tables[key] = joint_q_table(mixer, q, state)
    return tables


def greedy_joint_action(result) -> tuple[int, ...]:
    """The joint action the trained agents pick greedily at the first step."""
    q = agent_q_values(result, [])
    return tuple(int(i) for i in q.argmax(-1))


def mixer_gradients(mixer: nn.Module, agent_qs: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """dQ_tot/dQ_a at each point, by autograd: same shape as agent_qs."""
    agent_qs = agent_qs.detach().clone().requires_grad_(True)
    q_tot = mixer(agent_qs, states)
    (grad,) = torch.autograd.grad(q_tot.sum(), agent_qs)
    return grad


def is_monotonic(
    mixer: nn.Module, agent_qs: torch.Tensor, states: torch.Tensor, tol: float = 0.0
) -> bool:
    """True when dQ_tot/dQ_a >= -tol for every agent at every given point."""
    return bool((mixer_gradients(mixer, agent_qs, states) >= -tol).all())


def igm_holds(mixer: nn.Module | None, agent_qs: np.ndarray, state: np.ndarray) -> bool:
    """Argmax consistency: the joint argmax of Q_tot is the tuple of per-agent argmaxes."""
    table = joint_q_table(mixer, agent_qs, state)
    joint_best = np.unravel_index(np.argmax(table), table.shape)
    per_agent = tuple(int(i) for i in agent_qs.argmax(-1))
    # ties among agent values may make several joint actions optimal: compare values
    return bool(np.isclose(table[per_agent], table[joint_best], rtol=0, atol=1e-6))


# ------------------------------------------------------------------------------------------
# teaching maths: monotonic mixing in numpy, and the argmax it preserves
# ------------------------------------------------------------------------------------------
def monotonic_mix(
    agent_qs: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: float
) -> np.ndarray:
    """A QMIX-style mixing function in numpy: ``|w2|^T ELU(|w1|^T q + b1) + b2``.

    ``agent_qs`` is ``[..., n]``, ``w1`` ``[n, hidden]``, ``b1`` and ``w2`` ``[hidden]``.
    Taking ``abs`` of the weights makes every path from ``q_a`` to the output
    non-decreasing, so the result is monotonic in each ``q_a``.
    """
    hidden = agent_qs @ np.abs(w1) + b1
    hidden = np.where(hidden > 0, hidden, np.expm1(np.minimum(hidden, 0.0)))  # ELU
    return hidden @ np.abs(w2) + b2


def argmax_consistency_example(
    seed: int = 7, n_actions: int = 3, hidden: int = 8
) -> dict[str, Any]:
    """Two agents' Q-values and the joint Q_tot a random monotonic mixer makes of them.

    Returns ``q1`` and ``q2`` ``[n_actions]``, ``q_tot`` ``[n_actions, n_actions]`` (rows:
    agent 1's action), the per-agent greedy actions ``greedy`` and the joint greedy action
    ``joint_greedy``, which IGM says are equal.
    """
    rng = np.random.default_rng(seed)
    q1 = np.round(rng.uniform(-1.0, 2.0, n_actions), 2)
    q2 = np.round(rng.uniform(-1.0, 2.0, n_actions), 2)
    w1 = rng.normal(size=(2, hidden))
    b1 = rng.normal(size=hidden)
    w2 = rng.normal(size=hidden)
    b2 = float(rng.normal())
    joint = np.stack(np.meshgrid(q1, q2, indexing="ij"), axis=-1)  # [n_actions, n_actions, 2]
    q_tot = monotonic_mix(joint, w1, b1, w2, b2)
    joint_greedy = tuple(int(i) for i in np.unravel_index(np.argmax(q_tot), q_tot.shape))
    return {
        "q1": q1,
        "q2": q2,
        "q_tot": q_tot,
        "greedy": (int(np.argmax(q1)), int(np.argmax(q2))),
        "joint_greedy": joint_greedy,
    }
