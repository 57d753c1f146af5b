"""Widgets of notebook 09: payoff editor, mixer explorer, stored two-step runs and the
explorer of stored sweeps."""

import itertools
import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

import qmix_tut.widgets as widgets
from qmix_tut.mixers import QMixer
from qmix_tut.plotting import ALGO_COLORS
from qmix_tut.train import HISTORY_KEYS, write_history_csv
from qmix_tut.widgets.lab import (
    LAB_DATA_DIR,
    LAB_PAYOFFS,
    SWEEP_DATA_DIR,
    SWEEP_FACTORS,
    compare_runs,
    comparison_figure,
    factor_summary,
    factor_values,
    interpolate_states,
    joint_action_name,
    lab_config,
    load_lab_runs,
    load_sweep_runs,
    mixer_explorer_widget,
    mixer_surface,
    mixer_surface_figure,
    one_factor_groups,
    payoff_experiment_figure,
    payoff_lab_widget,
    select_runs,
    sweep_explorer_widget,
    sweep_factor_figure,
    train_on_payoff,
)

PNG = b"\x89PNG"


def test_names_are_reexported():
    for name in ("payoff_lab_widget", "mixer_explorer_widget", "sweep_explorer_widget"):
        assert getattr(widgets, name) is globals()[name]


# -- 1. payoff editor ----------------------------------------------------------------------
def test_joint_action_name():
    assert joint_action_name((0, 2)) == "(A, C)"
    assert joint_action_name([1, 1, 0]) == "(B, B, A)"


def test_lab_config():
    cfg = lab_config([[1, 0], [0, 1]], "qmix", steps=300, seed=4)
    assert (cfg.env, cfg.algo, cfg.seed, cfg.total_steps, cfg.weighting) == (
        "matrix",
        "qmix",
        4,
        300,
        "none",
    )
    assert cfg.env_kwargs == {"payoff": [[1.0, 0.0], [0.0, 1.0]]}
    ow = lab_config([[1, 0], [0, 1]], "wqmix")
    assert (ow.algo, ow.weighting, ow.weighting_alpha) == ("qmix", "ow", 0.1)
    with pytest.raises(ValueError, match="square|same number of actions"):
        lab_config([[1, 0, 2], [0, 1, 2]], "vdn")
    with pytest.raises(ValueError, match="finite"):
        lab_config([[1, math.nan], [0, 1]], "vdn")


def test_train_on_payoff_reads_tables_and_greedy_actions():
    payoff = [[5.0, 0.0], [0.0, 1.0]]
    experiment = train_on_payoff(payoff, ("vdn", "qmix"), steps=400)
    assert experiment["optimum"] == (0, 0) and experiment["optimal_return"] == 5.0
    assert list(experiment["runs"]) == ["vdn", "qmix"]
    for run in experiment["runs"].values():
        assert run["q_tot"].shape == (2, 2)
        # the agents' own argmaxes pick the argmax of the monotonic Q_tot
        best = np.unravel_index(np.argmax(run["q_tot"]), (2, 2))
        assert run["q_tot"][run["greedy"]] == pytest.approx(run["q_tot"][best], abs=1e-5)
        assert run["greedy_return"] == payoff[run["greedy"][0]][run["greedy"][1]]
        assert run["optimal"] == (run["greedy"] == (0, 0))
    # an easy coordination game: both learn it, and Q_tot ranks (A, A) first
    assert all(run["optimal"] for run in experiment["runs"].values())
    fig = payoff_experiment_figure(experiment)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert "QMIX" in fig.axes[2].get_title() and "optimal" in fig.axes[2].get_title()


def test_payoff_lab_widget_fills_resizes_and_trains():
    box = payoff_lab_widget()
    c = box.controls
    assert c["preset"].value == "climbing"
    assert [[cell.value for cell in row] for row in c["cells"]] == LAB_PAYOFFS["climbing"]
    c["preset"].value = "coordination"
    assert c["n_actions"].value == 2
    assert c["cells"][2][2].disabled and not c["cells"][1][1].disabled
    assert [[c["cells"][i][j].value for j in range(2)] for i in range(2)] == [[1, 0], [0, 1]]
    c["cells"][0][0].value = 4.0  # the reader edits a cell
    c["steps"].value = 300
    c["wqmix"].value = True
    c["train"].click()
    results = box.results
    np.testing.assert_array_equal(results["payoff"], [[4.0, 0.0], [0.0, 1.0]])
    assert list(results["runs"]) == ["vdn", "qmix", "wqmix"]
    assert results["runs"]["qmix"]["result"].config.total_steps == 300
    assert results["runs"]["wqmix"]["result"].config.weighting == "ow"
    assert c["picture"].value.tobytes().startswith(PNG)


