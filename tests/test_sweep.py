"""qmix_tut.sweep and `qmix-tut sweep`: grids, sweep files, and (marked slow) sweeps on a local
Ray instance that skip finished runs, survive killed workers and report failed runs."""

import csv
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from qmix_tut import Config, train
from qmix_tut.cli import main
from qmix_tut.stats import read_runs
from qmix_tut.sweep import (
    CodeMismatchError,
    _start_ray,
    code_fingerprint,
    execute_run,
    is_stored,
    load_sweep_file,
    parse_settings,
    plan_sweep,
    preset_for,
    record_path,
    run_state,
    run_sweep,
    store_histories,
)

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = ROOT / "figures" / "data" / "benchmark" / "sweep.toml"
TINY = {"eval_interval": 100, "checkpoint_interval": 100}


def read_history(run_dir: Path) -> dict[str, np.ndarray]:
    with open(run_dir / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def assert_same_history(run_dir: Path, history: list[dict[str, float]]) -> None:
    """Every column but wall_seconds equal (NaN where NaN: the loss before learning)."""
    stored = read_history(run_dir)
    for key, values in stored.items():
        if key != "wall_seconds":
            np.testing.assert_array_equal(values, [row[key] for row in history], err_msg=key)


# ------------------------------------------------------------------------------------------
# planning (fast)
# ------------------------------------------------------------------------------------------
def test_a_grid_has_one_run_per_combination():
    runs = plan_sweep(["two_step", "matrix:climbing"], ["qmix", "vdn"], [0, 1, 2], steps=500,
                      settings={"lr": [1e-3, 5e-4], "gamma": 0.9})  # fmt: skip
    assert len(runs) == 2 * 2 * 3 * 2
    assert len({r.directory for r in runs}) == len(runs)
    first = runs[0]
    assert first.directory == "two_step/qmix+lr=0.001/seed0"
    assert first.config["total_steps"] == 500 and first.config["gamma"] == 0.9
    assert first.config["threads"] == 1 and first.config["mixer_embed"] == 8  # two_step_paper
    climbing = [r for r in runs if r.task == "matrix_climbing"]
    assert {r.config["env"] for r in climbing} == {"matrix:climbing"} and len(climbing) == 12
    # no swept setting: the plain layout <task>/<algo>/seed<k>
    assert plan_sweep(["two_step"], ["iql"], [4])[0].directory == "two_step/iql/seed4"


def test_each_algorithm_starts_from_its_own_preset():
    assert preset_for("mpe:simple_spread") == "simple_spread"
    assert preset_for("lbf:Foraging-8x8-2p-2f-coop-v3", "coma") == "coma_lbf"
    assert preset_for("two_step", "coma") == "coma_two_step"
    assert preset_for("two_step", "vdn", "memory") == "memory"
    runs = plan_sweep(["mpe:simple_spread"], ["qmix", "coma"], [0])
    assert runs[0].config["optimizer"] == "adam" and runs[1].config["optimizer"] == "rmsprop"
    with pytest.raises(ValueError, match="unknown preset"):
        preset_for("two_step", "qmix", "fast")


def test_command_line_settings():
    assert parse_settings(["lr=0.001,0.0005", "agent=rnn,mlp", "double_q=false", "tau=0"]) == {
        "lr": [0.001, 0.0005], "agent": ["rnn", "mlp"], "double_q": False, "tau": 0
    }  # fmt: skip
    assert parse_settings(['env_kwargs={"penalty": 0.1}']) == {"env_kwargs": {"penalty": 0.1}}
    for bad, message in [("lr", "expected key=value"), ("=3", "expected"), ("lr=", "expected")]:
        with pytest.raises(ValueError, match=message):
            parse_settings([bad])
    with pytest.raises(ValueError, match="set twice"):
        parse_settings(["lr=1", "lr=2"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(envs=["two_step"], algos=["qmix"], seeds=[0, 0]), "twice"),
        (dict(envs=["two_step"], algos=[], seeds=[0]), "at least one algo"),
        (dict(envs=["two_step"], algos=["sarsa"], seeds=[0]), "unknown algorithm"),
        (dict(envs=["two_step"], algos=["qmix"], seeds=[-1]), "non-negative"),
        (dict(envs=["two_step"], algos=["qmix"], seeds=[0], settings={"seed": 3}), "own option"),
        (dict(envs=["two_step"], algos=["qmix"], seeds=[0], settings={"lr": []}), "empty list"),
        (dict(envs=["two_step"], algos=["qmix"], seeds=[0], steps=0), "positive"),
        (dict(envs=[], algos=["qmix"], seeds=[0]), "at least one env"),
    ],
)
def test_bad_grids_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan_sweep(**kwargs)


