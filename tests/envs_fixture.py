"""Tiny PettingZoo parallel envs, named in tests as ``"envs_fixture:<function>"``.

Each one exercises one convention of the wrapper: action masks inside a ``Dict``
observation, agents that leave before the episode ends, and the cases that must be
refused (continuous actions, no time limit, observations that change size, an AEC env).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv


class _Tiny(ParallelEnv):
    """Bookkeeping shared by the tiny envs: agents, spaces built once, a seeded RNG."""

    metadata: dict[str, Any] = {"name": "tiny", "render_modes": []}

    def __init__(self, n_agents: int, max_cycles: int | None) -> None:
        self.possible_agents = [f"agent_{i}" for i in range(n_agents)]
        self.agents: list[str] = []
        if max_cycles is not None:
            self.max_cycles = max_cycles
        self.render_mode = None
        self._rng = np.random.default_rng(0)
        self._t = 0

    def _seed(self, seed: int | None) -> None:
        if seed is not None:
            self._rng = np.random.default_rng(seed)

    def render(self) -> None:
        return None

    def close(self) -> None:
        pass


class MaskedChoice(_Tiny):
    """Every step each agent sees a random set of allowed actions (at least one) and is
    paid the number of the action it chose, divided by ``n_actions - 1``: the best play
    takes the highest allowed action. The mask is in the observation dict, as PettingZoo's
    classic games do, and is also part of the observation proper. No ``state()``.
    """

    metadata = {"name": "masked_choice", "render_modes": []}

    def __init__(self, n_agents: int = 2, n_actions: int = 4, length: int = 5) -> None:
        super().__init__(n_agents, max_cycles=length)
        self.n_actions, self.length = n_actions, length
        obs = spaces.Box(0.0, 1.0, (n_actions + length,), np.float32)
        mask = spaces.Box(0, 1, (n_actions,), np.int8)
        self._obs_space = spaces.Dict({"observation": obs, "action_mask": mask})
        self._act_space = spaces.Discrete(n_actions)
        self._masks: dict[str, np.ndarray] = {}

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_space

    def _draw(self) -> None:
        for agent in self.possible_agents:
            mask = (self._rng.random(self.n_actions) < 0.5).astype(np.int8)
            mask[self._rng.integers(self.n_actions)] = 1
            self._masks[agent] = mask

    def _observe(self) -> dict[str, dict[str, np.ndarray]]:
        out = {}
        for agent in self.possible_agents:
            x = np.zeros(self.n_actions + self.length, np.float32)
            x[: self.n_actions] = self._masks[agent]
            x[self.n_actions + min(self._t, self.length - 1)] = 1.0
            out[agent] = {"observation": x, "action_mask": self._masks[agent].copy()}
        return out

    def reset(self, seed: int | None = None, options: dict | None = None):
        self._seed(seed)
        self.agents, self._t = list(self.possible_agents), 0
        self._draw()
        return self._observe(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        rewards = {}
        for agent in self.agents:
            action = int(actions[agent])
            if not self._masks[agent][action]:
                raise ValueError(f"{agent} chose the masked action {action}")
            rewards[agent] = action / (self.n_actions - 1)
        self._t += 1
        over = self._t >= self.length
        self._draw()
        agents = self.agents
        obs = self._observe()
        if over:
            self.agents = []
        return (
            obs,
            rewards,
            {a: False for a in agents},
            {a: over for a in agents},
            {a: {} for a in agents},
        )


class LeavingTeam(_Tiny):
    """Agent ``i`` leaves (is terminated) after ``2 + i`` steps. Each step every agent
    still present sees a random bit and earns 1 for choosing the action that matches it.
    With ``limit`` below the last departure, the agents still present are truncated then.
    Random play earns half of ``sum(2 + i)``; the best play all of it.
    """

    metadata = {"name": "leaving_team", "render_modes": []}

    def __init__(self, n_agents: int = 3, limit: int = 8) -> None:
        super().__init__(n_agents, max_cycles=limit)
        self.limit = limit
        self.stays = {a: 2 + i for i, a in enumerate(self.possible_agents)}
        self._obs_space = spaces.Box(0.0, 1.0, (2 + limit,), np.float32)
        self._act_space = spaces.Discrete(2)
        self._bits: dict[str, int] = {}

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_space

    def state(self) -> np.ndarray:
        return np.array([self._bits.get(a, 0) for a in self.possible_agents], np.float32)

    @functools.cached_property
    def state_space(self) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (len(self.possible_agents),), np.float32)

    def _observe(self, agents: list[str]) -> dict[str, np.ndarray]:
        out = {}
        for agent in agents:
            x = np.zeros(2 + self.limit, np.float32)
            x[self._bits[agent]] = 1.0
            x[2 + min(self._t, self.limit - 1)] = 1.0
            out[agent] = x
        return out

    def reset(self, seed: int | None = None, options: dict | None = None):
        self._seed(seed)
        self.agents, self._t = list(self.possible_agents), 0
        self._bits = {a: int(self._rng.integers(2)) for a in self.agents}
        return self._observe(self.agents), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        if set(actions) != set(self.agents):
            raise ValueError(f"expected actions of {self.agents}, got {sorted(actions)}")
        rewards = {a: float(int(actions[a]) == self._bits[a]) for a in self.agents}
        self._t += 1
        agents = self.agents
        terminations = {a: self._t >= self.stays[a] for a in agents}
        truncations = {a: self._t >= self.limit and not terminations[a] for a in agents}
        self._bits = {a: int(self._rng.integers(2)) for a in agents}
        obs = self._observe(agents)
        self.agents = [a for a in agents if not (terminations[a] or truncations[a])]
        return obs, rewards, terminations, truncations, {a: {} for a in agents}


class _Broken(_Tiny):
    """A one-agent env whose spaces or limit a test chooses, to check the refusals."""

    metadata = {"name": "broken", "render_modes": []}

    def __init__(self, action_space: spaces.Space, max_cycles: int | None, grow: bool) -> None:
        super().__init__(2, max_cycles)
        self._obs_space = spaces.Box(0.0, 1.0, (3,), np.float32)
        self._act_space = action_space
        self.grow = grow

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_space

    def _observe(self) -> dict[str, np.ndarray]:
        size = 3 + (self._t if self.grow else 0)
        return {a: np.zeros(size, np.float32) for a in self.agents}

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.agents, self._t = list(self.possible_agents), 0
        return self._observe(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        self._t += 1
        agents = self.agents
        return (
            self._observe(),
            {a: 0.0 for a in agents},
            {a: False for a in agents},
            {a: False for a in agents},
            {a: {} for a in agents},
        )


# -- factories, named "envs_fixture:<function>" -------------------------------------------
def masked_choice(**kwargs: Any) -> ParallelEnv:
    return MaskedChoice(**kwargs)


def leaving_team(**kwargs: Any) -> ParallelEnv:
    return LeavingTeam(**kwargs)


def continuous_actions() -> ParallelEnv:
    return _Broken(spaces.Box(-1.0, 1.0, (2,), np.float32), max_cycles=5, grow=False)


def endless() -> ParallelEnv:
    return _Broken(spaces.Discrete(2), max_cycles=None, grow=False)


def growing_observations() -> ParallelEnv:
    return _Broken(spaces.Discrete(2), max_cycles=5, grow=True)


def tictactoe() -> ParallelEnv:
    """PettingZoo's tic-tac-toe (turn-based, masks in the observation dict) as parallel."""
    from pettingzoo.classic import tictactoe_v3
    from pettingzoo.utils.conversions import turn_based_aec_to_parallel

    return turn_based_aec_to_parallel(tictactoe_v3.env())


def tictactoe_aec() -> Any:
    from pettingzoo.classic import tictactoe_v3

    return tictactoe_v3.env()


def not_an_env() -> Any:
    return {"agents": 2}
