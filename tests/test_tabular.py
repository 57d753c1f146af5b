"""Tabular IQL on matrix games and the least-squares additive fit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from qmix_tut.tabular import additive_fit, independent_q_learning, payoff_of

CLIMBING = np.array([[11, -30, 0], [-30, 7, 6], [0, 0, 5]], dtype=float)


def test_payoff_of_named_and_tables():
    np.testing.assert_array_equal(payoff_of("climbing"), CLIMBING)
    assert payoff_of("penalty", k=-7)[0, 0] == -7.0
    assert payoff_of([[1, 2], [3, 4]]).dtype == np.float64


@pytest.mark.parametrize(
    "bad, message",
    [
        ("nope", "unknown matrix game"),
        ([1, 2, 3], "one axis per agent"),
        ([[1, 2, 3], [4, 5, 6]], "same number of actions"),
        ([[1, np.nan], [0, 1]], "finite"),
    ],
)
def test_payoff_of_rejects_bad_tables(bad, message):
    with pytest.raises(ValueError, match=message):
        payoff_of(bad)


def test_payoff_of_refuses_game_arguments_with_a_table():
    with pytest.raises(ValueError, match="named games only"):
        payoff_of([[1, 0], [0, 1]], k=-3)


def test_run_shapes_and_records():
    run = independent_q_learning("climbing", steps=50, seed=3)
    assert run.q_history.shape == (51, 2, 3)
    assert run.actions.shape == (50, 2) and run.rewards.shape == (50,)
    assert run.epsilons.shape == (50, 2)
    np.testing.assert_array_equal(run.q_history[0], np.zeros((2, 3)))
    np.testing.assert_array_equal(run.rewards, CLIMBING[run.actions[:, 0], run.actions[:, 1]])
    assert run.greedy_return() == CLIMBING[run.greedy_joint_action()]


def test_seeded_runs_repeat_and_seeds_differ():
    a = independent_q_learning("penalty", steps=300, seed=5)
    b = independent_q_learning("penalty", steps=300, seed=5)
    c = independent_q_learning("penalty", steps=300, seed=6)
    np.testing.assert_array_equal(a.q_history, b.q_history)
    np.testing.assert_array_equal(a.actions, b.actions)
    assert not np.array_equal(a.actions, c.actions)


def test_tables_follow_the_update_rule():
    alpha = 0.3
    run = independent_q_learning("climbing", steps=200, alpha=alpha, seed=2, q_init=1.5)
    q = np.full((2, 3), 1.5)
    for t in range(200):
        for agent, action in enumerate(run.actions[t]):
            q[agent, action] += alpha * (run.rewards[t] - q[agent, action])
        np.testing.assert_allclose(run.q_history[t + 1], q)


def test_rng_order_documented_in_the_docstring():
    # explore flags first, then the random actions, from one default_rng(seed)
    run = independent_q_learning("climbing", steps=40, epsilon_finish=0.0, anneal_steps=20, seed=9)
    rng = np.random.default_rng(9)
    q = np.zeros((2, 3))
    for t in range(40):
        eps = max(0.0, 1.0 - t / 20)
        explore = rng.random(2) < eps
        random_actions = rng.integers(3, size=2)
        u = np.where(explore, random_actions, q.argmax(-1))
        np.testing.assert_array_equal(run.actions[t], u)
        q[[0, 1], u] += 0.1 * (CLIMBING[tuple(u)] - q[[0, 1], u])


def test_uniform_partners_give_row_and_column_means():
    # epsilon 1 throughout: each agent's value is the payoff averaged over the other's actions
    run = independent_q_learning(
        "climbing", steps=30_000, alpha=0.002, epsilon_start=1.0, epsilon_finish=1.0, seed=0
    )
    expected = np.stack([CLIMBING.mean(axis=1), CLIMBING.mean(axis=0)])
    np.testing.assert_allclose(run.q, expected, atol=1.0)
    counts = np.bincount(run.actions[:, 0], minlength=3) / len(run.actions)
    np.testing.assert_allclose(counts, 1 / 3, atol=0.02)


def test_per_agent_epsilon():
    run = independent_q_learning(
        "climbing", steps=2000, epsilon_start=1.0, epsilon_finish=[1.0, 0.0], seed=1
    )
    np.testing.assert_array_equal(run.epsilons[:, 0], 1.0)
    assert run.epsilons[-1, 1] == 0.0
    late = run.actions[-500:]
    assert len(np.unique(late[:, 0])) == 3  # agent 0 keeps exploring
    assert len(np.unique(late[:, 1])) == 1  # agent 1 has settled on one action


def test_independent_learners_miscoordinate_on_climbing():
    reached = [
        independent_q_learning("climbing", steps=3000, seed=s).greedy_return() for s in range(8)
    ]
    assert max(reached) < 11.0  # the optimum (0, 0) is never found


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(steps=0), "steps"),
        (dict(alpha=0.0), "alpha"),
        (dict(epsilon_finish=1.5), "epsilon_finish"),
        (dict(epsilon_start=[1.0, 1.0, 1.0]), "one per agent"),
        (dict(anneal_steps=0), "anneal_steps"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        independent_q_learning("climbing", **kwargs)


def test_additive_payoff_is_fitted_exactly():
    payoff = np.array([1.0, -2.0, 0.5])[:, None] + np.array([3.0, 0.0, 4.0])[None, :]
    fit = additive_fit(payoff)
    np.testing.assert_allclose(fit.fit, payoff, atol=1e-10)
    assert fit.max_abs_residual < 1e-10
    assert fit.greedy_joint_action() == (0, 2)


def test_two_agent_closed_form_and_the_two_step_table():
    fit = additive_fit(CLIMBING)
    closed = CLIMBING.mean(1, keepdims=True) + CLIMBING.mean(0, keepdims=True) - CLIMBING.mean()
    np.testing.assert_allclose(fit.fit, closed, atol=1e-10)
    np.testing.assert_allclose(
        additive_fit([[0, 1], [1, 8]]).fit, [[-1.5, 2.5], [2.5, 6.5]], atol=1e-10
    )


def test_three_agent_closed_form():
    rng = np.random.default_rng(0)
    payoff = rng.normal(size=(3, 3, 3))
    grand = payoff.mean()
    closed = (
        payoff.mean(axis=(1, 2))[:, None, None]
        + payoff.mean(axis=(0, 2))[None, :, None]
        + payoff.mean(axis=(0, 1))[None, None, :]
        - 2 * grand
    )
    fit = additive_fit(payoff)
    np.testing.assert_allclose(fit.fit, closed, atol=1e-10)
    u0, u1, u2 = fit.utilities
    total = u0[:, None, None] + u1[None, :, None] + u2[None, None, :]
    np.testing.assert_allclose(total, fit.fit, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    payoff=arrays(np.float64, (3, 3), elements=st.floats(-20, 20)),
    weights=arrays(np.float64, (3, 3), elements=st.floats(0.1, 10)),
)
def test_weighted_fit_satisfies_the_normal_equations(payoff, weights):
    fit = additive_fit(payoff, weights)
    weighted = weights * fit.residual
    # no change to one agent's utility for one action can reduce the weighted error
    np.testing.assert_allclose(weighted.sum(axis=1), 0.0, atol=1e-7)
    np.testing.assert_allclose(weighted.sum(axis=0), 0.0, atol=1e-7)
    np.testing.assert_allclose(fit.fit, fit.utilities[0][:, None] + fit.utilities[1][None, :])


def test_heavy_weight_pins_the_fit_to_that_cell():
    heavy = np.ones((3, 3))
    heavy[0, 0] = 1e6
    fit = additive_fit(CLIMBING, heavy)
    assert fit.fit[0, 0] == pytest.approx(11.0, abs=1e-3)
    assert fit.greedy_joint_action() != additive_fit(CLIMBING).greedy_joint_action()


def test_bad_weights():
    with pytest.raises(ValueError, match="shape"):
        additive_fit(CLIMBING, np.ones((2, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        additive_fit(CLIMBING, -np.ones((3, 3)))
