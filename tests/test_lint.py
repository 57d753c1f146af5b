"""Everything ruff sees is clean and formatted: the package, tests, benchmarks, docs and
the notebooks (``pyproject.toml`` includes ``*.ipynb``), with the pinned ruff version."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _ruff(*args: str) -> subprocess.CompletedProcess:
    if importlib.util.find_spec("ruff") is None:
        pytest.fail("ruff is not installed: pip install -e '.[test]' (the test extra pins it)")
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_version_is_the_pinned_one():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = [r for r in extra["optional-dependencies"]["test"] if r.startswith("ruff")]
    assert len(pins) == 1 and re.fullmatch(r"ruff==[\d.]+", pins[0]), pins
    installed = _ruff("--version").stdout.split()[-1]
    assert pins[0] == f"ruff=={installed}", (
        f"ruff {installed} is installed but pyproject.toml pins {pins[0]}"
    )


def test_ruff_check_everything():
    out = _ruff("check", ".", "--output-format", "concise")
    assert out.returncode == 0, "ruff check . found problems:\n" + out.stdout + out.stderr


def test_ruff_format_everything():
    out = _ruff("format", "--check", ".")
    assert out.returncode == 0, (
        "ruff format --check . wants to reformat (run `ruff format <file>`):\n"
        + out.stdout
        + out.stderr
    )
