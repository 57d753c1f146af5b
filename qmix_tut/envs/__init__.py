"""Environments: the package's own games, adapters for MPE and LBF, any PettingZoo env.

>>> from qmix_tut.envs import make, list_envs
>>> env = make("two_step")
>>> obs, state, avail = env.reset(seed=0)
>>> obs, state, avail, reward, terminated, truncated, info = env.step([0, 1])
>>> reward, terminated, truncated
(0.0, False, False)
"""

from .check import EnvReport, check_env
from .core import MultiAgentEnv
from .games import MatrixGame, MemoryGame, TwoStepGame, validate_payoff
from .pettingzoo import from_pettingzoo
from .registry import list_envs, make, register, registered, unregister

__all__ = [
    "EnvReport",
    "MatrixGame",
    "MemoryGame",
    "MultiAgentEnv",
    "TwoStepGame",
    "check_env",
    "from_pettingzoo",
    "list_envs",
    "make",
    "register",
    "registered",
    "unregister",
    "validate_payoff",
]