SWEEP_TOML = """
description = "a small test"
algos = ["qmix", "vdn"]
seeds = [0, 1]
[set]
eval_interval = 100
[algo_set.vdn]
lr = 0.002
[tasks.game]
env = "two_step"
total_steps = 200
[tasks.game.set]
agent = ["rnn", "mlp"]
[tasks.hard]
env = "matrix:penalty"
env_kwargs = {k = -50}
algos = ["qmix"]
seeds = [3]
"""


def test_sweep_files_in_toml_yaml_and_json_agree(tmp_path):
    import tomllib
    import yaml

    (tmp_path / "s.toml").write_text(SWEEP_TOML)
    data = tomllib.loads(SWEEP_TOML)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "s.json").write_text(json.dumps(data))
    plans = [load_sweep_file(tmp_path / f"s.{ext}") for ext in ("toml", "yaml", "json")]
    assert plans[0] == plans[1] == plans[2]
    runs = plans[0]
    assert [r.directory for r in runs][:3] == [
        "game/qmix+agent=rnn/seed0", "game/qmix+agent=rnn/seed1", "game/qmix+agent=mlp/seed0"
    ]  # fmt: skip
    assert len(runs) == 2 * 2 * 2 + 1
    vdn = [r for r in runs if r.variant.startswith("vdn")]
    assert {r.config["lr"] for r in vdn} == {0.002}
    assert all(r.config["total_steps"] == 200 and r.config["eval_interval"] == 100
               for r in runs if r.task == "game")  # fmt: skip
    [hard] = [r for r in runs if r.task == "hard"]
    assert hard.config["env_kwargs"] == {"k": -50} and hard.directory == "hard/qmix/seed3"
    # a short trial of the same file: algorithms, seeds and steps replaced everywhere
    trial = plan_sweep(file=tmp_path / "s.toml", algos=["iql"], seeds=[7], steps=50)
    assert {(r.variant.split("+")[0], r.seed, r.config["total_steps"]) for r in trial} == {
        ("iql", 7, 50)
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ("algos = ['qmix']\nseeds = [0]\n", "needs a [tasks.<name>] table"),
        ("colour = 1\n[tasks.a]\nenv = 'two_step'\n", "unknown key(s) colour"),
        ("algos=['qmix']\nseeds=[0]\n[tasks.a]\nenvv = 'two_step'\n", "needs env"),
        ("algos=['qmix']\nseeds=[0]\n[tasks.a]\nenv = 'two_step'\nsteps = 3\n", "unknown key"),
        ("algos=['qmix']\nseeds=[0]\n[tasks.'a b']\nenv = 'two_step'\n", "task name"),
        (
            "algos=['qmix']\nseeds=[0]\n[tasks.a]\nenv = 'two_step'\npreset = 'x'\n",
            "unknown preset",
        ),
        ("algos = [\n", "cannot be read"),
    ],
)
def test_bad_sweep_files_are_clear_errors(tmp_path, text, message):
    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_sweep_file(tmp_path / "s.toml")


def test_sweep_file_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_sweep_file(tmp_path / "none.toml")
    (tmp_path / "s.ini").write_text("x")
    with pytest.raises(ValueError, match=r"\.toml, \.yaml"):
        load_sweep_file(tmp_path / "s.ini")
    with pytest.raises(ValueError, match="in the sweep file"):
        plan_sweep(envs=["two_step"], file=tmp_path / "s.ini")


