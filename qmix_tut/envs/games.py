"""The package's own cooperative games, each a PettingZoo ``ParallelEnv``.

* :class:`MatrixGame`: one-step games given by a payoff table (climbing, penalty, QTRAN's).
* :class:`TwoStepGame`: the two-step game of the QMIX paper (Rashid et al. 2018, sec. 5).
* :class:`MemoryGame`: a cue shown only at the first step must be recalled at the last.

Every agent receives the same team reward (``shared_reward = True``), observations are
float32 arrays, available actions come as ``infos[agent]["action_mask"]`` (int8, 1 =
available) from both ``reset`` and ``step``, and ``state()`` gives the global state.

>>> game = TwoStepGame()
>>> obs, infos = game.reset(seed=0)
>>> obs["agent_0"], infos["agent_0"]["action_mask"]
(array([1., 0., 0.], dtype=float32), array([1, 1], dtype=int8))
>>> obs, rewards, terms, truncs, infos = game.step({"agent_0": 1, "agent_1": 0})
>>> obs, rewards, terms, truncs, infos = game.step({"agent_0": 1, "agent_1": 1})
>>> rewards, terms["agent_0"]
({'agent_0': 8.0, 'agent_1': 8.0}, True)
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

__all__ = ["MatrixGame", "MemoryGame", "NAMED_MATRIX_GAMES", "TwoStepGame", "validate_payoff"]


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def validate_payoff(payoff: Any, n_agents: int | None = None, min_actions: int = 1) -> np.ndarray:
    """A payoff table as a float64 array with one axis per agent, or a clear ``ValueError``.

    Every axis must have the same length (the number of actions, at least
    ``min_actions``), there must be at least 2 agents (exactly ``n_agents`` when given),
    and every entry a finite real number: complex, boolean, text and ragged tables are
    refused rather than converted.

    >>> validate_payoff([[1, 0], [0, 1]]).shape
    (2, 2)
    >>> validate_payoff([[1, 0j], [0, 1]])
    Traceback (most recent call last):
    ...
    ValueError: payoff must hold real numbers, got complex entries
    """
    if isinstance(payoff, (str, bytes)):
        raise ValueError(f"payoff must be an array of numbers, got the string {payoff!r}")
    try:
        raw = np.asarray(payoff)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"payoff must be a rectangular array of numbers (one axis per agent): {err}"
        ) from None
    if np.iscomplexobj(raw):
        raise ValueError("payoff must hold real numbers, got complex entries")
    if raw.dtype == bool:
        raise ValueError("payoff must hold numbers, got booleans")
    if raw.dtype == object and any(isinstance(v, complex) for v in raw.ravel()):
        raise ValueError("payoff must hold real numbers, got complex entries")
    try:
        table = raw.astype(np.float64)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"payoff must be a rectangular array of numbers (one axis per agent): {err}"
        ) from None
    if table.ndim < 2:
        raise ValueError(
            f"payoff needs one axis per agent and at least 2 agents, got shape {table.shape}"
        )
    if n_agents is not None and table.ndim != n_agents:
        raise ValueError(
            f"payoff must have one axis per agent ({n_agents} agents), got shape {table.shape}"
        )
    if len(set(table.shape)) != 1:
        raise ValueError(
            f"payoff must give every agent the same number of actions, got shape {table.shape}"
        )
    if table.shape[0] < max(min_actions, 1):
        raise ValueError(
            f"payoff must give every agent at least {max(min_actions, 1)} actions, "
            f"got shape {table.shape}"
        )
    if not np.isfinite(table).all():
        raise ValueError("payoff must contain only finite numbers (no nan or inf)")
    return table


class _CooperativeGame(ParallelEnv):
    """Shared bookkeeping: agents, spaces, the seeded RNG and the step protocol.

    A subclass sets the sizes in ``__init__`` and implements ``_start`` (begin an episode),
    ``_transition(joint) -> (team reward, ended)``, ``_observe(i)``, ``_state()`` and
    ``_mask(i)``. The masks are advisory here, as in every PettingZoo env:
    :class:`~qmix_tut.envs.MultiAgentEnv` is where an unavailable action is refused.
    """

    metadata: dict[str, Any] = {"name": "game", "render_modes": []}
    # every agent is paid the same team reward; MultiAgentEnv then counts it once
    shared_reward = True

    def __init__(
        self, name: str, n_agents: int, n_actions: int, obs_dim: int, state_dim: int, limit: int
    ) -> None:
        self.metadata = {**type(self).metadata, "name": name}
        self.name = name
        self.render_mode = None
        self.n_actions = n_actions
        self.episode_limit = limit
        self.possible_agents = [f"agent_{i}" for i in range(n_agents)]
        self.agents: list[str] = []
        # the same space object on every call, which PettingZoo's API test checks
        self._observation_spaces = {
            a: spaces.Box(0.0, 1.0, (obs_dim,), np.float32) for a in self.possible_agents
        }
        self._action_spaces = {a: spaces.Discrete(n_actions) for a in self.possible_agents}
        self.state_space = spaces.Box(0.0, 1.0, (state_dim,), np.float32)
        self._generator: np.random.Generator | None = None
        self._pending_seed: int | None = None  # a reset's seed, until a draw needs it
        self._seeded = False
        self._t = 0

    @property
    def _rng(self) -> np.random.Generator:
        """The game's random stream, seeded by the last seeded reset."""
        if self._generator is None:
            self._generator = np.random.default_rng(self._pending_seed)
        return self._generator

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._action_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        # an unseeded reset continues the current random stream, so one seed fixes a run;
        # the generator itself is made on the first draw (most games never draw)
        if seed is not None or not self._seeded:
            self._generator, self._pending_seed, self._seeded = None, seed, True
        self.agents = list(self.possible_agents)
        self._t = 0
        self._start()
        return self._observations(), self._infos()

    def step(self, actions: Mapping[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError(f"{self.name}: the episode is over, call reset() first")
        joint = []
        for agent in self.agents:
            if agent not in actions:
                raise ValueError(f"{self.name}: no action given for {agent}")
            action = actions[agent]
            # what Discrete(n).contains accepts, checked without its per-call overhead
            if isinstance(action, np.ndarray) and action.shape == ():
                action = action.item()
            if not (isinstance(action, (int, np.integer)) and 0 <= action < self.n_actions):
                raise ValueError(
                    f"{self.name}: {agent} chose action {action!r}, outside 0..{self.n_actions - 1}"
                )
            joint.append(int(action))
        reward, ended = self._transition(tuple(joint))
        self._t += 1
        agents = self.agents
        observations, infos = self._observations(), self._infos()
        rewards = {a: float(reward) for a in agents}
        terminations = {a: ended for a in agents}
        truncations = {a: False for a in agents}
        if ended:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        return self._state()

    def render(self) -> None:
        raise NotImplementedError(f"{self.name} has no rendering")

    def close(self) -> None:
        pass

    def _observations(self) -> dict[str, np.ndarray]:
        return {a: self._observe(i) for i, a in enumerate(self.possible_agents)}

    def _infos(self) -> dict[str, dict]:
        return {a: {"action_mask": self._mask(i)} for i, a in enumerate(self.possible_agents)}

    def _mask(self, i: int) -> np.ndarray:
        return np.ones(self.n_actions, dtype=np.int8)

    def _start(self) -> None:
        raise NotImplementedError

    def _transition(self, joint: tuple[int, ...]) -> tuple[float, bool]:
        raise NotImplementedError

    def _observe(self, i: int) -> np.ndarray:
        raise NotImplementedError

    def _state(self) -> np.ndarray:
        raise NotImplementedError


def _penalty(k: float = -100.0) -> list[list[float]]:
    if isinstance(k, bool) or not isinstance(k, (int, float, np.integer, np.floating)):
        raise ValueError(f"penalty game: k must be a number, got {k!r}")
    if not math.isfinite(k) or k > 0:
        raise ValueError(f"penalty game: k must be finite and at most 0, got {k}")
    return [[k, 0, 10], [0, 2, 0], [10, 0, k]]


# Each builder takes the game's keyword arguments and returns its payoff table.
NAMED_MATRIX_GAMES: dict[str, Callable[..., list[list[float]]]] = {
    "climbing": lambda: [[11, -30, 0], [-30, 7, 6], [0, 0, 5]],
    "penalty": _penalty,
    # non-monotonic: the optimum (0, 0) is surrounded by heavy penalties (QTRAN paper)
    "qtran": lambda: [[8, -12, -12], [-12, 0, 0], [-12, 0, 0]],
}


class MatrixGame(_CooperativeGame):
    """A one-step cooperative game: every agent is paid ``payoff[joint action]``.

    ``payoff`` has one axis per agent and every axis the same length (the number of
    actions). Observations and the state are the constant ``[1.0]``; after one step
    every agent is terminated.

    >>> game = MatrixGame.named("climbing")
    >>> _ = game.reset(seed=0)
    >>> game.step({"agent_0": 0, "agent_1": 0})[1]
    {'agent_0': 11.0, 'agent_1': 11.0}
    >>> MatrixGame([[1, 0], [0, 1]], name="coordination").n_actions
    2
    """

    def __init__(self, payoff: Any, name: str = "matrix") -> None:
        table = validate_payoff(payoff)
        super().__init__(name, table.ndim, table.shape[0], 1, 1, limit=1)
        self.payoff = table

    @classmethod
    def named(cls, name: str, **kwargs: Any) -> MatrixGame:
        """A game from :data:`NAMED_MATRIX_GAMES`: ``climbing``, ``penalty`` (``k=-100``), ``qtran``.

        >>> MatrixGame.named("penalty", k=-10).payoff[0, 0]
        np.float64(-10.0)
        """
        if name not in NAMED_MATRIX_GAMES:
            raise ValueError(
                f"unknown matrix game {name!r}; named games: {', '.join(NAMED_MATRIX_GAMES)}"
            )
        builder = NAMED_MATRIX_GAMES[name]
        accepted = list(inspect.signature(builder).parameters)
        for key in kwargs:
            if key not in accepted:
                options = ", ".join(accepted) if accepted else "none"
                raise ValueError(
                    f"matrix game {name!r} does not take the argument {key!r} (it takes: {options})"
                )
        return cls(builder(**kwargs), name=name)

    def _start(self) -> None:
        pass

    def _transition(self, joint: tuple[int, ...]) -> tuple[float, bool]:
        return float(self.payoff[joint]), True

    def _observe(self, i: int) -> np.ndarray:
        return np.ones(1, dtype=np.float32)

    def _state(self) -> np.ndarray:
        return np.ones(1, dtype=np.float32)


class TwoStepGame(_CooperativeGame):
    """The two-step game of the QMIX paper (Rashid et al. 2018, sec. 5 and app. B).

    Two agents, actions 0 = A and 1 = B. In state 1 agent_0's action picks the next state
    (A -> 2A, B -> 2B) and nobody is paid. In 2A every joint action pays 7; in 2B the
    payoff is ``[[0, 1], [1, 8]]`` (rows agent_0's action). The game ends after the second
    step. Observations and the state are the one-hot of the current state in the order
    1, 2A, 2B (all zeros once the game is over).

    >>> game = TwoStepGame()
    >>> _ = game.reset()
    >>> obs = game.step({"agent_0": 0, "agent_1": 1})[0]
    >>> obs["agent_1"], game.step({"agent_0": 1, "agent_1": 0})[1]["agent_0"]
    (array([0., 1., 0.], dtype=float32), 7.0)
    """

    PAYOFF_2A = np.full((2, 2), 7.0)
    PAYOFF_2B = np.array([[0.0, 1.0], [1.0, 8.0]])

    def __init__(self) -> None:
        super().__init__("two_step", 2, 2, 3, 3, limit=2)
        self._where = 0

    def _start(self) -> None:
        self._where = 0  # 0: state 1, 1: state 2A, 2: state 2B, 3: over

    def _transition(self, joint: tuple[int, ...]) -> tuple[float, bool]:
        if self._where == 0:
            self._where = 1 if joint[0] == 0 else 2
            return 0.0, False
        table = self.PAYOFF_2A if self._where == 1 else self.PAYOFF_2B
        self._where = 3
        return float(table[joint]), True

    def _state(self) -> np.ndarray:
        onehot = np.zeros(3, dtype=np.float32)
        if self._where < 3:
            onehot[self._where] = 1.0
        return onehot

    def _observe(self, i: int) -> np.ndarray:
        return self._state()


class MemoryGame(_CooperativeGame):
    """Recall a cue seen only at the first step: a test of partial observability.

    At reset a cue ``c`` in ``0..n_cues-1`` is drawn from the env's seeded RNG. Each
    observation is ``[cue one-hot (only at t=0, zeros later), time one-hot (size length)]``;
    the state always shows the cue. Before the last step only action 0 is available, so
    actions cannot carry the cue forward; at the last step (t = length-1) every action is
    available and every agent is paid 1 if all agents choose ``c``, else 0. A feed-forward
    agent can expect at most ``1 / n_cues``; a recurrent one can reach 1.

    >>> game = MemoryGame(n_agents=2, n_cues=2, length=3)
    >>> obs, infos = game.reset(seed=1)
    >>> obs["agent_0"].shape, infos["agent_0"]["action_mask"]
    ((5,), array([1, 0], dtype=int8))
    """

    def __init__(self, n_agents: int = 2, n_cues: int = 2, length: int = 4) -> None:
        n_agents = _check_int("n_agents", n_agents, 1)
        n_cues = _check_int("n_cues", n_cues, 2)
        length = _check_int("length", length, 2)
        dim = n_cues + length
        super().__init__("memory", n_agents, n_cues, dim, dim, limit=length)
        self.n_cues, self.length = n_cues, length
        self.cue = 0

    def _start(self) -> None:
        self.cue = int(self._rng.integers(self.n_cues))

    def _transition(self, joint: tuple[int, ...]) -> tuple[float, bool]:
        if self._t < self.length - 1:
            return 0.0, False
        return float(all(a == self.cue for a in joint)), True

    def _encode(self, show_cue: bool) -> np.ndarray:
        x = np.zeros(self.n_cues + self.length, dtype=np.float32)
        if show_cue:
            x[self.cue] = 1.0
        if self._t < self.length:
            x[self.n_cues + self._t] = 1.0
        return x

    def _observe(self, i: int) -> np.ndarray:
        return self._encode(show_cue=self._t == 0)

    def _state(self) -> np.ndarray:
        return self._encode(show_cue=True)

    def _mask(self, i: int) -> np.ndarray:
        mask = np.zeros(self.n_actions, dtype=np.int8)
        if self._t == self.length - 1:
            mask[:] = 1
        else:
            # also after the end, so a terminal row never has every action masked out
            mask[0] = 1
        return mask
