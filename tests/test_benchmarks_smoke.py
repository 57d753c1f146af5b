"""The benchmark helpers on tiny inputs: right shapes and sound arithmetic, no timings."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


speed = _load("speed")
run_all = _load("run_all")


def test_scaling_table_shape_and_linear_memory():
    rows = speed.scaling_rows(
        n_agents=(2, 4, 8), lengths=(3, 6), fixed_agents=2, fixed_length=3, reps=1, batch_size=2
    )
    assert [r["n_agents"] for r in rows["agents"]] == [2, 4, 8]
    assert [r["episode_length"] for r in rows["length"]] == [3, 6]
    assert all(r["n_agents"] == 2 for r in rows["length"])
    for r in rows["agents"] + rows["length"]:
        assert r["update_ms"] > 0 and r["mixer_ms"] > 0 and r["activations_mb"] > 0
        assert r["memory_mb"] == pytest.approx(
            r["batch_mb"] + r["activations_mb"] + r["weights_mb"]
        )
    # the QMIX mixer's weights grow by the same amount with every doubling step of agents
    params = [r["mixer_params"] for r in rows["agents"]]
    fit = speed.linear_fit([2, 4, 8], params)
    assert fit["r2"] == pytest.approx(1.0) and fit["slope"] > 0
    # a longer episode holds more activations for the backward pass
    assert rows["length"][1]["activations_mb"] > rows["length"][0]["activations_mb"]


def test_linear_fit_recovers_a_line_and_spots_a_curve():
    fit = speed.linear_fit([1, 2, 3, 4], [3, 5, 7, 9])
    assert (fit["intercept"], fit["slope"], fit["r2"]) == pytest.approx((1.0, 2.0, 1.0))
    assert speed.linear_fit([1, 2, 4, 8, 16], [2, 4, 16, 256, 65536])["r2"] < 0.9


def test_median_time_counts_misses_as_slow():
    def run(t):
        return {"reached": {"-57.0": None if t is None else {"wall": t, "cpu": t}}}

    assert speed.median_time([run(10), run(None), run(20)], -57.0) == 20
    assert math.isinf(speed.median_time([run(10), run(None), run(None)], -57.0))


@pytest.mark.parametrize("task", ["mpe:simple_spread", "lbf:Foraging-8x8-2p-2f-coop-v3"])
def test_bare_env_steps_through_episode_ends(task):
    env = speed.BareEnv(task)
    assert env.run(120) == 120  # longer than one episode of either task
    with pytest.raises(ValueError, match="no bare version"):
        speed.BareEnv("two_step")


def test_summary_table_has_a_row_per_figure():
    results = {
        "two_step": {"runs": [{"wall": 8.0, "cpu": 7.5, "return": 8.0}] * 3},
        "ttt": {
            "simple_spread": {
                "targets": [[-57.0, 30.0], [-48.6, 180.0]],
                "runs": [
                    {"reached": {"-57.0": {"wall": 20.0, "cpu": 19.0, "env_steps": 3e4},
                                 "-48.6": None}}
                ] * 3,
            }
        },
    }  # fmt: skip
    rows = run_all.summary_rows(results)
    assert len(rows) == 3 and all(len(r) == 5 for r in rows)
    assert rows[0][1] == "20.0 s" and rows[0][3] == "<= 30 s" and "30k steps" in rows[0][0]
    assert rows[1][1] == "never (3 of 3 seeds)"  # results stored before the held level
    assert rows[2][1] == "8.0 s" and rows[2][3] == "<= 10 s"
    assert "| measure |" in run_all.markdown(results)


def test_summary_and_seed_tables_report_the_held_level_beside_the_first_crossing():
    def point(steps, t):
        return {"env_steps": steps, "wall": t + 0.5, "cpu": t}

    runs = [
        {"seed": s, "window": 5, "stopped": stop, "final": -50.0 + s,
         "reached": {"-57.0": point(3e4, 20.0 + s), "-48.6": point(1e5, 80.0 + s)},
         "held": {"-57.0": point(5e4, 40.0 + s), "-48.6": held}}
        for s, stop, held in [(0, "held", point(1.5e5, 120.0)), (1, "budget", None),
                              (2, "held", point(1.7e5, 140.0))]
    ]  # fmt: skip
    results = {"ttt": {"simple_spread": {"targets": [[-57.0, 30.0], [-48.6, 180.0]], "runs": runs}}}
    rows = run_all.summary_rows(results)
    assert [r[0].split(": time to ")[1].split(" (")[0] for r in rows] == [
        "greedy return -57, first evaluation at or past it",
        "greedy return -57 held: mean of 5 consecutive evaluations at or past it",
        "greedy return -48.6, first evaluation at or past it",
        "greedy return -48.6 held: mean of 5 consecutive evaluations at or past it",
    ]
    assert rows[1][2] == "41.0 s" and "50k steps" in rows[1][0]
    assert rows[3][2] == "140.0 s (never in 1 of 3 seeds)" and "160k steps" in rows[3][0]
    for run in runs[1:]:
        run["held"]["-48.6"] = None
    assert run_all.summary_rows(results)[3][1] == "never (2 of 3 seeds)"
    table = run_all.seed_table(results)
    assert len(table) == 2 + 6 and "| MPE simple_spread | -48.6 | 1 | 100.0k / 81.0 / 81.5 | " \
        "never | -49.00 | budget |" in table  # fmt: skip
    assert "## Time to target, seed by seed" in run_all.markdown(results)
    assert speed.median_time(runs, -57.0, "cpu", "held") == 41.0
    with pytest.raises(ValueError, match="no 'held' figures"):
        speed.median_time([{"reached": {"-57.0": None}}], -57.0, level="held")


@pytest.mark.slow
def test_time_to_target_goes_on_past_the_first_crossing_until_the_level_is_held():
    run = speed.time_to_target("two_step_paper", 0, [8.0], budget_steps=3000, eval_interval=200)
    first, held = run["reached"]["8.0"], run["held"]["8.0"]
    assert run["stopped"] == "held" and first is not None and held is not None
    assert held["env_steps"] >= first["env_steps"] + 4 * 200 and held["mean"] == 8.0
    assert run["curve"][-1]["env_steps"] == held["env_steps"]  # stopped once held
    short = speed.time_to_target("two_step_paper", 0, [8.0], budget_steps=400, eval_interval=200)
    assert short["stopped"] == "budget" and short["held"]["8.0"] is None
    assert [r["env_steps"] for r in short["curve"]] == [0, 200, 400]


against_jaxmarl = _load("against_jaxmarl")


def test_against_jaxmarl_summary_of_one_run():
    returns = [-120, -60, -56, -47, -52, -49, -48, -48, -47, -49]
    curve = [{"env_steps": 2500 * i, "eval_return": r, "cpu": 2.0 + i, "wall": 3.0 + i,
              "eval_cpu": 0.1 * (i + 1), "eval_wall": 0.2 * (i + 1)}
             for i, r in enumerate(returns)]  # fmt: skip
    raw = {"curve": curve, "cpu": 12.0, "wall": 13.0, "eval_cpu": 1.0, "eval_wall": 2.0}
    run = against_jaxmarl.summarise(raw, 0, 1)
    assert run["first_easy"] == {"env_steps": 5000, "cpu": 4.0, "wall": 5.0}
    assert run["first_hard"]["env_steps"] == 7500
    assert run["held_hard"]["env_steps"] == 22500  # -49, -48, -48, -47, -49: mean -48.2
    assert run["final"] == pytest.approx(-48.2) and run["startup_cpu_s"] == pytest.approx(1.9)
    assert run["train_steps_per_cpu_s"] == pytest.approx(22500 / (10.0 - 0.9))
    assert run["train_steps_per_wall_s"] == pytest.approx(22500 / (10.0 - 1.8))
    never = dict(run, held_hard=None, seed=1)
    m = against_jaxmarl.medians([run, never, dict(run, seed=2)])
    assert m["held_hard"]["never"] == 1 and m["held_hard"]["cpu"] == 11.0
    v = against_jaxmarl.verdict(m)
    assert v["held_ratio"] == pytest.approx(11.0 / 151.0) and not v["every_seed_held"]
    assert v["final_at_least_jaxmarl"] and not v["met"]
    assert against_jaxmarl.verdict(against_jaxmarl.medians([run]))["met"]
    assert "issue 19" in against_jaxmarl.JAXMARL_SOURCE


@pytest.mark.slow
def test_against_jaxmarl_quick_run_in_a_fresh_process(tmp_path):
    import json
    import subprocess

    script = BENCH / "against_jaxmarl.py"
    out = tmp_path / "jaxmarl.json"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--json", str(out), "--set", "tau=0.002"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "preset 'simple_spread', tau=0.002 on" in done.stdout
    assert "Beside JaxMARL (issue 19, JaxMARL 0.2.0" in done.stdout and "| measure |" in done.stdout
    data = json.loads(out.read_text())
    (run,) = data["runs"]["1"]
    assert [c["env_steps"] for c in run["curve"]] == list(range(0, 1201, 200))  # whole budget
    assert run["startup_cpu_s"] > 0 and run["train_steps_per_cpu_s"] > 0
    assert run["curve"][0]["cpu"] < run["cpu"] and run["curve"][0]["wall"] < run["wall"]
    assert data["settings"]["changes"] == {"tau": 0.002}
    for wrong, message in ((["--set", "tau=2"], "tau"), (["--set", "taus=0.1"], "taus"),
                           (["--set", "lr=0.1,0.2"], "one value per field")):  # fmt: skip
        bad = subprocess.run(
            [sys.executable, str(script), "--quick", *wrong], capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr
    bad = subprocess.run(
        [sys.executable, str(script), "--seeds", "0"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and "--seeds must be at least 1" in bad.stderr
    assert "Traceback" not in bad.stderr
    bad = subprocess.run(
        [sys.executable, str(script), "--quick", "--compile-cache", "hot"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "--compile-cache" in bad.stderr and "Traceback" not in bad.stderr


FAKE_JAXMARL = """
import json, sys
args = sys.argv[1:]
seed, length = int(args[args.index("--seed") + 1]), int(args[args.index("--episode-steps") + 1])
assert args[0].endswith("jaxmarl_qmix.py") and args[1].endswith("qmix_rnn.py")
# a stand-in for JaxMARL: rises 4 return points per test, the 25-step runs 4 points higher
curve = [{"env_steps": 2496 * (i + 1), "eval_return": -120.0 + 4 * i + (4 if length == 25 else 0),
          "cpu": 30.0 + 2 * i + seed, "wall": 31.0 + 2 * i + seed, "eval_cpu": 0.0,
          "eval_wall": 0.0} for i in range(30)]