def test_the_benchmark_sweep_file():
    runs = load_sweep_file(BENCHMARK)
    tasks = {r.task for r in runs}
    assert len(tasks) >= 4
    envs = {r.config["env"] for r in runs}
    assert {"mpe:simple_spread", "lbf:Foraging-8x8-2p-2f-coop-v3"} <= envs
    for task in tasks:
        algos = {r.config["algo"] for r in runs if r.task == task}
        assert {"iql", "vdn", "qmix", "qmix_ns", "coma"} <= algos, task
        seeds = {r.seed for r in runs if r.task == task}
        assert len(seeds) >= 5, task
        for algo in algos:  # the same budget for every algorithm on a task
            steps = {r.config["total_steps"] for r in runs if r.task == task}
            assert len(steps) == 1, (task, algo, steps)
    # one task compares recurrent with feed-forward agents, for every algorithm
    memory = [
        t for t in tasks if {r.config["agent"] for r in runs if r.task == t} == {"rnn", "mlp"}
    ]
    assert memory, "no task sweeps agent = rnn and mlp"
    for run in runs:
        Config.from_dict(run.config)  # every config is valid


# ------------------------------------------------------------------------------------------
# one run, without Ray (fast)
# ------------------------------------------------------------------------------------------
def test_a_run_is_trained_once_and_then_skipped(tmp_path):
    [run] = plan_sweep(["two_step"], ["vdn"], [0], steps=200, settings=TINY)
    run_dir = tmp_path / run.directory
    spec = {"task": run.task, "variant": run.variant, "seed": run.seed, "config": run.config}
    assert run_state(run_dir, run.config) == "new"
    first = execute_run(spec, str(run_dir))
    assert first["status"] == "trained" and first["env_steps"] == 200 and first["starts"] == 1
    assert run_state(run_dir, run.config) == "finished"
    before = (run_dir / "history.csv").stat().st_mtime_ns
    again = execute_run(spec, str(run_dir))
    assert again["status"] == "skipped" and again["starts"] == 1
    assert (run_dir / "history.csv").stat().st_mtime_ns == before
    record = json.loads(record_path(run_dir).read_text())
    assert record["task"] == "two_step" and record["variant"] == "vdn" and record["starts"] == 1
    # the run directory holds train's files only; the sweep's record lies beside it
    assert record_path(run_dir).parent == run_dir.parent
    # the stored benchmark layout: the small files only, read back by compare
    stored = store_histories(tmp_path, tmp_path / "stored")
    assert stored == [tmp_path / "stored" / "two_step" / "vdn" / "seed0"]
    assert sorted(p.name for p in stored[0].iterdir()) == [
        "config.json", "history.csv", "versions.json"
    ]  # fmt: skip
    [read] = read_runs([tmp_path / "stored"])
    assert (read.task, read.algo, read.seed, read.env_steps) == ("two_step", "vdn", 0, 200)
    # more steps: the run continues from its checkpoint
    longer = {**run.config, "total_steps": 300}
    assert run_state(run_dir, longer) == "resume"


def test_a_worker_with_other_code_refuses_the_run(tmp_path):
    """The fingerprint is the source, not the place: a copy elsewhere matches, one changed
    line does not; a run given another fingerprint fails before it writes anything."""
    import shutil

    package = ROOT / "qmix_tut"
    copy = tmp_path / "copy" / "qmix_tut"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_fingerprint(copy) == code_fingerprint() == code_fingerprint(package)
    with open(copy / "learner.py", "a") as f:
        f.write("# changed\n")
    assert code_fingerprint(copy) != code_fingerprint()
    [run] = plan_sweep(["two_step"], ["vdn"], [0], steps=200, settings=TINY)
    spec = {"task": run.task, "variant": run.variant, "seed": run.seed, "config": run.config}
    run_dir = tmp_path / run.directory
    driver = {"fingerprint": code_fingerprint(copy), "path": str(copy)}
    with pytest.raises(CodeMismatchError, match=re.escape(str(copy))) as err:
        execute_run(spec, str(run_dir), code=driver)
    assert str(package) in str(err.value) and "was not started" in str(err.value)
    assert not run_dir.parent.exists()
    mine = {"fingerprint": code_fingerprint(), "path": str(package)}
    assert execute_run(spec, str(run_dir), code=mine)["status"] == "trained"


