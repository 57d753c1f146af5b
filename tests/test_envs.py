"""The environment layer: the package's own games, the adapters and the uniform view."""

import itertools

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from qmix_tut.envs import (
    MatrixGame,
    MemoryGame,
    MultiAgentEnv,
    TwoStepGame,
    list_envs,
    make,
)
from qmix_tut.envs.games import NAMED_MATRIX_GAMES

CLIMBING = [[11, -30, 0], [-30, 7, 6], [0, 0, 5]]
QTRAN = [[8, -12, -12], [-12, 0, 0], [-12, 0, 0]]


# -- the package's own games ---------------------------------------------------------------
@pytest.mark.parametrize(
    "game",
    [
        MatrixGame.named("climbing"),
        MatrixGame.named("penalty"),
        MatrixGame.named("qtran"),
        MatrixGame(np.arange(8.0).reshape(2, 2, 2), name="three_agents"),
        TwoStepGame(),
        MemoryGame(),
        MemoryGame(n_agents=3, n_cues=3, length=5),
    ],
    ids=lambda g: g.name + str(len(g.possible_agents)),
)
def test_games_pass_the_pettingzoo_parallel_api_test(game):
    parallel_api_test(game, num_cycles=50)


@pytest.mark.parametrize(
    "name, table",
    [
        ("climbing", CLIMBING),
        ("penalty", [[-100, 0, 10], [0, 2, 0], [10, 0, -100]]),
        ("qtran", QTRAN),
    ],
)
def test_matrix_games_pay_their_table(name, table):
    env = make(f"matrix:{name}")
    for joint in itertools.product(range(3), repeat=2):
        obs, state, avail = env.reset(seed=0)
        assert obs.shape == (2, 1) and state.shape == (1,) and avail.shape == (2, 3)
        assert avail.all()
        _, _, _, reward, terminated, truncated, _ = env.step(list(joint))
        assert reward == table[joint[0]][joint[1]]
        assert terminated and not truncated  # a one-step game really ends


def test_penalty_k_and_custom_payoff_for_three_agents():
    assert make("matrix:penalty", k=-7).env.payoff[0, 0] == -7
    payoff = np.arange(27.0).reshape(3, 3, 3)
    env = make("matrix", payoff=payoff)
    assert (env.n_agents, env.n_actions) == (3, 3)
    env.reset()
    assert env.step([2, 1, 0])[3] == payoff[2, 1, 0]


def test_two_step_game_matches_the_paper():
    env = make("two_step")
    for a1, b0, b1 in itertools.product(range(2), repeat=3):
        for a2 in range(2):  # agent 2's first action has no effect
            obs, state, _ = env.reset(seed=0)
            np.testing.assert_array_equal(state, [1, 0, 0])
            obs, state, _, reward, terminated, truncated, _ = env.step([a1, a2])
            assert reward == 0 and not terminated and not truncated
            np.testing.assert_array_equal(state, [0, 1, 0] if a1 == 0 else [0, 0, 1])
            np.testing.assert_array_equal(obs, np.stack([state, state]))  # each agent sees it
            _, _, _, reward, terminated, truncated, _ = env.step([b0, b1])
            expected = 7 if a1 == 0 else [[0, 1], [1, 8]][b0][b1]
            assert reward == expected and terminated and not truncated


def test_memory_game_needs_the_cue_from_the_first_step():
    env = make("memory", length=4)
    cues = []
    for seed in range(20):
        obs, state, avail = env.reset(seed=seed)
        cue = int(np.argmax(obs[0, :2]))
        cues.append(cue)
        for _t in range(3):
            assert avail[:, 1].sum() == 0  # only action 0 before the last step
            obs, state, avail, reward, terminated, truncated, _ = env.step([0, 0])
            assert not obs[:, :2].any(), "the cue is shown only at t=0"
            assert state[cue] == 1, "the state always shows the cue"
            assert reward == 0
        assert avail.all()
        _, _, _, reward, terminated, truncated, _ = env.step([cue, cue])
        assert reward == 1 and terminated and not truncated
    assert set(cues) == {0, 1}
    env.reset(seed=3)
    for _ in range(3):
        env.step([0, 0])
    cue = int(np.argmax(env.reset(seed=3)[0][0, :2]))
    for _ in range(3):
        env.step([0, 0])
    assert env.step([cue, 1 - cue])[3] == 0  # one agent wrong: nobody is paid


@pytest.mark.parametrize("name", ["memory", "mpe:simple_spread", "lbf:Foraging-8x8-2p-2f-coop-v3"])
def test_seeding_is_reproducible(name):
    def rollout(seed):
        env = make(name)
        rng = np.random.default_rng(0)
        obs, state, avail = env.reset(seed=seed)
        out = [obs.copy()]
        for _ in range(5):
            acts = [int(rng.choice(np.flatnonzero(row))) for row in avail]
            obs, state, avail, reward, terminated, truncated, _ = env.step(acts)
            out += [obs.copy(), np.array([reward])]
            if terminated or truncated:
                obs, state, avail = env.reset()
        return out

    a, b, c = rollout(1), rollout(1), rollout(2)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))


