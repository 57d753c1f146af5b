"""Bring your own PettingZoo environment: ``from_pettingzoo``, factories by name, mpe2 by name.

Any PettingZoo ``ParallelEnv`` with discrete actions becomes a :class:`MultiAgentEnv`
(what the runner, buffer and learners read) through :func:`from_pettingzoo`; see
:class:`MultiAgentEnv` for how observations, masks, heterogeneous teams, departing agents
and the state are handled.

An environment can also be named, so that ``Config(env=...)``, the command line and a
resume from a checkpoint can build it again:

* ``"package.module:function"``: the function is imported and called with the
  environment keyword arguments; it returns a ``ParallelEnv`` (or a ``MultiAgentEnv``).
* ``"package.module"`` (a PettingZoo environment module such as
  ``"pettingzoo.butterfly.knights_archers_zombies_v11"``): its ``parallel_env`` is called.
* ``"mpe:<scenario>"``: a cooperative mpe2 scenario, with discrete actions.

>>> from qmix_tut.envs import TwoStepGame
>>> env = from_pettingzoo(TwoStepGame())
>>> env.n_agents, env.n_actions, env.state_source
(2, 2, 'env.state()')
>>> factory_from_path("qmix_tut.envs.games:TwoStepGame")().metadata["name"]
'two_step'
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from pettingzoo.utils.env import ParallelEnv

from .core import REWARD_MODES, MultiAgentEnv

__all__ = [
    "MPE_COMPETITIVE",
    "MPE_COOPERATIVE",
    "factory_from_path",
    "from_pettingzoo",
    "is_factory_path",
    "mpe_scenario",
    "mpe_scenarios",
]

# mpe2's scenarios in which every agent works towards one goal; the others pit a team
# against adversaries, and one team reward (the sum over every agent) would be meaningless
MPE_COOPERATIVE = (
    "simple",
    "simple_spread",
    "simple_reference",
    "simple_speaker_listener",
    "simple_formation",
    "simple_line",
    "collect_treasure",
)
MPE_COMPETITIVE = (
    "simple_adversary",
    "simple_crypto",
    "simple_push",
    "simple_tag",
    "simple_world_comm",
)
_MODULE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_RESERVED_PREFIXES = ("matrix", "mpe", "lbf")


def from_pettingzoo(
    env: ParallelEnv,
    name: str | None = None,
    episode_limit: int | None = None,
    reward: str = "sum",
) -> MultiAgentEnv:
    """Wrap any PettingZoo ``ParallelEnv`` with discrete actions for this package.

    Args:
        env: the environment (an AEC env must be converted first, e.g. with
            ``pettingzoo.utils.conversions.turn_based_aec_to_parallel``).
        name: shown in listings and errors (the env's ``metadata["name"]`` by default).
        episode_limit: required when the env has no time limit of its own
            (``max_cycles``, ``max_episode_steps``, a gymnasium spec).
        reward: ``"sum"`` (default) or ``"mean"`` of the agents' rewards: the team reward.

    The result's ``state_source`` says where the global state comes from (``env.state()``
    or the concatenated observations) and ``limit_source`` where the episode limit was
    found. Continuous actions, observations that cannot be flattened, and an unknown time
    limit raise a ``ValueError`` naming the agent and the space.

    >>> env = from_pettingzoo(mpe_scenario("simple_speaker_listener"))
    >>> env.agent_sizes(), env.obs_dim, env.n_actions, env.heterogeneous
    ([('speaker_0', 3, 3), ('listener_0', 11, 5)], 11, 5, True)
    """
    if isinstance(env, MultiAgentEnv):
        raise TypeError(f"{env.name} is already a MultiAgentEnv; pass it on as it is")
    return MultiAgentEnv(env, name=name, episode_limit=episode_limit, reward=reward)


def as_multi_agent_env(
    built: Any, name: str, episode_limit: int | None, reward: str | None
) -> MultiAgentEnv:
    """What a factory returned, as a :class:`MultiAgentEnv` (clear errors for anything else)."""
    if isinstance(built, MultiAgentEnv):
        if episode_limit is not None or reward is not None:
            raise ValueError(
                f"{name}: the factory returned a MultiAgentEnv, which fixes its own "
                "episode_limit and reward; pass them to the factory instead"
            )
        return built
    if not callable(getattr(built, "step", None)) or not hasattr(built, "possible_agents"):
        raise TypeError(
            f"{name}: the factory returned {type(built).__name__}, not a PettingZoo ParallelEnv "
            "or a qmix_tut MultiAgentEnv"
        )
    if not isinstance(built, ParallelEnv) and callable(getattr(built, "last", None)):
        raise TypeError(
            f"{name}: the factory returned an AEC env ({type(built).__name__}); return a "
            "ParallelEnv (pettingzoo.utils.conversions.aec_to_parallel, or "
            "turn_based_aec_to_parallel for turn-based games)"
        )
    return MultiAgentEnv(
        built, name=name, episode_limit=episode_limit, reward=reward if reward else "sum"
    )


# -- factories by name ------------------------------------------------------------------
def is_factory_path(name: str) -> bool:
    """True for ``"module:function"`` and for a dotted module path ``"package.module"``."""
    module, sep, attr = name.partition(":")
    if sep:
        return (
            module not in _RESERVED_PREFIXES
            and bool(_MODULE_PATH.match(module))
            and bool(_MODULE_PATH.match(attr))
        )
    return "." in name and bool(_MODULE_PATH.match(name))


def _import(module: str, whole: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        missing = err.name or module
        # a script run from a project folder expects its own modules to be found, as
        # `python -m` would; the console script does not put the folder on the path
        if module.split(".")[0] == missing.split(".")[0] and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
            try:
                return importlib.import_module(module)
            except ModuleNotFoundError:
                sys.path.remove(os.getcwd())
        raise ValueError(
            f"cannot import {module!r} for the environment {whole!r}: no module named {missing!r}"
        ) from None
    except Exception as err:  # the user's module failed while being imported
        raise ValueError(
            f"importing {module!r} for the environment {whole!r} failed: "
            f"{type(err).__name__}: {err}"
        ) from None


def factory_from_path(path: str) -> Callable[..., Any]:
    """The factory a ``"module:function"`` or PettingZoo module path names.

    ``"package.module:function"`` imports ``function`` (a dotted attribute path after the
    colon also works); ``"package.module"`` takes the module's ``parallel_env``, the
    PettingZoo convention. The current folder is searched too, as with ``python -m``.
    """
    if not is_factory_path(path):
        raise ValueError(
            f"{path!r} is not a factory path: expected 'package.module:function' or a "
            "PettingZoo module such as 'pettingzoo.butterfly.knights_archers_zombies_v11'"
        )
    module_name, sep, attr = path.partition(":")
    module = _import(module_name, path)
    target: Any = module
    for part in (attr if sep else "parallel_env").split("."):
        if not hasattr(target, part):
            what = (
                f"has no {attr!r}"
                if sep
                else "has no parallel_env (is it a PettingZoo environment module?)"
            )
            raise ValueError(f"the module {module_name!r} {what}, named by {path!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{path!r} names a {type(target).__name__}, not a function or class")
    return target


def call_factory(factory: Callable[..., Any], name: str, kwargs: dict[str, Any]) -> Any:
    """Call a factory with the env keyword arguments; a wrong argument is a ValueError."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(**kwargs)
        except TypeError as err:
            takes = [p for p in signature.parameters if p not in ("self", "args", "kwargs")]
            raise ValueError(
                f"{name}: the factory does not accept {sorted(kwargs)}: {err} "
                f"(it takes: {', '.join(takes) or 'no arguments'})"
            ) from None
    try:
        return factory(**kwargs)
    except TypeError as err:  # a factory taking **kwargs passes them on to a stricter one
        if "keyword argument" not in str(err):
            raise
        raise ValueError(f"{name}: the factory does not accept {sorted(kwargs)}: {err}") from None


