"""Self-checking exercises: ``check_<name>(fn)`` compares your function with the reference.

Each notebook's exercises live in their own module here (``nb01``, ``nb02``, ...); every
``check_*`` function is re-exported, so a notebook can write::

    from qmix_tut.exercises import check_vdn_sum
    check_vdn_sum(my_vdn_sum)

A checker calls your function on random inputs, prints a clear pass, or raises an
``ExerciseFailed`` with a hint about what differs.
"""

from __future__ import annotations

import importlib
import pkgutil

from ._common import ExerciseFailed, report_pass

__all__ = ["ExerciseFailed", "report_pass"]

for _module in pkgutil.iter_modules(__path__):
    if _module.name.startswith("nb"):
        _mod = importlib.import_module(f"{__name__}.{_module.name}")
        for _name in dir(_mod):
            if _name.startswith("check_"):
                globals()[_name] = getattr(_mod, _name)
                __all__.append(_name)
