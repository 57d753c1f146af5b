"""Bad input to every command-line subcommand and flag: each must exit with status 2 and one
line saying what is wrong (argparse's usage lines may come before it), never a traceback.

The commands run in-process through ``qmix_tut.cli.main`` (fast); a few run as real
processes at the end to check what a user's terminal shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from qmix_tut import Config, train
from qmix_tut.cli import main

RUN_SMALL = ["--preset", "two_step_paper", "--steps", "60", "--quiet"]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """A finished run, a file, an empty directory and damaged run directories."""
    root = tmp_path_factory.mktemp("cli")
    run = root / "run"
    config = Config.preset("two_step_paper", total_steps=200, eval_interval=100)
    train(config, progress=False, run_dir=run)
    (root / "file").write_text("not a directory")
    (root / "empty").mkdir()
    (root / "notes").mkdir()
    (root / "notes" / "notes.txt").write_text("mine")
    for name, damage in [
        ("truncated", lambda d: d.write_bytes(d.read_bytes()[:100])),
        ("garbage", lambda d: d.write_bytes(b"\x80\x03garbage")),
        ("emptyfile", lambda d: d.write_bytes(b"")),
    ]:
        bad = root / name
        bad.mkdir()
        for f in ("config.json", "history.csv", "checkpoint.pt"):
            (bad / f).write_bytes((run / f).read_bytes())
        damage(bad / "checkpoint.pt")
    for name, text in [("badjson", "{oops"), ("listjson", "[1]"), ("badfield", '{"lr": "x"}')]:
        bad = root / name
        bad.mkdir()
        (bad / "config.json").write_text(text)
        (bad / "checkpoint.pt").write_bytes((run / "checkpoint.pt").read_bytes())
    header = root / "headeronly"
    header.mkdir()
    (header / "config.json").write_text((run / "config.json").read_text())
    (header / "history.csv").write_text("env_steps,eval_return\n")
    return root


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        status = main(argv)
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


GPU = torch.cuda.is_available()
# (argv with {root} for the fixture's folder, words the error line must contain)
CASES: list[tuple[list[str], str]] = [
    # top level
    (["nosuchcommand"], "invalid choice"),
    (["--nosuchflag"], "unrecognized arguments"),
    # train: flags
    (["train", *RUN_SMALL, "--steps", "-1"], "total_steps"),
    (["train", *RUN_SMALL, "--steps", "0"], "total_steps"),
    (["train", *RUN_SMALL, "--steps", "abc"], "--steps"),
    (["train", *RUN_SMALL, "--steps", "1e3"], "--steps"),
    (["train", *RUN_SMALL, "--steps", "9" * 30], "total_steps"),
    (["train", *RUN_SMALL, "--seed", "-1"], "seed"),
    (["train", *RUN_SMALL, "--seed", str(2**32)], "seed"),
    (["train", *RUN_SMALL, "--seed", "x"], "--seed"),
    (["train", *RUN_SMALL, "--threads", "0"], "threads"),
    (["train", *RUN_SMALL, "--threads", "-2"], "threads"),
    (["train", *RUN_SMALL, "--threads", str(10**6)], "threads"),
    (["train", *RUN_SMALL, "--threads", "many"], "--threads"),
    (["train", *RUN_SMALL, "--device", "tpu"], "device"),
    (["train", *RUN_SMALL, "--algo", "qtran"], "--algo"),
    (["train", "--preset", "nope"], "--preset"),
    (["train", *RUN_SMALL, "--env", "nosuchenv"], "nosuchenv"),
    (["train", *RUN_SMALL, "--env", ""], "env"),
    (["train", *RUN_SMALL, "--env", "nosuchmodule_xyz:make_env"], "nosuchmodule_xyz"),
    (["train", *RUN_SMALL, "--env", "matrix:nosuchgame"], "nosuchgame"),
    # train: --set
    (["train", *RUN_SMALL, "--set", "lr=Infinity"], "lr"),
    (["train", *RUN_SMALL, "--set", "lr=-Infinity"], "lr"),
    (["train", *RUN_SMALL, "--set", "lr=NaN"], "lr"),
    (["train", *RUN_SMALL, "--set", "lr=1e999"], "lr"),
    (["train", *RUN_SMALL, "--set", "lr=fast"], "lr"),
    (["train", *RUN_SMALL, "--set", "lr="], "lr"),
    (["train", *RUN_SMALL, "--set", "lr=0"], "lr"),
    (["train", *RUN_SMALL, "--set", "optim_eps=Infinity"], "optim_eps"),
    (["train", *RUN_SMALL, "--set", "gamma=2"], "gamma"),
    (["train", *RUN_SMALL, "--set", "gamma=[0.9]"], "gamma"),
    (["train", *RUN_SMALL, "--set", "tau=-0.1"], "tau"),
    (["train", *RUN_SMALL, "--set", "grad_clip=0"], "grad_clip"),
    (["train", *RUN_SMALL, "--set", "batch_size=1000"], "batch_size"),
    (["train", *RUN_SMALL, "--set", "buffer_size=0"], "buffer_size"),
    (["train", *RUN_SMALL, "--set", "buffer_size=1000000000000"], "memory"),
    (["train", *RUN_SMALL, "--set", "hidden_dim=100000000"], "memory"),
    (["train", *RUN_SMALL, "--set", "num_envs=1000000000"], "memory"),
    (["train", *RUN_SMALL, "--set", "hidden_dim=2.5"], "hidden_dim"),
    (["train", *RUN_SMALL, "--set", "double_q=maybe"], "double_q"),
    (["train", *RUN_SMALL, "--set", "double_q=1"], "double_q"),
    (["train", *RUN_SMALL, "--set", "optimizer=sgd"], "optimizer"),
    (["train", *RUN_SMALL, "--set", "agent=cnn"], "agent"),
    (["train", *RUN_SMALL, "--set", "hypernet_layers=3"], "hypernet_layers"),
    (["train", *RUN_SMALL, "--set", "weighting=ow", "--algo", "vdn"], "weighting"),
    (["train", *RUN_SMALL, "--set", "env_kwargs=5"], "env_kwargs"),
    (["train", *RUN_SMALL, "--set", 'env_kwargs={"bogus": 1}'], "bogus"),
    (["train", *RUN_SMALL, "--set", "buffer_size=1e3"], "buffer_size"),
    (["train", *RUN_SMALL, "--set", "eval_interval=0"], "eval_interval"),
    (["train", *RUN_SMALL, "--set", "checkpoint_seconds=-1"], "checkpoint_seconds"),
    (["train", *RUN_SMALL, "--set", "checkpoint_seconds=NaN"], "checkpoint_seconds"),
    (["train", *RUN_SMALL, "--set", "noequals"], "key=value"),
    (["train", *RUN_SMALL, "--set", "learning_rate=1"], "learning_rate"),
    (["train", *RUN_SMALL, "--set", "=1"], "--set"),
    # train: --out
    (["train", *RUN_SMALL, "--out", "{root}/file"], "file"),
    (["train", *RUN_SMALL, "--out", "{root}/file/run"], "file"),
    (["train", *RUN_SMALL, "--out", "{root}/notes"], "--overwrite"),
    (["train", *RUN_SMALL, "--out", "{root}/run"], "--overwrite"),
    # train: --resume
    (["train", "--resume", "{root}/missing"], "missing"),
    (["train", "--resume", "{root}/file"], "file"),
    (["train", "--resume", "{root}/empty"], "config.json"),
    (["train", "--resume", "{root}/notes"], "config.json"),
    (["train", "--resume", "{root}/truncated", "--steps", "400"], "checkpoint.pt"),
    (["train", "--resume", "{root}/garbage", "--steps", "400"], "checkpoint.pt"),
    (["train", "--resume", "{root}/emptyfile", "--steps", "400"], "checkpoint.pt"),
    (["train", "--resume", "{root}/badjson"], "JSON"),
    (["train", "--resume", "{root}/listjson"], "JSON object"),
    (["train", "--resume", "{root}/badfield"], "lr"),
    (["train", "--resume", "{root}/run"], "finished"),
    (["train", "--resume", "{root}/run", "--steps", "100"], "--steps"),
    (["train", "--resume", "{root}/run", "--env", "two_step"], "--env"),
    (["train", "--resume", "{root}/run", "--set", "lr=1"], "--set"),
    (["train", "--resume", "{root}/run", "--threads", "0", "--steps", "400"], "threads"),
    (["train", "--resume", "{root}/run", "--device", "gpu", "--steps", "400"], "device"),
    # eval
    (["eval"], "run_dir"),
    (["eval", "{root}/missing"], "missing"),
    (["eval", "{root}/file"], "file"),
    (["eval", "{root}/empty"], "empty"),
    (["eval", "{root}/headeronly"], "headeronly"),
    (["eval", "{root}/truncated"], "readable"),
    (["eval", "{root}/run", "--episodes", "0"], "--episodes"),
    (["eval", "{root}/run", "--episodes", "-3"], "--episodes"),
    (["eval", "{root}/run", "--episodes", "x"], "--episodes"),
    # show
    (["show"], "run_dir"),
    (["show", "{root}/missing"], "missing"),
    (["show", "{root}/file"], "file"),
    (["show", "{root}/empty"], "config.json"),
    (["show", "{root}/badjson"], "JSON"),
    (["show", "{root}/badfield"], "lr"),
    # compare
    (["compare"], "run_dirs"),
    (["compare", "{root}/missing"], "missing"),
    (["compare", "{root}/run", "{root}/file"], "file"),
    (["compare", "{root}/run", "{root}/empty"], "empty"),
    (["compare", "{root}/run", "--out", "{root}/file"], "file"),
    # presets, figures, envs, demo
    (["presets", "nope"], "nope"),
    (["figures", "nosuchfigure", "--out", "{root}/figs"], "nosuchfigure"),
    (["figures", "--out", "{root}/file"], "file"),
    (["envs", "extra"], "unrecognized arguments"),
    (["demo", "--seed", "-1"], "seed"),
    (["demo", "--seed", "x"], "--seed"),
]
if not GPU:
    CASES += [
        (["train", *RUN_SMALL, "--device", "cuda"], "GPU"),
        (["train", *RUN_SMALL, "--device", "cuda:3"], "GPU"),
    ]


def _id(case) -> str:
    argv, _ = case
    return " ".join(a.replace("{root}/", "") for a in argv)[:60]


@pytest.mark.parametrize("argv, words", CASES, ids=[_id(c) for c in CASES])
def test_bad_command_line(places, capsys, tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)  # a default runs/ folder, if any, lands here
    argv = [a.replace("{root}", str(places)) for a in argv]
    status, _, err = run_cli(argv, capsys)
    assert status == 2, (status, err)
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    assert words.lower() in errors[0].lower(), errors[0]
    assert len(errors[0]) < 1000


def test_the_run_directory_survives_the_refusals(places):
    """None of the refused commands touched the finished run or the user's files."""
    from qmix_tut import load

    assert load(places / "run").history[-1]["env_steps"] == 200
    assert (places / "notes" / "notes.txt").read_text() == "mine"