out = {"curve": curve, "cpu": 95.0, "wall": 96.0, "eval_cpu": 0.0, "eval_wall": 0.0,
       "jax": "stand-in", "jaxmarl": "stand-in"}
open(args[args.index("--json") + 1], "w").write(json.dumps(out))
"""


@pytest.mark.slow
def test_against_jaxmarl_measures_jaxmarl_side_by_side(tmp_path):
    """--jaxmarl runs benchmarks/jaxmarl_qmix.py with the Python given, after each seed of
    ours, and compares against those runs; here that Python is a stand-in that writes a
    known curve, as JaxMARL is not installed beside this package."""
    import json
    import subprocess

    fake = tmp_path / "fake.py"
    fake.write_text(FAKE_JAXMARL)
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fake}" "$@"\n')
    python.chmod(0o755)
    script = tmp_path / "qmix_rnn.py"
    script.write_text("# JaxMARL's script would be here\n")
    out = tmp_path / "side.json"
    command = [sys.executable, str(BENCH / "against_jaxmarl.py"), "--quick", "--json", str(out),
               "--jaxmarl", str(python), str(script), "--jaxmarl-episode-steps", "26", "25"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "JaxMARL measured here, 26-step episodes, 1 thread" in done.stdout
    assert "against JaxMARL measured here, 25-step episodes:" in done.stdout
    assert "| JaxMARL here, 26-step episodes (median of 1) |" in done.stdout
    data = json.loads(out.read_text())["jaxmarl_measured"]
    long, short = data["runs"]["26"][0], data["runs"]["25"][0]
    # held -48.6: the mean of 5 tests, -120 + 4 i for i = 16..20 is -48 (i = 20)
    assert long["held_hard"] == {"env_steps": 2496 * 21, "cpu": 70.0, "wall": 71.0}
    assert short["held_hard"]["env_steps"] == 2496 * 20  # 4 points higher: one test sooner
    assert long["first_easy"]["env_steps"] == 2496 * 17 and long["startup_cpu_s"] == 30.0
    assert data["medians"]["26"]["held_hard"]["cpu"] == 70.0
    verdicts = data["verdict"]
    assert set(verdicts) == {"1 thread(s), 26-step episodes", "1 thread(s), 25-step episodes"}
    for bad, message in (
        (["--jaxmarl", str(tmp_path / "nopython"), str(script)], "no Python"),
        (["--jaxmarl", str(python), str(tmp_path / "none.py")], "no file"),
        (["--jaxmarl", str(python), str(script), "--jaxmarl-episode-steps", "24"], "invalid"),
        (["--jaxmarl", str(python), str(script), "--jaxmarl-max-steps", "0"], "at least 1"),
    ):
        wrong = subprocess.run(
            [sys.executable, str(BENCH / "against_jaxmarl.py"), "--quick", *bad],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert wrong.returncode == 2 and message in wrong.stderr, wrong.stderr
        assert "Traceback" not in wrong.stderr


jaxmarl_qmix = _load("jaxmarl_qmix")


def test_jaxmarl_run_config_is_the_default_with_tests_every_twelve_updates():
    config = jaxmarl_qmix.run_config(3, 26)
    assert config["SEED"] == 3 and config["NUM_SEEDS"] == 1 and config["NUM_STEPS"] == 26
    updates = int(config["TOTAL_TIMESTEPS"]) // 26 // 8
    assert int(updates * config["TEST_INTERVAL"]) == 12  # make_train's test rule
    assert config["TEST_NUM_ENVS"] == 16 and config["TEST_NUM_STEPS"] == 30
    assert config["ENV_KWARGS"] == {} and config["LR"] == 0.005 and config["GAMMA"] == 0.9
    short = jaxmarl_qmix.run_config(0, 25)
    assert short["ENV_KWARGS"] == {"max_steps": 24} and short["NUM_STEPS"] == 25
    assert int(int(1e7) // 25 // 8 * short["TEST_INTERVAL"]) == 12
    assert short["TEST_NUM_STEPS"] == 25
    assert jaxmarl_qmix.DEFAULT["NUM_STEPS"] == 26  # the default config is left as it is


def test_jaxmarl_recorder_keeps_every_twelfth_update_and_stops_once_held():
    class Stop(Exception):
        pass

    recorder = jaxmarl_qmix.Recorder(None, max_steps=10**9, stop_after_held=2)
    recorder.finish = lambda: (_ for _ in ()).throw(Stop())  # type: ignore[method-assign]
    returns = iter([-60.0, -50.0, -48.0, -48.0, -48.0, -48.0, -47.0, -46.0, -45.0])
    with pytest.raises(Stop):
        for update in range(1, 200):
            metrics = {"update_steps": [update], "env_step": [208 * update]}
            metrics["test_returned_episode_returns"] = [next(returns) if update % 12 == 0 else 0.0]
            recorder.log(metrics)
    # held at the 6th test (-50, -48 x 4: mean -48.4); 2 tests more, then the run ends
    assert [row["env_steps"] for row in recorder.curve] == [208 * 12 * k for k in range(1, 9)]
    assert jaxmarl_qmix.held_at([-60, -50, -48, -48, -48, -48]) == 5
    assert jaxmarl_qmix.held_at([-60, -50, -48, -48, -48]) is None


def test_jaxmarl_script_errors_are_clear(tmp_path):
    import subprocess

    runner = str(BENCH / "jaxmarl_qmix.py")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    needs = tmp_path / "needs.py"
    needs.write_text("import a_module_that_is_not_there\n")
    for args, message in (
        ([str(tmp_path / "missing.py")], "no file"),
        ([str(empty)], "has no make_train, env_from_config, wandb"),
        ([str(needs)], "needs a_module_that_is_not_there"),
        ([str(empty), "--seed", "-1"], "--seed must be at least 0"),
        ([str(empty), "--episode-steps", "30"], "invalid choice"),
    ):
        done = subprocess.run(
            [sys.executable, runner, *args], capture_output=True, text=True, check=False
        )
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_against_jaxmarl_times_a_compiled_learner_with_a_warm_cache(tmp_path):
    import json
    import subprocess

    out = tmp_path / "compiled.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "against_jaxmarl.py"), "--quick", "--json", str(out),
         "--set", "compile=true", "--compile-cache", "warm"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "compile=True, torch.compile cache warm" in done.stdout
    assert "warm-up (not timed below): 2,000 steps" in done.stdout
    data = json.loads(out.read_text())
    assert data["settings"]["compile_cache"] == "warm" and data["settings"]["warmup"]["cpu"] > 0
    (run,) = data["runs"]["1"]
    assert [c["env_steps"] for c in run["curve"]] == list(range(0, 1201, 200))


def test_update_comparison_runs_both_learners_on_the_same_batch():
    row = speed.compare_update("mlp", n_agents=2, episode_length=3, batch_size=2, obs_dim=3,
                               reps=2, warmup=0)  # fmt: skip
    assert row["flat_ms"] > 0 and row["torch_optim_ms"] > 0
    assert row["ratio"] == pytest.approx(row["torch_optim_ms"] / row["flat_ms"])


def test_flat_update_learner_still_matches_the_torch_optim_learner():
    """The benchmark's copy of the earlier update does the same maths (Adam, to rounding)."""
    import torch

    from qmix_tut.agents import MLPAgent, agent_input_dim
    from qmix_tut.mixers import QMixer

    learners = []
    for cls in (speed.FlatUpdateLearner, speed.QLearner):
        torch.manual_seed(0)
        agent, mixer = MLPAgent(agent_input_dim(3, 4, 2), 4), QMixer(2, 6)
        learners.append(cls(agent, mixer, n_actions=4, optimizer="adam", tau=0.01))
    batch = speed._batch(4, 5, 2, 3, 6, 4, 0)
    for _ in range(3):
        old, new = (learner.update(batch) for learner in learners)
        assert old["loss"] == pytest.approx(new["loss"], rel=1e-4)
    for p, q in zip(learners[0].params, learners[1].params, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)


