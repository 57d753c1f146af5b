"""Make any task by name: ``make("two_step")``, ``make("lbf:Foraging-8x8-2p-2f-coop-v3")``.

>>> env = make("matrix:penalty", k=-50)
>>> env.info()
{'name': 'matrix:penalty', 'n_agents': 2, 'n_actions': 3, 'obs_dim': 1, 'state_dim': 1, 'episode_limit': 1}
>>> "memory" in list_envs()
True

Your own environments get names too: ``register("my_task", factory)`` for this Python
process, or ``"package.module:function"``, which any process (a resumed run, a sweep
worker, the command line) can import again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pettingzoo.utils.env import ParallelEnv

from .adapters import LBF_EXAMPLE
from .core import MultiAgentEnv
from .games import NAMED_MATRIX_GAMES, MatrixGame, MemoryGame, TwoStepGame
from .pettingzoo import (
    MPE_COOPERATIVE,
    as_multi_agent_env,
    call_factory,
    check_reward_mode,
    factory_from_path,
    is_factory_path,
    mpe_scenario,
)

__all__ = ["build", "list_envs", "make", "register", "registered", "unregister"]

_SIMPLE_NAMES = ["two_step", *(f"matrix:{g}" for g in NAMED_MATRIX_GAMES), "memory"]
# names given to register() in this process
_REGISTERED: dict[str, Callable[..., Any]] = {}


def _mpe_names() -> list[str]:
    try:
        from .pettingzoo import mpe_scenarios

        known = mpe_scenarios()
    except ImportError:  # mpe2 is not installed
        return ["mpe:simple_spread"]
    return [f"mpe:{s}" for s in MPE_COOPERATIVE if s in known]


def list_envs() -> list[str]:
    """The names :func:`make` knows, each buildable with default arguments.

    Built-in tasks, the cooperative mpe2 scenarios, one LBF example and the names given
    to :func:`register` in this process. ``matrix`` (or ``matrix:custom``) with
    ``payoff=``, any registered Foraging id after ``lbf:``, ``"package.module:function"``
    and PettingZoo module paths work too.

    >>> list_envs()[:2]
    ['two_step', 'matrix:climbing']
    """
    return [*_SIMPLE_NAMES, *_mpe_names(), f"lbf:{LBF_EXAMPLE}", *sorted(_REGISTERED)]


def _valid_names() -> str:
    return ", ".join(
        [
            *_SIMPLE_NAMES,
            "matrix (with payoff=)",
            *_mpe_names(),
            "lbf:<Foraging id>",
            *sorted(_REGISTERED),
            "'package.module:function'",
            "a PettingZoo module path",
        ]
    )


def _is_builtin(name: str) -> bool:
    return (
        name in _SIMPLE_NAMES
        or name == "matrix"
        or name.split(":")[0] in ("matrix", "mpe", "lbf")
        or is_factory_path(name)
    )


def register(name: str, factory: Callable[..., Any], overwrite: bool = False) -> None:
    """Give a factory a name for :func:`make`, ``Config(env=name)`` and ``check_env``.

    The factory is called with the environment keyword arguments (``Config.env_kwargs``)
    and returns a PettingZoo ``ParallelEnv`` (or a :class:`MultiAgentEnv`). A name lasts
    for this Python process only: a run resumed in a new process needs the same
    ``register`` call first (or name the factory ``"package.module:function"``, which
    needs nothing).

    >>> from qmix_tut.envs import TwoStepGame
    >>> register("my_two_step", TwoStepGame)
    >>> make("my_two_step").n_agents
    2
    >>> unregister("my_two_step")
    """
    if not isinstance(name, str) or not name or name != name.strip() or " " in name:
        raise ValueError(f"the name must be a non-empty string without spaces, got {name!r}")
    if _is_builtin(name):
        raise ValueError(
            f"{name!r} is a built-in name or a factory path; choose a name without 'matrix:', "
            "'mpe:', 'lbf:', dots or colons"
        )
    if not callable(factory):
        raise TypeError(f"factory must be callable (returning a ParallelEnv), got {factory!r}")
    if name in _REGISTERED and not overwrite and _REGISTERED[name] is not factory:
        raise ValueError(
            f"{name!r} is already registered to {_REGISTERED[name]!r}; pass overwrite=True"
        )
    _REGISTERED[name] = factory


def unregister(name: str) -> None:
    """Forget a name given to :func:`register` (a ``ValueError`` when it is not registered)."""
    if name not in _REGISTERED:
        raise ValueError(f"{name!r} is not registered; registered: {sorted(_REGISTERED)}")
    del _REGISTERED[name]


def registered() -> dict[str, Callable[..., Any]]:
    """The names given to :func:`register` in this process, with their factories."""
    return dict(_REGISTERED)


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
    * ``mpe:<scenario>``: any cooperative mpe2 scenario (``simple_reference``,
      ``simple_speaker_listener``, ...) with its own arguments; discrete actions.
    * ``lbf:<Foraging id>``: ``max_episode_steps`` (50), ``render_mode``,
      ``normalize_reward``, ``penalty``, ``observe_agent_levels``, ``scale_obs``.
    * a name given to :func:`register`, ``"package.module:function"`` or a PettingZoo
      module path (its ``parallel_env``): the factory's own arguments.

    Every task takes ``reward="sum"`` (default) or ``"mean"`` (how the agents' rewards
    make the team reward) and ``episode_limit`` (required by an env without a time limit).

    >>> env = make("two_step")
    >>> obs, state, avail = env.reset(seed=0)
    >>> env.n_agents, env.n_actions, env.obs_dim, env.episode_limit
    (2, 2, 3, 2)
    """
    env, episode_limit, reward = build(name, **kwargs)
    return as_multi_agent_env(env, name, episode_limit, reward)


def build(name: str, **kwargs: Any) -> tuple[Any, int | None, str | None]:
    """What a name's factory returns (before wrapping), with ``episode_limit`` and ``reward``.

    :func:`make` is ``build`` followed by the wrapping into a :class:`MultiAgentEnv`;
    ``check_env`` calls the two apart, so that a name that cannot be built (exit status 2)
    is told apart from an env that builds but cannot be trained (exit status 1).
    """
    if not isinstance(name, str):
        raise ValueError(f"the env name must be a string, got {name!r}")
    kwargs = dict(kwargs)
    reward = kwargs.pop("reward", None)
    if reward is not None:
        check_reward_mode(reward)
    episode_limit = kwargs.pop("episode_limit", None)
    if name == "matrix" or name.startswith("matrix:"):
        env: Any = _matrix(name, kwargs)
    elif name.startswith("lbf:"):
        env = _lbf(name, kwargs)
    elif name in _builders():
        env = _builders()[name](name, kwargs)
    elif name.startswith("mpe:"):
        env = mpe_scenario(name.partition(":")[2], **kwargs)
    elif name in _REGISTERED:
        env = call_factory(_REGISTERED[name], name, kwargs)
    elif is_factory_path(name):
        env = call_factory(factory_from_path(name), name, kwargs)
    else:
        raise ValueError(
            f"unknown environment {name!r}; valid names: {_valid_names()}. A name given to "
            "qmix_tut.envs.register() lasts only for the Python process that registered it: "
            "register it again (before make, train or a resume) or name the factory as "
            "'package.module:function'"
        )
    return env, episode_limit, reward