# -- adapters ------------------------------------------------------------------------------
def test_simple_spread_shapes_reward_and_truncation():
    env = make("mpe:simple_spread", max_cycles=7)
    assert (env.n_agents, env.n_actions, env.obs_dim, env.episode_limit) == (3, 5, 18, 7)
    obs, state, avail = env.reset(seed=0)
    assert obs.shape == (3, 18) and state.shape == (env.state_dim,) and avail.shape == (3, 5)
    assert obs.dtype == state.dtype == avail.dtype == np.float32
    for t in range(7):
        obs, state, avail, reward, terminated, truncated, info = env.step([t % 5] * 3)
        np.testing.assert_allclose(reward, info["agent_rewards"].sum(), rtol=1e-5)
        assert not terminated, "a time limit is never a termination"
        assert truncated == (t == 6)
    mean_env = make("mpe:simple_spread", max_cycles=7, reward="mean")
    mean_env.reset(seed=0)
    env.reset(seed=0)
    r_sum, r_mean = env.step([1, 2, 3])[3], mean_env.step([1, 2, 3])[3]
    assert r_mean == pytest.approx(r_sum / 3, rel=1e-5)
    assert make("mpe:simple_spread", N=4).n_agents == 4


def test_simple_spread_renders_a_frame():
    env = make("mpe:simple_spread", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 0
    env.close()
    with pytest.raises(RuntimeError, match="render_mode"):
        make("two_step").render()


def test_lbf_shapes_reward_and_truncation():
    env = make("lbf:Foraging-8x8-2p-2f-coop-v3", max_episode_steps=10)
    assert (env.n_agents, env.n_actions, env.episode_limit) == (2, 6, 10)
    obs, state, avail = env.reset(seed=0)
    assert obs.shape == (2, env.obs_dim) and state.shape == (env.state_dim,)
    assert avail.shape == (2, 6) and avail.any(axis=1).all()
    rng = np.random.default_rng(0)
    for t in range(10):
        acts = [int(rng.choice(np.flatnonzero(row))) for row in avail]
        obs, state, avail, reward, terminated, truncated, info = env.step(acts)
        assert reward >= 0 and reward == pytest.approx(float(info["agent_rewards"].sum()))
        if terminated:  # every food eaten: a real ending
            assert not truncated
            break
        assert truncated == (t == 9)


def test_lbf_pays_when_the_team_loads_food():
    env = make("lbf:Foraging-8x8-2p-2f-coop-v3")
    rng = np.random.default_rng(1)
    total = 0.0
    env.reset(seed=0)
    for _ in range(40):  # random play collects food now and then
        obs, state, avail = env.reset()
        done = False
        while not done:
            acts = [int(rng.choice(np.flatnonzero(row))) for row in avail]
            obs, state, avail, reward, terminated, truncated, _ = env.step(acts)
            total += reward
            done = terminated or truncated
    assert total > 0


# -- bad input -----------------------------------------------------------------------------
def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError) as err:
        make("starcraft")
    for name in ("two_step", "matrix:climbing", "memory", "mpe:simple_spread", "lbf:"):
        assert name in str(err.value)
    with pytest.raises(ValueError, match="named games: climbing"):
        make("matrix:nosuchgame")
    with pytest.raises(ValueError, match="Foraging"):
        make("lbf:NotAForagingId-v0")
    with pytest.raises(ValueError, match="does not take the argument 'speed'"):
        make("two_step", speed=3)
    with pytest.raises(ValueError, match="reward must be one of"):
        make("two_step", reward="max")
    assert set(list_envs()) >= {"two_step", "matrix:climbing", "matrix:penalty", "matrix:qtran"}
    for name in list_envs():
        make(name).close()


@pytest.mark.parametrize(
    "actions, message",
    [
        ([0, 2], "agent 1 chose action 2, which is out of range"),
        ([-1, 0], "agent 0 chose action -1"),
        ([0], "expected one action per agent"),
        ([0.5, 1.0], "actions must be integers"),
    ],
)
def test_bad_actions_name_the_agent_and_action(actions, message):
    env = make("two_step")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(actions)
    env.step([1, 1])  # the env was left untouched by the refused action
    assert env.step([1, 1])[3] == 8


def test_unavailable_action_is_refused_everywhere():
    env = make("memory")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="agent 1 chose action 1, which is not available"):
        env.step([0, 1])
    env.step([0, 0])  # the refused action left the env as it was


