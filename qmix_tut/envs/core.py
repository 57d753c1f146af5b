"""One view of every task: fixed-size numpy arrays and one team reward.

:class:`MultiAgentEnv` wraps any PettingZoo ``ParallelEnv`` with discrete actions and
turns its per-agent dictionaries into arrays, ``obs [n_agents, obs_dim]``,
``state [state_dim]`` and ``avail [n_agents, n_actions]`` (float32), checks every action
before it reaches the env, and tells a real end of the task (``terminated``) apart from
the time limit (``truncated``).

>>> from qmix_tut.envs import TwoStepGame
>>> env = MultiAgentEnv(TwoStepGame(), name="two_step")
>>> obs, state, avail = env.reset(seed=0)
>>> obs.shape, state.shape, avail.shape
((2, 3), (3,), (2, 2))
>>> env.step([1, 1])[3:6], env.step([1, 1])[3:6]
((0.0, False, False), (8.0, True, False))
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

__all__ = ["MultiAgentEnv", "find_episode_limit", "observation_part"]

REWARD_MODES = ("sum", "mean")
MASK_KEY = "action_mask"
# where an env may keep its time limit, in the order they are looked up
LIMIT_ATTRIBUTES = ("episode_limit", "max_cycles", "max_episode_steps")


def observation_part(space: spaces.Space) -> tuple[spaces.Space, bool]:
    """The observation space without its action mask, and whether it held one.

    PettingZoo envs with masks observe ``Dict(observation=..., action_mask=...)``; any
    other ``Dict`` keeps all its keys but ``"action_mask"``.

    >>> part, masked = observation_part(spaces.Dict(
    ...     observation=spaces.Box(0, 1, (3, 3)), action_mask=spaces.MultiBinary(9)))
    >>> part, masked
    (Box(0.0, 1.0, (3, 3), float32), True)
    """
    if isinstance(space, spaces.Dict) and MASK_KEY in space.spaces:
        rest = {k: v for k, v in space.spaces.items() if k != MASK_KEY}
        if list(rest) == ["observation"]:
            return rest["observation"], True
        return spaces.Dict(rest), True
    return space, False


def _flattener(space: spaces.Space, who: str) -> tuple[int, Callable[[Any], np.ndarray]]:
    """The flat size of an observation space and a function that flattens one observation.

    A ``Box`` is read in row-major (C) order; anything else goes through gymnasium's
    ``spaces.flatten`` (``Dict`` keys in the space's order, which gymnasium sorts for a
    plain dict; ``Tuple`` entries in order; ``Discrete`` and ``MultiDiscrete`` one-hot).
    """
    if isinstance(space, spaces.Box):
        size = int(np.prod(space.shape))
        return size, lambda x: np.asarray(x, dtype=np.float32).ravel()
    try:
        size = int(spaces.flatdim(space))
    except (NotImplementedError, ValueError, TypeError) as err:
        raise ValueError(
            f"the observation space of {who} is {space}, which cannot be flattened into a "
            f"vector of fixed size ({err}); use Box, Discrete, MultiDiscrete, MultiBinary, "
            "or a Dict or Tuple of them"
        ) from None
    if size == 0:
        raise ValueError(f"the observation space of {who} is empty: {space}")

    def flatten(x: Any) -> np.ndarray:
        if isinstance(x, dict) and MASK_KEY in x and isinstance(space, spaces.Dict):
            x = {k: v for k, v in x.items() if k != MASK_KEY}
        return np.asarray(spaces.flatten(space, x), dtype=np.float32).ravel()

    return size, flatten


def _observation_entry(flatten: Callable[[Any], np.ndarray], x: Any) -> np.ndarray:
    # Dict(observation=..., action_mask=...): the observation proper is one entry
    return flatten(x["observation"] if isinstance(x, dict) else x)


def find_episode_limit(env: Any) -> tuple[int | None, str]:
    """The env's own time limit and where it was found, or ``(None, reason)``.

    Looks at ``episode_limit``, ``max_cycles`` and ``max_episode_steps`` on the env, on
    ``env.unwrapped`` and on the env that PettingZoo's conversion wrappers hold
    (``aec_env``, ``env``), then at a gymnasium ``spec.max_episode_steps``.

    >>> from qmix_tut.envs import TwoStepGame
    >>> find_episode_limit(TwoStepGame())
    (2, 'episode_limit of TwoStepGame')
    """
    holders, seen = [env], set()
    while holders:
        holder = holders.pop(0)
        if holder is None or id(holder) in seen:
            continue
        seen.add(id(holder))
        for attr in LIMIT_ATTRIBUTES:
            value = getattr(holder, attr, None)
            if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0:
                return int(value), f"{attr} of {type(holder).__name__}"
        spec = getattr(holder, "spec", None)
        steps = getattr(spec, "max_episode_steps", None)
        if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool) and steps > 0:
            return int(steps), f"spec.max_episode_steps of {type(holder).__name__}"
        for inner in ("unwrapped", "aec_env", "env"):
            try:
                holders.append(getattr(holder, inner, None))
            except Exception:  # some wrappers raise on attributes they do not have
                continue
    return None, "no episode_limit, max_cycles, max_episode_steps or spec.max_episode_steps"


def env_sizes(env: Any) -> dict[str, Any]:
    """An environment's name and the sizes networks and buffers are built for: name,
    n_agents, n_actions, obs_dim, state_dim, episode_limit (one env or a batched one)."""
    return {
        "name": env.name,
        "n_agents": env.n_agents,
        "n_actions": env.n_actions,
        "obs_dim": env.obs_dim,
        "state_dim": env.state_dim,
        "episode_limit": env.episode_limit,
    }


class MultiAgentEnv:
    """A PettingZoo ``ParallelEnv`` seen as arrays with one shared team reward.

    Args:
        env: the PettingZoo parallel env (discrete actions).
        name: the name shown in listings (defaults to the env's metadata name).
        episode_limit: the most steps an episode can last; read from the env's
            ``episode_limit``, ``max_cycles``, ``max_episode_steps`` or gymnasium spec when
            not given (see :func:`find_episode_limit`), and required when the env has none.
            An episode still running at this many steps ends as ``truncated``.
        reward: ``"sum"`` (default) or ``"mean"`` of the agents' rewards. An env that pays
            every agent the same team reward (``shared_reward = True``, as the package's
            own games do) gives that reward once in either mode: summing its copies would
            count it ``n_agents`` times.

    How PettingZoo's conventions become arrays:

    1. Observations are flattened: a ``Box`` in row-major order (an image ``(H, W, C)``
       becomes ``H*W*C`` numbers), a ``Dict`` key by key in the space's order (gymnasium
       sorts the keys of a plain dict) without its ``"action_mask"``, a ``Tuple`` entry
       by entry, ``Discrete`` and ``MultiDiscrete`` one-hot.
    2. Action masks come from the observation's ``"action_mask"`` or from
       ``infos[agent]["action_mask"]`` (the info wins when both exist); without either,
       every action is available.
    3. Heterogeneous teams: observations are zero-padded to the largest agent's size and
       actions beyond an agent's own ``Discrete(n)`` are never available, so one shared
       network serves every agent (its agent-id input tells them apart).
    4. An agent that has left the episode (no longer in ``env.agents``), or whose mask
       allows nothing this step (another agent's turn), takes no action: it observes zeros
       (or its last observation on the step it left), its only available action is the
       placeholder 0, and that action is not sent to the env. ``info["acted"]`` says which
       agents' actions were sent.
    5. The global state is ``env.state()`` when the env declares a ``state_space`` (the
       PettingZoo convention), else the agents' observations concatenated (unpadded, in
       ``possible_agents`` order, zeros for absent agents). :attr:`state_source` says which.
    6. An episode ends when no agent is left; it is ``terminated`` when the last agents
       terminated and ``truncated`` when any of them was truncated (the learner
       bootstraps through a truncation), or when ``episode_limit`` steps have passed.

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
        for method in ("reset", "step", "observation_space", "action_space"):
            if not callable(getattr(env, method, None)):
                raise TypeError(
                    f"expected a PettingZoo ParallelEnv, got {type(env).__name__} without "
                    f"{method}(); an AEC env can be converted with "
                    "pettingzoo.utils.conversions.aec_to_parallel (or turn_based_aec_to_parallel)"
                )
        self.env = env
        metadata = getattr(env, "metadata", None) or {}
        self.name = name if name is not None else str(metadata.get("name", type(env).__name__))
        self.reward_mode = reward
        self.agents = list(getattr(env, "possible_agents", None) or [])
        self.n_agents = len(self.agents)
        if self.n_agents == 0:
            raise ValueError(f"{self.name}: the env has no possible_agents")

        self._obs_sizes: list[int] = []
        self._flatten: list[Callable[[Any], np.ndarray]] = []
        self._action_counts: list[int] = []
        self.mask_in_obs: list[bool] = []
        for agent in self.agents:
            who = f"{self.name} agent {agent!r}"
            full_space = env.observation_space(agent)
            obs_space, masked = observation_part(full_space)
            size, flatten = _flattener(obs_space, who)
            if masked and not isinstance(obs_space, spaces.Dict):
                flatten = functools.partial(_observation_entry, flatten)
            self._obs_sizes.append(size)
            self._flatten.append(flatten)
            self.mask_in_obs.append(masked)
            self._action_counts.append(self._check_action_space(env.action_space(agent), who))
        self.obs_dim = max(self._obs_sizes)
        self.n_actions = max(self._action_counts)
        self.heterogeneous = len(set(self._obs_sizes)) > 1 or len(set(self._action_counts)) > 1

        state_space = getattr(env, "state_space", None)
        if isinstance(state_space, spaces.Space):
            self.state_source = "env.state()"
            self.state_dim = int(np.prod(state_space.shape))
        else:
            self.state_source = "observations"
            self.state_dim = sum(self._obs_sizes)

        if episode_limit is None:
            limit, self.limit_source = find_episode_limit(env)
            if limit is None:
                raise ValueError(
                    f"{self.name}: the env has no time limit that can be found "
                    f"({self.limit_source}); an episode that never truncates cannot be "
                    "collected into fixed-length buffers: pass episode_limit=<steps> "
                    "(make(..., episode_limit=N), Config(env_kwargs={'episode_limit': N}), "
                    "or --set episode_limit=N for qmix-tut check-env)"
                )
        else:
            limit, self.limit_source = episode_limit, "given"
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
            raise ValueError(f"episode_limit must be a positive integer, got {limit!r}")
        self.episode_limit = int(limit)
        self.shared_reward = bool(getattr(getattr(env, "unwrapped", env), "shared_reward", False))

        # where the last action mask was read: "observation", "infos", or None (never seen)
        self.mask_source: str | None = None
        self._avail: np.ndarray | None = None
        self._acting = np.zeros(self.n_agents, dtype=bool)
        self._agent_index = np.arange(self.n_agents)
        self._running = False
        self._t = 0

    @staticmethod
    def _check_action_space(space: spaces.Space, who: str) -> int:
        if isinstance(space, spaces.Discrete):
            if int(space.start) != 0:
                raise ValueError(
                    f"the action space of {who} is {space}: actions must be numbered from 0 "
                    "(Discrete(n) with start=0)"
                )
            return int(space.n)
        if isinstance(space, spaces.Box):
            raise ValueError(
                f"the action space of {who} is continuous, {space}: QMIX chooses among "
                "discrete actions (Discrete(n)); make the env with discrete actions if it "
                "offers them (mpe2: continuous_actions=False)"
            )
        raise ValueError(
            f"the action space of {who} is {space}: only Discrete(n) is supported "
            "(a MultiDiscrete or Tuple action must be enumerated into one Discrete first)"
        )

    # -- the interface ----------------------------------------------------------------
    def reset(self, seed: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start an episode: ``(obs [n, obs_dim], state [state_dim], avail [n, n_actions])``.

        An unseeded reset continues the env's random stream, so seeding the first reset
        fixes every episode after it.
        """
        observations, infos = self.env.reset(seed=seed)
        self._t = 0
        obs, state, avail = self._arrays(observations, infos or {})
        self._avail, self._running = avail, True
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
        if acts.dtype.kind not in "iu":  # signed or unsigned integers
            raise ValueError(f"{self.name}: actions must be integers, got dtype {acts.dtype}")
        acts = acts.astype(np.int64, copy=False)
        in_range = (acts >= 0) & (acts < self.n_actions)
        if in_range.all() and self._avail[self._agent_index, acts].all():
            return acts
        for i, a in enumerate(acts.tolist()):  # name the first bad choice
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
        raise AssertionError("unreachable: some action was out of range or unavailable")

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, bool, bool, dict]:
        """Play one joint action (one int per agent).

        Returns ``(obs, state, avail, reward, terminated, truncated, info)``; ``info``
        holds ``agent_rewards`` (float32 ``[n_agents]``, zero for absent agents) and
        ``acted`` (bool ``[n_agents]``, the agents whose actions were sent to the env).
        """
        if not self._running:
            if self._avail is None:
                raise RuntimeError(f"{self.name}: call reset() before step()")
            raise RuntimeError(f"{self.name}: the episode has ended, call reset() before step()")
        acts = self.check_actions(actions)
        acted = self._acting.copy()
        joint = {a: int(acts[i]) for i, a in enumerate(self.agents) if acted[i]}
        observations, rewards, terminations, truncations, infos = self.env.step(joint)
        self._t += 1

        agent_rewards = np.array([rewards.get(a, 0.0) for a in self.agents], dtype=np.float32)
        reward = self._team_reward(rewards)
        still_running = [
            a for a in self.env.agents if not (terminations.get(a) or truncations.get(a))
        ]
        if not still_running:
            truncated = any(bool(v) for v in truncations.values()) or not any(
                bool(v) for v in terminations.values()
            )
            terminated = not truncated
        else:
            terminated, truncated = False, self._t >= self.episode_limit
        self._running = not (terminated or truncated)

        obs, state, avail = self._arrays(observations, infos or {})
        self._avail = avail
        info = {"agent_rewards": agent_rewards, "acted": acted}
        return obs, state, avail.copy(), reward, terminated, truncated, info

    def info(self) -> dict[str, Any]:
        """Sizes for listings: name, n_agents, n_actions, obs_dim, state_dim, episode_limit."""
        return env_sizes(self)

    def agent_sizes(self) -> list[tuple[str, int, int]]:
        """``(agent, observation size, number of actions)`` for each agent, before padding."""
        return list(zip(self.agents, self._obs_sizes, self._action_counts, strict=True))

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
        for agent in rewards:
            if agent not in self.agents:
                raise ValueError(
                    f"{self.name}: reward paid to {agent!r}, which is not among the env's "
                    f"possible_agents {self.agents}"
                )
        if not all(math.isfinite(v) for v in values):
            bad = {a: r for a, r in rewards.items() if not math.isfinite(float(r))}
            raise ValueError(f"{self.name}: non-finite reward at step {self._t}: {bad}")
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
        live = set(self.env.agents)
        # after the last step every agent is gone; the masks then still say which actions
        # the final observation allows (the learner bootstraps through a truncation)
        over = not live
        raw_obs = []
        for i, agent in enumerate(self.agents):
            count = self._action_counts[i]
            if agent not in observations:
                raw_obs.append(np.zeros(self._obs_sizes[i], dtype=np.float32))
                avail[i, 0] = 1.0  # the placeholder, so that every row keeps a legal action
                self._acting[i] = False
                continue
            x = observations[agent]
            mask = x.get(MASK_KEY) if isinstance(x, dict) else None
            if mask is not None:
                self.mask_source = "observation"
            info = infos.get(agent) or {}
            if MASK_KEY in info:
                mask, self.mask_source = info[MASK_KEY], "infos"
            x = self._flatten[i](x)
            if x.size != self._obs_sizes[i]:
                raise ValueError(
                    f"{self.name}: the observation of agent {agent!r} has {x.size} numbers at "
                    f"step {self._t}, but its observation space "
                    f"{self.env.observation_space(agent)} has {self._obs_sizes[i]}; an "
                    "observation must keep one size for the whole episode"
                )
            raw_obs.append(x)
            obs[i, : x.size] = x
            if mask is None:  # every action allowed (an action space has at least one)
                avail[i, :count] = 1.0
                allowed = True
            else:
                mask = np.asarray(mask).ravel()
                if mask.size != count:
                    raise ValueError(
                        f"{self.name}: the action mask of agent {agent!r} has {mask.size} "
                        f"entries, but its action space {self.env.action_space(agent)} has "
                        f"{count} actions"
                    )
                row = mask != 0
                avail[i, :count] = row
                allowed = bool(row.any())
            acting = (over or agent in live) and allowed
            self._acting[i] = acting
            if not acting:  # gone, or nothing allowed this step: it takes no action
                avail[i] = 0.0
                avail[i, 0] = 1.0
        if self.state_source == "env.state()":
            state = np.asarray(self.env.state(), dtype=np.float32).ravel()
            if state.size != self.state_dim:
                raise ValueError(
                    f"{self.name}: env.state() has {state.size} numbers at step {self._t}, "
                    f"but the env's state_space {self.env.state_space} has {self.state_dim}"
                )
        else:
            state = np.concatenate(raw_obs).astype(np.float32, copy=False)
        return obs, state, avail
