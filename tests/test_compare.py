"""qmix_tut.stats and `qmix-tut compare`: IQM and intervals equal rliable's and a brute-force
IQM, tasks are not pooled unless asked, each run is counted once, one run gets no interval."""

import csv
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rliable import library, metrics

from qmix_tut.cli import main
from qmix_tut.stats import (
    Contrast,
    compare,
    find_runs,
    iqm,
    iqm_interval,
    normalise_per_task,
    performance_profile,
    read_runs,
    run_score,
)

KEYS = ["env_steps", "episodes", "wall_seconds", "train_return", "eval_return",
        "eval_return_std", "loss", "epsilon"]  # fmt: skip


def brute_force_iqm(values) -> float:
    """Sort, drop the lowest and highest quarter (floor(n/4) each), average the rest."""
    ordered = sorted(float(v) for v in np.ravel(values))
    cut = len(ordered) // 4
    middle = ordered[cut : len(ordered) - cut]
    return sum(middle) / len(middle)


def write_run(folder, returns, env="two_step", algo="qmix", seed=0, total=None, config=True):
    """A run directory as train writes it: history.csv (and config.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=KEYS)
        writer.writeheader()
        for i, r in enumerate(returns):
            writer.writerow({k: 0.0 for k in KEYS} | {"env_steps": 100 * i, "eval_return": r})
    if config:
        total = 100 * (len(returns) - 1) if total is None else total
        (folder / "config.json").write_text(
            json.dumps(
                {"env": env, "env_kwargs": {}, "algo": algo, "seed": seed, "total_steps": total}
            )
        )
    return folder


# ------------------------------------------------------------------------------------------
# the statistics
# ------------------------------------------------------------------------------------------
def test_iqm_on_known_numbers():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8]) == 4.5  # the middle four: 3, 4, 5, 6
    assert iqm([0.0, 1.0, 2.0, 3.0, 100.0]) == 2.0  # one diverged seed does not move it
    assert iqm([3.0]) == 3.0 and iqm([1.0, 2.0]) == 1.5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40))
def test_iqm_equals_brute_force(values):
    assert iqm(values) == pytest.approx(brute_force_iqm(values), rel=1e-9, abs=1e-6)


def test_interval_equals_rliables_on_known_numbers():
    scores = np.array([0.1, 0.5, 0.55, 0.6, 0.9, 0.95, 1.0])[:, None]
    point, (low, high) = iqm_interval(scores, reps=500, seed=3)
    np.random.seed(3)
    ref_point, ref_interval = library.get_interval_estimates(
        {"a": scores}, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=500
    )
    assert point == pytest.approx(ref_point["a"][0]) == pytest.approx(brute_force_iqm(scores))
    assert (low, high) == pytest.approx(tuple(ref_interval["a"][:, 0]))
    assert low < point < high
    # reproducible, and the caller's numpy generator is left as it was
    np.random.seed(11)
    expected_draw = np.random.rand()
    np.random.seed(11)
    assert iqm_interval(scores, reps=500, seed=3) == (point, (low, high))
    assert np.random.rand() == expected_draw


def test_tasks_are_not_pooled_unless_asked():
    two_tasks = np.array([[1.0, 100.0], [2.0, 200.0], [3.0, 300.0]])
    with pytest.raises(ValueError, match="pool=True"):
        iqm_interval(two_tasks)
    with pytest.raises(ValueError, match="pool=True"):
        performance_profile({"qmix": two_tasks}, np.linspace(0, 1, 5))
    point, _ = iqm_interval(normalise_per_task({"q": two_tasks})["q"], reps=100, pool=True)
    assert point == pytest.approx(0.5)


def test_performance_profile_equals_rliables():
    scores = {"qmix": np.array([[0.2], [0.8], [1.0]]), "vdn": np.array([[0.0], [0.4], [0.6]])}
    taus = np.linspace(0, 1, 11)
    profiles, bands = performance_profile(scores, taus, reps=200, seed=5)
    np.random.seed(5)
    ref_profiles, ref_bands = library.create_performance_profile(scores, taus, reps=200)
    for algo in scores:
        np.testing.assert_allclose(profiles[algo], ref_profiles[algo])
        np.testing.assert_allclose(bands[algo], ref_bands[algo])
    assert profiles["qmix"][0] == 1.0 and profiles["vdn"][0] == pytest.approx(2 / 3)


def test_bad_scores_are_clear_errors():
    with pytest.raises(ValueError, match="empty"):
        iqm([])
    with pytest.raises(ValueError, match="finite"):
        iqm([1.0, math.nan])
    with pytest.raises(ValueError, match=r"shape \[runs, tasks\]"):
        iqm_interval(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="reps"):
        iqm_interval(np.ones(3), reps=0)


# ------------------------------------------------------------------------------------------
# reading runs and comparing them
# ------------------------------------------------------------------------------------------
def test_score_is_the_mean_of_the_last_five_evaluations(tmp_path):
    run = write_run(tmp_path / "r", [0, 0, 10, 1, 2, 3, 4, 5])
    [read] = read_runs([run])
    assert read.score == 3.0 == run_score([{"eval_return": v} for v in [1, 2, 3, 4, 5]])
    assert (read.task, read.algo, read.seed, read.finished) == ("two_step", "qmix", 0, True)


def test_each_run_is_counted_once(tmp_path):
    a = write_run(tmp_path / "sweep" / "a", [1, 2], seed=0)
    b = write_run(tmp_path / "sweep" / "b", [3, 4], seed=1)
    (tmp_path / "link").symlink_to(a)
    runs = find_runs(
        [a, str(a), tmp_path / "link", tmp_path / "sweep", b, tmp_path / "sweep" / "." / "b"]
    )
    assert runs == [a.resolve(), b.resolve()]
    comparison = compare([a, a, tmp_path / "link", tmp_path / "sweep"], reps=100)
    [group] = comparison.groups
    assert group.n == 2 and group.seeds == [0, 1]


def test_one_run_gets_no_interval(tmp_path, capsys):
    run = write_run(tmp_path / "only", [5, 6, 7])
    comparison = compare([run], reps=100)
    [group] = comparison.groups
    assert group.n == 1 and group.low is None and group.iqm == 6.0
    assert "(n=1: no interval)" in comparison.table()
    assert main(["compare", str(run), "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "(n=1: no interval)" in out and "[" not in out.split("task two_step")[1]


def stored_benchmark(root, tasks=("lbf_x", "spread"), seeds=4):
    """The stored layout: <task>/<algo>/seed<k>/history.csv, no config.json."""
    rng = np.random.default_rng(0)
    for t, task in enumerate(tasks):
        for a, algo in enumerate(("vdn", "qmix")):
            for k in range(seeds):
                returns = (10 * t + a + rng.normal(0, 0.1, 6)).round(3)
                write_run(root / task / algo / f"seed{k}", returns, config=False)
    return root


def test_tasks_are_reported_separately_and_pooled_only_when_asked(tmp_path):
    root = stored_benchmark(tmp_path / "benchmark")
    comparison = compare([root], reps=200)
    assert comparison.tasks == ["lbf_x", "spread"] and comparison.pooled is None
    assert [(g.task, g.algo, g.n) for g in comparison.groups] == [
        ("lbf_x", "vdn", 4), ("lbf_x", "qmix", 4), ("spread", "vdn", 4), ("spread", "qmix", 4)
    ]  # fmt: skip
    text = comparison.table()
    assert "reported separately" in text and "POOLED" not in text
    for g in comparison.groups:  # each interval is the one rliable gives on that task alone
        expected = iqm_interval(g.scores, reps=200)
        assert (g.iqm, (g.low, g.high)) == expected
        assert g.iqm == pytest.approx(brute_force_iqm(g.scores))

    pooled = compare([root], reps=200, pool=True)
    assert "POOLED over 2 tasks (lbf_x, spread)" in pooled.table()
    assert "normalised" in pooled.table()
    by_algo = {g.algo: g for g in pooled.pooled}
    assert by_algo["qmix"].scores.shape == (4, 2)
    assert 0 <= by_algo["vdn"].iqm < by_algo["qmix"].iqm <= 1


def test_pooling_needs_the_same_runs_on_every_task(tmp_path):
    root = stored_benchmark(tmp_path / "benchmark")
    write_run(root / "spread" / "qmix" / "seed9", [1, 1], config=False)
    with pytest.raises(ValueError, match="same number of runs"):
        compare([root], pool=True, reps=50)


def test_unfinished_runs_are_left_out_and_named(tmp_path):
    done = write_run(tmp_path / "done", [1, 2, 3], seed=0)
    half = write_run(tmp_path / "half", [1, 2], seed=1, total=1000)
    comparison = compare([done, half], reps=50)
    assert comparison.groups[0].n == 1
    assert comparison.excluded == [(half.resolve(), "unfinished (100 env steps)")]
    assert "left out" in comparison.table()
    assert compare([done, half], reps=50, include_unfinished=True).groups[0].n == 2


def test_compare_command_writes_outside_runs_by_default(tmp_path, monkeypatch, capsys):
    stored_benchmark(tmp_path / "runs", tasks=("spread",), seeds=3)
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "runs", "--reps", "100"]) == 0
    out = capsys.readouterr().out
    assert "task spread" in out and "IQM" in out
    for name in ("compare.png", "compare.txt", "compare.json"):
        assert (tmp_path / "compare" / name).stat().st_size > 0
    assert not (tmp_path / "runs" / "compare").exists()
    data = json.loads((tmp_path / "compare" / "compare.json").read_text())
    assert {g["algo"] for g in data["groups"]} == {"vdn", "qmix"}
    # a second comparison over the same folder finds the same runs and the same numbers
    assert main(["compare", "runs", "--reps", "100"]) == 0
    assert capsys.readouterr().out == out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare", "/no/such/run"], "does not exist"),
        (["compare", "."], "holds no run"),
        (["compare", "x", "--reps", "0"], "--reps"),
        (["compare", "x", "--contrast", "qmix"], "expected A:B"),
        (["compare", "x", "--contrast", "qmix:"], "expected A:B"),
    ],
)
def test_compare_errors_exit_2(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").mkdir()
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 2
    assert message in capsys.readouterr().err


def test_swept_variants_of_one_algorithm_are_told_apart_in_the_figure(tmp_path):
    # the memory task sweeps the agent kind: "qmix+agent=rnn" and "qmix+agent=mlp" share
    # QMIX's colour, so the second is drawn dashed with open markers, and its legend
    # entries say which is which
    from qmix_tut.stats import comparison_figure

    root = tmp_path / "benchmark"
    for v, variant in enumerate(("qmix+agent=mlp", "qmix+agent=rnn", "vdn")):
        for k in range(3):
            write_run(root / "memory" / variant / f"seed{k}", [v, v + k], config=False)
    fig = comparison_figure(compare([root], reps=50))
    ax_iqm, ax_prof = fig.axes[:2]
    styles = {line.get_label(): line.get_linestyle() for line in ax_prof.get_lines()}
    assert styles == {"QMIX (agent=mlp)": "-", "QMIX (agent=rnn)": "--", "VDN": "-"}
    colours = {line.get_label(): line.get_color() for line in ax_prof.get_lines()}
    assert colours["QMIX (agent=mlp)"] == colours["QMIX (agent=rnn)"] != colours["VDN"]
    faces = [line.get_markerfacecolor() for line in ax_iqm.get_lines() if line.get_marker() == "o"]
    assert faces.count("white") == 1


def test_contrasts_pair_groups_that_differ_in_one_thing(tmp_path, capsys):
    # spread: qmix clearly above vdn (scores 10 apart, tiny spread): intervals apart;
    # memory: rnn and mlp agents of both algorithms, with overlapping scores
    root = tmp_path / "benchmark"
    base = {"spread/qmix": 10.0, "spread/vdn": 0.0, "memory/qmix+agent=rnn": 1.0,
            "memory/qmix+agent=mlp": 0.5, "memory/vdn+agent=rnn": 0.0,
            "memory/vdn+agent=mlp": 0.2}  # fmt: skip
    for k in range(5):
        for group, value in base.items():
            noise = 0.01 * k if group.startswith("spread") else 0.6 * k
            write_run(root / group / f"seed{k}", [value + noise] * 3, config=False)
    comparison = compare([root], reps=200, contrasts=[("qmix", "vdn"), ("agent=rnn", "agent=mlp")])
    pairs = {(c.task, c.a.algo, c.b.algo): c for c in comparison.contrasts("qmix", "vdn")}
    assert set(pairs) == {("spread", "qmix", "vdn"), ("memory", "qmix+agent=rnn", "vdn+agent=rnn"),
                          ("memory", "qmix+agent=mlp", "vdn+agent=mlp")}  # fmt: skip
    apart = pairs[("spread", "qmix", "vdn")]
    assert apart.overlap == 0.0 and apart.difference == pytest.approx(10.0)
    assert apart.verdict == "qmix higher, intervals apart"
    touching = Contrast(
        "t", replace(apart.a, low=1.0, high=2.0), replace(apart.b, low=0.5, high=1.0)
    )
    assert touching.overlap == 0.0 and "touch: not established" in touching.verdict
    close = pairs[("memory", "qmix+agent=mlp", "vdn+agent=mlp")]
    assert close.overlap > 0 and "not established" in close.verdict
    memory = comparison.contrasts("agent=rnn", "agent=mlp")
    assert [(c.a.algo, c.b.algo) for c in memory] == [  # in the algorithms' order
        ("vdn+agent=rnn", "vdn+agent=mlp"), ("qmix+agent=rnn", "qmix+agent=mlp")
    ]  # fmt: skip
    text = comparison.table()
    assert "qmix against vdn" in text and "agent=rnn against agent=mlp" in text
    assert "intervals apart" in text
    data = comparison.to_dict()["contrasts"]
    assert len(data) == 5 and {d["task"] for d in data} == {"spread", "memory"}
    with pytest.raises(ValueError, match="no task has both 'qmix' and 'coma'"):
        compare([root], reps=50, contrasts=[("qmix", "coma")])
    assert main(["compare", str(root), "--out", str(tmp_path / "c"), "--reps", "100",
                 "--contrast", "qmix:vdn"]) == 0  # fmt: skip
    assert "qmix against vdn" in capsys.readouterr().out
