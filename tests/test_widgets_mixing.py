"""Widgets of notebooks 03-04: the logic functions and the controls wired to them."""

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

import qmix_tut.widgets as widgets
from qmix_tut.mixers import QMixer
from qmix_tut.widgets.mixing import (
    ABLATION_ALGOS,
    TinyMixer,
    ablation_curves,
    ablation_figure,
    ablation_runs,
    ablation_summary,
    ablation_widget,
    hypernet_state_figure,
    hypernet_state_report,
    hypernet_state_widget,
    load_ablation_csv,
    monotonic_mixer_widget,
    tiny_mixer_figure,
    tiny_mixer_report,
)

STORED_CSV = Path(__file__).resolve().parent.parent / "figures" / "data" / "ablations_two_step.csv"


def test_names_are_reexported():
    for name in (
        "monotonic_mixer_widget",
        "hypernet_state_widget",
        "ablation_widget",
        "tiny_mixer_report",
        "load_ablation_csv",
    ):
        assert getattr(widgets, name) is globals()[name]


# -- notebook 03 -------------------------------------------------------------------------
def test_tiny_mixer_negative_weight_breaks_igm():
    report = tiny_mixer_report(weight=-1.0, seed=0)
    assert report["table"].shape == (3, 3)
    assert report["decentralised"] != report["joint_argmax"]
    assert not report["igm"] and not report["monotonic"]
    assert report["regret"] > 0
    assert report["min_gradient"][1] < 0 <= report["min_gradient"][0]
    # the table is the mixer applied to each joint action's chosen values
    q = torch.as_tensor(report["agent_qs"])
    i, j = report["joint_argmax"]
    value = TinyMixer(-1.0)(torch.stack([q[0, i], q[1, j]])[None])
    assert float(value) == pytest.approx(report["table"][i, j], abs=1e-5)
    assert report["table"][i, j] == pytest.approx(report["table"].max())


