"""The command line: every subcommand, its help, its errors (one line, exit status 2), and
the commands that must answer without importing torch."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qmix_tut import __version__
from qmix_tut.cli import main
from qmix_tut.config import FIELD_DOCS, PRESETS, Config

TINY = ["--preset", "two_step_paper", "--steps", "300", "--set", "eval_interval=100", "--quiet"]
COMMANDS = ["train", "eval", "show", "compare", "envs", "presets", "figures", "demo"]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m qmix_tut ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "qmix_tut", *args], capture_output=True, text=True, timeout=timeout
    )


def fails_with(argv: list[str], capsys) -> str:
    """Run main(argv), check it exits with status 2, and return its one line of stderr."""
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 2
    text = capsys.readouterr().err
    assert "Traceback" not in text
    return text


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One short QMIX run on the two-step game."""
    out = tmp_path_factory.mktemp("runs") / "qmix0"
    assert main(["train", "--algo", "qmix", "--seed", "0", "--out", str(out), *TINY]) == 0
    return out


# ------------------------------------------------------------------------------------------
# train, resume, eval, show, compare, envs, presets
# ------------------------------------------------------------------------------------------
def test_train_writes_a_complete_run_directory(run):
    for name in ("config.json", "versions.json", "history.csv", "checkpoint.pt", "result.pt",
                 "learning_curve.png"):  # fmt: skip
        assert (run / name).stat().st_size > 0, name
    config = json.loads((run / "config.json").read_text())
    assert (
        config["algo"] == "qmix" and config["total_steps"] == 300 and config["eval_interval"] == 100
    )
    versions = json.loads((run / "versions.json").read_text())
    assert {"python", "torch", "qmix_tut", "qmix_tut_commit", "pettingzoo"} <= set(versions)
    root = Path(__file__).resolve().parents[1]
    if (root / ".git").exists():  # a checkout (CI's is a clone): the run names its commit
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        assert versions["qmix_tut_commit"] in (head, head + "+changes")
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["env_steps"]) for r in rows] == [0, 100, 200, 300]


def test_train_prints_the_resolved_config_unless_quiet(tmp_path, capsys):
    out = tmp_path / "r"
    main(["train", "--out", str(out), *TINY[:-1], "--set", "lr=0.001", "--quiet"])
    quiet = capsys.readouterr().out
    assert '"lr"' not in quiet and "Config" not in quiet
    assert f"Run directory: {out}" in quiet and "mean of the last 4 evaluations" in quiet
    out = tmp_path / "loud"
    main(["train", "--out", str(out), *TINY[:-1], "--set", "lr=0.001", "--threads", "1"])
    text = capsys.readouterr().out
    assert '"lr": 0.001' in text and '"env": "two_step"' in text and '"threads": 1' in text


def test_resume_says_where_it_goes_and_steps_extend_it(tmp_path, capsys):
    out = tmp_path / "r"
    main(["train", "--out", str(out), *TINY])
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--steps", "500", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert f"Resuming {out} (last evaluation at 300 env steps) up to 500 env steps" in text
    with open(out / "history.csv") as f:
        assert [int(r["env_steps"]) for r in csv.DictReader(f)][-1] == 500
    # a finished run needs --steps beyond where it is
    assert "has finished (500 of 500 env steps); give --steps N" in fails_with(
        ["train", "--resume", str(out)], capsys
    )
    assert "already at 500 env steps" in fails_with(
        ["train", "--resume", str(out), "--steps", "400"], capsys
    )
    # starting again in a directory that holds a run needs --overwrite
    assert f"qmix-tut train --resume {out}" in fails_with(
        ["train", "--out", str(out), *TINY], capsys
    )
    assert main(["train", "--out", str(out), *TINY, "--overwrite"]) == 0
    with open(out / "history.csv") as f:
        assert [int(r["env_steps"]) for r in csv.DictReader(f)][-1] == 300


def test_eval_prints_return_and_tables(run, capsys):
    assert main(["eval", str(run), "--episodes", "3"]) == 0
    text = capsys.readouterr().out
    assert "greedy return over 3 episodes: mean" in text and "std" in text
    assert "2B" in text and "paper" in text.lower()


def test_show_summarises_a_finished_run(run, capsys):
    assert main(["show", str(run)]) == 0
    text = capsys.readouterr().out
    assert "QMIX on two_step, seed 0" in text
    assert "finished: 300 of 300 env steps" in text
    assert "4 evaluations" in text and "mean of the last 4 evaluations" in text
    assert "total_steps=300" in text and "eval_interval=100" in text
    for name in ("config.json", "history.csv", "checkpoint.pt", "result.pt"):
        assert name in text


