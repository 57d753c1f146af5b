"""The run statistics behind the plots: bootstrap intervals, common grids, grouping by
algorithm; and one colour and label per algorithm of the registry."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qmix_tut.algorithms import ALGOS, label
from qmix_tut.plotting import (
    ALGO_COLORS,
    ALGO_LABELS,
    algo_color,
    algo_label,
    bootstrap_ci,
    common_grid,
    compare_figure,
    group_runs,
)


def test_every_registered_algorithm_has_a_colour_and_the_registry_label():
    for name in ALGOS:
        assert algo_color(name) == ALGO_COLORS[name]
        assert algo_label(name) == ALGO_LABELS[name] == label(name)
    assert len(set(ALGO_COLORS.values())) == len(ALGO_COLORS)  # no two share a colour
    assert algo_label("something_else") == "something_else"
    with pytest.raises(ValueError, match="unknown algorithm 'x'"):
        algo_color("x")


# -- bootstrap_ci ----------------------------------------------------------------------------
def test_bootstrap_ci_of_constant_values_is_that_value():
    low, high = bootstrap_ci([3.0, 3.0, 3.0])
    assert low == high == 3.0


def test_bootstrap_ci_matches_a_resampling_written_out():
    values = np.array([0.0, 1.0, 5.0, 2.0, 7.0])
    low, high = bootstrap_ci(values, n_boot=500, seed=3, level=0.9)
    rng = np.random.default_rng(3)  # the same draws: one resample of the seeds per row
    idx = rng.integers(0, 5, size=(500, 5))
    means = values[idx].mean(axis=1)
    assert low == pytest.approx(np.quantile(means, 0.05))
    assert high == pytest.approx(np.quantile(means, 0.95))


def test_bootstrap_ci_keeps_each_seeds_curve_together():
    # two seeds whose curves are mirror images: any resample's mean is one of three curves
    curves = np.array([[0.0, 10.0], [10.0, 0.0]])
    low, high = bootstrap_ci(curves, n_boot=400)
    assert low.shape == high.shape == (2,)
    np.testing.assert_allclose(low, [0.0, 0.0])
    np.testing.assert_allclose(high, [10.0, 10.0])


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-100, 100, allow_nan=False), min_size=2, max_size=12),
    st.floats(0.5, 0.99),
)
def test_bootstrap_ci_brackets_the_mean_within_the_range(values, level):
    low, high = bootstrap_ci(values, n_boot=200, level=level)
    assert min(values) - 1e-9 <= low <= high <= max(values) + 1e-9
    wider_low, wider_high = bootstrap_ci(values, n_boot=200, level=0.999)
    assert wider_low <= low + 1e-9 and high <= wider_high + 1e-9


def test_bootstrap_ci_is_reproducible_and_rejects_bad_input():
    values = np.random.default_rng(0).normal(size=8)
    assert bootstrap_ci(values, seed=1) == bootstrap_ci(values, seed=1)
    with pytest.raises(ValueError, match=r"\[seeds\] or \[seeds, points\]"):
        bootstrap_ci(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci([1.0, 2.0], level=1.5)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci([1.0, 2.0], n_boot=0)


# -- common_grid -----------------------------------------------------------------------------
def test_common_grid_stacks_runs_logged_at_the_same_steps():
    x = np.array([0.0, 10.0, 20.0])
    grid, ys = common_grid([(x, x * 2), (x, x + 1)])
    np.testing.assert_array_equal(grid, x)
    np.testing.assert_array_equal(ys, [[0, 20, 40], [1, 11, 21]])


def test_common_grid_interpolates_only_where_every_run_was_logged():
    a = (np.array([0.0, 100.0]), np.array([0.0, 100.0]))
    b = (np.array([50.0, 10.0, 150.0]), np.array([50.0, 10.0, 150.0]))  # unsorted
    grid, ys = common_grid([a, b], n_points=5)
    np.testing.assert_allclose(grid, [10, 32.5, 55, 77.5, 100])
    np.testing.assert_allclose(ys[0], grid)  # y = x on both runs
    np.testing.assert_allclose(ys[1], grid)


def test_common_grid_drops_non_finite_points_and_names_bad_input():
    x = np.array([0.0, 1.0, 2.0])
    grid, ys = common_grid([(x, np.array([1.0, np.nan, 3.0]))])
    np.testing.assert_array_equal(grid, [0.0, 2.0])
    with pytest.raises(ValueError, match="do not overlap"):
        common_grid([(np.array([0.0, 1.0]), np.zeros(2)), (np.array([5.0, 6.0]), np.zeros(2))])
    with pytest.raises(ValueError, match="one length"):
        common_grid([(np.zeros(3), np.zeros(2))])
    with pytest.raises(ValueError, match="at least one finite"):
        common_grid([(np.array([np.nan]), np.array([1.0]))])


# -- group_runs ------------------------------------------------------------------------------
def _run(algo, finals, steps=(0, 100)):
    history = [{"env_steps": s, "eval_return": v} for s, v in zip(steps, finals, strict=True)]
    run = SimpleNamespace(config=SimpleNamespace(algo=algo), history=history)
    run.column = lambda key: np.array([row[key] for row in run.history], dtype=float)
    return run


def test_group_runs_orders_by_algorithm_and_summarises_the_final_values():
    runs = [_run("vdn", [0, 4]), _run("qmix", [0, 8]), _run("vdn", [0, 6]), _run("mine", [0, 1])]
    groups = group_runs(runs)
    assert list(groups) == ["vdn", "qmix", "mine"]  # the course's order, unknown ones last
    vdn = groups["vdn"]
    assert vdn["n"] == 2 and vdn["mean"] == 5.0
    np.testing.assert_array_equal(vdn["finals"], [4.0, 6.0])
    assert 4.0 <= vdn["low"] <= 5.0 <= vdn["high"] <= 6.0
    assert groups["qmix"]["low"] == groups["qmix"]["high"] == 8.0  # one seed: no spread


def test_group_runs_ignores_runs_without_a_final_value():
    groups = group_runs([_run("qmix", [0, math.nan]), _run("qmix", [0, 2.0])])
    assert groups["qmix"]["n"] == 2 and groups["qmix"]["mean"] == 2.0
    empty = group_runs([_run("iql", [0, math.nan])])
    assert math.isnan(empty["iql"]["mean"]) and math.isnan(empty["iql"]["low"])


def test_compare_figure_draws_both_panels():
    runs = [_run("qmix", [0, 8]), _run("qmix", [1, 9]), _run("iql", [0, 3])]
    fig = compare_figure(runs)
    curves, finals = fig.axes[:2]
    assert [t.get_text() for t in finals.get_xticklabels()] == ["IQL", "QMIX"]
    assert len(curves.get_lines()) >= 2


def test_widget_helpers_show_a_png_and_publish_results():
    from matplotlib.figure import Figure

    from qmix_tut.widgets._common import figure_png, publish, show_figure

    fig = Figure(figsize=(2, 2))
    fig.subplots().plot([0, 1], [1, 0])
    assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    picture = SimpleNamespace(value=b"")
    show_figure(picture, fig)
    assert picture.value[:4] == b"\x89PNG"
    box = SimpleNamespace(results={"old": 1})
    publish(box, {"new": 2})
    assert box.results == {"new": 2}
