"""External tasks as PettingZoo parallel envs: MPE's simple_spread and Level-Based Foraging.

The packages are imported only when a task is made, so ``import qmix_tut.envs`` stays
light.

>>> env = simple_spread(N=2, max_cycles=5)
>>> observations, infos = env.reset(seed=0)
>>> sorted(observations), observations["agent_0"].shape
(['agent_0', 'agent_1'], (12,))
>>> lbf = LBFParallelEnv("Foraging-8x8-2p-2f-coop-v3")
>>> observations, infos = lbf.reset(seed=0)
>>> observations["agent_0"].shape, infos["agent_0"]["action_mask"].dtype
((12,), dtype('int8'))
"""

from __future__ import annotations

import difflib
import math
import os
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

__all__ = ["LBF_EXAMPLE", "LBFParallelEnv", "foraging_ids", "simple_spread"]

LBF_EXAMPLE = "Foraging-8x8-2p-2f-coop-v3"
RENDER_MODES = (None, "human", "rgb_array")


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _render_mode(value: Any) -> str | None:
    if value not in RENDER_MODES:
        raise ValueError(f"render_mode must be one of {RENDER_MODES}, got {value!r}")
    return value


def _check_game_kwargs(game_kwargs: dict[str, Any]) -> dict[str, Any]:
    """LBF's own arguments checked here: the game would take a NaN or a string silently."""
    for key in ("normalize_reward", "observe_agent_levels"):
        if key in game_kwargs and not isinstance(game_kwargs[key], (bool, np.bool_)):
            raise ValueError(f"LBF {key} must be True or False, got {game_kwargs[key]!r}")
    if "penalty" in game_kwargs:
        penalty = game_kwargs["penalty"]
        if isinstance(penalty, (bool, np.bool_)) or not isinstance(
            penalty, (int, float, np.integer, np.floating)
        ):
            raise ValueError(f"LBF penalty must be a number, got {penalty!r}")
        if not math.isfinite(float(penalty)) or penalty < 0:
            raise ValueError(
                f"LBF penalty must be finite and at least 0 (it is subtracted from the "
                f"reward of a failed load), got {penalty!r}"
            )
        game_kwargs = {**game_kwargs, "penalty": float(penalty)}
    return {k: bool(v) if isinstance(v, np.bool_) else v for k, v in game_kwargs.items()}


def simple_spread(
    N: int = 3, max_cycles: int = 25, local_ratio: float = 0.5, render_mode: str | None = None
) -> ParallelEnv:
    """MPE's cooperative navigation (``mpe2.simple_spread_v3``) with discrete actions.

    ``N`` agents cover ``N`` landmarks; each agent's reward mixes the shared coverage
    reward and its own collision penalty by ``local_ratio``. Episodes are truncated at
    ``max_cycles`` steps. The env has ``state()`` (all observations concatenated).

    >>> env = simple_spread(N=3)
    >>> env.state_space.shape, int(env.action_space("agent_0").n)
    ((54,), 5)
    """
    N = _positive_int("N", N)
    max_cycles = _positive_int("max_cycles", max_cycles)
    if isinstance(local_ratio, bool) or not isinstance(
        local_ratio, (int, float, np.integer, np.floating)
    ):
        raise ValueError(f"local_ratio must be a number in [0, 1], got {local_ratio!r}")
    if not 0.0 <= float(local_ratio) <= 1.0:
        raise ValueError(f"local_ratio must be in [0, 1], got {local_ratio}")
    render_mode = _render_mode(render_mode)
    # pygame, which mpe2 imports, prints a banner on import unless asked not to
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from mpe2 import simple_spread_v3

    return simple_spread_v3.parallel_env(
        N=N,
        max_cycles=max_cycles,
        local_ratio=float(local_ratio),
        continuous_actions=False,
        render_mode=render_mode,
    )