def test_payoff_lab_widget_label_initial_result_and_stale_results():
    first = train_on_payoff(LAB_PAYOFFS["coordination"], steps=200)
    box = payoff_lab_widget(preset="coordination", initial=first)
    c = box.controls
    assert c["train"].description == "Train VDN and QMIX"
    assert box.results["runs"]["qmix"] is first["runs"]["qmix"]  # shown before any click
    assert c["picture"].value.tobytes().startswith(PNG)
    assert box.children[5].value.startswith("Shown until you press Train")
    c["wqmix"].value = True
    assert c["train"].description == "Train VDN, QMIX and OW-QMIX"
    assert box.results == {} and len(c["picture"].value) == 0  # the old result is gone
    c["wqmix"].value = False
    c["steps"].value = 200
    c["train"].click()
    assert box.results and c["train"].description == "Train VDN and QMIX"
    c["preset"].value = "climbing"  # a new payoff: the result above no longer applies
    assert box.results == {} and "Press" in box.children[5].value
    with pytest.raises(ValueError, match="initial"):
        payoff_lab_widget(preset="climbing", initial=first)


def test_payoff_lab_widget_disables_its_button_while_training(monkeypatch):
    import qmix_tut.widgets.lab as lab

    box = payoff_lab_widget(preset="coordination")
    seen = []

    def spy(*args, **kwargs):
        seen.append((box.controls["train"].disabled, box.controls["train"].description))
        raise ValueError("stop here")

    monkeypatch.setattr(lab, "train_on_payoff", spy)
    box.controls["train"].click()
    assert seen == [(True, "training...")]
    assert not box.controls["train"].disabled
    assert box.controls["train"].description == "Train VDN and QMIX"
    assert "stop here" in box.children[5].value


def test_payoff_lab_widget_starting_choices():
    box = payoff_lab_widget(preset="qtran", wqmix=True)
    assert box.controls["train"].description == "Train VDN, QMIX and OW-QMIX"
    assert box.controls["wqmix"].value is True
    assert box.controls["cells"][0][0].value == 8.0 and box.controls["cells"][0][1].value == -12.0
    with pytest.raises(ValueError, match="unknown preset"):
        payoff_lab_widget(preset="chicken")


# -- 2. mixer explorer ---------------------------------------------------------------------
def test_interpolate_states():
    path = [[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]]
    np.testing.assert_allclose(interpolate_states(path, 0.0), [0, 0])
    np.testing.assert_allclose(interpolate_states(path, 0.25), [0.25, 0])
    np.testing.assert_allclose(interpolate_states(path, 1.5), [1, 1])
    np.testing.assert_allclose(interpolate_states(path, 2.0), [1, 2])
    with pytest.raises(ValueError, match="t must be in"):
        interpolate_states(path, 2.5)
    with pytest.raises(ValueError, match="shape"):
        interpolate_states([1.0, 2.0], 0.0)


class _Difference(nn.Module):
    """Q_tot = Q_2 - Q_1: decreasing in agent 1, so not monotonic."""

    n_agents = 2

    def forward(self, agent_qs, states):
        return (agent_qs[..., 1] - agent_qs[..., 0]).unsqueeze(-1)


def test_mixer_surface_matches_the_mixer_and_checks_monotonicity():
    torch.manual_seed(0)
    mixer = QMixer(2, 3, embed_dim=8)
    state = [0.2, -1.0, 0.5]
    surface = mixer_surface(mixer, state, q_range=(-2.0, 2.0), n_points=9)
    assert surface["q_tot"].shape == (9, 9) and surface["monotonic"]
    i, j = 2, 7
    with torch.no_grad():
        direct = mixer(
            torch.tensor([[surface["q1"][i], surface["q2"][j]]], dtype=torch.float32),
            torch.tensor([state]),
        )
    assert surface["q_tot"][i, j] == pytest.approx(float(direct), abs=1e-5)
    assert min(surface["min_slope"]) >= 0
    # the state changes the shape
    other = mixer_surface(mixer, [-1.0, 2.0, 0.0], q_range=(-2.0, 2.0), n_points=9)
    assert not np.allclose(other["q_tot"], surface["q_tot"])

    bad = mixer_surface(_Difference(), [0.0], n_points=5)
    assert not bad["monotonic"]
    assert bad["min_slope"] == pytest.approx((-1.0, 1.0))