two_step_paper = _load("two_step_paper")
ablations = _load("ablations_two_step")


def test_two_step_paper_script_on_a_short_run(capsys):
    results = two_step_paper.run(["qmix"], seeds=1, steps=60)
    r = results["qmix"]
    assert len(r["returns"]) == 1 and set(r["median_tables"]) == {"1", "2A", "2B"}
    two_step_paper.report(results)
    out = capsys.readouterr().out
    assert "QMIX  (1 seeds)" in out and "paper" in out


def test_ablations_script_writes_its_csv(tmp_path, capsys):
    rows, seconds = ablations.run(["vdn", "iql"], seeds=1, steps=60, eval_interval=30)
    assert {r["algo"] for r in rows} == {"vdn", "iql"} and set(seconds) == {"vdn", "iql"}
    assert [r["env_steps"] for r in rows if r["algo"] == "vdn"] == [0, 30, 60]
    path = tmp_path / "ablations.csv"
    ablations.write_csv(rows, path)
    header = path.read_text().splitlines()[0]
    assert header == ",".join(ablations.COLUMNS)
    ablations.report(rows, seconds)
    assert "vdn" in capsys.readouterr().out
    assert ablations.ALGOS == ["qmix", "qmix_ns", "qmix_lin", "vdn_s", "vdn", "iql"]


