"""Where the stored runs of ``figures/data/`` are read from.

In a clone of the repository (and an editable install) they are the repository's own
``figures/data/``. A wheel or a ``pip install .`` carries a copy inside the package, as
``qmix_tut/stored_data/`` (``setup.py`` copies it at build time), so the plots and widgets
that read stored runs work from an installed package too.

>>> stored_data_dir().name in ("data", "stored_data")
True
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGED_DATA = PACKAGE_DIR / "stored_data"
"""The copy of figures/data that an installed package carries."""
REPOSITORY_DATA = PACKAGE_DIR.parent / "figures" / "data"
"""figures/data of the repository this package sits in, when it sits in one."""


def stored_data_dir() -> Path:
    """The folder of stored runs: the installed copy if there is one, else the repository's.

    When neither exists (a package installed without its data), the repository's path is
    returned, and a reader's FileNotFoundError names it; :func:`missing_data_hint` says
    what to do.
    """
    return PACKAGED_DATA if PACKAGED_DATA.is_dir() else REPOSITORY_DATA


def missing_data_hint() -> str:
    """One sentence for an error about a stored-run file that is not there."""
    return (
        f"the stored runs are looked for in {PACKAGED_DATA} (a package installed from a wheel) "
        f"and {REPOSITORY_DATA} (a clone of the repository); reinstall with `pip install .` "
        "from a clone, or run from the clone itself"
    )
