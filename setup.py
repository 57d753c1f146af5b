"""Build hook (everything else is in pyproject.toml): wheels carry the stored runs.

The plots and widgets read full-length runs from the repository's ``figures/data/``,
which lies outside the package. This copies that folder into the built package as
``qmix_tut/stored_data/`` (found by ``qmix_tut._paths.stored_data_dir``), so that
``pip install .`` gives a package that works away from the clone. Editable installs read
the repository's folder directly and need no copy.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

STORED_RUNS = Path(__file__).resolve().parent / "figures" / "data"


class BuildPyWithStoredRuns(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False) or not STORED_RUNS.is_dir():
            return
        target = Path(self.build_lib) / "qmix_tut" / "stored_data"
        shutil.copytree(STORED_RUNS, target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithStoredRuns})