@pytest.mark.slow
def test_against_revision_runs_both_versions_side_by_side():
    import subprocess

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "against_revision.py"
    done = subprocess.run(
        [sys.executable, str(script), "HEAD", "--seeds", "1", "--steps", "200"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "revision (HEAD) seed 0" in done.stdout and "working tree" in done.stdout
    assert "median cpu" in done.stdout and "ratio" in done.stdout
    assert "histories (all but the clock) equal for" in done.stdout
    clean = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "qmix_tut"], check=False)
    if clean.returncode == 0:  # a clean checkout (CI's): both versions train the same run
        assert "equal for 1 of 1 seeds" in done.stdout
    bad = subprocess.run(
        [sys.executable, str(script), "no-such-revision", "--seeds", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "cannot check out 'no-such-revision'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_batched_env_benchmark_counts_steps_of_both_sides(capsys):
    batched_env = _load("batched_env")
    for kind in ("mpe2", "batched"):
        one = batched_env.steps_per_second(kind, n_envs=2, seconds=0.0)
        assert one["steps"] == 2 * 25  # one whole episode of each environment
        assert one["per_cpu_s"] > 0 and one["per_wall_s"] > 0
    rows = batched_env.compare([1, 2], seconds=0.0)
    assert [r["n_envs"] for r in rows] == [1, 2]
    assert all(r["ratio_cpu"] == r["batched_per_cpu_s"] / r["mpe2_per_cpu_s"] for r in rows)
    assert batched_env.main(["--envs", "1", "--seconds", "0.01"]) == 0
    assert "batched steps/CPU s" in capsys.readouterr().out
    assert batched_env.main(["--envs", "0"]) == 2
    with pytest.raises(ValueError, match="kind"):
        batched_env.steps_per_second("gym", 1, 0.0)
    trained = batched_env.training_rate(True, steps=200)  # one round of the preset's 8 envs
    assert trained["steps"] == 200 and trained["per_cpu_s"] > 0


def test_levels_table_counts_reached_and_held_runs(tmp_path, capsys):
    levels = _load("levels_table")
    curves = {
        ("steady", 0): [-60, -48, -48, -48, -48, -48, -49],  # held at 5000: evaluations 1-5
        ("steady", 1): [-60, -55, -50, -48, -47, -49, -48, -48],  # held at 6000 (mean -48.4)
        ("lucky", 0): [-60, -48, -60, -60, -60, -60],  # one lucky evaluation, never held
    }
    for (setting, seed), returns in curves.items():
        run = tmp_path / setting / "qmix" / f"seed{seed}"
        run.mkdir(parents=True)
        lines = ["env_steps,eval_return,q_tot_mean,grad_norm"]
        lines += [f"{1000 * i},{r},{-30 - i},{10 + i}" for i, r in enumerate(returns)]
        (run / "history.csv").write_text("\n".join(lines) + "\n")
    rows = {r["setting"]: r for r in levels.summarise(tmp_path, -48.6)}
    assert rows["steady"]["reached"] == 2 and rows["steady"]["held"] == 2
    assert rows["steady"]["held_median"] == (5000 + 6000) / 2
    assert rows["lucky"]["reached"] == 1 and rows["lucky"]["held"] == 0
    assert rows["lucky"]["held_median"] is None and rows["lucky"]["first_median"] == 1000
    assert levels.main([str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "| lucky | 1 of 1 | 0 of 1 | 1k | never |" in table
    with pytest.raises(SystemExit) as stop:
        levels.main([str(tmp_path / "steady" / "qmix" / "seed0" / "history.csv")])
    assert stop.value.code == 2


@pytest.mark.slow
def test_compiled_learner_benchmark_quick_run(tmp_path):
    import json
    import subprocess

    script = BENCH / "compiled_learner.py"
    out = tmp_path / "compiled.json"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--json", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "training after the first update, compiled / plain:" in done.stdout
    data = json.loads(out.read_text())
    assert [r["compiled"] for kind in ("plain", "cold", "warm") for r in data["runs"][kind]] == [
        False, True, True,
    ]  # fmt: skip
    for kind in ("plain", "cold", "warm"):
        (run,) = data["runs"][kind]
        assert run["steps_after"] > 0 and run["train_after"] > 0 and run["startup"] > 0
    bad = subprocess.run(
        [sys.executable, str(script), "--steps", "100"], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "--steps must be at least 2000" in bad.stderr
    assert "Traceback" not in bad.stderr