def test_overwrite_replaces_a_run(places, capsys, tmp_path):
    out = tmp_path / "run"
    assert run_cli(["train", *RUN_SMALL, "--out", str(out)], capsys)[0] == 0
    (out / "extra.txt").write_text("old")
    status, _, err = run_cli(["train", *RUN_SMALL, "--out", str(out), "--overwrite"], capsys)
    assert status == 0, err
    assert not (out / "extra.txt").exists() and (out / "result.pt").exists()


# -- as a user's terminal sees it ---------------------------------------------------------------
PROCESS_CASES = [
    (["train", "--preset", "two_step_paper", "--set", "lr=Infinity"], "lr"),
    (["train", "--preset", "two_step_paper", "--set", "buffer_size=1000000000000"], "memory"),
    (["train", "--preset", "two_step_paper", "--threads", "1000000"], "threads"),
    (["eval", "{root}/truncated"], "readable"),
    # a damaged pickle: torch's own warning about its protocol must not reach the terminal
    (["train", "--resume", "{root}/garbage", "--steps", "400"], "not a readable qmix_tut file"),
]


@pytest.mark.slow
@pytest.mark.parametrize("argv, words", PROCESS_CASES, ids=[_id(c) for c in PROCESS_CASES])
def test_bad_command_line_in_a_real_process(places, tmp_path, argv, words):
    argv = [a.replace("{root}", str(places)) for a in argv]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-m", "qmix_tut", *argv],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], done.stderr


def test_a_diverging_run_ends_with_one_line_and_a_checkpoint(capsys, tmp_path):
    out = tmp_path / "run"
    argv = ["train", *RUN_SMALL, "--steps", "2000", "--set", "lr=1e30", "--out", str(out)]
    status, _, err = run_cli(argv, capsys)
    assert status == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "training stopped at" in lines[0] and "loss is nan" in lines[0]
    from qmix_tut import load

    assert load(out / "checkpoint.pt").config.lr == 1e30