def test_show_of_a_stopped_run_says_how_to_resume(tmp_path, capsys):
    # a run directory whose history ends before the config's total_steps
    (tmp_path / "config.json").write_text(json.dumps({"env": "two_step", "total_steps": 5000}))
    (tmp_path / "history.csv").write_text("env_steps,episodes,wall_seconds,eval_return\n"
                                          "0,0,0.1,7\n100,50,0.5,8\n")  # fmt: skip
    assert main(["show", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "stopped: last evaluation at 100 of 5000 env steps" in text
    assert f"qmix-tut train --resume {tmp_path}" in text
    assert "greedy return 8.000 at 100 env steps; best 8.000 at 100" in text
    assert "mean of the last 2 evaluations 7.500" in text


def test_show_of_a_run_without_evaluations(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"env": "two_step"}))
    (tmp_path / "history.csv").write_text("env_steps,episodes,wall_seconds,eval_return\n")
    assert main(["show", str(tmp_path)]) == 0
    assert "no greedy evaluation yet" in capsys.readouterr().out


def test_envs_lists_every_name(capsys):
    assert main(["envs"]) == 0
    text = capsys.readouterr().out
    assert "two_step" in text and "mpe:simple_spread" in text and "lbf:Foraging" in text
    assert "unavailable" not in text


def test_presets_lists_every_preset(capsys):
    assert main(["presets"]) == 0
    text = capsys.readouterr().out
    for name in PRESETS:
        assert any(line.split()[:1] == [name] for line in text.splitlines()), name


def test_presets_name_shows_every_field_with_its_value_and_meaning(capsys):
    assert main(["presets", "lbf"]) == 0
    text = capsys.readouterr().out
    lbf = Config.preset("lbf")
    for name in FIELD_DOCS:
        marked = [line for line in text.splitlines() if line[2:].split()[:1] == [name]]
        assert marked, name
        assert marked[0].startswith("*") == (name in PRESETS["lbf"])
        assert json.dumps(getattr(lbf, name)) in marked[0]
    assert FIELD_DOCS["td_lambda"].meaning in text


def test_every_config_field_is_documented():
    assert list(FIELD_DOCS) == list(Config.__dataclass_fields__)
    for name, doc in FIELD_DOCS.items():
        assert doc.meaning and doc.allowed, name
        assert "not documented" not in doc.meaning, name


def test_train_help_lists_every_field_threads_and_device():
    out = run_cli("train", "--help")
    assert out.returncode == 0
    for name in FIELD_DOCS:
        assert f"\n  {name} (" in out.stdout, name
    assert "--threads" in out.stdout and "--device" in out.stdout
    assert "cuda:N" in out.stdout
    for algo in ("iql", "vdn", "qmix", "coma"):
        assert f"{algo}:" in out.stdout


def test_figures_help_lists_the_figure_names():
    from qmix_tut.figures import FIGURES

    out = run_cli("figures", "--help")
    assert out.returncode == 0
    flat = " ".join(out.stdout.split())
    for name in FIGURES:
        assert name in flat


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_clear(command):
    out = run_cli(command, "--help")
    assert out.returncode == 0 and "usage: qmix-tut " + command in out.stdout


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"qmix-tut {__version__}"


@pytest.mark.parametrize(
    "argv", [["--help"], ["--version"], ["envs"], ["presets"], ["presets", "lbf"], ["train", "-h"]]
)
def test_answers_without_importing_torch(argv):
    code = (
        "import sys\nfrom qmix_tut.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "assert 'torch' not in sys.modules, 'imported torch'\nprint('no torch')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and "no torch" in out.stdout, out.stderr


# ------------------------------------------------------------------------------------------
# errors: one line naming what was wrong, exit status 2, never a traceback
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--algo", "sarsa"], "argument --algo: invalid choice"),
        (["train", "--steps", "many"], "argument --steps"),
        (["train", "--set", "lr=-1", *TINY], "argument --set: Config.lr"),
        (["train", "--set", "nonsense", *TINY], "argument --set: expected KEY=VALUE"),
        (["train", "--set", "colour=3", *TINY], "unknown key 'colour'"),
        (["train", "--set", "gama=0.9", *TINY], "(did you mean gamma?)"),
        (["train", "--seed", "-1", *TINY], "argument --seed: Config.seed"),
        (["train", "--threads", "0", *TINY], "argument --threads: Config.threads"),
        (["train", "--device", "tpu", *TINY], "argument --device: Config.device"),
        (["train", "--preset", "two_step_paper", "--steps", "0"], "argument --steps"),
        (["train", "--env", "chess", *TINY], "argument --env"),
        (["train", "--set", 'env_kwargs={"x": 1}', *TINY], "argument --set env_kwargs"),
        (["demo", "--seed", "-1"], "argument --seed: Config.seed"),
        (["train", "--resume", "/no/such/run"], "argument --resume"),
        (["train", "--resume", "/tmp", "--algo", "vdn"], "cannot be combined with --algo"),
        (["eval", "/no/such/run"], "argument run_dir"),
        (["eval", ".", "--episodes", "0"], "argument --episodes"),
        (["show", "/no/such/run"], "argument run_dir"),
        (["show", "."], "argument run_dir"),
        (["presets", "fast"], "unknown preset 'fast'"),
        (["compare"], "run_dirs"),
        (["fly"], "invalid choice"),
    ],
)
def test_wrong_arguments_exit_2_naming_the_argument(argv, message, capsys):
    assert message in fails_with(argv, capsys)


