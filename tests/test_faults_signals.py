"""Cluster-style faults on real processes: SIGTERM, SIGHUP, a double Ctrl-C and kill -9 at
random moments of a command-line run, then ``--resume``; two runs pointed at one directory.
Nothing may be lost: the resumed run's history equals an uninterrupted run's."""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qmix_tut import Config, load, train
from qmix_tut.results import read_history_csv, safe_load

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
STEPS, EVAL = 2000, 250
ARGS = ["--preset", "two_step_paper", "--steps", str(STEPS), "--quiet",
        "--set", f"eval_interval={EVAL}", "--set", "eval_episodes=2"]  # fmt: skip


@pytest.fixture(scope="module")
def straight():
    config = Config.preset("two_step_paper", total_steps=STEPS, eval_interval=EVAL, eval_episodes=2)
    return train(config, progress=False).history


def start(out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "qmix_tut", "train", *ARGS, "--out", str(out), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=out.parent,
    )  # fmt: skip


def wait_for_training(proc: subprocess.Popen, out: Path, timeout: float = 120) -> None:
    """Until the run has written its first history row (its signal handlers are in place)."""
    deadline = time.monotonic() + timeout
    while not (out / "history.csv").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.05)


def resume(out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "qmix_tut", "train", "--resume", str(out), "--quiet", *extra],
        capture_output=True, text=True, env=env, cwd=out.parent, timeout=300,
    )  # fmt: skip


def same(a: list[dict], b: list[dict]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for key in x:
            if key == "wall_seconds":
                continue
            if not ((math.isnan(x[key]) and math.isnan(y[key])) or x[key] == y[key]):
                return False
    return True


@pytest.mark.parametrize(
    "name, status, seed",
    [("SIGTERM", 143, 0), ("SIGTERM", 143, 1), ("SIGHUP", 129, 2)],
)
def test_a_signal_at_a_random_moment_then_resume_equals_an_uninterrupted_run(
    tmp_path, straight, name, status, seed
):
    out = tmp_path / "run"
    proc = start(out)
    wait_for_training(proc, out)
    time.sleep(random.Random(seed).uniform(0.0, 2.0))
    proc.send_signal(getattr(signal, name))
    stdout, stderr = proc.communicate(timeout=300)
    assert "Traceback" not in stderr
    if proc.returncode in (0, -getattr(signal, name)):
        # The run had finished before the signal came (exit 0), or the signal came after
        # training had restored the usual handlers and saved everything, while the command
        # was printing its summary (killed by it). Either way nothing is left to resume.
        assert (out / "result.pt").exists(), stderr
        assert same(read_history_csv(out / "history.csv"), straight)
        assert same(load(out).history, straight)
        return
    assert proc.returncode == status, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Stopped by {name} at "), stderr
    assert f"qmix-tut train --resume {out}" in lines[0]
    assert safe_load(out / "checkpoint.pt")["counters"]["env_steps"] < STEPS
    done = resume(out)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert same(read_history_csv(out / "history.csv"), straight)
    assert same(load(out).history, straight)


def test_kill_9_then_resume_from_the_last_periodic_checkpoint(tmp_path, straight):
    out = tmp_path / "run"
    proc = start(out, "--set", "checkpoint_interval=500")
    wait_for_training(proc, out)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(random.Random(7).uniform(0.0, 1.0))
    proc.kill()
    proc.communicate(timeout=60)
    assert safe_load(out / "checkpoint.pt")["counters"]["env_steps"] % 500 == 0
    done = resume(out)
    if "has finished" in done.stderr:  # it had finished before the kill
        return
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []
    assert same(load(out).history, straight)


def test_a_double_ctrl_c_stops_at_once_without_a_traceback(tmp_path, straight):
    out = tmp_path / "run"
    proc = start(out, "--set", "checkpoint_interval=500")
    wait_for_training(proc, out)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    assert "Traceback" not in stderr
    if proc.returncode == 0:
        return
    assert proc.returncode == 130, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Stopped by SIGINT" in stderr
    if (out / "checkpoint.pt").exists():
        done = resume(out)
        assert done.returncode == 0, done.stderr
        assert same(load(out).history, straight)


def test_two_runs_on_one_directory(tmp_path):
    out = tmp_path / "run"
    first = start(out, "--steps", "1000000")  # still running when the others start
    wait_for_training(first, out)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for extra in ([], ["--overwrite"]):
        second = subprocess.run(
            [sys.executable, "-m", "qmix_tut", "train", *ARGS, "--out", str(out), *extra],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
        )  # fmt: skip
        assert second.returncode == 2, second.stderr
        assert "Traceback" not in second.stderr
        assert "in use by another training run" in second.stderr, second.stderr
    first.send_signal(signal.SIGTERM)
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 143, stderr
    assert load(out).config.total_steps == 1_000_000  # the first run's files, untouched


def test_a_stop_asked_for_in_the_last_round_leaves_a_finished_run(tmp_path, straight):
    """A signal that lands once every step is done (here: at the final evaluation) does not
    mark the run interrupted: it is complete, and nothing is left to resume."""
    config = Config.preset("two_step_paper", total_steps=STEPS, eval_interval=EVAL, eval_episodes=2)

    def at_the_end(row: dict[str, float]) -> None:
        if row["env_steps"] >= STEPS:
            os.kill(os.getpid(), signal.SIGTERM)

    result = train(config, progress=False, run_dir=tmp_path / "run", callback=at_the_end)
    assert not result.interrupted
    assert same(result.history, straight)
    assert not load(tmp_path / "run").interrupted