def test_tiny_mixer_gradient_matches_the_chain_rule():
    report = tiny_mixer_report(weight=-0.7, agent_qs=[[0.5, -1.0, 1.5], [1.0, 0.0, -2.0]])
    w1 = np.array([[1.0, 0.4], [-0.7, 0.6]])
    b1, w2 = np.array([0.0, -1.0]), np.array([1.0, 1.0])
    q1, q2 = 0.5, -2.0  # joint action (A, C)
    z = np.array([q1, q2]) @ w1 + b1
    slope = np.where(z > 0, 1.0, np.exp(z))  # ELU'
    expected = w1 @ (slope * w2)
    np.testing.assert_allclose(report["gradients"][0, 2], expected, rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(weight=st.floats(-3.0, 3.0), seed=st.integers(0, 10_000))
def test_abs_always_gives_igm(weight, seed):
    report = tiny_mixer_report(weight, seed, use_abs=True)
    assert report["monotonic"] and report["igm"] and report["regret"] == pytest.approx(0, abs=1e-6)
    assert report["effective_weight"] == pytest.approx(abs(weight), abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(weight=st.floats(0.0, 3.0), seed=st.integers(0, 10_000))
def test_non_negative_weight_gives_igm(weight, seed):
    assert tiny_mixer_report(weight, seed)["igm"]


def test_igm_can_hold_where_monotonicity_fails():
    # monotonicity is sufficient, not necessary: a small negative weight leaves IGM intact
    report = tiny_mixer_report(weight=-0.2, seed=0)
    assert not report["monotonic"] and report["igm"]


def test_tiny_mixer_rejects_bad_input():
    with pytest.raises(ValueError, match="agent_qs"):
        tiny_mixer_report(agent_qs=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="weight"):
        tiny_mixer_report(weight=float("nan"))


def test_tiny_mixer_figure_and_widget():
    assert isinstance(tiny_mixer_figure(tiny_mixer_report()), Figure)
    box = monotonic_mixer_widget(weight=-1.0, seed=0)
    assert box.results["igm"] is False
    box.controls["use_abs"].value = True
    assert box.results["igm"] is True and box.results["use_abs"]
    box.controls["use_abs"].value = False
    box.controls["weight"].value = 1.0
    assert box.results["igm"] is True and box.results["weight"] == pytest.approx(1.0)
    box.controls["seed"].value = 3
    assert box.results["agent_qs"].tolist() == tiny_mixer_report(1.0, 3)["agent_qs"].tolist()


# -- notebook 04: hypernetwork mixer over the state ---------------------------------------
@pytest.fixture(scope="module")
def mixer():
    torch.manual_seed(0)
    return QMixer(n_agents=2, state_dim=1, embed_dim=4, hypernet_embed=8)


def test_hypernet_state_report(mixer):
    report = hypernet_state_report(mixer, 0.5, q_range=(-1.0, 1.0), n_grid=5)
    assert report["w1"].shape == (2, 4) and report["w2"].shape == (4,)
    assert report["b1"].shape == (4,) and report["q_tot"].shape == (5, 5)
    assert (report["w1"] >= 0).all() and (report["w2"] >= 0).all()
    assert report["monotonic"] and (report["mean_gradient"] >= 0).all()
    # grid rows are Q_1, columns Q_2
    with torch.no_grad():
        value = mixer(torch.tensor([[-1.0, 1.0]]), torch.tensor([[0.5]]))
    assert report["q_tot"][0, -1] == pytest.approx(float(value), abs=1e-5)
    # Q_tot rises along both axes of the grid
    assert (np.diff(report["q_tot"], axis=0) >= -1e-6).all()
    assert (np.diff(report["q_tot"], axis=1) >= -1e-6).all()
    other = hypernet_state_report(mixer, -0.5, q_range=(-1.0, 1.0), n_grid=5)
    assert not np.allclose(other["w1"], report["w1"])  # the weights follow the state


def test_hypernet_state_report_rejects_bad_input(mixer):
    with pytest.raises(ValueError, match="two-agent"):
        hypernet_state_report(QMixer(3, 1), 0.0)
    with pytest.raises(ValueError, match="state must have shape"):
        hypernet_state_report(mixer, [0.0, 1.0])
    with pytest.raises(ValueError, match="n_grid"):
        hypernet_state_report(mixer, 0.0, n_grid=1)


def test_hypernet_state_figure_and_widget(mixer):
    assert isinstance(hypernet_state_figure(hypernet_state_report(mixer, 0.0)), Figure)
    box = hypernet_state_widget(mixer, start=-1.0, end=1.0)
    np.testing.assert_allclose(box.results["state"], [-1.0])
    box.controls["state"].value = 0.75
    np.testing.assert_allclose(box.results["state"], [0.5], atol=1e-6)
    expected = hypernet_state_report(mixer, 0.5)
    np.testing.assert_allclose(box.results["w1"], expected["w1"], atol=1e-6)
    with pytest.raises(ValueError, match="differ in shape"):
        hypernet_state_widget(mixer, start=[0.0], end=[0.0, 1.0])


# -- notebook 04: ablations --------------------------------------------------------------
def test_ablation_runs_curves_and_widget():
    runs = ablation_runs(("qmix", "vdn"), total_steps=200, seed=0, eval_interval=100)
    assert list(runs) == ["qmix", "vdn"]
    curves = ablation_curves(runs)
    assert curves["qmix"][0]["env_steps"].tolist() == [0.0, 100.0, 200.0]
    summary = ablation_summary(curves)
    assert summary["vdn"]["seeds"] == 1
    assert summary["vdn"]["final_returns"][0] == runs["vdn"].final_eval_return
    assert np.isfinite(summary["qmix"]["final_loss"])
    fig = ablation_figure(curves, stored=curves)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert len(ablation_figure(curves).axes) == 2
    with pytest.raises(ValueError, match="at least one"):
        ablation_runs(())

    box = ablation_widget(stored=curves, initial=ablation_curves(runs))
    assert set(box.results["curves"]) == set(runs)  # drawn before any click
    assert box.controls["picture"].value[:4] == b"\x89PNG"
    assert box.children[1].value.startswith("Shown until you press Train")
    box.controls["algos"].value = ("vdn",)
    box.controls["steps"].value = 200
    box.controls["seed"].value = 0
    box.controls["train"].click()
    assert list(box.results["curves"]) == ["vdn"]
    assert box.results["summary"]["vdn"]["mean"] == runs["vdn"].final_eval_return
    assert not box.controls["train"].disabled and box.controls["train"].description == "Train"


def test_load_ablation_csv(tmp_path):
    path = tmp_path / "abl.csv"
    path.write_text(
        "algo,seed,env_steps,episodes,eval_return,loss\n"
        "vdn,1,100,50,8,0.5\nvdn,1,0,0,7,\nvdn,0,0,0,7,\nvdn,0,100,50,7,0.25\n"
        "qmix,0,0,0,7,\nqmix,0,100,50,8,0.125\n"
    )
    curves = load_ablation_csv(path)
    assert list(curves) == ["qmix", "vdn"]  # the course's order, not the file's
    assert len(curves["vdn"]) == 2
    np.testing.assert_array_equal(curves["vdn"][0]["eval_return"], [7.0, 7.0])
    np.testing.assert_array_equal(curves["vdn"][1]["env_steps"], [0.0, 100.0])
    assert np.isnan(curves["qmix"][0]["loss"][0])
    assert ablation_summary(curves)["vdn"]["mean"] == pytest.approx(7.5)
    with pytest.raises(FileNotFoundError, match="benchmarks/ablations_two_step.py"):
        load_ablation_csv(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("algo,seed\nqmix,0\n")
    with pytest.raises(ValueError, match="lacks column"):
        load_ablation_csv(tmp_path / "bad.csv")


def test_stored_ablations_match_what_each_mixer_can_represent():
    curves = load_ablation_csv(STORED_CSV)
    assert list(curves) == list(ABLATION_ALGOS)
    summary = ablation_summary(curves)
    assert all(s["seeds"] >= 3 for s in summary.values())
    # the monotonic non-linear mixers represent state 2B's payoff and earn 8
    assert summary["qmix"]["final_returns"].tolist() == [8.0] * summary["qmix"]["seeds"]
    # the additive and linear ones (and independent learners) cannot, and settle for 7
    for algo in ("qmix_lin", "vdn_s", "vdn", "iql"):
        assert summary[algo]["final_returns"].tolist() == [7.0] * summary[algo]["seeds"]
    # QMIX's TD loss goes to near zero; the additive mixers keep the 2B residual
    assert summary["qmix"]["final_loss"] < 0.1 < summary["vdn"]["final_loss"]
