"""The project's own files: conda and pip agree, the README's commands, lint, and the wheel
(`pip install .`, not editable) holding a package that works away from the repository."""

import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
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
            spec = spec.split("=cpu")[0]  # a build string (the CPU build of pytorch) is no pin
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


def test_training_imports_no_plotting_or_widgets():
    code = (
        "import sys, qmix_tut; from qmix_tut import train, Config; import qmix_tut.analysis; "
        "bad = [m for m in sys.modules if m.startswith(('matplotlib', 'ipywidgets', 'qmix_tut.plotting', "
        "'qmix_tut.widgets', 'qmix_tut.figures'))]; print(bad); assert not bad"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


# ------------------------------------------------------------------------------------------
# the wheel: what `pip install .` installs
# ------------------------------------------------------------------------------------------
SOURCE = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "qmix_tut",
          "figures/data")  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the sources (so no build files land in the repository)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "stored_data"))  # fmt: skip
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         str(source), "-w", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    (path,) = out.glob("qmix_tut-*.whl")
    return path


def test_wheel_holds_every_module_and_the_stored_runs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "qmix_tut").rglob("*.py")
               if "stored_data" not in p.parts}  # fmt: skip
    assert modules - names == set(), "modules missing from the wheel"
    data = ROOT / "figures" / "data"
    stored = {p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file()}
    packaged = {n.removeprefix("qmix_tut/stored_data/") for n in names
                if n.startswith("qmix_tut/stored_data/")}  # fmt: skip
    assert stored and packaged == stored
    assert not [n for n in names if n.endswith(".pt")]


def test_wheel_metadata(wheel):
    from qmix_tut import __version__

    with zipfile.ZipFile(wheel) as z:
        info = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(z.read(info).decode())
        entry_points = z.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert metadata["Version"] == __version__
    assert "qmix-tut = qmix_tut.cli:main" in entry_points
    requires = metadata.get_all("Requires-Dist")
    assert any(r.startswith("torch") for r in requires)
    assert "test" in metadata.get_all("Provides-Extra")


@pytest.mark.slow
def test_installed_wheel_works_away_from_the_repository(wheel, tmp_path):
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    env = {**os.environ, "PYTHONPATH": str(site), "MPLBACKEND": "Agg"}
    code = (
        "import qmix_tut, pathlib\n"
        f"assert pathlib.Path(qmix_tut.__file__).is_relative_to({str(site)!r}), qmix_tut.__file__\n"
        "from qmix_tut._paths import stored_data_dir\n"
        "from qmix_tut.figures import stored_curves\n"
        "from qmix_tut.widgets.lab import load_lab_runs, load_sweep_runs\n"
        f"assert stored_data_dir().is_relative_to({str(site)!r})\n"
        "curves = stored_curves('simple_spread')\n"
        "assert {'qmix', 'vdn', 'iql'} <= set(curves), curves.keys()\n"
        "assert len(load_lab_runs()) > 0 and len(load_sweep_runs()) > 0\n"
        "print('stored runs read')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0 and "stored runs read" in run.stdout, run.stdout + run.stderr
    cli = subprocess.run([sys.executable, "-m", "qmix_tut", "presets"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert cli.returncode == 0 and "two_step_paper" in cli.stdout, cli.stderr
    # without its data, a reader says where it looked
    shutil.rmtree(site / "qmix_tut" / "stored_data")
    missing = subprocess.run(
        [sys.executable, "-c", "from qmix_tut.figures import stored_curves\n"
         "stored_curves('simple_spread')"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "FileNotFoundError" in missing.stderr and "a clone of the repository" in missing.stderr


def test_stored_runs_are_read_from_the_repository_in_a_clone():
    from qmix_tut._paths import stored_data_dir

    assert stored_data_dir() == ROOT / "figures" / "data"
