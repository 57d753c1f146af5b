"""Many copies of one task stepped as one array program: a fast path behind a clear seam.

:class:`MultiAgentEnv` steps one PettingZoo environment at a time, in Python, which is
the readable way and the reference. For MPE's ``simple_spread`` the physics is a few
vector operations per agent, and running it for E environments one by one costs far more
in Python calls than in arithmetic. :class:`BatchedSimpleSpread` holds the positions and
velocities of all E environments in ``[E, n, 2]`` float64 arrays and advances all of them
with one set of numpy operations per step.

The reference is mpe2's ``simple_spread_v3`` (its scenario, its ``World`` physics and its
``SimpleEnv`` step), seen through :class:`MultiAgentEnv` as ``make("mpe:simple_spread")``
gives it. This module was written from how that code behaves, and
``tests/test_batched_spread.py`` drives both side by side from the same seeds and actions,
step for step. What it reproduces:

1. Start: each environment's generator is ``numpy.random.default_rng(seed)`` (the PCG64
   generator gymnasium's ``seeding.np_random`` builds); every agent's position, then every
   landmark's, is drawn uniformly from ``[-1, 1)^2``, in that order; velocities start at 0.
   A reset without a seed goes on with the environment's own generator.
2. Actions ``0..4``: no move, -x, +x, -y, +y, a force of 5 (mpe2's default sensitivity).
3. Collisions between agents (size 0.15 each) push with the soft force
   ``100 * (p_i - p_j) / d * 1e-3 * log(1 + exp(-(d - 0.3) / 1e-3))``, summed for agent i
   over the other agents in index order, after its own action force, so that even the
   float rounding follows mpe2's. Landmarks do not collide.
4. Integration with ``dt = 0.1`` and damping 0.25: position moves with the old velocity,
   then ``v = 0.75 v + 0.1 F`` (mass 1, no speed limit).
5. Rewards after the move: the global part is minus the sum over landmarks of the nearest
   agent's distance; the local part of agent i is minus the number of other agents closer
   than 0.3; agent i receives ``global * (1 - local_ratio) + local_i * local_ratio``, and
   the team reward is the sum over agents (or their mean with ``reward="mean"``), as
   :class:`MultiAgentEnv` reports it.
6. Observation of agent i: its velocity, its position, each landmark's position relative
   to it, each other agent's position relative to it (index order), and ``2 * (n - 1)``
   zeros (the silent agents' communication), computed in float64 and stored as float32.
   The state is the agents' observations concatenated; every action is always available.
7. Episodes never terminate; they are truncated after ``min(max_cycles, episode_limit)``
   steps.

>>> env = make_batched("mpe:simple_spread", n_envs=4)
>>> obs, state, avail = env.reset(seeds=[0, 1, 2, 3])
>>> obs.shape, state.shape, avail.shape
((4, 3, 18), (4, 54), (4, 3, 5))
>>> obs, state, avail, reward, terminated, truncated = env.step(np.zeros((4, 3), np.int64))
>>> reward.shape, bool(terminated.any()), bool(truncated.any())
((4,), False, False)
>>> make_batched("two_step", n_envs=4) is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core import env_sizes

__all__ = ["BATCHED_ENVS", "BatchedEnv", "BatchedSimpleSpread", "has_batched", "make_batched"]

# mpe2's constants for simple_spread (the scenario's sizes, the World's physics)
AGENT_SIZE = 0.15
ACTION_FORCE = 5.0  # mpe2's sensitivity for an agent without its own accel
CONTACT_FORCE = 100.0
CONTACT_MARGIN = 1e-3
DT = 0.1
DAMPING = 0.25
# the unit move of each discrete action: 0 stay, 1 -x, 2 +x, 3 -y, 4 +y
MOVES = np.array([[0.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])
REWARD_MODES = ("sum", "mean")


class BatchedEnv:
    """What a batched task offers the runner: E environments of one task, in lock step.

    The sizes are those of the task's :class:`MultiAgentEnv` (``n_agents``, ``n_actions``,
    ``obs_dim``, ``state_dim``, ``episode_limit``, ``name``), and ``n_envs`` is the most
    environments one call can play. :meth:`reset` starts one episode in each of the first
    ``len(seeds)`` environments; :meth:`step` advances all of them by one joint action.
    The episodes of one reset end together, at the same step. Subclasses implement both.
    ``len(env)`` is ``n_envs``, as ``len`` of a list of environments would be.
    """

    name: str
    n_envs: int
    n_agents: int
    n_actions: int
    obs_dim: int
    state_dim: int
    episode_limit: int

    def reset(
        self, seeds: Sequence[int | None]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - interface
        """``(obs [E, n, obs_dim], state [E, state_dim], avail [E, n, n_actions])``."""
        raise NotImplementedError

    def step(
        self, actions: Any
    ) -> tuple[
        np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
    ]:  # pragma: no cover - interface
        """``(obs, state, avail, reward [E], terminated [E], truncated [E])``."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self.n_envs

    def info(self) -> dict[str, Any]:
        """Sizes as :meth:`MultiAgentEnv.info` gives them."""
        return env_sizes(self)


