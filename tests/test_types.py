"""The core modules type-check with mypy, as configured in pyproject.toml ([tool.mypy])."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
CORE = {"algorithms", "agents", "mixers", "buffer", "learner", "runner", "config"}


def test_mypy_checks_the_core_modules():
    files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
    assert {Path(f).stem for f in files} >= CORE


@pytest.mark.slow  # about a minute on a cold cache: mypy reads torch's stubs
def test_core_modules_are_mypy_clean():
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is not installed: pip install -e '.[test]' (the test extra pins it)")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, "mypy found problems:\n" + out.stdout + out.stderr
