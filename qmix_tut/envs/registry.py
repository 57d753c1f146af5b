"""Make any task by name: ``make("two_step")``, ``make("lbf:Foraging-8x8-2p-2f-coop-v3")``.

>>> env = make("matrix:penalty", k=-50)
>>> env.info()
{'name': 'matrix:penalty', 'n_agents': 2, 'n_actions': 3, 'obs_dim': 1, 'state_dim': 1, 'episode_limit': 1}
>>> "memory" in list_envs()
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pettingzoo.utils.env import ParallelEnv

from .adapters import LBF_EXAMPLE
from .core import REWARD_MODES, MultiAgentEnv, VecEnv
from .games import NAMED_MATRIX_GAMES, MatrixGame, MemoryGame, TwoStepGame

__all__ = ["list_envs", "make", "make_vec"]

_SIMPLE_NAMES = ["two_step", *(f"matrix:{g}" for g in NAMED_MATRIX_GAMES), "memory"]


def list_envs() -> list[str]:
    """The names :func:`make` knows, each buildable with default arguments.

    ``matrix`` (or ``matrix:custom``) with ``payoff=`` and any registered Foraging id
    after ``lbf:`` work too; the listing shows one LBF example.

    >>> list_envs()[:2]
    ['two_step', 'matrix:climbing']
    """
    return [*_SIMPLE_NAMES, "mpe:simple_spread", f"lbf:{LBF_EXAMPLE}"]


def _valid_names() -> str:
    return ", ".join(
        [*_SIMPLE_NAMES, "matrix (with payoff=)", "mpe:simple_spread", "lbf:<Foraging id>"]
    )


def _take(name: str, kwargs: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    for key in kwargs:
        if key not in allowed:
            options = ", ".join((*allowed, "reward")) if allowed else "reward"
            raise ValueError(f"{name} does not take the argument {key!r} (it takes: {options})")
    return kwargs


def _matrix(name: str, kwargs: dict[str, Any]) -> ParallelEnv:
    game = name.partition(":")[2] or "custom"
    payoff = kwargs.pop("payoff", None)
    if game == "custom":
        _take(name, kwargs, ())
        if payoff is None:
            raise ValueError(f"{name} needs a payoff table: make({name!r}, payoff=[[...], ...])")
        return MatrixGame(payoff, name="custom")
    if game not in NAMED_MATRIX_GAMES:
        raise ValueError(
            f"unknown matrix game {game!r}; named games: "
            f"{', '.join(NAMED_MATRIX_GAMES)}, or matrix with payoff="
        )
    if payoff is not None:
        # an explicit table replaces the named one, so game arguments would be ignored
        _take(name + " with payoff=", kwargs, ())
        return MatrixGame(payoff, name=game)
    return MatrixGame.named(game, **kwargs)


def _builders() -> dict[str, Callable[[str, dict[str, Any]], ParallelEnv]]:
    from .adapters import simple_spread

    return {
        "two_step": lambda n, kw: TwoStepGame(**_take(n, kw, ())),
        "memory": lambda n, kw: MemoryGame(**_take(n, kw, ("n_agents", "n_cues", "length"))),
        "mpe:simple_spread": lambda n, kw: simple_spread(
            **_take(n, kw, ("N", "max_cycles", "local_ratio", "render_mode"))
        ),
    }


def _lbf(name: str, kwargs: dict[str, Any]) -> ParallelEnv:
    from .adapters import LBFParallelEnv

    allowed = (
        "max_episode_steps",
        "render_mode",
        *LBFParallelEnv.OPTIONS,
        *LBFParallelEnv.GAME_KWARGS,
    )
    return LBFParallelEnv(name.partition(":")[2], **_take(name, kwargs, allowed))


def make(name: str, **kwargs: Any) -> MultiAgentEnv:
    """Build a task by name as a :class:`MultiAgentEnv`.

    Names and their keyword arguments:

    * ``two_step``: the QMIX paper's two-step game.
    * ``matrix:climbing``, ``matrix:penalty`` (``k=-100``), ``matrix:qtran``; ``matrix`` or
      ``matrix:custom`` with ``payoff=`` (a payoff also replaces a named game's table).
    * ``memory``: ``n_agents=2``, ``n_cues=2``, ``length=4``.
    * ``mpe:simple_spread``: ``N=3``, ``max_cycles=25``, ``local_ratio=0.5``, ``render_mode``.
    * ``lbf:<Foraging id>``: ``max_episode_steps`` (50), ``render_mode``,
      ``normalize_reward``, ``penalty``, ``observe_agent_levels``.

    Every task takes ``reward="sum"`` (default) or ``"mean"``: how the agents' rewards
    make the team reward.

    >>> env = make("two_step")
    >>> obs, state, avail = env.reset(seed=0)
    >>> env.n_agents, env.n_actions, env.obs_dim, env.episode_limit
    (2, 2, 3, 2)
    """
    if not isinstance(name, str):
        raise ValueError(f"the env name must be a string, got {name!r}")
    kwargs = dict(kwargs)
    reward = kwargs.pop("reward", "sum")
    if reward not in REWARD_MODES:
        raise ValueError(f"reward must be one of {REWARD_MODES}, got {reward!r}")
    if name == "matrix" or name.startswith("matrix:"):
        env = _matrix(name, kwargs)
    elif name.startswith("lbf:"):
        env = _lbf(name, kwargs)
    else:
        builders = _builders()
        if name not in builders:
            raise ValueError(f"unknown environment {name!r}; valid names: {_valid_names()}")
        env = builders[name](name, kwargs)
    return MultiAgentEnv(env, name=name, reward=reward)


def make_vec(name: str, num_envs: int, seed: int | None = None, **kwargs: Any) -> VecEnv:
    """``num_envs`` envs made by :func:`make`, stepped together (env ``e`` seeded ``seed + e``).

    >>> venv = make_vec("memory", num_envs=4, seed=0)
    >>> venv.reset()[0].shape
    (4, 2, 6)
    """
    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"seed must be an integer or None, got {seed!r}")
    return VecEnv([make(name, **kwargs) for _ in range(num_envs)], seed=seed)