def test_runs_stored_elsewhere_count_as_done(tmp_path, capsys):
    """A sweep whose runs were finished by another job and stored (small files only) does
    not run them again, and reads their outcome from the store; Ray never starts."""
    [run] = plan_sweep(["two_step"], ["qmix"], [1], steps=200, settings=TINY)
    spec = {"task": run.task, "variant": run.variant, "seed": run.seed, "config": run.config}
    trained = execute_run(spec, str(tmp_path / "first" / run.directory))
    [stored_run] = store_histories(tmp_path / "first", tmp_path / "store")
    assert is_stored(stored_run, run.config)
    assert not is_stored(stored_run, {**run.config, "total_steps": 300})  # another budget
    assert not is_stored(stored_run, {**run.config, "lr": 1e-3})  # another setting
    assert not is_stored(tmp_path / "store" / "nothing", run.config)
    # bookkeeping differs, or a field made since is missing: still the same run
    assert is_stored(stored_run, {**run.config, "checkpoint_interval": 0, "threads": 2})
    saved = json.loads((stored_run / "config.json").read_text())
    older = {k: v for k, v in saved.items() if k not in ("preset_name", "batched_env")}
    (stored_run / "config.json").write_text(json.dumps(older))
    assert is_stored(stored_run, run.config)
    report = run_sweep([run], tmp_path / "second", progress=False, stored=tmp_path / "store")
    [outcome] = report.outcomes
    assert outcome["status"] == "stored" and outcome["run_dir"] == str(stored_run)
    assert outcome["score"] == trained["score"] and outcome["env_steps"] == 200
    assert not (tmp_path / "second" / run.directory).exists()
    assert "1 stored" in report.table()
    # a history cut short (a run stored before it finished) is run again: not counted done
    history = stored_run / "history.csv"
    history.write_text("\n".join(history.read_text().splitlines()[:-1]) + "\n")
    assert not is_stored(stored_run, run.config)
    # the command line: the same, and a missing directory is a clear error
    argv = ["sweep", "--env", "two_step", "--algo", "qmix", "--seed", "0", "--steps", "200",
            "--set", "eval_interval=100", "--set", "checkpoint_interval=100", "--quiet"]  # fmt: skip
    [run0] = plan_sweep(["two_step"], ["qmix"], [0], steps=200, settings=TINY)
    execute_run({"task": run0.task, "variant": run0.variant, "seed": 0, "config": run0.config},
                str(tmp_path / "first" / run0.directory))  # fmt: skip
    store_histories(tmp_path / "first", tmp_path / "store")
    out = str(tmp_path / "third")
    assert main([*argv, "--out", out, "--stored", str(tmp_path / "store")]) == 0
    assert re.search(r"1 runs in \d+ s: 1 stored\.", capsys.readouterr().out)
    with pytest.raises(SystemExit) as err:
        main([*argv, "--out", out, "--stored", str(tmp_path / "none")])
    assert err.value.code == 2 and "--stored" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# the command line (fast: errors before Ray starts)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, message",
    [
        (["sweep", "--env", "two_step", "--algo", "qmix", "--seed", "0"], "--out"),
        (["sweep", "--env", "two_step", "--out", "x"], "all three are needed"),
        (["sweep", "--env", "two_step", "--algo", "sarsa", "--seed", "0", "--out", "x"], "--algo"),
        (["sweep", "--env", "two_step", "--algo", "qmix", "--seed", "x", "--out", "x"], "--seed"),
        (
            [
                "sweep",
                "--env",
                "two_step",
                "--algo",
                "qmix",
                "--seed",
                "0",
                "--out",
                "x",
                "--set",
                "lr",
            ],
            "expected key=value",
        ),  # fmt: skip
        (["sweep", "--file", "none.toml", "--out", "x"], "does not exist"),
        (
            [
                "sweep",
                "--env",
                "two_step",
                "--algo",
                "qmix",
                "--seed",
                "0",
                "--out",
                "x",
                "--cpus",
                "0",
            ],
            "--cpus",
        ),  # fmt: skip
    ],
)
def test_sweep_argument_errors_exit_2(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 2
    assert message in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# sweeps on a local Ray instance (slow: Ray takes 10-30 s to start)
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    assert _start_ray(None, 2)  # as run_sweep starts it, with its retries on a busy machine
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def crashed_sweep(local_ray, tmp_path_factory):
    """2 algorithms x 2 seeds on the two-step game, every worker killed once after its first
    checkpoint, beside a task whose runs fail on their own (no payoff for matrix:custom)."""
    out = tmp_path_factory.mktemp("sweep")
    runs = plan_sweep(["two_step", "matrix:custom"], ["qmix", "vdn"], [0, 1], steps=300,
                      settings=TINY)  # fmt: skip
    report = run_sweep(runs, out, progress=False, _crash_after_checkpoint=True)
    return out, runs, report


@pytest.mark.slow
def test_killed_workers_are_retried_from_their_checkpoints(crashed_sweep):
    out, runs, report = crashed_sweep
    game = [(r, o) for r, o in zip(runs, report.outcomes, strict=True) if r.task == "two_step"]
    assert len(game) == 4
    for run, outcome in game:
        run_dir = out / run.directory
        assert outcome["status"] == "resumed" and outcome["env_steps"] == 300, outcome
        assert report.retries[str(run_dir)] == 1
        assert json.loads(record_path(run_dir).read_text())["starts"] == 2
        # the worker died after the checkpoint at 100 steps: the retried run's history
        # equals the history of the same run left alone
        alone = train(Config.from_dict(run.config), progress=False)
        assert_same_history(run_dir, alone.history)
        assert (run_dir / "result.pt").exists()


@pytest.mark.slow
def test_a_failing_run_is_reported_and_the_others_go_on(crashed_sweep):
    out, runs, report = crashed_sweep
    failed = [o for r, o in zip(runs, report.outcomes, strict=True) if r.task == "matrix_custom"]
    assert len(failed) == 4 and report.failed == failed
    for outcome in failed:
        assert outcome["status"] == "failed" and "needs a payoff table" in outcome["error"]
        assert report.retries[outcome["run_dir"]] == 0  # not retried
    text = report.table()
    assert "4 resumed, 4 failed" in text and "matrix_custom/qmix/seed0: ValueError" in text
    saved = json.loads((out / "sweep.json").read_text())
    assert [r["status"] for r in saved["runs"]].count("failed") == 4


@pytest.mark.slow
def test_running_a_sweep_again_skips_finished_runs_and_extends_longer_ones(crashed_sweep):
    out, runs, _ = crashed_sweep
    game = [r for r in runs if r.task == "two_step"]
    stamps = {r.directory: (out / r.directory / "history.csv").stat().st_mtime_ns for r in game}
    again = run_sweep(game, out, progress=False)
    assert [o["status"] for o in again.outcomes] == ["skipped"] * 4
    assert all((out / d / "history.csv").stat().st_mtime_ns == t for d, t in stamps.items())
    # a larger budget continues each run from its checkpoint, as if it had never stopped
    longer = plan_sweep(["two_step"], ["qmix", "vdn"], [0, 1], steps=400, settings=TINY)
    report = run_sweep(longer, out, progress=False)
    assert [o["status"] for o in report.outcomes] == ["resumed"] * 4
    for run in longer:
        assert_same_history(
            out / run.directory, train(Config.from_dict(run.config), progress=False).history
        )


@pytest.mark.slow
def test_sweep_command(local_ray, tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["sweep", "--env", "two_step", "--algo", "iql", "--seed", "0", "--steps", "100",
            "--set", "eval_interval=50", "--set", "lr=0.0005,-1", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 1  # one run of the two has an invalid config
    text = capsys.readouterr().out
    assert "two_step" in text and "1 trained, 1 failed" in text
    assert "Config.lr must be > 0" in text and f"qmix-tut compare {out}" in text
    assert (out / "two_step" / "iql+lr=0.0005" / "seed0" / "result.pt").exists()
    assert not (out / "two_step" / "iql+lr=-1" / "seed0").exists()
    toml = tmp_path / "s.toml"
    toml.write_text('algos = ["iql"]\nseeds = [0]\n[set]\neval_interval = 50\n'
                    '[tasks.two_step]\nenv = "two_step"\ntotal_steps = 100\n')  # fmt: skip
    assert main(["sweep", "--file", str(toml), "--out", str(out / "file"), "--quiet"]) == 0
    assert "1 trained" in capsys.readouterr().out
    assert main(["compare", str(out), "--out", str(tmp_path / "cmp"), "--reps", "50"]) == 0


@pytest.mark.slow
def test_ctrl_c_stops_a_running_sweep_and_the_same_command_continues_it(tmp_path):
    """SIGINT while a run trains: the sweep stops within seconds (not when the run ends),
    says how to continue, and the same command then finishes the run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "sw"
    argv = [sys.executable, "-m", "qmix_tut", "sweep", "--env", "two_step", "--algo", "qmix",
            "--seed", "0", "--steps", "200000", "--set", "eval_interval=1000",
            "--set", "checkpoint_interval=1000", "--out", str(out), "--cpus", "1", "--quiet"]  # fmt: skip
    # a shell's background job starts with SIGINT ignored, and Python keeps it ignored:
    # give the sweep the default a terminal's Ctrl-C meets
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    history = out / "two_step" / "qmix" / "seed0" / "history.csv"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (
        history.exists() and history.read_text().count("\n") > 3
    ):
        time.sleep(0.5)
    assert history.exists(), "the run never started"
    proc.send_signal(signal.SIGINT)
    try:
        text, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the sweep did not stop within 60 s of Ctrl-C")
    assert proc.returncode != 0
    assert "run the same command again to continue it" in text
    steps_at_stop = int(float(history.read_text().splitlines()[-1].split(",")[0]))
    assert steps_at_stop < 200_000
    # the same sweep with a budget just past the stop: it resumes the run and finishes it
    shorter = [str(steps_at_stop + 1000) if a == "200000" else a for a in argv]
    again = subprocess.run(shorter, capture_output=True, text=True, timeout=300, check=False,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert (history.parent / "result.pt").exists()
    record = json.loads(record_path(history.parent).read_text())
    assert record["starts"] == 2  # resumed, not started over


@pytest.mark.slow
def test_a_sweep_started_beside_another_copy_of_the_package_fails_clearly(tmp_path):
    """Ray puts the directory a sweep starts from first on its workers' import path: a sweep
    started inside another (changed) copy of the package must not train with that copy."""
    import shutil
    import subprocess
    import sys

    other = tmp_path / "other"
    shutil.copytree(ROOT / "qmix_tut", other / "qmix_tut",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    with open(other / "qmix_tut" / "learner.py", "a") as f:
        f.write("# another version of the code\n")
    driver = tmp_path / "driver" / "sweep.py"
    driver.parent.mkdir()
    driver.write_text("import sys\nfrom qmix_tut.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    out = tmp_path / "sw"
    argv = [sys.executable, str(driver), "sweep", "--env", "two_step", "--algo", "vdn",
            "--seed", "0", "--steps", "100", "--set", "eval_interval=50", "--out", str(out),
            "--cpus", "1", "--quiet"]  # fmt: skip
    done = subprocess.run(argv, cwd=other, capture_output=True, text=True, timeout=300,
                          check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "1 failed" in text and "CodeMismatchError" in text, text
    assert str(other / "qmix_tut") in text and str(ROOT / "qmix_tut") in text, text
    assert not (out / "two_step" / "vdn" / "seed0").exists()