# -- mpe2 by name ------------------------------------------------------------------------
def mpe_scenarios() -> dict[str, str]:
    """Every mpe2 scenario installed, by name, with its versioned module (``simple_v3``)."""
    import mpe2

    found: dict[str, tuple[int, str]] = {}
    for info in pkgutil.iter_modules(mpe2.__path__):
        match = re.fullmatch(r"(.+)_v(\d+)", info.name)
        if match:
            scenario, version = match.group(1), int(match.group(2))
            if scenario not in found or version > found[scenario][0]:
                found[scenario] = (version, info.name)
    return {k: v[1] for k, v in sorted(found.items())}


def mpe_scenario(scenario: str, **kwargs: Any) -> ParallelEnv:
    """A cooperative mpe2 scenario as a ``ParallelEnv`` with discrete actions.

    Keyword arguments are the scenario's own (``max_cycles``, ``N``, ``local_ratio``...);
    ``continuous_actions`` defaults to False. The competitive scenarios
    (:data:`MPE_COMPETITIVE`) are refused: their teams are paid against each other.

    >>> env = mpe_scenario("simple_reference", max_cycles=10)
    >>> env.possible_agents, int(env.action_space("agent_0").n)
    (['agent_0', 'agent_1'], 50)
    """
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    known = mpe_scenarios()
    if scenario in MPE_COMPETITIVE:
        raise ValueError(
            f"mpe:{scenario} is not cooperative: its agents are paid against each other, so "
            "one team reward summed over every agent does not describe it. Cooperative "
            f"scenarios: {', '.join(s for s in MPE_COOPERATIVE if s in known)}. (To train "
            "anyway, wrap it yourself with from_pettingzoo and register it.)"
        )
    if scenario not in known:
        raise ValueError(
            f"unknown mpe2 scenario {scenario!r}; cooperative scenarios: "
            f"{', '.join(s for s in MPE_COOPERATIVE if s in known)}"
        )
    module = importlib.import_module(f"mpe2.{known[scenario]}")
    kwargs = {"continuous_actions": False, **kwargs}
    accepted = [p for p in inspect.signature(module.raw_env.__init__).parameters if p != "self"]
    for key in kwargs:
        if key not in accepted:
            raise ValueError(
                f"mpe:{scenario} does not take the argument {key!r} "
                f"(it takes: {', '.join(accepted)}, and reward, episode_limit)"
            )
    _check_mpe_values(scenario, kwargs)
    return module.parallel_env(**kwargs)