def test_mixer_surface_holds_extra_agents_fixed():
    mixer = QMixer(3, 2, embed_dim=4)
    low = mixer_surface(mixer, [0.0, 1.0], n_points=5, other_qs=[-3.0])
    high = mixer_surface(mixer, [0.0, 1.0], n_points=5, other_qs=[3.0])
    assert np.all(high["q_tot"] >= low["q_tot"] - 1e-6)  # monotonic in agent 3 too
    with pytest.raises(ValueError, match="other_qs needs 1"):
        mixer_surface(mixer, [0.0, 1.0], other_qs=[1.0, 2.0])
    with pytest.raises(ValueError, match="q_range"):
        mixer_surface(mixer, [0.0, 1.0], q_range=(1.0, -1.0))


def test_mixer_explorer_widget_follows_the_slider():
    torch.manual_seed(1)
    mixer = QMixer(2, 2, embed_dim=8)
    box = mixer_explorer_widget(mixer, [[1.0, 0.0], [0.0, 1.0]], ["left", "right"])
    first = box.results["q_tot"].copy()
    first_picture = bytes(box.controls["picture"].value)
    assert first_picture.startswith(PNG)
    np.testing.assert_allclose(box.results["state"], [1.0, 0.0])
    box.controls["state"].value = 0.5
    np.testing.assert_allclose(box.results["state"], [0.5, 0.5])
    box.controls["state"].value = 1.0
    assert box.results["monotonic"]
    assert not np.allclose(box.results["q_tot"], first)
    assert bytes(box.controls["picture"].value) != first_picture
    fig = mixer_surface_figure(box.results, points={"(A, B)": (1.0, -2.0)})
    assert isinstance(fig, Figure) and len(fig.axes) == 3  # surface, contours, colour bar
    assert [t.get_text() for t in fig.axes[1].texts] == ["(A, B)"]
    with pytest.raises(ValueError, match="state names"):
        mixer_explorer_widget(mixer, [[1.0, 0.0]], ["a", "b"])


# -- 3. stored two-step runs -------------------------------------------------------------------
def _history(returns, step=250):
    return [
        {
            **dict.fromkeys(HISTORY_KEYS, 0.0),
            "env_steps": float(i * step),
            "eval_return": float(r),
            "train_return": float(r) - 1,
        }
        for i, r in enumerate(returns)
    ]


@pytest.fixture
def lab_folder(tmp_path):
    curves = {
        ("vdn", None): [7, 7, 7, 7],
        ("qmix", 8): [7, 8, 8, 8],
        ("qmix", 32): [7, 7, 8, 8],
    }
    for (algo, embed), lr, seed in itertools.product(curves, (0.0005, 0.005), (0, 1)):
        name = f"two_step-{algo}-lr{lr}-eps_uniform" + (f"-embed{embed}" if embed else "")
        returns = list(curves[algo, embed])
        if seed == 1 and algo == "qmix":
            returns[-1] = 7  # one seed relapses at the end
        write_history_csv(_history(returns), tmp_path / f"{name}-s{seed}.csv")
    return tmp_path


def test_load_and_select_runs(lab_folder):
    runs = load_lab_runs(lab_folder)
    assert len(runs) == 12
    assert factor_values(runs, "algo") == ["vdn", "qmix"]
    assert factor_values(runs, "embed") == [8, 32]
    assert factor_values(runs, "lr") == [0.0005, 0.005]
    vdn = [r for r in runs if r["algo"] == "vdn"]
    assert all(r["embed"] is None for r in vdn)
    chosen = select_runs(runs, algo="vdn", lr=0.005, embed=32)  # VDN matches any embed
    assert len(chosen) == 2 and {r["seed"] for r in chosen} == {0, 1}
    with pytest.raises(ValueError, match="unknown factor"):
        select_runs(runs, batch=32)
    (lab_folder / "notes-s0.csv").write_text("x\n")
    with pytest.raises(ValueError, match="expected a name like"):
        load_lab_runs(lab_folder)