@pytest.mark.parametrize(
    "payoff, message",
    [
        ([1, 2, 3], "at least 2 agents"),
        ([[1, 2, 3], [4, 5, 6]], "same number of actions"),
        ([[1, np.nan], [0, 1]], "finite"),
        ([[1, "x"], [0, 1]], "rectangular array of numbers"),
        ([[1, 2j], [0, 1]], "real numbers, got complex"),
        (np.array([[1, 0], [0, 1]], dtype=complex), "real numbers, got complex"),
        ([[True, False], [False, True]], "got booleans"),
        ("[[1, 0], [0, 1]]", "got the string"),
        ([[1, 2], [3]], "rectangular array of numbers"),
    ],
)
def test_bad_payoff_refused_at_construction(payoff, message):
    with pytest.raises(ValueError, match=message):
        MatrixGame(payoff)
    with pytest.raises(ValueError, match=message):
        make("matrix", payoff=payoff)


def test_step_before_reset_and_after_the_end():
    env = make("matrix:climbing")
    with pytest.raises(RuntimeError, match="reset"):
        env.step([0, 0])
    env.reset()
    env.step([0, 0])
    with pytest.raises(RuntimeError, match="episode has ended"):
        env.step([0, 0])


def test_uniform_view_of_any_parallel_env():
    env = MultiAgentEnv(TwoStepGame(), name="mine")
    assert env.info() == {
        "name": "mine", "n_agents": 2, "n_actions": 2, "obs_dim": 3, "state_dim": 3,
        "episode_limit": 2,
    }  # fmt: skip
    assert set(NAMED_MATRIX_GAMES) >= {"climbing", "penalty", "qtran"}


def test_lbf_scales_observations_onto_minus_one_to_one():
    scaled = make("lbf:Foraging-8x8-2p-2f-coop-v3")
    raw = make("lbf:Foraging-8x8-2p-2f-coop-v3", scale_obs=False)
    obs, state, _ = scaled.reset(seed=4)
    raw_obs, raw_state, _ = raw.reset(seed=4)
    assert obs.min() >= -1 and obs.max() <= 1 and state.min() >= -1 and state.max() <= 1
    # raw entries are grid coordinates -1..7 and levels 0..4 (or 0..2): the map is affine
    assert set(np.unique(raw_obs[:, :2])) <= set(range(-1, 8))
    np.testing.assert_allclose(obs[:, 0], (raw_obs[:, 0] + 1) / 8 * 2 - 1, atol=1e-6)
    np.testing.assert_allclose(state.reshape(2, -1), obs, atol=1e-6)
    with pytest.raises(ValueError, match="scale_obs must be True or False"):
        make("lbf:Foraging-8x8-2p-2f-coop-v3", scale_obs="yes")


def test_one_payoff_check_everywhere():
    from qmix_tut.tabular import payoff_of
    from qmix_tut.widgets.lab import _square_payoff

    for fn in (payoff_of, _square_payoff, MatrixGame):
        with pytest.raises(ValueError, match="real numbers, got complex"):
            fn([[1, 2j], [0, 1]])
    with pytest.raises(ValueError, match="one axis per agent \\(2 agents\\)"):
        _square_payoff(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="at least 2 actions"):
        _square_payoff([[1.0]])


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("lbf:Foraging-8x8-2p-2f-coop-v3", {"penalty": float("nan")}, "penalty must be finite"),
        ("lbf:Foraging-8x8-2p-2f-coop-v3", {"penalty": "0.1"}, "penalty must be a number"),
        ("lbf:Foraging-8x8-2p-2f-coop-v3", {"penalty": -1}, "at least 0"),
        ("lbf:Foraging-8x8-2p-2f-coop-v3", {"normalize_reward": 1}, "True or False"),
        ("lbf:Foraging-8x8-2p-2f-coop-v3", {"observe_agent_levels": "no"}, "True or False"),
        ("mpe:simple_reference", {"max_cycles": 0}, "max_cycles must be a positive integer"),
        ("mpe:simple_reference", {"local_ratio": float("nan")}, "local_ratio must be a number"),
        ("mpe:simple_line", {"N": "3"}, "N must be a positive integer"),
        ("mpe:simple_line", {"render_mode": "svg"}, "render_mode must be"),
        ("mpe:simple_spread", {"local_ratio": 2}, "local_ratio must be in"),
        ("two_step", {"reward": "max"}, "reward must be one of"),
        ("two_step", {"episode_limit": 0}, "episode_limit must be a positive integer"),
    ],
)
def test_environment_arguments_are_checked_at_make(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(name, **kwargs)


def test_lbf_accepts_a_valid_penalty():
    assert make("lbf:Foraging-8x8-2p-2f-coop-v3", penalty=0.25).env._game.penalty == 0.25
