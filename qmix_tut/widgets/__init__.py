"""Widget-driven experiments. The logic is plain functions (tested with pytest); the
``*_widget()`` builders only wire ipywidgets controls to them.

Each notebook's widgets live in their own module here (``nb01``, ``lab``, ...); their
public names are re-exported, so ``from qmix_tut.widgets import payoff_editor`` works.
ipywidgets is imported inside the builders only, so the logic runs without it.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__: list[str] = []

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        _mod = importlib.import_module(f"{__name__}.{_module.name}")
        for _name in getattr(_mod, "__all__", []):
            globals()[_name] = getattr(_mod, _name)
            __all__.append(_name)
