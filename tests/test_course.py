"""The set-up and figure helpers the notebooks call (qmix_tut.course)."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from qmix_tut.course import (
    argmax_timing_figure,
    mixer_scaling_figure,
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