def test_unknown_set_key_lists_the_valid_keys(capsys):
    text = fails_with(["train", "--set", "colour=3", *TINY], capsys)
    assert text.startswith("qmix-tut train: error: argument --set: unknown key 'colour'")
    assert ", ".join(FIELD_DOCS) in text
    assert len(text.strip().splitlines()) == 1


def test_out_that_is_a_file_or_below_one(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    text = fails_with(["train", "--out", str(a_file), *TINY], capsys)
    assert text == f"qmix-tut train: error: argument --out: {a_file} is a file, not a directory\n"
    text = fails_with(["train", "--out", str(a_file / "run"), *TINY], capsys)
    assert f"argument --out: {a_file / 'run'} lies below {a_file}, a file" in text
    text = fails_with(["figures", "joint_action_growth", "--out", str(a_file)], capsys)
    assert f"argument --out: {a_file} is a file" in text


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only directory")
def test_out_in_a_read_only_directory(tmp_path, capsys):
    tmp_path.chmod(0o500)
    try:
        text = fails_with(["train", "--out", str(tmp_path / "run"), *TINY], capsys)
    finally:
        tmp_path.chmod(0o700)
    assert text.startswith("qmix-tut train: error:") and str(tmp_path) in text


def test_unknown_figure_is_a_clear_error(tmp_path, capsys):
    text = fails_with(["figures", "no_such_figure", "--out", str(tmp_path)], capsys)
    assert "unknown figure(s) 'no_such_figure'" in text


def test_eval_of_a_corrupt_run_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "result.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "config.json").write_text("{}")
    text = fails_with(["eval", str(tmp_path)], capsys)
    assert "result.pt" in text and len(text.strip().splitlines()) == 1


def test_eval_and_compare_of_runs_without_results(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps(Config(env="two_step").to_dict()))
    (tmp_path / "history.csv").write_text("env_steps,episodes,wall_seconds,eval_return\n")
    assert "holds no result.pt or checkpoint.pt" in fails_with(["eval", str(tmp_path)], capsys)
    assert "no finished run" in fails_with(
        ["compare", str(tmp_path), "--out", str(tmp_path / "c")], capsys
    )


def test_show_of_a_damaged_config(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{not json")
    text = fails_with(["show", str(tmp_path)], capsys)
    assert "config.json is not valid JSON" in text


def test_errors_reach_the_shell_as_one_line_and_status_2(tmp_path):
    out = run_cli("train", "--set", "colour=3", *TINY)
    assert out.returncode == 2
    assert out.stderr.startswith("qmix-tut train: error: argument --set: unknown key")
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_signal_prints_one_message_with_the_resume_command(tmp_path, signum, status):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "qmix_tut", "train", "--preset", "two_step_paper", "--steps",
         "10000000", "--set", "eval_interval=200", "--quiet", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "history.csv").exists():
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr and "Finished" not in stdout
    resume_lines = [line for line in stderr.splitlines() if "--resume" in line]
    assert len(resume_lines) == 1, stderr
    assert f"qmix-tut train --resume {out}" in resume_lines[0]
    if signum != signal.SIGINT:
        return
    shown = run_cli("show", str(out))
    assert "stopped: last evaluation at" in shown.stdout
    with open(out / "history.csv") as f:
        done = int(list(csv.DictReader(f))[-1]["env_steps"])
    resumed = run_cli("train", "--resume", str(out), "--steps", str(done + 400), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert f"up to {done + 400} env steps" in resumed.stdout
