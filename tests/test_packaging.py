"""The project's own files: conda and pip agree, the README's commands, lint."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda package name -> pip name


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert match, requirement
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def test_environment_yml_agrees_with_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    pip_side = dict(
        _split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]
    )
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_side: dict[str, str] = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            if item.startswith("-e") or item in ("pip",):
                continue
            name, spec = _split(item)
            conda_side[CONDA_NAMES.get(name, name)] = spec
    python_spec = conda_side.pop("python")
    assert python_spec == project["requires-python"]
    assert conda_side == pip_side


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = re.search(
        r"<!-- test-command -->\s*```\w*\n(.*?)```\s*<!-- /test-command -->", readme, re.S
    )
    assert block, "README.md must mark its test command"
    command = block.group(1).strip()
    assert "pytest" in command and "pip install" in command
    assert "test-command" in (ROOT / ".ci" / "run").read_text()
    main = re.search(
        r"<!-- main-command -->\s*```\w*\n(.*?)```\s*<!-- /main-command -->", readme, re.S
    )
    assert main and "qmix-tut demo" in main.group(1)


def test_console_script_declared():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["qmix-tut"] == "qmix_tut.cli:main"


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed")
def test_ruff_clean():
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "qmix_tut", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_training_imports_no_plotting_or_widgets():
    code = (
        "import sys, qmix_tut; from qmix_tut import train, Config; import qmix_tut.analysis; "
        "bad = [m for m in sys.modules if m.startswith(('matplotlib', 'ipywidgets', 'qmix_tut.plotting', "
        "'qmix_tut.widgets', 'qmix_tut.figures'))]; print(bad); assert not bad"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
