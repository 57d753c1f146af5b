"""The batched simple_spread replays mpe2 (through MultiAgentEnv) step for step.

Both are driven from the same seeds with the same random joint actions for whole episodes;
observations, states, masks, team rewards and endings must agree to float tolerance.
"""

import math
import signal

import numpy as np
import pytest
import torch
from history_helpers import assert_same_history

from qmix_tut import Config, train
from qmix_tut.agents import MLPAgent, RNNAgent, agent_input_dim
from qmix_tut.envs import MultiAgentEnv, make
from qmix_tut.envs.batched import BatchedSimpleSpread, has_batched, make_batched
from qmix_tut.runner import EpisodeRunner
from qmix_tut.train import Trainer

TOL = 1e-5  # absolute, for the float32 arrays
REWARD_TOL = 1e-9  # absolute, for the float64 team rewards


def replay(kwargs: dict, n_envs: int, n_episodes: int, seed: int) -> dict:
    """Play ``n_episodes`` rounds in both; the largest differences seen, and what happened."""
    reference = [make("mpe:simple_spread", **kwargs) for _ in range(n_envs)]
    batched = make_batched("mpe:simple_spread", n_envs, **kwargs)
    assert batched is not None
    for attr in ("n_agents", "n_actions", "obs_dim", "state_dim", "episode_limit"):
        assert getattr(batched, attr) == getattr(reference[0], attr), attr
    assert batched.info() == {**reference[0].info(), "name": "mpe:simple_spread"}
    rng = np.random.default_rng(seed)
    worst = {"obs": 0.0, "state": 0.0, "avail": 0.0, "reward": 0.0}
    seen = {"steps": 0, "collisions": 0, "truncations": 0}

    def compare(ref_arrays, got_arrays):
        for key, ref, got in zip(("obs", "state", "avail"), ref_arrays, got_arrays, strict=True):
            ref = np.stack(ref)
            assert got.shape == ref.shape and got.dtype == ref.dtype == np.float32, key
            worst[key] = max(worst[key], float(np.abs(got - ref).max()))

    for _ in range(n_episodes):
        seeds = [int(s) for s in rng.integers(0, 2**31, n_envs)]
        starts = [env.reset(seed=s) for env, s in zip(reference, seeds, strict=True)]
        compare(zip(*starts, strict=True), batched.reset(seeds))
        for t in range(batched.episode_limit):
            actions = rng.integers(0, batched.n_actions, (n_envs, batched.n_agents))
            steps = [env.step(a) for env, a in zip(reference, actions, strict=True)]
            obs, state, avail, reward, terminated, truncated = batched.step(actions)
            compare(list(zip(*steps, strict=True))[:3], (obs, state, avail))
            ref_reward = np.array([s[3] for s in steps])
            assert reward.shape == (n_envs,) and reward.dtype == np.float64
            worst["reward"] = max(worst["reward"], float(np.abs(reward - ref_reward).max()))
            np.testing.assert_array_equal(terminated, [s[4] for s in steps])
            np.testing.assert_array_equal(truncated, [s[5] for s in steps])
            seen["steps"] += n_envs
            # agents paid differently in one step: someone collided (local_ratio > 0)
            seen["collisions"] += sum(np.ptp(s[6]["agent_rewards"]) > 0 for s in steps)
            seen["truncations"] += int(truncated.sum())
            if truncated.any():
                assert truncated.all() and t + 1 == batched.episode_limit
                with pytest.raises(RuntimeError, match="episode has ended"):
                    batched.step(actions)
    assert max(worst["obs"], worst["state"], worst["avail"]) <= TOL, worst
    assert worst["reward"] <= REWARD_TOL, worst
    return {"worst": worst, **seen}


@pytest.mark.parametrize(
    "kwargs, n_envs",
    [
        ({}, 8),
        ({"N": 2, "local_ratio": 0.0}, 4),
        ({"N": 4, "local_ratio": 0.8, "max_cycles": 30}, 4),
        ({"N": 3, "max_cycles": 25, "episode_limit": 10, "reward": "mean"}, 3),
    ],
    ids=["default", "N2-global-only", "N4-local-0.8", "limit10-mean"],
)
def test_batched_spread_replays_mpe2(kwargs, n_envs, record_property):
    result = replay(kwargs, n_envs, n_episodes=3, seed=len(kwargs))
    record_property("largest_difference", result["worst"])
    limit = make_batched("mpe:simple_spread", 1, **kwargs).episode_limit
    assert result["steps"] == 3 * n_envs * limit
    assert result["truncations"] == 3 * n_envs  # every episode ends once, at its limit
    if kwargs.get("local_ratio", 0.5) > 0 and kwargs.get("N", 3) >= 3:
        assert result["collisions"] > 0, "the replay never exercised the contact forces"