def test_load_lab_runs_needs_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="COMMANDS.md"):
        load_lab_runs(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no stored runs"):
        load_lab_runs(tmp_path)


def test_compare_runs(lab_folder):
    runs = load_lab_runs(lab_folder)
    by_algo = compare_runs(runs, "algo", lr=0.0005, eps="uniform", embed=8)
    assert list(by_algo) == ["vdn", "qmix"]
    assert by_algo["vdn"]["final"] == 7.0 and by_algo["vdn"]["optimal_seeds"] == 0
    assert by_algo["vdn"]["steps_to_target"] == []
    assert by_algo["qmix"]["final"] == 7.5 and by_algo["qmix"]["optimal_seeds"] == 1
    assert by_algo["qmix"]["steps_to_target"] == [250.0]
    assert by_algo["qmix"]["optimal_at_start"] == 0 and by_algo["qmix"]["eval_interval"] == 250
    by_embed = compare_runs(runs, "embed", algo="qmix", lr=0.005, eps="uniform")
    assert list(by_embed) == ["embed 8", "embed 32"]
    assert by_embed["embed 32"]["steps_to_target"] == [500.0]
    fig = comparison_figure(by_algo, "title")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    colors = {line.get_label(): line.get_color() for line in fig.axes[0].lines}
    assert colors == {"VDN (2 seeds)": ALGO_COLORS["vdn"], "QMIX (2 seeds)": ALGO_COLORS["qmix"]}
    # one algorithm under two settings: its colour, two line styles
    fig = comparison_figure(by_embed)
    lines = fig.axes[0].lines
    assert {line.get_color() for line in lines} == {ALGO_COLORS["qmix"]}
    assert [line.get_linestyle() for line in lines] == ["-", "--"]
    assert [line.get_label() for line in lines] == ["embed 8 (2 seeds)", "embed 32 (2 seeds)"]
    with pytest.raises(ValueError, match="unknown factor"):
        compare_runs(runs, "seed")


def test_a_run_optimal_before_training_is_not_a_fast_learner(tmp_path):
    for seed, returns in enumerate(([8, 8, 8, 8], [7, 7, 8, 8], [8, 7, 8, 8])):
        name = f"two_step-qmix-lr0.005-eps_uniform-embed8-s{seed}.csv"
        write_history_csv(_history(returns), tmp_path / name)
    g = compare_runs(load_lab_runs(tmp_path), "algo")["qmix"]
    assert g["optimal_seeds"] == 3 and g["optimal_at_start"] == 2
    assert g["steps_to_target"] == [500.0]  # only the seed that learned it counts


def test_stored_lab_runs_cover_every_combination():
    runs = load_lab_runs(LAB_DATA_DIR)
    combos = {(r["algo"], r["lr"], r["eps"], r["embed"]) for r in runs}
    expected = {
        (algo, lr, eps, embed)
        for lr, eps in itertools.product((0.0005, 0.005), ("uniform", "annealed"))
        for algo, embed in (("vdn", None), ("qmix", 8), ("qmix", 32))
    }
    assert combos == expected
    for combo in expected:
        seeds = sorted(
            r["seed"] for r in runs if (r["algo"], r["lr"], r["eps"], r["embed"]) == combo
        )
        assert seeds == [0, 1, 2]
    assert all(r["history"][-1]["env_steps"] == 5000 for r in runs)


# -- 4. stored sweeps, one setting at a time ---------------------------------------------------
def _store_run(folder, setting, seed, returns, drop=(), **changes):
    import json

    from qmix_tut.config import Config

    run = folder / setting / "qmix" / f"seed{seed}"
    run.mkdir(parents=True)
    base = {"batch_size": 32, "tau": 0.005}  # the study's base: the preset of version 0.1
    config = Config.preset("simple_spread", seed=seed, **{**base, **changes}).to_dict()
    for key in drop:  # a field that runs stored before it existed do not have
        del config[key]
    (run / "config.json").write_text(json.dumps(config))
    write_history_csv(_history(returns, step=2500), run / "history.csv")


@pytest.fixture
def sweep_folder(tmp_path):
    good = [-70, -50, -48, -47, -48, -47, -48, -47, -48]
    drifting = [-70, -52, -50, -55, -58, -60, -62, -61, -63]
    for seed in range(4):
        _store_run(tmp_path, "base", seed, drifting if seed < 2 else good, drop=["batched_env"])
        # how the env was computed is not a setting: mpe2 or its batched copy, one task
        _store_run(tmp_path, "tau0.002", seed, good, tau=0.002, batched_env=seed % 2 == 0)
        _store_run(tmp_path, "gamma0.9", seed, drifting, gamma=0.9)
        # two changes at once: in no one-factor comparison
        _store_run(tmp_path, "b64_tau0.002", seed, good, tau=0.002, batch_size=64)
    # bookkeeping that differs (budget, evaluation) does not make a run another setting
    _store_run(tmp_path, "longer", 0, good, tau=0.001, total_steps=400_000, eval_episodes=32)
    return tmp_path


def test_one_factor_groups_keep_only_single_changes(sweep_folder):
    runs = load_sweep_runs(sweep_folder)
    assert len(runs) == 17 and {r["setting"] for r in runs} >= {"base", "b64_tau0.002"}
    base = next(r for r in runs if r["setting"] == "base" and r["seed"] == 0)
    assert base["score"] == pytest.approx((-60 - 62 - 61 - 63 - 58) / 5)
    by_tau = one_factor_groups(runs, "tau")
    assert list(by_tau) == [0.001, 0.002, 0.005]  # sorted values; base's is 0.005
    assert {r["setting"] for r in by_tau[0.002]} == {"tau0.002"}  # not b64_tau0.002
    assert [r["setting"] for r in by_tau[0.001]] == ["longer"]
    assert list(one_factor_groups(runs, "gamma")) == [0.9, 0.95]
    assert list(one_factor_groups(runs, "mixer_embed")) == [32]  # nothing else to compare
    with pytest.raises(ValueError, match="unknown factor"):
        one_factor_groups(runs, "batch")
    with pytest.raises(ValueError, match="no run of the base setting 'preset'"):
        one_factor_groups(runs, "tau", base="preset")


def test_factor_summary_counts_reached_and_held_seeds(sweep_folder):
    runs = load_sweep_runs(sweep_folder)
    rows = {r["value"]: r for r in factor_summary(one_factor_groups(runs, "tau"), reps=300)}
    base, slow = rows[0.005], rows[0.002]
    assert (base["seeds"], base["reached"], base["held"]) == (4, 2, 2)
    assert (slow["seeds"], slow["reached"], slow["held"]) == (4, 4, 4)
    good_score = (-48 - 47 - 48 - 47 - 48) / 5
    assert slow["iqm"] == pytest.approx(good_score) and slow["low"] == pytest.approx(good_score)
    assert base["low"] < base["iqm"] < base["high"]  # two seeds drift, two do not
    assert base["scores"] == sorted(base["scores"]) and len(base["scores"]) == 4


def test_sweep_factor_figure_and_explorer(sweep_folder):
    runs = load_sweep_runs(sweep_folder)
    fig = sweep_factor_figure(one_factor_groups(runs, "gamma"), "gamma", base_value=0.95)
    curves, intervals = fig.axes
    assert [line.get_label() for line in curves.lines if not line.get_label().startswith("_")] == [
        "0.9 (4 seeds)",
        "0.95 (base) (4 seeds)",
    ]
    assert [t.get_text() for t in intervals.get_yticklabels()] == [
        "0.9\n4 seeds",
        "0.95 (base)\n4 seeds",
    ]
    box = sweep_explorer_widget(sweep_folder)
    c = box.controls
    assert list(box.results) == [0.005] or "Nothing to compare" in box.children[1].value
    c["factor"].value = "tau"
    assert list(box.results) == [0.001, 0.002, 0.005]
    assert "hold -48.6" in box.children[1].value and "0.005 (base)" in box.children[1].value
    assert c["picture"].value.tobytes().startswith(PNG)
    c["factor"].value = "mixer_embed"  # only the base: nothing to compare, said so
    assert "Nothing to compare" in box.children[1].value and len(c["picture"].value) == 0


def test_load_sweep_runs_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_sweep_runs(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no stored run"):
        load_sweep_runs(tmp_path)
    run = tmp_path / "base" / "qmix" / "seed0"
    run.mkdir(parents=True)
    write_history_csv(_history([-60, -50]), run / "history.csv")
    with pytest.raises(ValueError, match="no config.json"):
        load_sweep_runs(tmp_path)


def test_stored_sweeps_cover_every_factor_of_the_lab():
    """Every factor the lab varies has at least two values around the base, 5 seeds each,
    each run its whole budget."""
    runs = load_sweep_runs(SWEEP_DATA_DIR)
    for factor in SWEEP_FACTORS:
        groups = one_factor_groups(runs, factor)
        assert len(groups) >= 2, factor
        for members in groups.values():
            assert sorted(m["seed"] for m in members) == [0, 1, 2, 3, 4], factor
            assert all(m["history"][-1]["env_steps"] == 200_000 for m in members)
