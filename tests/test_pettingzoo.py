"""Bring your own PettingZoo env: the wrapper's conventions, names, training and resume.

The tiny envs live in tests/envs_fixture.py and are named ``"envs_fixture:<function>"``
(pytest puts this folder on the import path, as ``python -m`` does for the current one).
"""

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces
from history_helpers import assert_same_history

from qmix_tut import Config, train
from qmix_tut.envs import from_pettingzoo, list_envs, make, register, unregister
from qmix_tut.envs.core import find_episode_limit

HERE = Path(__file__).parent
KAZ = "pettingzoo.butterfly.knights_archers_zombies_v11"


def _random_episode(env, rng, seed=None):
    obs, state, avail = env.reset(seed=seed)
    rows, done = [(obs, state, avail, None)], False
    while not done:
        actions = [int(rng.choice(np.flatnonzero(row))) for row in avail]
        obs, state, avail, reward, terminated, truncated, info = env.step(actions)
        rows.append((obs, state, avail, (actions, reward, terminated, truncated, info)))
        done = terminated or truncated
    return rows


# -- observations, masks, state ------------------------------------------------------------
def test_dict_and_multi_dimensional_observations_are_flattened_in_the_documented_order():
    from pettingzoo.utils.env import ParallelEnv

    space = spaces.Dict(
        {"velocity": spaces.Box(-1, 1, (2, 2), np.float32), "kind": spaces.Discrete(3)}
    )

    class DictEnv(ParallelEnv):
        metadata = {"name": "dict_env"}
        possible_agents = ["a", "b"]
        max_cycles = 3

        def observation_space(self, agent):
            return space

        def action_space(self, agent):
            return spaces.Discrete(2)

        def _obs(self):
            v = np.arange(4, dtype=np.float32).reshape(2, 2)
            return {a: {"velocity": v + i, "kind": i + 1} for i, a in enumerate(self.agents)}

        def reset(self, seed=None, options=None):
            self.agents = list(self.possible_agents)
            return self._obs(), {a: {} for a in self.agents}

        def step(self, actions):
            return self._obs(), {a: 1.0 for a in self.agents}, {}, {}, {}

    env = from_pettingzoo(DictEnv())
    assert env.obs_dim == 3 + 4 and env.state_source == "observations" and env.state_dim == 14
    obs, state, _ = env.reset()
    # gymnasium sorts a plain dict's keys: "kind" (one-hot of 3) before "velocity" (row-major)
    np.testing.assert_array_equal(obs[0], [0, 1, 0, 0, 1, 2, 3])
    np.testing.assert_array_equal(obs[1], [0, 0, 1, 1, 2, 3, 4])
    np.testing.assert_array_equal(state, obs.ravel())


def test_multi_dimensional_box_of_a_real_env_is_read_row_major():
    env = make(KAZ, max_cycles=20)
    assert env.agent_sizes()[0] == ("archer_0", 27 * 5, 6) and env.obs_dim == 135
    obs, state, _ = env.reset(seed=0)
    raw = env.env.unwrapped.observe("archer_0")
    np.testing.assert_allclose(obs[0], np.asarray(raw, np.float32).ravel())
    assert env.state_source == "env.state()" and state.shape == (env.state_dim,)


def test_masks_come_from_the_observation_dict_and_are_enforced():
    env = make("envs_fixture:masked_choice")
    obs, _, avail = env.reset(seed=0)
    raw_masks = [env.env._masks[a] for a in env.agents]
    np.testing.assert_array_equal(avail, np.stack(raw_masks))
    np.testing.assert_array_equal(obs[:, :4], avail)  # the mask is also observed
    assert env.mask_source == "observation" and env.state_source == "observations"
    banned = int(np.flatnonzero(avail[0] == 0)[0]) if (avail[0] == 0).any() else None
    if banned is not None:
        with pytest.raises(ValueError, match=f"agent 0 chose action {banned}, which is not"):
            env.step([banned, int(np.flatnonzero(avail[1])[0])])


def test_a_real_turn_based_game_with_masks_never_sees_an_illegal_move():
    # PettingZoo's tic-tac-toe as a parallel env: the player not on turn has an all-zero
    # mask, so it takes no action; an illegal move would end the game with a -1 penalty
    env = make("envs_fixture:tictactoe", episode_limit=9)
    rng = np.random.default_rng(0)
    obs, _, avail = env.reset(seed=0)
    np.testing.assert_array_equal(avail[1], [1] + [0] * 8)  # player_2 waits: placeholder
    for episode in range(30):
        rows = _random_episode(env, rng, seed=episode)
        steps = [r[3] for r in rows[1:]]
        assert all(s[4]["acted"].sum() == 1 for s in steps), "one player moves at a time"
        assert sum(s[1] for s in steps) == 0  # no illegal move: zero-sum, no penalty
        assert steps[-1][2] and not steps[-1][3] and len(steps) <= 9


