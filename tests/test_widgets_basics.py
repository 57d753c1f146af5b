"""Widgets of notebooks 00-02: the logic functions and the controls wired to them."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import qmix_tut.widgets as widgets
from qmix_tut.widgets.basics import (
    PAYOFF_PRESETS,
    additive_fit_figure,
    additive_fit_report,
    iql_experiment_figure,
    iql_matrix_experiment,
    iql_matrix_widget,
    joint_action_counts,
    joint_action_growth_figure,
    joint_action_growth_widget,
    parse_payoff,
    readable_duration,
    vdn_fit_widget,
)


def test_names_are_reexported():
    for name in ("joint_action_growth_widget", "iql_matrix_widget", "vdn_fit_widget"):
        assert getattr(widgets, name) is globals()[name]


# -- notebook 00 -------------------------------------------------------------------------
def test_joint_action_counts():
    c = joint_action_counts(3, 5)
    assert (c["joint"], c["per_agent"], c["table_bytes"]) == (125, 15, 500)
    assert c["ratio"] == pytest.approx(125 / 15)
    assert joint_action_counts(20, 10)["seconds"] == pytest.approx(1e11)
    with pytest.raises(ValueError, match="n_agents"):
        joint_action_counts(0, 5)
    with pytest.raises(ValueError, match="n_actions"):
        joint_action_counts(2, 2.5)


@pytest.mark.parametrize(
    "seconds, text",
    [
        (1e11, "3,169 years"),
        (10.0, "10 s"),
        (1.25e-7, "125 ns"),
        (5000.0, "1.39 hours"),
        (2e-5, "20 µs"),
    ],
)
def test_readable_duration(seconds, text):
    assert readable_duration(seconds) == text


def test_joint_action_growth_figure_marks_the_choice():
    fig = joint_action_growth_figure(4, 3, max_agents=6)
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and ax.get_yscale() == "log"
    joint_line = ax.lines[0]
    np.testing.assert_array_equal(joint_line.get_ydata(), 3.0 ** np.arange(1, 7))
    assert "81 joint" in ax.get_title()


def test_joint_action_growth_widget_follows_the_sliders():
    box = joint_action_growth_widget()
    assert box.results["joint"] == 5**3
    box.controls["n_agents"].value = 10
    box.controls["n_actions"].value = 10
    assert box.results["joint"] == 10**10
    assert "10,000,000,000" in box.children[1].value


# -- notebook 01 -------------------------------------------------------------------------
def test_iql_matrix_experiment_counts_every_seed():
    exp = iql_matrix_experiment("climbing", steps=1500, n_seeds=6, seed=2)
    assert exp["counts"].sum() == 6 and exp["counts"].shape == (3, 3)
    assert exp["optimum"] == (0, 0) and exp["optimal_return"] == 11.0
    for run, ret in zip(exp["runs"], exp["returns"], strict=True):
        assert exp["counts"][run.greedy_joint_action()] >= 1
        assert ret == exp["payoff"][run.greedy_joint_action()]
    assert exp["fraction_optimal"] == np.mean(exp["returns"] == 11.0)


def test_iql_matrix_experiment_penalty_argument_and_errors():
    exp = iql_matrix_experiment("penalty", steps=300, n_seeds=2, k=-20)
    assert exp["payoff"][0, 0] == -20.0
    with pytest.raises(ValueError, match="two-agent"):
        iql_matrix_experiment(np.zeros((2, 2, 2)), steps=10, n_seeds=1)
    with pytest.raises(ValueError, match="n_seeds"):
        iql_matrix_experiment("climbing", n_seeds=0)


def test_iql_experiment_figure():
    exp = iql_matrix_experiment("climbing", steps=200, n_seeds=3)
    fig = iql_experiment_figure(exp)
    assert len(fig.axes) == 4
    for agent, ax in enumerate(fig.axes[2:]):
        assert len(ax.lines) == 3  # one line per action
        np.testing.assert_array_equal(
            ax.lines[0].get_ydata(), exp["runs"][0].q_history[:, agent, 0]
        )


def test_iql_matrix_widget_shows_a_result_before_the_first_click():
    initial = iql_matrix_experiment("climbing", steps=200, n_seeds=2)
    box = iql_matrix_widget(initial)
    assert box.results["counts"].sum() == 2  # the given experiment, no training needed
    assert box.controls["picture"].value[:4] == b"\x89PNG"  # saved with the widget state
    summary = box.children[4].value
    assert summary.startswith("Shown until you press Train") and "(A, A)" in summary
    assert "(0, 0)" not in summary  # joint actions as letters, as in every table
    box.controls["alpha"].value = 0.5
    assert "Settings changed" in box.children[4].value


def test_iql_matrix_widget_disables_its_button_while_training(monkeypatch):
    import qmix_tut.widgets.basics as basics

    box = iql_matrix_widget(iql_matrix_experiment("climbing", steps=200, n_seeds=1))
    seen = []

    def spy(*args, **kwargs):
        button = box.controls["train"]
        seen.append((button.disabled, button.description, box.children[4].value))
        return iql_matrix_experiment("climbing", steps=200, n_seeds=1)

    monkeypatch.setattr(basics, "iql_matrix_experiment", spy)
    box.controls["train"].click()
    assert seen == [(True, "training...", "training...")]
    assert not box.controls["train"].disabled and box.controls["train"].description == "Train"


def test_iql_matrix_widget_trains_on_click():
    box = iql_matrix_widget(iql_matrix_experiment("climbing", steps=200, n_seeds=1))
    c = box.controls
    c["game"].value = "penalty"
    c["k"].value = -30
    c["steps"].value = 400
    c["n_seeds"].value = 3
    c["train"].click()
    assert box.results["payoff"][0, 0] == -30.0
    assert box.results["counts"].sum() == 3
    assert "seeds reached it" in box.children[4].value


# -- notebook 02 -------------------------------------------------------------------------
def test_parse_payoff():
    np.testing.assert_array_equal(parse_payoff("1, 2\n3 4"), [[1, 2], [3, 4]])
    for preset in PAYOFF_PRESETS.values():
        assert parse_payoff(preset).ndim == 2
    with pytest.raises(ValueError, match="square"):
        parse_payoff("1 2 3; 4 5 6")
    with pytest.raises(ValueError, match="number"):
        parse_payoff("1 x; 2 3")
    with pytest.raises(ValueError, match="at least 2"):
        parse_payoff("5")


def test_additive_fit_report_on_the_two_step_and_climbing_tables():
    two_step = additive_fit_report("0 1; 1 8")
    np.testing.assert_allclose(two_step["fit"].fit, [[-1.5, 2.5], [2.5, 6.5]], atol=1e-9)
    assert not two_step["representable"] and two_step["regret"] == 0.0
    climbing = additive_fit_report(PAYOFF_PRESETS["climbing"])
    assert climbing["optimum"] == (0, 0) and climbing["fit_greedy"] == (2, 2)
    assert climbing["regret"] == 11.0 - 5.0
    assert additive_fit_report("0 2; 1 3")["representable"]


def test_weighting_the_optimum_moves_the_fit_toward_it():
    light = additive_fit_report(PAYOFF_PRESETS["climbing"], optimum_weight=1.0)
    heavy = additive_fit_report(PAYOFF_PRESETS["climbing"], optimum_weight=1000.0)
    assert heavy["weights"][0, 0] == 1000.0
    assert abs(heavy["fit"].fit[0, 0] - 11) < abs(light["fit"].fit[0, 0] - 11)
    with pytest.raises(ValueError, match="optimum_weight"):
        additive_fit_report("0 1; 1 8", optimum_weight=0.0)


def test_additive_fit_figure():
    fig = additive_fit_figure(additive_fit_report("0 1; 1 8"))
    assert [ax.get_title() for ax in fig.axes[:3]] == [
        "payoff",
        "best additive fit",
        "residual (payoff - fit)",
    ]


def test_vdn_fit_widget_reacts_to_preset_text_and_weight():
    box = vdn_fit_widget()
    c = box.controls
    np.testing.assert_allclose(box.results["fit"].fit, [[-1.5, 2.5], [2.5, 6.5]], atol=1e-9)
    c["preset"].value = "climbing"
    assert c["payoff"].value == PAYOFF_PRESETS["climbing"]
    assert box.results["fit_greedy"] == (2, 2)
    c["optimum_weight"].value = 1000.0
    assert box.results["weights"][0, 0] == pytest.approx(1000.0)
    c["payoff"].value = "0 2; 1 3"
    assert box.results["representable"]
    assert "VDN can represent it exactly" in box.children[2].value
    assert "greedy on the fit (B, B)" in box.children[2].value
    c["payoff"].value = "1 2 3"
    assert box.results == {}
    assert "square" in box.children[2].value