def _check_mpe_values(scenario: str, kwargs: dict[str, Any]) -> None:
    """The common mpe2 arguments checked here, before mpe2 takes a bad value silently."""
    for key in ("max_cycles", "N", "num_collectors", "num_deposits", "num_treasures"):
        value = kwargs.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"mpe:{scenario} {key} must be a positive integer, got {value!r}")
    for key in ("continuous_actions", "dynamic_rescaling", "terminate_on_success"):
        if key in kwargs and not isinstance(kwargs[key], (bool, np.bool_)):
            raise ValueError(f"mpe:{scenario} {key} must be True or False, got {kwargs[key]!r}")
    if "local_ratio" in kwargs:
        ratio = kwargs["local_ratio"]
        if (
            isinstance(ratio, bool)
            or not isinstance(ratio, (int, float, np.integer, np.floating))
            or not 0.0 <= float(ratio) <= 1.0
        ):
            raise ValueError(
                f"mpe:{scenario} local_ratio must be a number in [0, 1], got {ratio!r}"
            )
    if kwargs.get("render_mode") not in (None, "human", "rgb_array"):
        raise ValueError(
            f"mpe:{scenario} render_mode must be None, 'human' or 'rgb_array', "
            f"got {kwargs['render_mode']!r}"
        )


def check_reward_mode(reward: Any) -> None:
    """A ``ValueError`` unless ``reward`` is ``"sum"`` or ``"mean"``."""
    if reward not in REWARD_MODES:
        raise ValueError(f"reward must be one of {REWARD_MODES}, got {reward!r}")