def foraging_ids() -> list[str]:
    """Every Level-Based Foraging id registered with gymnasium (importing ``lbforaging``)."""
    import gymnasium
    import lbforaging  # noqa: F401  (registers the Foraging ids)

    return sorted(k for k in gymnasium.registry if k.startswith("Foraging"))


class LBFParallelEnv(ParallelEnv):
    """Level-Based Foraging (``lbforaging``) as a PettingZoo parallel env.

    Agents ``agent_0..`` get the package's per-agent vector observations (float32) and
    their own rewards; ``infos[agent]["action_mask"]`` marks the moves the game allows
    (actions: 0 none, 1 north, 2 south, 3 west, 4 east, 5 load). ``state()`` is the
    observations concatenated.

    The game reports grid coordinates (0 to size - 1, or -1 for "not seen") and levels as
    plain numbers. With ``scale_obs`` (the default) every entry is mapped linearly from
    its range in the game's observation space onto [-1, 1], so that no input is several
    times larger than the others. This matters for QMIX: fed the raw state of an 8x8 grid,
    a freshly built mixer typically starts at Q_tot of about 10 on a task whose returns
    are at most 1, and learning spends hundreds of thousands of steps unlearning that.

    The underlying game reports every end as ``done``; here collecting all the food is a
    termination, and reaching ``max_episode_steps`` with food left is a truncation. The
    game itself replaces a disallowed move with "none"; :class:`MultiAgentEnv` refuses it.

    Args:
        env_id: a registered Foraging id such as ``"Foraging-8x8-2p-2f-coop-v3"``.
        max_episode_steps: the time limit (the id's registered value, 50, by default).
        render_mode: ``None``, ``"human"`` or ``"rgb_array"`` (both need a display).
        scale_obs: map observations (and so the state) onto [-1, 1]; False gives the
            game's raw numbers.
        normalize_reward, penalty, observe_agent_levels: passed to the game.

    >>> env = LBFParallelEnv("Foraging-5x5-2p-1f-v3", max_episode_steps=10)
    >>> env.episode_limit, int(env.action_space("agent_1").n)
    (10, 6)
    >>> obs, _ = env.reset(seed=0)
    >>> bool(obs["agent_0"].min() >= -1 and obs["agent_0"].max() <= 1)
    True
    """

    metadata: dict[str, Any] = {"name": "lbforaging", "render_modes": ["human", "rgb_array"]}
    shared_reward = False
    GAME_KWARGS = ("normalize_reward", "penalty", "observe_agent_levels")
    OPTIONS = ("scale_obs",)

    def __init__(
        self,
        env_id: str = LBF_EXAMPLE,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        scale_obs: bool = True,
        **game_kwargs: Any,
    ) -> None:
        import gymnasium
        from gymnasium.envs.registration import load_env_creator

        ids = foraging_ids()
        if env_id not in ids:
            close = difflib.get_close_matches(env_id, ids, n=3, cutoff=0.6)
            examples = close or [LBF_EXAMPLE, "Foraging-5x5-2p-1f-v3", "Foraging-10x10-3p-3f-v3"]
            raise ValueError(
                f"unknown Foraging id {env_id!r}; registered ids look like: {', '.join(examples)} "
                f"({len(ids)} in all, pattern Foraging[-2s]-<size>x<size>-<players>p-<foods>f[-coop]-v3)"
            )
        for key in game_kwargs:
            if key not in self.GAME_KWARGS:
                accepted = ("max_episode_steps", "render_mode", *self.OPTIONS, *self.GAME_KWARGS)
                raise ValueError(
                    f"LBF does not take the argument {key!r} (it takes: {', '.join(accepted)})"
                )
        spec = gymnasium.spec(env_id)
        kwargs = {**spec.kwargs, **_check_game_kwargs(game_kwargs)}
        if max_episode_steps is not None:
            # the game counts its own steps; gymnasium.make's argument of the same name
            # would only add an outer TimeLimit that the game's own limit of 50 undercuts
            kwargs["max_episode_steps"] = _positive_int("max_episode_steps", max_episode_steps)
        self.render_mode = _render_mode(render_mode)
        self._game = load_env_creator(spec.entry_point)(**kwargs, render_mode=self.render_mode)
        self.env_id = env_id
        self.metadata = {**type(self).metadata, "name": f"lbf:{env_id}"}
        self.episode_limit = int(kwargs["max_episode_steps"])
        if not isinstance(scale_obs, bool):
            raise ValueError(f"scale_obs must be True or False, got {scale_obs!r}")
        self.scale_obs = scale_obs
        n = self._game.n_agents
        self.possible_agents = [f"agent_{i}" for i in range(n)]
        self.agents: list[str] = []
        raw = self._game.observation_space[0]
        low, high = raw.low.astype(np.float32), raw.high.astype(np.float32)
        span = np.where(high > low, high - low, 1.0).astype(np.float32)
        # x -> 2 (x - low) / (high - low) - 1, as one multiply and one add per step
        self._obs_mul, self._obs_add = 2.0 / span, -2.0 * low / span - 1.0
        if scale_obs:
            box = spaces.Box(-1.0, 1.0, shape=raw.shape, dtype=np.float32)
        else:
            box = spaces.Box(low, high, dtype=np.float32)
        self._observation_spaces = {a: box for a in self.possible_agents}
        self._action_spaces = {
            a: spaces.Discrete(self._game.action_space[i].n)
            for i, a in enumerate(self.possible_agents)
        }
        boxes = list(self._observation_spaces.values())
        self.state_space = spaces.Box(
            np.concatenate([b.low.ravel() for b in boxes]),
            np.concatenate([b.high.ravel() for b in boxes]),
            dtype=np.float32,
        )
        self._obs: tuple[np.ndarray, ...] = ()

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        self._obs, _ = self._game.reset(seed=seed)
        self.agents = list(self.possible_agents)
        return self._observations(), self._infos()

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise RuntimeError(f"lbf:{self.env_id}: the episode is over, call reset() first")
        joint = [int(actions.get(a, 0)) for a in self.possible_agents]
        self._obs, rewards, done, _, _ = self._game.step(joint)
        food_left = bool(self._game.field.sum() > 0)
        terminated = bool(done) and not food_left
        truncated = bool(done) and food_left
        agents = self.agents
        observations, infos = self._observations(), self._infos()
        if terminated or truncated:
            self.agents = []
        return (
            observations,
            {a: float(rewards[i]) for i, a in enumerate(agents)},
            {a: terminated for a in agents},
            {a: truncated for a in agents},
            infos,
        )

    def state(self) -> np.ndarray:
        return np.concatenate([self._scaled(o).ravel() for o in self._obs])

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            raise RuntimeError("make the LBF env with render_mode='rgb_array' or 'human'")
        try:
            return self._game.render(mode=self.render_mode)
        except Exception as err:  # pyglet raises several kinds when there is no display
            raise RuntimeError(f"LBF rendering failed (it needs a display): {err}") from err

    def close(self) -> None:
        self._game.close()

    def _scaled(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float32)
        # the game builds new arrays every step, so the raw ones can be passed on as they are
        return obs * self._obs_mul + self._obs_add if self.scale_obs else obs

    def _observations(self) -> dict[str, np.ndarray]:
        return {a: self._scaled(self._obs[i]) for i, a in enumerate(self.possible_agents)}

    def _infos(self) -> dict[str, dict]:
        # the game keeps, per player, the list of moves it allows right now
        valid = self._game._valid_actions
        infos = {}
        for i, a in enumerate(self.possible_agents):
            mask = np.zeros(self._action_spaces[a].n, dtype=np.int8)
            for action in valid[self._game.players[i]]:
                mask[action.value] = 1
            infos[a] = {"action_mask": mask}
        return infos
