"""qmix_tut: a small, readable PyTorch implementation of IQL, VDN and QMIX.

>>> from qmix_tut import Config, train
>>> result = train(Config.preset("two_step_paper"), progress=False)  # doctest: +SKIP

Importing the package does not import torch: ``train``, ``load`` and ``Result`` are
loaded on first use, so ``qmix-tut --help`` answers at once.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from ._version import __version__
from .config import Config

__all__ = ["Config", "Result", "load", "train", "__version__"]

# name -> the submodule that defines it; imported (with torch) on first use
_LAZY = {"train": ".train", "load": ".train", "Result": ".train"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """The package module, keeping ``qmix_tut.train`` the function.

    Importing the submodule ``qmix_tut.train`` would otherwise bind the module over the
    function of the same name, and ``from qmix_tut import train`` would return a module.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "train" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
