"""Widgets of notebooks 05-06: the memory-task stepper and the TD-target explorer."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import qmix_tut.widgets as widgets
from qmix_tut import Config, train
from qmix_tut.agents import RNNAgent, agent_input_dim
from qmix_tut.buffer import EpisodeBuffer
from qmix_tut.envs import make
from qmix_tut.learner import QLearner
from qmix_tut.mixers import QMixer
from qmix_tut.runner import EpisodeRunner
from qmix_tut.widgets.drqn import (
    memory_stepper_widget,
    memory_trace,
    memory_trace_figure,
    td_target_breakdown,
    td_target_explorer,
    td_target_figure,
)


def test_names_are_reexported():
    for name in ("memory_trace", "memory_stepper_widget", "td_target_breakdown"):
        assert getattr(widgets, name) is globals()[name]


# -- notebook 05 -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def memory_runs():
    rnn = train(Config.preset("memory", total_steps=2500, eval_episodes=8), progress=False)
    mlp = train(
        Config.preset("memory", agent="mlp", total_steps=1000, eval_episodes=8), progress=False
    )
    return {"GRU": rnn, "MLP": mlp}


@pytest.mark.slow  # trains the memory task
def test_trained_recurrent_agents_recall_the_cue(memory_runs):
    for cue in (0, 1):
        trace = memory_trace(memory_runs["GRU"], cue)
        assert trace["cue"] == cue and trace["recurrent"]
        assert trace["hidden"].shape == (4, 2, 64) and trace["q"].shape == (4, 2, 2)
        # only the first observation shows the cue
        assert trace["obs"][0, :, cue].tolist() == [1.0, 1.0]
        assert trace["obs"][1:, :, :2].sum() == 0
        assert trace["actions"][-1].tolist() == [cue, cue] and trace["return"] == 1.0
        # before the last step only action 0 is available, and greedy play respects that
        assert (trace["actions"][:-1] == 0).all() and (trace["avail"][:-1, :, 1] == 0).all()


@pytest.mark.slow  # trains the memory task
def test_wiping_the_memory_makes_the_last_step_blind(memory_runs):
    wiped = [memory_trace(memory_runs["GRU"], cue, wipe_before=1) for cue in (0, 1)]
    np.testing.assert_allclose(wiped[0]["q"][-1], wiped[1]["q"][-1], rtol=0, atol=1e-6)
    kept = [memory_trace(memory_runs["GRU"], cue) for cue in (0, 1)]
    assert np.abs(kept[0]["q"][-1] - kept[1]["q"][-1]).max() > 0.1
    # a feed-forward agent sees the same last observation whatever the cue
    mlp = [memory_trace(memory_runs["MLP"], cue) for cue in (0, 1)]
    assert mlp[0]["hidden"] is None and not mlp[0]["recurrent"]
    np.testing.assert_allclose(mlp[0]["q"][-1], mlp[1]["q"][-1], rtol=0, atol=0)


def test_memory_trace_equals_the_learner_unrolling_the_whole_episode():
    env = make("memory")
    torch.manual_seed(3)
    agent = RNNAgent(agent_input_dim(env.obs_dim, env.n_actions, env.n_agents), env.n_actions)
    trace = memory_trace(agent, cue=1)
    batch = {
        "obs": torch.as_tensor(trace["obs"])[None],
        "actions": torch.as_tensor(trace["actions"][:-1])[None],
    }
    learner = QLearner(agent, None, n_actions=env.n_actions)
    inputs = learner.agent_inputs(batch)
    q = QLearner.episode_q_values(agent, inputs)[0].detach().numpy()
    np.testing.assert_allclose(q, trace["q"], rtol=0, atol=1e-5)


def test_memory_trace_validates():
    with pytest.raises(ValueError, match="cue"):
        memory_trace(RNNAgent(10, 2), cue=5)
    with pytest.raises(ValueError, match="wipe_before"):
        memory_trace(RNNAgent(10, 2), cue=0, wipe_before=7)
    result = train(Config.preset("two_step_paper", total_steps=40), progress=False)
    with pytest.raises(ValueError, match="'memory'"):
        memory_trace(result)


@pytest.mark.slow  # trains the memory task
def test_memory_trace_figure(memory_runs):
    fig = memory_trace_figure(memory_trace(memory_runs["GRU"], 1), step=0)
    assert isinstance(fig, Figure) and "cue 1" in fig._suptitle.get_text()
    fig = memory_trace_figure(memory_trace(memory_runs["MLP"], 0))
    assert "no memory" in fig.axes[1].texts[0].get_text()
    with pytest.raises(ValueError, match="step"):
        memory_trace_figure(memory_trace(memory_runs["MLP"], 0), step=4)


@pytest.mark.slow  # trains the memory task
def test_memory_stepper_widget_follows_its_controls(memory_runs):
    box = memory_stepper_widget(memory_runs)
    assert box.results["cue"] == 0 and box.results["step"] == 3
    box.controls["cue"].value = 1
    assert box.results["cue"] == 1 and box.results["actions"][-1].tolist() == [1, 1]
    assert "<b>(1, 1)</b>" in box.children[2].value
    box.controls["step"].value = 0
    assert box.results["step"] == 0
    assert box.controls["wipe"].label == "never" and box.results["wipe_before"] is None
    box.controls["wipe"].value = 2
    assert box.results["wipe_before"] == 2
    box.controls["run"].value = "MLP"
    assert box.results["hidden"] is None
    with pytest.raises(ValueError, match="empty"):
        memory_stepper_widget({})


# -- notebook 06 -------------------------------------------------------------------------
def _learner_and_batch(env_name, updates=3, **env_kwargs):
    envs = [make(env_name, **env_kwargs) for _ in range(8)]
    e = envs[0]
    torch.manual_seed(0)
    agent = RNNAgent(agent_input_dim(e.obs_dim, e.n_actions, e.n_agents), e.n_actions, 32)
    mixer = QMixer(e.n_agents, e.state_dim, 8)
    learner = QLearner(agent, mixer, n_actions=e.n_actions, gamma=0.9, lr=1e-2,
                       target_update_interval=10_000)  # fmt: skip
    buffer = EpisodeBuffer(64, e.episode_limit, e.n_agents, e.obs_dim, e.state_dim, e.n_actions)
    runner = EpisodeRunner(envs, agent)
    for r in range(2):
        episodes, _ = runner.run(1.0, [r * 8 + i for i in range(8)])
        buffer.insert(episodes)
    gen = torch.Generator().manual_seed(0)
    for _ in range(updates):  # the online network moves away from the target network
        learner.update(buffer.sample(8, gen))
    return learner, buffer.sample(6, gen)


def _loss_from_breakdowns(learner, batch):
    errors = [
        td_target_breakdown(learner, batch, e, t)["td_error"]
        for e in range(batch["mask"].shape[0])
        for t in range(int(batch["mask"][e].sum()))
    ]
    return float(np.mean(np.square(errors)))


@pytest.mark.parametrize(
    "env_name, kwargs, ending",
    [("mpe:simple_spread", {"N": 2, "max_cycles": 5}, "truncated"), ("two_step", {}, "terminated")],
)
def test_breakdowns_rebuild_the_learners_loss(env_name, kwargs, ending):
    learner, batch = _learner_and_batch(env_name, **kwargs)
    by_hand = _loss_from_breakdowns(learner, batch)
    assert learner.update(batch)["loss"] == pytest.approx(by_hand, rel=1e-5)
    last = int(batch["mask"][0].sum()) - 1
    b = td_target_breakdown(learner, batch, 0, last)
    assert b["ending"] == ending and b["terminated"] == (ending == "terminated")
    if ending == "truncated":  # a time limit still bootstraps
        assert b["y"] == pytest.approx(b["reward"] + 0.9 * b["target_q_tot_next"])
        forced = td_target_breakdown(learner, batch, 0, last, terminated=True)
        assert forced["y"] == pytest.approx(forced["reward"]) and forced["y"] != b["y"]
    else:
        assert b["y"] == pytest.approx(b["reward"])
    assert td_target_breakdown(learner, batch, 0, 0)["ending"] == "none"


@pytest.mark.parametrize("weighting", ["none", "ow"])
def test_breakdown_uses_the_learners_targets_with_the_simple_spread_settings(weighting):
    """TD(lambda), soft targets and double Q as in the preset; optimistic weights too."""
    cfg = Config.preset("simple_spread", weighting=weighting)
    learner, batch = _learner_and_batch("mpe:simple_spread", N=2, max_cycles=5)
    preset = QLearner.from_config(learner.agent, learner.mixer, learner.n_actions, cfg)
    preset.target_agent, preset.target_mixer = learner.target_agent, learner.target_mixer
    assert preset.td_lambda == 0.6 and preset.gamma == 0.95
    mask = batch["mask"].unsqueeze(-1)
    with torch.no_grad():
        target_tot = preset.next_values(batch)
        y = preset.targets(
            batch["reward"].unsqueeze(-1), batch["terminated"].unsqueeze(-1), mask, target_tot
        )
        q = preset.episode_q_values(preset.agent, preset.agent_inputs(batch))
        q_tot = preset.q_tot_taken(batch, q)
        loss, td = preset.loss(q_tot, y, mask)
    weights, errors = [], []
    for e in range(batch["mask"].shape[0]):
        for t in range(int(batch["mask"][e].sum())):
            b = td_target_breakdown(preset, batch, e, t)
            assert b["y"] == pytest.approx(float(y[e, t, 0]), rel=1e-5, abs=1e-6)
            assert b["target_q_tot_next"] == pytest.approx(float(target_tot[e, t, 0]), abs=1e-6)
            assert b["y"] == pytest.approx(
                b["reward"] + 0.95 * (1 - b["terminated"]) * b["bootstrap"], abs=1e-5
            )
            weights.append(b["weight"])
            errors.append(b["td_error"])
    rebuilt = np.mean(np.array(weights) * np.square(errors))
    assert float(loss) == pytest.approx(rebuilt, rel=1e-5)
    assert (set(weights) == {1.0}) == (weighting == "none")
    # an earlier one-step-only breakdown would disagree with the learner here
    b = td_target_breakdown(preset, batch, 0, 0)
    one_step = b["reward"] + 0.95 * b["target_q_tot_next"]
    assert b["y"] != pytest.approx(one_step, abs=1e-4)


def test_breakdown_double_q_switch_and_gamma():
    learner, batch = _learner_and_batch("mpe:simple_spread", N=2, max_cycles=5)
    plain = td_target_breakdown(learner, batch, 1, 2, double_q=False)
    double = td_target_breakdown(learner, batch, 1, 2, double_q=True)
    assert (plain["chosen"] == plain["target_choice"]).all()
    assert (double["chosen"] == double["online_choice"]).all()
    np.testing.assert_allclose(plain["target_next"], plain["target_next_all"].max(-1), atol=1e-6)
    # the plain max never scores below the value double Q uses
    assert plain["target_q_tot_next"] >= double["target_q_tot_next"] - 1e-5
    zero = td_target_breakdown(learner, batch, 1, 2, gamma=0.0)
    assert zero["y"] == pytest.approx(zero["reward"])
    with pytest.raises(ValueError, match="not a real step"):
        td_target_breakdown(learner, batch, 0, 99)
    iql = QLearner(learner.agent, None, n_actions=5)
    with pytest.raises(ValueError, match="mixer"):
        td_target_breakdown(iql, batch, 0, 0)


def test_td_target_figure_and_explorer():
    learner, batch = _learner_and_batch("mpe:simple_spread", N=2, max_cycles=5)
    fig = td_target_figure(td_target_breakdown(learner, batch, 0, 0))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    box = td_target_explorer(learner, batch)
    assert box.results["t"] == 4 and box.results["ending"] == "truncated"
    assert "time limit" in box.children[2].value
    assert box.controls["terminated"].label == "as stored"  # a visible default, not blank
    box.controls["terminated"].value = True
    assert box.results["y"] == pytest.approx(box.results["reward"])
    box.controls["terminated"].value = "stored"
    box.controls["gamma"].value = 0.5
    assert box.results["gamma"] == 0.5
    box.controls["step"].value = 1
    box.controls["double_q"].value = False
    r = box.results
    assert r["t"] == 1 and not r["double_q"] and r["ending"] == "none"
    box.controls["episode"].value = 3
    assert box.results["episode"] == 3
