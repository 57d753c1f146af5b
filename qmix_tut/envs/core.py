"""One view of every task: fixed-size numpy arrays and one team reward.

:class:`MultiAgentEnv` wraps any PettingZoo ``ParallelEnv`` with discrete actions and
turns its per-agent dictionaries into arrays, ``obs [n_agents, obs_dim]``,
``state [state_dim]`` and ``avail [n_agents, n_actions]`` (float32), checks every action
before it reaches the env, and tells a real end of the task (``terminated``) apart from
the time limit (``truncated``). :class:`VecEnv` steps several of them together.

>>> from qmix_tut.envs import TwoStepGame
>>> env = MultiAgentEnv(TwoStepGame(), name="two_step")
>>> obs, state, avail = env.reset(seed=0)
>>> obs.shape, state.shape, avail.shape
((2, 3), (3,), (2, 2))
>>> env.step([1, 1])[3:6], env.step([1, 1])[3:6]
((0.0, False, False), (8.0, True, False))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

__all__ = ["MultiAgentEnv", "VecEnv"]

REWARD_MODES = ("sum", "mean")


def _box_of(space: spaces.Space, agent: str) -> spaces.Box:
    # envs with action masks in their observations wrap the real observation in a Dict
    if isinstance(space, spaces.Dict) and "observation" in space.spaces:
        space = space["observation"]
    if not isinstance(space, spaces.Box):
        raise ValueError(f"the observation space of {agent} must be a Box, got {space}")
    return space


def _find_episode_limit(env: ParallelEnv) -> int | None:
    for holder in (env, env.unwrapped):
        for attr in ("episode_limit", "max_cycles"):
            value = getattr(holder, attr, None)
            if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                return int(value)
    return None


class MultiAgentEnv:
    """A PettingZoo ``ParallelEnv`` seen as arrays with one shared team reward.

    Args:
        env: the PettingZoo parallel env (discrete actions, Box observations).
        name: the name shown in listings (defaults to the env's metadata name).
        episode_limit: the most steps an episode can last; read from the env's
            ``episode_limit`` or ``max_cycles`` when not given. An episode still running
            at this many steps ends as ``truncated``.
        reward: ``"sum"`` (default) or ``"mean"`` of the agents' rewards. An env that pays
            every agent the same team reward (``shared_reward = True``, as the package's
            own games do) gives that reward once in either mode: summing its copies would
            count it ``n_agents`` times.

    Agents' observations and action sets may differ in size: observations are padded
    with zeros to the largest, and padded actions are never available. An agent that
    has left the episode observes zeros and may only choose action 0, which is not sent
    to the env. The global state is the env's ``state()`` when it has a ``state_space``,
    else the agents' observations concatenated.

    >>> from qmix_tut.envs import MemoryGame
    >>> env = MultiAgentEnv(MemoryGame(length=2), name="memory")
    >>> _, _, avail = env.reset(seed=3)
    >>> avail
    array([[1., 0.],
           [1., 0.]], dtype=float32)
    >>> env.step([1, 0])
    Traceback (most recent call last):
    ...
    ValueError: memory: agent 0 chose action 1, which is not available (available: [0])
    """

    def __init__(
        self,
        env: ParallelEnv,
        name: str | None = None,
        episode_limit: int | None = None,
        reward: str = "sum",
    ) -> None:
        if reward not in REWARD_MODES:
            raise ValueError(f"reward must be one of {REWARD_MODES}, got {reward!r}")
        self.env = env
        self.name = name if name is not None else str(env.metadata.get("name", type(env).__name__))
        self.reward_mode = reward
        self.agents = list(env.possible_agents)
        self.n_agents = len(self.agents)
        if self.n_agents == 0:
            raise ValueError(f"{self.name}: the env has no agents")

        self._obs_sizes = []
        self._action_counts = []
        for agent in self.agents:
            box = _box_of(env.observation_space(agent), agent)
            self._obs_sizes.append(int(np.prod(box.shape)))
            action_space = env.action_space(agent)
            if not isinstance(action_space, spaces.Discrete) or int(action_space.start) != 0:
                raise ValueError(
                    f"{self.name}: the action space of {agent} must be Discrete(n) starting at 0, "
                    f"got {action_space}"
                )
            self._action_counts.append(int(action_space.n))
        self.obs_dim = max(self._obs_sizes)
        self.n_actions = max(self._action_counts)

        self._env_state = hasattr(env, "state_space")
        if self._env_state:
            self.state_dim = int(np.prod(env.state_space.shape))
        else:
            self.state_dim = sum(self._obs_sizes)

        limit = episode_limit if episode_limit is not None else _find_episode_limit(env)
        if limit is None:
            raise ValueError(
                f"{self.name}: the env's episode limit is unknown; pass episode_limit=<steps>"
            )
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
            raise ValueError(f"episode_limit must be a positive integer, got {limit!r}")
        self.episode_limit = int(limit)
        self.shared_reward = bool(getattr(env.unwrapped, "shared_reward", False))

        self._avail: np.ndarray | None = None
        self._running = False
        self._t = 0

    # -- the interface ----------------------------------------------------------------
    def reset(self, seed: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start an episode: ``(obs [n, obs_dim], state [state_dim], avail [n, n_actions])``.

        An unseeded reset continues the env's random stream, so seeding the first reset
        fixes every episode after it.
        """
        observations, infos = self.env.reset(seed=seed)
        obs, state, avail = self._arrays(observations, infos)
        self._avail, self._running, self._t = avail, True, 0
        return obs, state, avail.copy()

    def check_actions(self, actions: Any) -> np.ndarray:
        """The joint action as an int64 array, or a ``ValueError`` naming the bad choice."""
        if self._avail is None:
            raise RuntimeError(f"{self.name}: call reset() before step()")
        acts = np.asarray(actions)
        if acts.shape != (self.n_agents,):
            raise ValueError(
                f"{self.name}: expected one action per agent, shape ({self.n_agents},), "
                f"got shape {acts.shape}"
            )
        if not np.issubdtype(acts.dtype, np.integer):
            raise ValueError(f"{self.name}: actions must be integers, got dtype {acts.dtype}")
        acts = acts.astype(np.int64)
        for i, a in enumerate(acts.tolist()):
            if not 0 <= a < self.n_actions:
                raise ValueError(
                    f"{self.name}: agent {i} chose action {a}, which is out of range "
                    f"(0..{self.n_actions - 1})"
                )
            if self._avail[i, a] == 0:
                available = np.flatnonzero(self._avail[i]).tolist()
                raise ValueError(
                    f"{self.name}: agent {i} chose action {a}, which is not available "
                    f"(available: {available})"
                )
        return acts

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, bool, bool, dict]:
        """Play one joint action (one int per agent).

        Returns ``(obs, state, avail, reward, terminated, truncated, info)``; ``info``
        holds ``agent_rewards`` (float32 ``[n_agents]``, zero for absent agents).
        """
        if not self._running:
            if self._avail is None:
                raise RuntimeError(f"{self.name}: call reset() before step()")
            raise RuntimeError(f"{self.name}: the episode has ended, call reset() before step()")
        acts = self.check_actions(actions)
        live = set(self.env.agents)
        joint = {a: int(acts[i]) for i, a in enumerate(self.agents) if a in live}
        observations, rewards, terminations, truncations, infos = self.env.step(joint)
        self._t += 1

        agent_rewards = np.array([rewards.get(a, 0.0) for a in self.agents], dtype=np.float32)
        reward = self._team_reward(rewards)
        still_running = [
            a for a in self.env.agents if not (terminations.get(a) or truncations.get(a))
        ]
        ended = not still_running
        terminated = ended and any(bool(terminations.get(a)) for a in self.agents)
        truncated = (ended and not terminated) or (not ended and self._t >= self.episode_limit)
        self._running = not (terminated or truncated)

        obs, state, avail = self._arrays(observations, infos)
        self._avail = avail
        return (
            obs,
            state,
            avail.copy(),
            reward,
            terminated,
            truncated,
            {"agent_rewards": agent_rewards},
        )

    def info(self) -> dict[str, Any]:
        """Sizes for listings: name, n_agents, n_actions, obs_dim, state_dim, episode_limit."""
        return {
            "name": self.name,
            "n_agents": self.n_agents,
            "n_actions": self.n_actions,
            "obs_dim": self.obs_dim,
            "state_dim": self.state_dim,
            "episode_limit": self.episode_limit,
        }

    def render(self) -> Any:
        """The env's frame (an RGB array when made with ``render_mode="rgb_array"``)."""
        mode = getattr(self.env, "render_mode", None)
        if mode is None:
            raise RuntimeError(
                f"{self.name} was made without a render mode; make it with "
                "render_mode='rgb_array' (or 'human') to render"
            )
        return self.env.render()

    def close(self) -> None:
        """Release the env's resources (windows, fonts)."""
        self.env.close()

    @property
    def t(self) -> int:
        """Steps taken in the current episode."""
        return self._t

    def __repr__(self) -> str:
        return f"MultiAgentEnv({self.info()})"

    # -- helpers ----------------------------------------------------------------------
    def _team_reward(self, rewards: dict[str, float]) -> float:
        values = [float(rewards[a]) for a in self.agents if a in rewards]
        if not values:
            return 0.0
        if self.shared_reward:
            if max(values) - min(values) > 1e-9 * max(1.0, abs(values[0])):
                raise RuntimeError(
                    f"{self.name} declares a shared reward but paid agents differently: {values}"
                )
            return values[0]
        total = float(sum(values))
        return total / self.n_agents if self.reward_mode == "mean" else total

    def _arrays(
        self, observations: dict[str, Any], infos: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        obs = np.zeros((self.n_agents, self.obs_dim), dtype=np.float32)
        avail = np.zeros((self.n_agents, self.n_actions), dtype=np.float32)
        raw_obs = []
        for i, agent in enumerate(self.agents):
            if agent not in observations:
                raw_obs.append(np.zeros(self._obs_sizes[i], dtype=np.float32))
                avail[i, 0] = 1.0  # a no-op so that every row keeps a legal action
                continue
            x = observations[agent]
            mask = None
            if isinstance(x, dict):
                mask = x.get("action_mask")
                x = x["observation"]
            info = infos.get(agent) or {}
            if "action_mask" in info:
                mask = info["action_mask"]
            x = np.asarray(x, dtype=np.float32).ravel()
            raw_obs.append(x)
            obs[i, : x.size] = x
            count = self._action_counts[i]
            if mask is None:
                avail[i, :count] = 1.0
            else:
                avail[i, :count] = np.asarray(mask, dtype=np.float32).ravel()[:count] != 0
        if self._env_state:
            state = np.asarray(self.env.state(), dtype=np.float32).ravel()
        else:
            state = np.concatenate(raw_obs).astype(np.float32, copy=False)
        return obs, state, avail


class VecEnv:
    """Several :class:`MultiAgentEnv` of one kind stepped together in this process.

    An env whose episode ends is reset at once: its row in the returned arrays is the new
    episode's first step, and ``infos[e]`` holds ``final_obs``, ``final_state``,
    ``final_avail``, ``episode_return`` and ``episode_length`` of the episode just ended.

    >>> from qmix_tut.envs import make_vec
    >>> venv = make_vec("matrix:climbing", num_envs=3, seed=0)
    >>> obs, state, avail = venv.reset()
    >>> obs.shape, state.shape, avail.shape
    ((3, 2, 1), (3, 1), (3, 2, 3))
    >>> obs, state, avail, reward, terminated, truncated, infos = venv.step([[0, 0]] * 3)
    >>> reward, terminated, infos[0]["episode_return"]
    (array([11., 11., 11.], dtype=float32), array([ True,  True,  True]), 11.0)
    """

    def __init__(self, envs: Sequence[MultiAgentEnv], seed: int | None = None) -> None:
        self.envs = list(envs)
        if not self.envs:
            raise ValueError("VecEnv needs at least one env")
        first = self.envs[0]
        sizes = {k: v for k, v in first.info().items() if k != "name"}
        for e, env in enumerate(self.envs[1:], start=1):
            if {k: v for k, v in env.info().items() if k != "name"} != sizes:
                raise ValueError(
                    f"every env must have the same sizes: env 0 is {first.info()}, "
                    f"env {e} is {env.info()}"
                )
        self.num_envs = len(self.envs)
        self.name = first.name
        self.n_agents, self.n_actions = first.n_agents, first.n_actions
        self.obs_dim, self.state_dim = first.obs_dim, first.state_dim
        self.episode_limit = first.episode_limit
        self._seed = seed
        self._returns = np.zeros(self.num_envs, dtype=np.float64)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)
        self._started = False

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Reset every env: obs ``[E, n, obs_dim]``, state ``[E, state_dim]``, avail ``[E, n, A]``.

        With a seed (or the one given at construction, on the first reset) env ``e`` is
        seeded with ``seed + e``.
        """
        if seed is None and not self._started:
            seed = self._seed
        rows = [env.reset(None if seed is None else seed + e) for e, env in enumerate(self.envs)]
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self._started = True
        return self._stack(rows)

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        """Step every env with ``actions [E, n_agents]``; ended episodes restart at once.

        Returns obs, state, avail, reward ``[E]`` float32, terminated ``[E]`` and truncated
        ``[E]`` (bool) and a list of ``E`` info dicts.
        """
        if not self._started:
            raise RuntimeError("call reset() before step()")
        acts = np.asarray(actions)
        if acts.shape != (self.num_envs, self.n_agents):
            raise ValueError(
                f"actions must have shape (num_envs, n_agents) = ({self.num_envs}, {self.n_agents}), "
                f"got {acts.shape}"
            )
        # check all before stepping any, so a bad action leaves every env untouched
        for e, env in enumerate(self.envs):
            try:
                env.check_actions(acts[e])
            except ValueError as err:
                raise ValueError(f"env {e}: {err}") from None
        rows, infos = [], []
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        for e, env in enumerate(self.envs):
            obs, state, avail, reward, term, trunc, info = env.step(acts[e])
            rewards[e], terminated[e], truncated[e] = reward, term, trunc
            self._returns[e] += reward
            self._lengths[e] += 1
            if term or trunc:
                info = {
                    **info,
                    "final_obs": obs,
                    "final_state": state,
                    "final_avail": avail,
                    "episode_return": float(self._returns[e]),
                    "episode_length": int(self._lengths[e]),
                }
                self._returns[e], self._lengths[e] = 0.0, 0
                obs, state, avail = env.reset()
            rows.append((obs, state, avail))
            infos.append(info)
        return (*self._stack(rows), rewards, terminated, truncated, infos)

    def close(self) -> None:
        """Close every env."""
        for env in self.envs:
            env.close()

    def __len__(self) -> int:
        return self.num_envs

    @staticmethod
    def _stack(rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]]):
        obs, state, avail = zip(*rows, strict=True)
        return np.stack(obs), np.stack(state), np.stack(avail)