def test_collisions_push_agents_as_mpe2_does():
    # two agents started on top of each other's reach: the contact force dominates
    reference = make("mpe:simple_spread", N=2)
    batched = BatchedSimpleSpread(1, N=2)
    for seed in range(200):  # find a start where the two agents overlap
        obs, _, _ = reference.reset(seed=seed)
        if np.hypot(*obs[0, 8:10]) < 0.3:
            break
    else:
        pytest.fail("no overlapping start found")
    batched.reset([seed])
    for _ in range(5):
        ref = reference.step([0, 0])
        got = batched.step(np.zeros((1, 2), np.int64))
        np.testing.assert_allclose(got[0][0], ref[0], atol=TOL, rtol=0)
        np.testing.assert_allclose(got[3][0], ref[3], atol=REWARD_TOL, rtol=0)
    assert np.abs(ref[0][:, :2]).max() > 0  # they moved apart without acting


def test_unseeded_reset_goes_on_with_each_environments_generator():
    reference = [make("mpe:simple_spread") for _ in range(2)]
    batched = BatchedSimpleSpread(2)
    batched.reset([5, 6])
    for env, s in zip(reference, [5, 6], strict=True):
        env.reset(seed=s)
    obs, _, _ = batched.reset([None, None])
    ref = np.stack([env.reset()[0] for env in reference])
    np.testing.assert_array_equal(obs, ref)


def test_fewer_environments_than_built():
    batched = BatchedSimpleSpread(4)
    obs, state, avail = batched.reset([1, 2])
    assert obs.shape == (2, 3, 18) and state.shape == (2, 54) and avail.shape == (2, 3, 5)
    assert batched.step(np.zeros((2, 3), np.int64))[3].shape == (2,)
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        batched.step(np.zeros((4, 3), np.int64))


def test_factory_knows_only_simple_spread():
    assert has_batched("mpe:simple_spread")
    for name in ("two_step", "mpe:simple_reference", "lbf:Foraging-8x8-2p-2f-coop-v3"):
        assert not has_batched(name) and make_batched(name, 4) is None
    assert make_batched("mpe:simple_spread", 2, render_mode=None).n_envs == 2


