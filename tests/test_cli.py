"""The command line: train, eval, compare, envs, figures, and its errors (exit code 2)."""

import csv
import json
import subprocess
import sys

import pytest

from qmix_tut.cli import main

TINY = ["--preset", "two_step_paper", "--steps", "300", "--set", "eval_interval=100", "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    dirs = []
    for algo in ("qmix", "vdn"):
        for seed in (0, 1):
            out = root / f"{algo}{seed}"
            assert (
                main(["train", "--algo", algo, "--seed", str(seed), "--out", str(out), *TINY]) == 0
            )
            dirs.append(out)
    return dirs


def test_train_writes_a_complete_run_directory(runs, capsys):
    run = runs[0]
    for name in ("config.json", "versions.json", "history.csv", "checkpoint.pt", "final.pt",
                 "result.pt", "learning_curve.png"):  # fmt: skip
        assert (run / name).stat().st_size > 0, name
    config = json.loads((run / "config.json").read_text())
    assert (
        config["algo"] == "qmix" and config["total_steps"] == 300 and config["eval_interval"] == 100
    )
    versions = json.loads((run / "versions.json").read_text())
    assert {"python", "torch", "qmix_tut", "pettingzoo"} <= set(versions)
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["env_steps"]) for r in rows] == [0, 100, 200, 300]


def test_train_prints_the_resolved_config(tmp_path, capsys):
    out = tmp_path / "r"
    main(["train", "--out", str(out), *TINY, "--set", "lr=0.001"])
    text = capsys.readouterr().out
    assert '"lr": 0.001' in text and '"env": "two_step"' in text
    assert f"Run directory: {out}" in text


def test_resume_continues_to_more_steps(tmp_path, capsys):
    out = tmp_path / "r"
    main(["train", "--out", str(out), *TINY])
    assert main(["train", "--resume", str(out), "--steps", "500", "--quiet"]) == 0
    with open(out / "history.csv") as f:
        assert [int(r["env_steps"]) for r in csv.DictReader(f)][-1] == 500
    # starting again in a directory that holds a run needs --overwrite
    with pytest.raises(SystemExit) as err:
        main(["train", "--out", str(out), *TINY])
    assert err.value.code == 2
    assert "--resume" in capsys.readouterr().err


def test_eval_prints_return_and_tables(runs, capsys):
    assert main(["eval", str(runs[0]), "--episodes", "3"]) == 0
    text = capsys.readouterr().out
    assert "greedy return over 3 episodes: mean" in text and "std" in text
    assert "2B" in text and "paper" in text.lower()


def test_compare_groups_by_algorithm(runs, tmp_path, capsys):
    assert main(["compare", *map(str, runs), "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    lines = {line.split()[0]: line for line in text.splitlines() if line.split()}
    assert lines["qmix"].split()[1] == "2" and lines["vdn"].split()[1] == "2"
    assert (tmp_path / "compare.png").stat().st_size > 0


def test_envs_lists_every_name(capsys):
    assert main(["envs"]) == 0
    text = capsys.readouterr().out
    assert "two_step" in text and "mpe:simple_spread" in text and "lbf:Foraging" in text
    assert "unavailable" not in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--algo", "sarsa"], "argument --algo: invalid choice"),
        (["train", "--steps", "many"], "argument --steps"),
        (["train", "--set", "lr=-1", *TINY], "lr"),
        (["train", "--set", "nonsense", *TINY], "argument --set: expected key=value"),
        (["train", "--set", "colour=3", *TINY], "colour"),
        (["train", "--env", "chess", *TINY], "chess"),
        (["train", "--resume", "/no/such/run"], "argument --resume"),
        (["train", "--resume", "/tmp", "--algo", "vdn"], "cannot be combined"),
        (["eval", "/no/such/run"], "argument run_dir"),
        (["eval", ".", "--episodes", "0"], "argument --episodes"),
        (["compare"], "run_dirs"),
        (["fly"], "invalid choice"),
    ],
)
def test_wrong_arguments_exit_2_naming_the_argument(argv, message, capsys):
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 2
    assert message in capsys.readouterr().err


def test_eval_of_a_corrupt_run_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "result.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(SystemExit) as err:
        main(["eval", str(tmp_path)])
    assert err.value.code == 2
    assert "result.pt" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "eval", "compare", "envs", "figures", "demo"])
def test_help_is_clear(command):
    out = subprocess.run(
        [sys.executable, "-m", "qmix_tut", command, "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "usage: qmix-tut " + command in out.stdout