def _positive_int(what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


class BatchedSimpleSpread(BatchedEnv):
    """``n_envs`` copies of MPE's ``simple_spread`` (``N`` agents, ``N`` landmarks).

    Args:
        n_envs: the most environments played at once (a reset may start fewer).
        N: agents, and landmarks (3).
        local_ratio: weight of each agent's own collision penalty against the shared
            coverage reward, in ``[0, 1]`` (0.5).
        max_cycles: steps until mpe2 truncates the episode (25).
        episode_limit: the time limit :class:`MultiAgentEnv` applies (``max_cycles`` when
            not given); an episode is truncated at the smaller of the two.
        reward: ``"sum"`` (default) or ``"mean"`` of the agents' rewards.

    Arrays held, for the ``E`` environments of the current episode (float64, as mpe2):
    ``agent_pos``, ``agent_vel`` ``[E, N, 2]`` and ``landmark_pos`` ``[E, N, 2]``.
    """

    name = "mpe:simple_spread"

    def __init__(
        self,
        n_envs: int,
        N: int = 3,
        local_ratio: float = 0.5,
        max_cycles: int = 25,
        episode_limit: int | None = None,
        reward: str = "sum",
    ) -> None:
        self.n_envs = _positive_int("n_envs", n_envs)
        self.n_agents = _positive_int(f"{self.name} N", N)
        self.max_cycles = _positive_int(f"{self.name} max_cycles", max_cycles)
        if isinstance(local_ratio, (bool, np.bool_)) or not isinstance(
            local_ratio, (int, float, np.integer, np.floating)
        ):
            raise ValueError(
                f"{self.name} local_ratio must be a number in [0, 1], got {local_ratio!r}"
            )
        if not 0.0 <= float(local_ratio) <= 1.0:
            raise ValueError(f"{self.name} local_ratio must be in [0, 1], got {local_ratio!r}")
        self.local_ratio = float(local_ratio)
        if reward not in REWARD_MODES:
            raise ValueError(f"reward must be one of {REWARD_MODES}, got {reward!r}")
        self.reward_mode = reward
        self.episode_limit = (
            self.max_cycles
            if episode_limit is None
            else _positive_int("episode_limit", episode_limit)
        )
        self.n_landmarks = n = self.n_agents
        self.n_actions = len(MOVES)
        # velocity, position, landmarks, other agents, other agents' (silent) messages
        self.obs_dim = 2 + 2 + 2 * n + 2 * (n - 1) + 2 * (n - 1)
        self.state_dim = n * self.obs_dim
        # others[i] = the other agents in index order, as mpe2 lists them for agent i
        self._others = np.array([[j for j in range(n) if j != i] for i in range(n)], np.int64)
        self._others = self._others.reshape(n, n - 1)
        self._off_diagonal = ~np.eye(n, dtype=bool)  # pairs of two different agents
        # the agents' pairwise offsets and distances at the current positions, once computed
        self._pairs: tuple[np.ndarray, np.ndarray] | None = None
        self._rngs: list[np.random.Generator | None] = [None] * self.n_envs
        self.agent_pos = np.zeros((0, n, 2))
        self.agent_vel = np.zeros((0, n, 2))
        self.landmark_pos = np.zeros((0, n, 2))
        self._t = 0
        self._running = False
        self._started = False

    @property
    def t(self) -> int:
        """Steps taken in the current episode (the same in every environment)."""
        return self._t

    # -- the interface ------------------------------------------------------------------
    def reset(self, seeds: Sequence[int | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start an episode in each of the first ``E = len(seeds)`` environments.

        Environment i starts where mpe2's ``reset(seed=seeds[i])`` starts; a ``None`` seed
        goes on with environment i's own generator (a fresh, unseeded one the first time).

        Returns ``obs [E, n_agents, obs_dim]``, ``state [E, state_dim]`` and
        ``avail [E, n_agents, n_actions]``, all float32.
        """
        seeds = list(seeds)
        if not 1 <= len(seeds) <= self.n_envs:
            raise ValueError(
                f"{self.name}: need between 1 and n_envs={self.n_envs} seeds (one per "
                f"environment), got {len(seeds)}"
            )
        n = self.n_agents
        start = np.empty((len(seeds), 2 * n, 2))
        for i, seed in enumerate(seeds):
            if seed is not None:
                if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                    raise ValueError(
                        f"{self.name}: seed {i} must be a non-negative integer or None, "
                        f"got {seed!r}"
                    )
                self._rngs[i] = np.random.default_rng(int(seed))
            elif self._rngs[i] is None:
                self._rngs[i] = np.random.default_rng()
            rng = self._rngs[i]
            assert rng is not None
            # agents first, then landmarks, two coordinates each: mpe2's order of draws
            start[i] = rng.uniform(-1.0, 1.0, (2 * n, 2))
        self.agent_pos = start[:, :n].copy()
        self.landmark_pos = start[:, n:].copy()
        self.agent_vel = np.zeros_like(self.agent_pos)
        self._pairs = None
        self._t, self._running, self._started = 0, True, True
        return self._observe()

    def check_actions(self, actions: Any) -> np.ndarray:
        """The joint actions as an int64 ``[E, n_agents]`` array, or a ``ValueError``."""
        if not self._started:
            raise RuntimeError(f"{self.name}: call reset() before step()")
        acts = np.asarray(actions)
        expected = (len(self.agent_pos), self.n_agents)
        if acts.shape != expected:
            raise ValueError(
                f"{self.name}: expected one action per agent per environment, shape "
                f"{expected} [E, n_agents], got shape {acts.shape}"
            )
        if not np.issubdtype(acts.dtype, np.integer):
            raise ValueError(f"{self.name}: actions must be integers, got dtype {acts.dtype}")
        bad = (acts < 0) | (acts >= self.n_actions)
        if bad.any():
            env, agent = (int(k) for k in np.argwhere(bad)[0])
            raise ValueError(
                f"{self.name}: agent {agent} of environment {env} chose action "
                f"{int(acts[env, agent])}, which is out of range (0..{self.n_actions - 1})"
            )
        return acts.astype(np.int64, copy=False)

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Advance every environment by one joint action ``actions [E, n_agents]`` (ints).

        Returns ``obs [E, n_agents, obs_dim]``, ``state [E, state_dim]``,
        ``avail [E, n_agents, n_actions]`` (float32), ``reward [E]`` (float64, the team
        reward), ``terminated [E]`` and ``truncated [E]`` (bool).
        """
        acts = self.check_actions(actions)
        if not self._running:
            raise RuntimeError(f"{self.name}: the episode has ended, call reset() before step()")
        force = MOVES[acts] * ACTION_FORCE  # [E, n, 2]
        force = self._add_collision_forces(force)
        # integrate: the position moves with the old velocity, then the velocity updates
        self.agent_pos = self.agent_pos + self.agent_vel * DT
        self._pairs = None
        self.agent_vel = self.agent_vel * (1 - DAMPING)
        self.agent_vel = self.agent_vel + force * DT
        self._t += 1

        reward = self._team_reward()
        e = len(self.agent_pos)
        terminated = np.zeros(e, dtype=bool)
        truncated = np.full(e, self._t >= min(self.max_cycles, self.episode_limit))
        self._running = not truncated[0]
        obs, state, avail = self._observe()
        return obs, state, avail, reward, terminated, truncated

    # -- the physics and the reward ------------------------------------------------------
    def _pair_distances(self) -> tuple[np.ndarray, np.ndarray]:
        """``delta[e, i, j] = p_i - p_j`` ``[E, n, n, 2]`` and its length ``[E, n, n]``.

        Computed once per set of positions: the reward after a step and the contact
        forces of the next step read the same positions.
        """
        if self._pairs is None:
            delta = self.agent_pos[:, :, None, :] - self.agent_pos[:, None, :, :]
            dist = np.sqrt(np.square(delta[..., 0]) + np.square(delta[..., 1]))
            self._pairs = delta, dist
        return self._pairs

    def _add_collision_forces(self, force: np.ndarray) -> np.ndarray:
        """The action forces ``[E, n, 2]`` plus the soft contact forces between agents."""
        n = self.n_agents
        if n == 1:
            return force
        delta, dist = self._pair_distances()
        off_diagonal = self._off_diagonal
        safe_dist = np.where(off_diagonal, dist, 1.0)  # an agent does not push itself
        penetration = (
            np.logaddexp(0.0, -(safe_dist - 2 * AGENT_SIZE) / CONTACT_MARGIN) * CONTACT_MARGIN
        )
        push = CONTACT_FORCE * delta / safe_dist[..., None] * penetration[..., None]
        # mpe2 adds the pushes on agent i one other agent at a time, in index order
        for j in range(n):
            pushed = off_diagonal[:, j][None, :, None]  # every agent but j itself
            force = np.where(pushed, push[:, :, j] + force, force)
        return force

    def _team_reward(self) -> np.ndarray:
        """The team reward ``[E]`` (float64) at the current positions."""
        n = self.n_agents
        to_landmarks = self.agent_pos[:, :, None, :] - self.landmark_pos[:, None, :, :]
        dist = np.sqrt(np.square(to_landmarks[..., 0]) + np.square(to_landmarks[..., 1]))
        nearest = dist.min(axis=1)  # [E, landmarks]
        global_reward = np.zeros(len(dist))
        for landmark in range(self.n_landmarks):  # summed in mpe2's order
            global_reward = global_reward - nearest[:, landmark]
        _, pair_dist = self._pair_distances()
        collides = (pair_dist < 2 * AGENT_SIZE) & self._off_diagonal
        local_reward = -collides.sum(axis=2).astype(np.float64)  # [E, n]
        agent_reward = (
            global_reward[:, None] * (1 - self.local_ratio) + local_reward * self.local_ratio
        )
        team = agent_reward[:, 0]
        for agent in range(1, n):
            team = team + agent_reward[:, agent]
        return team / n if self.reward_mode == "mean" else team

    def _observe(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        e, n = self.agent_pos.shape[:2]
        obs = np.zeros((e, n, self.obs_dim), dtype=np.float32)
        obs[:, :, 0:2] = self.agent_vel
        obs[:, :, 2:4] = self.agent_pos
        landmarks = self.landmark_pos[:, None, :, :] - self.agent_pos[:, :, None, :]
        obs[:, :, 4 : 4 + 2 * n] = landmarks.reshape(e, n, 2 * n)
        if n > 1:
            relative = self.agent_pos[:, None, :, :] - self.agent_pos[:, :, None, :]
            others = relative[:, np.arange(n)[:, None], self._others]  # [E, n, n-1, 2]
            obs[:, :, 4 + 2 * n : 2 + 4 * n] = others.reshape(e, n, 2 * (n - 1))
        # the last 2 * (n - 1) entries are the other agents' messages: silent, zeros
        state = obs.reshape(e, self.state_dim).copy()
        avail = np.ones((e, n, self.n_actions), dtype=np.float32)
        return obs, state, avail


# -- by name -------------------------------------------------------------------------------
BATCHED_ENVS: dict[str, Callable[..., BatchedEnv]] = {"mpe:simple_spread": BatchedSimpleSpread}
# the keyword arguments of make("mpe:simple_spread") that the batched version takes
_SPREAD_KWARGS = ("N", "local_ratio", "max_cycles", "episode_limit", "reward")


def has_batched(env_name: str) -> bool:
    """True when ``env_name`` has a batched version."""
    return env_name in BATCHED_ENVS


def make_batched(env_name: str, n_envs: int, **env_kwargs: Any) -> BatchedEnv | None:
    """The batched version of a task, or ``None`` when it has none.

    ``env_kwargs`` are those :func:`qmix_tut.envs.make` takes for the task; an argument the
    batched version cannot reproduce is a ``ValueError`` naming it (``render_mode`` only
    as ``None``).
    """
    if not has_batched(env_name):
        return None
    kwargs = dict(env_kwargs)
    if kwargs.get("render_mode", None) is not None:
        raise ValueError(
            f"the batched {env_name} does not render (render_mode={kwargs['render_mode']!r}); "
            "make it with qmix_tut.envs.make to render, and train with Config(batched_env=False)"
        )
    kwargs.pop("render_mode", None)
    for key in kwargs:
        if key not in _SPREAD_KWARGS:
            raise ValueError(
                f"the batched {env_name} does not take the argument {key!r} (it takes: "
                f"{', '.join(_SPREAD_KWARGS)}); Config(batched_env=False) trains on mpe2 itself"
            )
    return BATCHED_ENVS[env_name](n_envs, **kwargs)