def test_bad_input_is_named():
    batched = BatchedSimpleSpread(2)
    with pytest.raises(RuntimeError, match="reset"):
        batched.step(np.zeros((2, 3), np.int64))
    batched.reset([0, 1])
    with pytest.raises(ValueError, match=r"shape \(2, 3\) \[E, n_agents\], got shape \(3,\)"):
        batched.step([0, 1, 2])
    with pytest.raises(ValueError, match="agent 2 of environment 1 chose action 5"):
        batched.step([[0, 0, 0], [0, 0, 5]])
    with pytest.raises(ValueError, match="out of range"):
        batched.step([[-1, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="integers"):
        batched.step(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="between 1 and n_envs=2"):
        batched.reset([0, 1, 2])
    with pytest.raises(ValueError, match="seed 0"):
        batched.reset([-1, 1])
    with pytest.raises(ValueError, match="'continuous_actions'"):
        make_batched("mpe:simple_spread", 2, continuous_actions=True)
    with pytest.raises(ValueError, match="render_mode"):
        make_batched("mpe:simple_spread", 2, render_mode="rgb_array")
    with pytest.raises(ValueError, match="local_ratio"):
        make_batched("mpe:simple_spread", 2, local_ratio=1.5)
    with pytest.raises(ValueError, match="N must be a positive integer"):
        make_batched("mpe:simple_spread", 2, N=0)
    with pytest.raises(ValueError, match="n_envs"):
        make_batched("mpe:simple_spread", 0)
    with pytest.raises(ValueError, match="reward"):
        make_batched("mpe:simple_spread", 2, reward="max")


# -- the runner and training on the batched env ----------------------------------------------
@pytest.fixture(autouse=True)
def one_torch_thread():
    """One thread, as training runs: many threads only contend on a small machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    "selection, epsilon", [("epsilon_greedy", 0.0), ("epsilon_greedy", 0.3), ("policy", 0.2)]
)
def test_runner_collects_the_same_episodes_from_batched_and_mpe2(selection, epsilon):
    reference = [make("mpe:simple_spread", N=4) for _ in range(4)]
    batched = make_batched("mpe:simple_spread", 4, N=4)
    e = reference[0]
    torch.manual_seed(0)
    agent = RNNAgent(agent_input_dim(e.obs_dim, e.n_actions, e.n_agents), e.n_actions)
    seeds = [11, 12, 13, 14]
    for n_envs in (4, 3):  # all environments, then fewer (as evaluation plays them)
        runs = []
        for envs in (reference, batched):
            runner = EpisodeRunner(
                envs, agent, generator=torch.Generator().manual_seed(5), action_selection=selection
            )
            runs.append(runner.run(epsilon, seeds[:n_envs], n_envs=n_envs))
        (ref, ref_stats), (got, got_stats) = runs
        assert sorted(got) == sorted(ref)
        for key in ref:
            assert got[key].shape == ref[key].shape and got[key].dtype == ref[key].dtype, key
            torch.testing.assert_close(got[key], ref[key], rtol=0, atol=1e-5, msg=key)
        assert ref_stats["steps"] == got_stats["steps"] == n_envs * 25
        np.testing.assert_array_equal(got_stats["lengths"], ref_stats["lengths"])
        np.testing.assert_allclose(got_stats["returns"], ref_stats["returns"], rtol=0, atol=1e-9)


def test_trainer_uses_the_batched_env_unless_asked_not_to():
    cfg = Config.preset("simple_spread", total_steps=200, num_envs=2, eval_episodes=3)
    assert cfg.batched_env
    trainer = Trainer(cfg)
    assert isinstance(trainer.envs, BatchedSimpleSpread) and trainer.envs.n_envs == 2
    assert isinstance(trainer.eval_envs, BatchedSimpleSpread) and trainer.eval_envs.n_envs == 3
    plain = Trainer(cfg.replace(batched_env=False))
    assert len(plain.envs) == 2 and all(isinstance(env, MultiAgentEnv) for env in plain.envs)
    # a task without a batched version trains on its own envs whatever the field says
    two_step = Trainer(Config.preset("two_step_paper", num_envs=2))
    assert all(isinstance(env, MultiAgentEnv) for env in two_step.envs)
    with pytest.raises(ValueError, match="batched_env=False"):
        Trainer(cfg.replace(env_kwargs={"render_mode": "rgb_array"}))


@pytest.mark.slow
def test_training_on_the_batched_env_learns_and_resumes_exactly(tmp_path):
    cfg = Config.preset(
        "simple_spread",
        total_steps=3000,
        eval_interval=1000,
        eval_episodes=4,
        checkpoint_interval=1000,
        threads=1,
        batched_env=True,
    )
    straight = train(cfg, progress=False)
    last = straight.history[-1]
    assert last["env_steps"] == 3000 and math.isfinite(last["loss"])
    assert math.isfinite(last["eval_return"])

    def interrupt_after_second_evaluation(row, count=[0]):  # noqa: B006 - a call counter
        count[0] += 1
        if count[0] == 2:
            signal.raise_signal(signal.SIGINT)

    stopped = train(
        cfg, progress=False, run_dir=tmp_path, callback=interrupt_after_second_evaluation
    )
    assert stopped.interrupted and stopped.history[-1]["env_steps"] < 3000
    resumed = train(cfg, resume_from=tmp_path, progress=False)
    assert_same_history(resumed.history, straight.history)
    for k, v in straight.agent_state.items():
        torch.testing.assert_close(resumed.agent_state[k], v, rtol=0, atol=0)


def test_runner_refuses_a_batched_env_whose_episodes_end_apart():
    class EndsApart(BatchedSimpleSpread):
        def step(self, actions):
            out = list(super().step(actions))
            out[5] = np.arange(len(out[5])) == 0  # only the first episode is truncated
            return tuple(out)

    env = EndsApart(2)
    agent = MLPAgent(agent_input_dim(env.obs_dim, env.n_actions, env.n_agents), env.n_actions)
    with pytest.raises(RuntimeError, match="ended 1 of 2 episodes at step 1"):
        EpisodeRunner(env, agent).run(1.0, [0, 1])