def test_heterogeneous_team_is_padded_and_masked():
    env = make("mpe:simple_speaker_listener")
    assert env.agent_sizes() == [("speaker_0", 3, 3), ("listener_0", 11, 5)]
    assert (env.obs_dim, env.n_actions, env.state_dim, env.heterogeneous) == (11, 5, 14, True)
    obs, state, avail = env.reset(seed=1)
    assert not obs[0, 3:].any() and obs[1].any()
    np.testing.assert_array_equal(avail, [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    with pytest.raises(ValueError, match="agent 0 chose action 4, which is not available"):
        env.step([4, 0])
    np.testing.assert_allclose(state, env.env.state())


def test_agents_leaving_early_take_no_action_and_terminate_the_team_last():
    env = make("envs_fixture:leaving_team")  # agent i leaves after 2 + i steps
    rows = _random_episode(env, np.random.default_rng(0), seed=0)
    assert len(rows) == 5  # reset + 4 steps: the last agent leaves after 4
    for t, (obs, _, avail, step) in enumerate(rows[1:], start=1):
        actions, reward, terminated, truncated, info = step
        # LeavingTeam refuses actions of agents that have left: only live ones were sent
        assert info["acted"].tolist() == [t <= 2, t <= 3, True]
        assert terminated == (t == 4) and not truncated
        for i in range(3):
            if t > 2 + i:  # gone before this step began: zeros and the placeholder
                assert not obs[i].any()
            if t >= 2 + i and t < 4:
                np.testing.assert_array_equal(avail[i], [1, 0])
    # with a limit before the last departure the remaining agents are truncated
    env = make("envs_fixture:leaving_team", limit=3)
    rows = _random_episode(env, np.random.default_rng(0), seed=0)
    *_, (actions, reward, terminated, truncated, info) = rows[-1]
    assert len(rows) == 4 and truncated and not terminated


def test_a_real_env_whose_agents_die():
    env = make(KAZ, max_cycles=300)
    rng = np.random.default_rng(0)
    left = False
    for seed in range(6):
        for _, _, avail, step in _random_episode(env, rng, seed=seed)[1:]:
            if not step[2] and not step[3] and not step[4]["acted"].all():
                left = True
                gone = ~step[4]["acted"]
                assert (avail[gone, 1:] == 0).all()
    assert left, "in six random episodes some knight or archer is killed before the end"


def test_team_reward_sum_or_mean():
    rewards = {}
    for mode in ("sum", "mean"):
        env = make("envs_fixture:leaving_team", reward=mode)
        env.reset(seed=3)
        rewards[mode] = env.step([1, 1, 1])[3]
    assert rewards["mean"] == pytest.approx(rewards["sum"] / 3)


def test_episode_limit_is_found_or_required():
    assert find_episode_limit(make("mpe:simple_reference").env)[0] == 25
    assert make(KAZ, max_cycles=40).episode_limit == 40

    class Spec:
        max_episode_steps = 17

    class WithSpec:
        spec = Spec()

    assert find_episode_limit(WithSpec()) == (17, "spec.max_episode_steps of WithSpec")
    with pytest.raises(ValueError, match=r"no time limit.*pass episode_limit=<steps>"):
        make("envs_fixture:endless")
    env = make("envs_fixture:endless", episode_limit=4)
    rows = _random_episode(env, np.random.default_rng(0))
    assert len(rows) == 5 and rows[-1][3][3] and not rows[-1][3][2]  # truncated, not ended


@pytest.mark.parametrize(
    "name, error, message",
    [
        ("envs_fixture:continuous_actions", ValueError, r"agent 'agent_0' is continuous, Box"),
        ("envs_fixture:tictactoe_aec", TypeError, "returned an AEC env"),
        ("envs_fixture:not_an_env", TypeError, "returned dict, not a PettingZoo ParallelEnv"),
        ("envs_fixture:no_such_function", ValueError, "has no 'no_such_function'"),
        ("no_such_module.sub:f", ValueError, "no module named 'no_such_module'"),
        ("mpe:simple_adversary", ValueError, "not cooperative"),
        ("mpe:simple_nothing", ValueError, "unknown mpe2 scenario"),
    ],
)
def test_environments_that_cannot_work_are_refused_clearly(name, error, message):
    with pytest.raises(error, match=message):
        make(name)


def test_observations_changing_size_name_the_agent_and_the_step():
    env = make("envs_fixture:growing_observations")
    env.reset()
    with pytest.raises(ValueError, match=r"agent 'agent_0' has 4 numbers at step 1.*one size"):
        env.step([0, 0])


def test_bad_factory_arguments_and_wrapping_twice():
    with pytest.raises(ValueError, match=r"does not accept \['speed'\].*unexpected keyword"):
        make("envs_fixture:leaving_team", speed=2)
    with pytest.raises(ValueError, match=r"does not accept \['speed'\].*it takes: n_agents"):
        make("envs_fixture:LeavingTeam", speed=2)
    with pytest.raises(ValueError, match="mpe:simple_reference does not take the argument 'N'"):
        make("mpe:simple_reference", N=3)
    with pytest.raises(TypeError, match="already a MultiAgentEnv"):
        from_pettingzoo(make("two_step"))
    with pytest.raises(TypeError, match="expected a PettingZoo ParallelEnv"):
        from_pettingzoo(object())


# -- names ---------------------------------------------------------------------------------
def test_register_list_and_unknown_names():
    from envs_fixture import LeavingTeam

    register("leaving", LeavingTeam)
    try:
        assert "leaving" in list_envs() and make("leaving", limit=5).episode_limit == 5
        with pytest.raises(ValueError, match="already registered"):
            register("leaving", lambda: LeavingTeam())
        with pytest.raises(ValueError, match="built-in name"):
            register("mpe:mine", LeavingTeam)
        with pytest.raises(TypeError, match="callable"):
            register("mine", 3)
    finally:
        unregister("leaving")
    assert "leaving" not in list_envs()
    with pytest.raises(ValueError) as err:
        make("leaving")
    for text in ("two_step", "mpe:simple_speaker_listener", "register it again", "module:function"):
        assert text in str(err.value)
    assert {"mpe:simple_reference", "mpe:simple_speaker_listener"} <= set(list_envs())
    assert "mpe:simple_adversary" not in list_envs()


# -- training and exact resume -------------------------------------------------------------
def _small(env, steps, **kwargs):
    base = dict(
        env=env, algo="qmix", agent="mlp", hidden_dim=32, mixer_embed=16, hypernet_embed=32,
        num_envs=4, total_steps=steps, eval_interval=steps // 4, eval_episodes=8,
        buffer_size=500, batch_size=32, epsilon_anneal_steps=steps // 2,
        target_update_interval=100, optimizer="adam", lr=1e-3, threads=1, device="cpu",
    )  # fmt: skip
    base.update(kwargs)
    return Config(**base)


def _interrupt_after(n):
    count = [0]

    def callback(row):
        count[0] += 1
        if count[0] == n:
            signal.raise_signal(signal.SIGINT)

    return callback


def _stop_and_resume(cfg, run_dir):
    stopped = train(cfg, progress=False, run_dir=run_dir, callback=_interrupt_after(3))
    assert stopped.interrupted and stopped.history[-1]["env_steps"] < cfg.total_steps
    return train(cfg, resume_from=run_dir, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize(
    "env, env_kwargs, steps, beats_random_by",
    [
        ("envs_fixture:masked_choice", {}, 2000, 1.5),  # random 5.4, best about 8.3
        ("envs_fixture:leaving_team", {}, 2000, 2.5),  # random 4.5, best 9
        ("mpe:simple_speaker_listener", {}, 2000, None),
        (KAZ, {"max_cycles": 100}, 1200, None),
        ("envs_fixture:tictactoe", {"episode_limit": 9}, 1000, None),
    ],
    ids=["masks-in-obs", "agents-leave", "heterogeneous-mpe", "kaz-agents-die", "tictactoe"],
)
def test_external_envs_train_and_resume_exactly(tmp_path, env, env_kwargs, steps, beats_random_by):
    long_episodes = dict(eval_episodes=2, batch_size=8) if env == KAZ else {}
    cfg = _small(env, steps, env_kwargs=env_kwargs, **long_episodes)
    straight = train(cfg, progress=False)
    assert np.isfinite(straight.history[-1]["loss"])  # the learner did update
    resumed = _stop_and_resume(cfg, tmp_path)
    assert_same_history(resumed.history, straight.history)
    if beats_random_by is not None:
        random_return = straight.history[0]["eval_return"]  # greedy on untrained weights
        envr = make(env, **env_kwargs)
        rng = np.random.default_rng(1)
        random_play = np.mean(
            [sum(r[3][1] for r in _random_episode(envr, rng, seed=s)[1:]) for s in range(50)]
        )
        final = np.mean([r["eval_return"] for r in straight.history[-2:]])
        assert final > random_play + beats_random_by, (final, random_play, random_return)


@pytest.mark.slow
def test_a_registered_name_must_be_registered_again_to_resume(tmp_path):
    from envs_fixture import LeavingTeam

    cfg = _small("team_that_leaves", 800)
    register("team_that_leaves", LeavingTeam)
    try:
        straight = train(cfg, progress=False)
        stopped = train(cfg, progress=False, run_dir=tmp_path, callback=_interrupt_after(2))
        assert stopped.interrupted
    finally:
        unregister("team_that_leaves")
    # as in a new Python process: the name is gone until it is registered again
    with pytest.raises(ValueError, match="register it again"):
        train(cfg, resume_from=tmp_path, progress=False)
    register("team_that_leaves", LeavingTeam)
    try:
        assert_same_history(
            train(cfg, resume_from=tmp_path, progress=False).history, straight.history
        )
    finally:
        unregister("team_that_leaves")


def _cli(*args, cwd=HERE):
    return subprocess.run(
        [sys.executable, "-m", "qmix_tut", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _csv_rows(path):
    with open(path) as f:
        return [{k: v for k, v in row.items() if k != "wall_seconds"} for row in csv.DictReader(f)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "env, env_kwargs, half",
    [
        ("envs_fixture:masked_choice", {}, 400),
        ("mpe:simple_speaker_listener", {}, 400),
        (KAZ, {"max_cycles": 50}, 400),
    ],
    ids=["module-function", "mpe-scenario", "pettingzoo-module"],
)
def test_command_line_trains_and_resumes_any_named_env(tmp_path, env, env_kwargs, half):
    fields = dict(
        agent="mlp", hidden_dim=32, num_envs=4, eval_episodes=2, buffer_size=200,
        eval_interval=half // 2, batch_size=8, threads=1, device="cpu",
    )  # fmt: skip
    sets = [f"{k}={v}" for k, v in fields.items()]
    if env_kwargs:
        sets.append(f"env_kwargs={json.dumps(env_kwargs)}")
    flags = [x for s in sets for x in ("--set", s)]
    run = _cli("train", "--env", env, "--steps", str(half), "--out", str(tmp_path), "--quiet", *flags)  # fmt: skip
    assert run.returncode == 0, run.stderr
    first = _csv_rows(tmp_path / "history.csv")
    assert int(first[-1]["env_steps"]) >= half
    run = _cli("train", "--resume", str(tmp_path), "--steps", str(2 * half), "--quiet")
    assert run.returncode == 0, run.stderr
    resumed = _csv_rows(tmp_path / "history.csv")
    assert resumed[: len(first)] == first and int(resumed[-1]["env_steps"]) >= 2 * half
    if env != KAZ:  # fixed-length episodes: the first part stops exactly at `half`
        # what `train --env` starts from, as Config(env=...) does: the task's tuned preset,
        # none for these tasks
        cfg = Config(env=env, env_kwargs=env_kwargs, total_steps=2 * half, **fields)
        straight = train(cfg, progress=False).history
        assert_same_history([{k: float(v) for k, v in row.items()} for row in resumed], straight)


def test_the_exercise_reference_builds_what_the_wrapper_builds():
    from envs_fixture import MaskedChoice, tictactoe

    from qmix_tut.envs.pettingzoo import mpe_scenario
    from qmix_tut.exercises.nb08 import check_team_arrays, reference_team_arrays

    assert check_team_arrays(reference_team_arrays)
    for build, limit in ((tictactoe, 9), (MaskedChoice, None), (lambda: mpe_scenario("simple_speaker_listener"), None)):  # fmt: skip
        for seed in range(3):
            raw = build()
            observations, _ = raw.reset(seed=seed)
            env = from_pettingzoo(build(), episode_limit=limit)
            obs, _, avail = env.reset(seed=seed)
            flat, masks = [], []
            for a in env.agents:
                x = observations[a]
                masks.append(x["action_mask"] if isinstance(x, dict) else None)
                x = x["observation"] if isinstance(x, dict) else x
                flat.append(np.asarray(x, np.float32).ravel())
            counts = [n for _, _, n in env.agent_sizes()]
            want_obs, want_avail = reference_team_arrays(flat, masks, counts)
            np.testing.assert_array_equal(obs, want_obs)
            np.testing.assert_array_equal(avail, want_avail)


@pytest.mark.slow
def test_the_own_task_benchmark_runs_small(tmp_path):
    import importlib.util

    path = HERE.parent / "benchmarks" / "own_task.py"
    spec = importlib.util.spec_from_file_location("own_task", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "returns.json"
    assert module.main(["--tasks", "leaving_team", "--scale", "0.1", "--out", str(out)]) == 0
    row = json.loads(out.read_text())["tasks"]["leaving_team"]
    assert row["env_steps"] >= 600 and row["random_return"] > 0 and "command" in row
