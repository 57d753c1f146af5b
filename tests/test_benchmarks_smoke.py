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
    assert rows[1][1] == "not reached"
    assert rows[2][1] == "8.0 s" and rows[2][3] == "<= 10 s"
    assert "| measure |" in run_all.markdown(results)


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
