"""Every figure regenerates from code into a fresh folder, and the committed ones exist."""

from pathlib import Path

import pytest

from qmix_tut import figures, results
from qmix_tut.cli import main

ROOT = Path(__file__).resolve().parents[1]
DIAGRAMS = [
    "qmix_architecture",
    "argmax_consistency",
    "joint_action_growth",
    "vdn_vs_qmix_structure",
]


@pytest.mark.parametrize("name", sorted(figures.FIGURES))
def test_each_figure_regenerates_into_a_temporary_folder(name, tmp_path):
    paths = figures.generate(tmp_path, [name], progress=False)
    assert {p.suffix for p in paths} == {".svg", ".png"}
    for path in paths:
        assert path.parent == tmp_path and path.stat().st_size > 5_000, path
    png = next(p for p in paths if p.suffix == ".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = next(p for p in paths if p.suffix == ".svg")
    assert "<svg" in svg.read_text()[:2000]


def test_diagrams_are_registered_and_committed():
    assert set(DIAGRAMS) <= set(figures.FIGURES)
    for name in figures.FIGURES:
        for suffix in (".svg", ".png"):
            assert (ROOT / "figures" / (name + suffix)).exists(), f"figures/{name}{suffix}"


def test_regenerating_a_diagram_is_deterministic(tmp_path):
    a = figures.generate(tmp_path / "a", ["joint_action_growth"], progress=False)
    b = figures.generate(tmp_path / "b", ["joint_action_growth"], progress=False)
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes()


def test_unknown_figure_and_missing_data_are_clear_errors(tmp_path, monkeypatch, capsys):
    with pytest.raises(ValueError, match="valid figures: .*qmix_architecture"):
        figures.generate(tmp_path, ["nope"])
    monkeypatch.setattr(results, "DATA_DIR", tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="two_step_paper.json is missing; it is made by"):
        figures.generate(tmp_path, ["two_step_tables"], progress=False)
    with pytest.raises(SystemExit) as err:
        figures.main(["nope", "--out", str(tmp_path)])
    assert err.value.code == 2


def test_command_line_writes_figures(tmp_path, capsys):
    assert main(["figures", "joint_action_growth", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "joint_action_growth.svg").exists()
    assert "wrote 2 files" in capsys.readouterr().out
