"""Environments: the package's own games, adapters for MPE and LBF, one uniform view.

>>> from qmix_tut.envs import make, list_envs
>>> env = make("two_step")
>>> obs, state, avail = env.reset(seed=0)
>>> obs, state, avail, reward, terminated, truncated, info = env.step([0, 1])
>>> reward, terminated, truncated
(0.0, False, False)
"""

from .core import MultiAgentEnv, VecEnv
from .games import MatrixGame, MemoryGame, TwoStepGame
from .registry import list_envs, make, make_vec

__all__ = [
    "MatrixGame",
    "MemoryGame",
    "MultiAgentEnv",
    "TwoStepGame",
    "VecEnv",
    "list_envs",
    "make",
    "make_vec",
]
