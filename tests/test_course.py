"""The set-up and figure helpers the notebooks call (qmix_tut.course)."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from qmix_tut.course import (
    argmax_timing_figure,
    curve_summary,
    mixer_scaling_figure,
    settings_curves_figure,
    spread_setup,
    state_surfaces_figure,
)
from qmix_tut.mixers import QMixer
from qmix_tut.widgets.lab import mixer_surface


def test_argmax_timing_figure_extrapolates_at_n_actions_per_agent():
    fig, per_joint, extrapolated = argmax_timing_figure(
        {1: 5e-6, 3: 1.25e-4}, {1: 1e-6, 3: 3e-6}, 5
    )
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert per_joint == pytest.approx(1.25e-4 / 125)
    assert extrapolated[4] == pytest.approx(5 * extrapolated[3]) and max(extrapolated) == 15
    with pytest.raises(ValueError, match="at least one"):
        argmax_timing_figure({}, {1: 1e-6}, 5)
    with pytest.raises(ValueError, match="n_actions"):
        argmax_timing_figure({1: 1.0}, {1: 1.0}, 1)


def test_state_surfaces_figure_one_panel_per_state():
    mixer = QMixer(2, 2, embed_dim=4)
    grid = np.linspace(-1.0, 1.0, 5)
    q1, q2 = np.meshgrid(grid, grid, indexing="ij")
    surfaces = {
        n: mixer_surface(mixer, s, (-1.0, 1.0), 5) for n, s in (("a", [1, 0]), ("b", [0, 1]))
    }
    points = {n: {"(A, A)": (0.0, 0.0)} for n in surfaces}
    fig = state_surfaces_figure(q1, q2, surfaces, points)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["state a", "state b"]
    with pytest.raises(ValueError, match="points name states"):
        state_surfaces_figure(q1, q2, surfaces, {"a": {}})


def test_mixer_scaling_figure_checks_its_table():
    cost = {"n": [2, 4], "mixer_params": [10, 20], "mixer_params_1": [8, 30],
            "mixer_s": [1e-3, 2e-3], "agents_s": [4e-3, 8e-3]}  # fmt: skip
    fig = mixer_scaling_figure(cost)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 3
    with pytest.raises(ValueError, match="missing"):
        mixer_scaling_figure({"n": [2]})
    with pytest.raises(ValueError, match="one entry per team size"):
        mixer_scaling_figure({**cost, "agents_s": [1.0]})


def test_spread_setup_gives_a_learner_away_from_its_targets_and_a_batch():
    setup = spread_setup(max_cycles=4, n_episodes=8, warm_up_updates=2, batch_size=3)
    batch = setup["batch"]
    assert batch["obs"].shape[:3] == (3, 5, 3) and batch["mask"].shape == (3, 4)
    assert setup["drift"] > 0 and setup["env"].episode_limit == 4
    loss = setup["learner"].update(batch)["loss"]
    assert np.isfinite(loss) and torch.is_tensor(batch["reward"])
    with pytest.raises(ValueError, match="multiple of 8"):
        spread_setup(n_episodes=12)


def test_curve_summary_per_seed_means_and_first_step_at_target():
    x = np.array([0.0, 10.0, 20.0, 30.0])
    runs = [(x, np.array([-9.0, -6.0, -4.0, -2.0])), (x, np.array([-9.0, -8.0, -8.0, -7.0]))]
    summary = curve_summary(runs, last=2, target=-5.0)
    assert summary["seeds"] == 2 and summary["end_steps"] == [30, 30]
    assert summary["final"] == [-3.0, -7.5] and summary["final_median"] == -5.25
    assert summary["first_at_target"] == [20, None]  # the target counts when reached exactly
    assert curve_summary(runs, last=1, target=-9.0)["first_at_target"] == [0, 0]
    assert "first_at_target" not in curve_summary(runs, last=4)
    with pytest.raises(ValueError, match="needs 5 finite"):
        curve_summary([(x, np.array([-1.0, -1.0, np.nan, -1.0]))], last=5)
    with pytest.raises(ValueError, match="needs 2 finite"):
        curve_summary([(x, np.array([-1.0, -1.0, np.nan, -1.0]))], last=2)
    with pytest.raises(ValueError, match=r"shapes \(4,\) and \(3,\)"):
        curve_summary([(x, np.zeros(3))])
    with pytest.raises(ValueError, match="last must be"):
        curve_summary(runs, last=0)
    with pytest.raises(ValueError, match="no"):
        curve_summary([])


def test_settings_curves_figure_mean_and_range_per_setting():
    x = np.linspace(0.0, 100.0, 11)
    curves = {
        "lambda = 0": [(x, -x), (x, -x - 2.0)],
        "lambda = 0.9": [(x, x), (x, x + 4.0), (x, x + 2.0)],
    }
    fig = settings_curves_figure(curves, "two settings", target=50.0, zoom_from=60.0)
    full, zoom = fig.axes
    assert len(full.lines) == 3  # two means and the target line
    np.testing.assert_allclose(full.lines[0].get_ydata(), -x - 1.0)
    np.testing.assert_allclose(full.lines[1].get_ydata(), x + 2.0)
    assert full.lines[0].get_color() != full.lines[1].get_color()
    labels = [t.get_text() for t in full.get_legend().get_texts()]
    assert labels[:2] == ["lambda = 0 (2 seeds)", "lambda = 0.9 (3 seeds)"]
    assert zoom.get_xlim()[0] == 60.0 and zoom.get_ylim()[0] < -102.0 < 104.0 < zoom.get_ylim()[1]
    assert len(settings_curves_figure({"one": [(x, x)]}, "one setting").axes) == 1
    with pytest.raises(ValueError, match="no setting"):
        settings_curves_figure({}, "none")
