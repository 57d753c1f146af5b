"""Read what was learned: Q_tot tables for the small games, and monotonicity checks.

>>> from qmix_tut import Config, train
>>> from qmix_tut.analysis import q_tot_tables
>>> result = train(Config.preset("two_step_paper", total_steps=400), progress=False)
>>> sorted(q_tot_tables(result))
['1', '2A', '2B']
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn

from .agents import build_inputs
from .envs import make
from .learner import QLearner

# The QMIX paper's Table 1 (Rashid et al. 2018): Q_tot learned on the two-step game,
# rows agent 1's action (A, B), columns agent 2's.
PAPER_TWO_STEP = {
    "qmix": {
        "1": np.array([[6.93, 6.93], [7.92, 7.92]]),
        "2A": np.array([[7.00, 7.00], [7.00, 7.00]]),
        "2B": np.array([[0.00, 1.00], [1.00, 8.00]]),
    },
    "vdn": {
        "1": np.array([[6.94, 6.94], [6.35, 6.36]]),
        "2A": np.array([[6.99, 7.02], [6.99, 7.02]]),
        "2B": np.array([[-1.87, 2.31], [2.33, 6.51]]),
    },
}


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
