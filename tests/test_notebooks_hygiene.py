"""What a learner sees in the notebooks: no test machinery in the cells they read, the
kernel metadata JupyterLab writes, cross-references that lead somewhere, exercises before
their answers, and answers that pass their own checkers."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO_KEYS = {
    "codemirror_mode",
    "file_extension",
    "mimetype",
    "name",
    "nbconvert_exporter",
    "pygments_lexer",
    "version",
}
NBVAL_TAGS = {"nbval-ignore-output", "nbval-check-output", "nbval-skip", "nbval-raises-exception"}


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell):
    return "".join(cell["source"])


def _ids(paths):
    return [p.name[:2] for p in paths]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_test_machinery_in_learner_facing_cells(path):
    for index, cell in enumerate(_load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        text = _source(cell)
        assert "NBVAL_" not in text, f"{path.name} cell {index}: use an nbval cell tag"
        for line in text.splitlines():
            if line.lstrip().startswith("assert") and "__version__" in line:
                raise AssertionError(f"{path.name} cell {index}: version assert in view")
        tags = set(cell["metadata"].get("tags", []))
        unknown = {t for t in tags if t.startswith("nbval") and t not in NBVAL_TAGS}
        assert not unknown, f"{path.name} cell {index}: unknown nbval tags {unknown}"
        assert "solution" not in tags, f"{path.name} cell {index}: a solution in the reading flow"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_kernel_metadata_is_what_jupyterlab_writes(path):
    meta = _load(path)["metadata"]
    assert meta["kernelspec"] == KERNELSPEC
    assert LANGUAGE_INFO_KEYS <= set(meta["language_info"])
    assert meta["language_info"]["name"] == "python"


def _course_numbers():
    """Notebooks that exist, and those the README's course map lists (being written)."""
    numbers = {p.name[:2] for p in NOTEBOOKS}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    course_map = readme.split("<!-- course-map -->")[1].split("<!-- /course-map -->")[0]
    numbers |= set(re.findall(r"^\| (\d\d) \|", course_map, flags=re.M))
    return numbers


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_cross_references_point_at_notebooks_of_the_course(path):
    numbers = _course_numbers()
    for index, cell in enumerate(_load(path)["cells"]):
        for match in re.finditer(r"\b[Nn]otebooks? (\d\d)\b", _source(cell)):
            assert match.group(1) in numbers, f"{path.name} cell {index}: {match.group(0)}"
        for link in re.findall(r"\]\((?!https?:)([^)#\s]+\.ipynb)", _source(cell)):
            assert (path.parent / link).exists(), f"{path.name} cell {index}: link {link}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_title_number_and_reading_time(path):
    cells = _load(path)["cells"]
    title = _source(cells[0])
    assert title.startswith(f"# {path.name[:2]} "), f"{path.name}: title {title[:40]!r}"
    assert re.search(r"Estimated reading time: \d+ minutes", title), path.name
    has_exercises = any(_source(c).startswith("## Exercises") for c in cells)
    if has_exercises:
        assert "exercises" in title, f"{path.name}: budget time for the exercises"


def _solution_blocks(path):
    blocks = []
    for cell in _load(path)["cells"]:
        text = _source(cell)
        if cell["cell_type"] == "markdown" and "<details>" in text and "Solutions" in text:
            blocks += re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return blocks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_exercises_come_before_their_folded_solutions(path):
    cells = _load(path)["cells"]
    starts = [i for i, c in enumerate(cells) if _source(c).startswith("## Exercises")]
    if not starts:
        return
    solutions = [
        i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and "<details>" in _source(c)
    ]
    assert solutions, f"{path.name}: exercises without folded solutions"
    stubs = [
        i
        for i, c in enumerate(cells)
        if "raise NotImplementedError  # your code here" in _source(c)
    ]
    assert stubs and max(stubs) < min(solutions), f"{path.name}: an answer before its exercise"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_folded_solutions_pass_their_checkers(path, capsys):
    for block in _solution_blocks(path):
        if (
            "a reference run" in block.splitlines()[0]
            or "a reference scan" in block.splitlines()[0]
        ):
            compile(block, f"{path.name} reference run", "exec")  # runs minutes: only parse it
            continue
        exec(compile(block, f"{path.name} solutions", "exec"), {})
    out = capsys.readouterr().out
    assert "Traceback" not in out
