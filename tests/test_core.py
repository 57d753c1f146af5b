"""Agents, input builder, replay buffer, runner and learner."""

import pytest
import torch

from qmix_tut.agents import MLPAgent, RNNAgent, agent_input_dim, build_inputs, make_agent
from qmix_tut.buffer import FIELDS, EpisodeBatch, EpisodeBuffer, check_batch
from qmix_tut.envs import make
from qmix_tut.learner import QLearner
from qmix_tut.mixers import QMixer, VDNMixer
from qmix_tut.runner import EpisodeRunner, choose_actions, epsilon_at


# -- agents ----------------------------------------------------------------------------------
def test_build_inputs_layout():
    obs = torch.arange(12, dtype=torch.float32).view(1, 3, 4)  # 3 agents, obs_dim 4
    last = torch.tensor([[1, -1, 0]])
    x = build_inputs(obs, last, n_actions=2)
    assert x.shape == (1, 3, 4 + 2 + 3)
    torch.testing.assert_close(x[0, :, :4], obs[0])
    torch.testing.assert_close(x[0, :, 4:6], torch.tensor([[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]))
    torch.testing.assert_close(x[0, :, 6:], torch.eye(3))
    assert build_inputs(obs, None, agent_id=False).shape == (1, 3, 4)
    assert agent_input_dim(4, 2, 3) == 9 and agent_input_dim(4, 2, 3, False, False) == 4


def test_build_inputs_rejects_bad_shapes():
    with pytest.raises(ValueError, match="last_actions must have shape"):
        build_inputs(torch.zeros(2, 3, 4), torch.zeros(2, 2, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="n_actions is needed"):
        build_inputs(torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.long))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_fused_unroll_equals_step_by_step(cell):
    torch.manual_seed(0)
    agent = RNNAgent(6, 3, hidden_dim=16, cell=cell)
    x = torch.randn(5, 9, 6)
    q_fused, h_fused = agent(x)
    hidden, steps = None, []
    for t in range(9):
        q_t, hidden = agent(x[:, t : t + 1], hidden)
        steps.append(q_t)
    torch.testing.assert_close(q_fused, torch.cat(steps, dim=1))
    if cell == "gru":
        torch.testing.assert_close(h_fused, hidden)
        # and equal to a plain GRUCell loop with the same weights
        gru_cell = torch.nn.GRUCell(16, 16)
        gru_cell.load_state_dict({k[:-3]: v for k, v in agent.rnn.state_dict().items()})
        h = torch.zeros(5, 16)
        outs = []
        for t in range(9):
            h = gru_cell(torch.relu(agent.fc1(x[:, t])), h)
            outs.append(agent.fc2(h))
        torch.testing.assert_close(q_fused, torch.stack(outs, 1))


def test_agents_check_input_width():
    with pytest.raises(ValueError, match="last dimension must be 6"):
        MLPAgent(6, 2)(torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"\[batch, time, 6\]"):
        RNNAgent(6, 2)(torch.zeros(3, 6))
    with pytest.raises(ValueError, match="agent must be"):
        make_agent("transformer", 6, 2)
    with pytest.raises(ValueError, match="cell must be"):
        RNNAgent(6, 2, cell="rnn")


# -- buffer ----------------------------------------------------------------------------------
def _episodes(e, t=3, n=2, obs_dim=4, state_dim=5, a=3, lengths=None):
    lengths = lengths or [t] * e
    mask = torch.zeros(e, t)
    for i, length in enumerate(lengths):
        mask[i, :length] = 1
    return {
        "obs": torch.randn(e, t + 1, n, obs_dim),
        "state": torch.randn(e, t + 1, state_dim),
        "avail": torch.ones(e, t + 1, n, a),
        "actions": torch.randint(a, (e, t, n)),
        "reward": torch.randn(e, t),
        "terminated": torch.zeros(e, t),
        "mask": mask,
    }


def test_buffer_ring_and_sampling():
    buf = EpisodeBuffer(5, 3, 2, 4, 5, 3)
    first = _episodes(4, lengths=[1, 2, 3, 1])
    buf.insert(first)
    assert len(buf) == 4
    buf.insert(_episodes(3))
    assert len(buf) == 5 and buf.position == 2  # wrapped around
    torch.testing.assert_close(buf.data["obs"][2], first["obs"][2])  # slot 2 not overwritten
    batch = buf.sample(4, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="cannot sample 16"):
        buf.sample(16)
    assert batch["obs"].shape[1] == batch["actions"].shape[1] + 1
    assert (
        buf.memory_bytes() == sum(v.nelement() * v.element_size() for v in buf.data.values()) + 40
    )


def test_buffer_cuts_batch_to_longest_episode():
    buf = EpisodeBuffer(4, 6, 2, 4, 5, 3)
    buf.insert(_episodes(4, t=6, lengths=[2, 2, 1, 2]))
    batch = buf.sample(4)
    assert batch["mask"].shape == (4, 2) and batch["obs"].shape == (4, 3, 2, 4)


def test_buffer_rejects_bad_input():
    buf = EpisodeBuffer(4, 3, 2, 4, 5, 3)
    with pytest.raises(ValueError, match=r"episodes\['obs'\] must have shape"):
        buf.insert(_episodes(2, obs_dim=7))
    with pytest.raises(ValueError, match="missing field"):
        buf.insert({"obs": torch.zeros(1)})
    with pytest.raises(ValueError, match="cannot sample 2 episodes from a buffer holding 0"):
        buf.sample(2)


def test_buffer_state_roundtrip():
    buf = EpisodeBuffer(6, 3, 2, 4, 5, 3)
    buf.insert(_episodes(4))
    other = EpisodeBuffer(6, 3, 2, 4, 5, 3)
    other.load_state_dict(buf.state_dict())
    for key in buf.data:
        torch.testing.assert_close(other.data[key], buf.data[key])
    assert (other.position, other.size) == (buf.position, buf.size)


def test_buffer_sample_is_a_typed_batch_that_passes_the_check():
    buf = EpisodeBuffer(6, 3, 2, 4, 5, 3)
    buf.insert(_episodes(4))
    batch = buf.sample(3, torch.Generator("cpu").manual_seed(1))
    assert tuple(batch) == FIELDS == tuple(EpisodeBatch.__annotations__)
    check_batch(batch)
    assert buf.device == torch.device("cpu") and batch["obs"].device == buf.device
    # the same generator state draws the same episodes
    again = buf.sample(3, torch.Generator("cpu").manual_seed(1))
    assert all(torch.equal(batch[k], again[k]) for k in FIELDS)


def test_check_batch_names_what_is_wrong():
    with pytest.raises(ValueError, match="missing field.*obs, state, avail, actions"):
        check_batch({"reward": torch.zeros(2, 3), "terminated": 0, "mask": 0})
    batch = dict(_episodes(2))
    batch["avail"] = batch["avail"][:, :-1]
    with pytest.raises(ValueError, match=r"batch\['avail'\] must start with \[B, T\+1\]"):
        check_batch(batch)
    with pytest.raises(TypeError, match="mapping"):
        check_batch([1, 2])


# -- runner ----------------------------------------------------------------------------------
def test_epsilon_schedule():
    assert epsilon_at(0, 1.0, 0.05, 100) == 1.0
    assert epsilon_at(50, 1.0, 0.0, 100) == pytest.approx(0.5)
    assert epsilon_at(10_000, 1.0, 0.05, 100) == pytest.approx(0.05)


def test_choose_actions_respects_availability():
    g = torch.Generator().manual_seed(0)
    q = torch.tensor([[10.0, 0.0, -5.0]]).expand(500, 3)
    avail = torch.tensor([[0.0, 1.0, 1.0]]).expand(500, 3)
    greedy = choose_actions(q, avail, 0.0)
    assert (greedy == 1).all()  # best available, not the masked best
    explore = choose_actions(q, avail, 1.0, g)
    assert set(explore.tolist()) == {1, 2}


def test_choose_actions_needs_q_values_unless_it_explores():
    avail = torch.ones(4, 3)
    assert choose_actions(None, avail, 1.0, torch.Generator().manual_seed(0)).shape == (4,)
    with pytest.raises(ValueError, match="q .* is needed when epsilon < 1"):
        choose_actions(None, avail, 0.5)


def test_runner_collects_padded_episodes_on_memory_task():
    envs = [make("memory", length=3) for _ in range(3)]
    e = envs[0]
    agent = RNNAgent(agent_input_dim(e.obs_dim, e.n_actions, e.n_agents), e.n_actions)
    runner = EpisodeRunner(envs, agent, generator=torch.Generator().manual_seed(1))
    episodes, stats = runner.run(1.0, [0, 1, 2])
    assert episodes["mask"].sum() == 9 and stats["steps"] == 9
    assert episodes["terminated"][:, -1].tolist() == [1.0, 1.0, 1.0]
    # only action 0 is available before the last step, and the runner obeyed
    assert (episodes["actions"][:, :-1] == 0).all()
    with pytest.raises(ValueError, match="one seed per environment"):
        runner.run(1.0, [0])


# -- learner ---------------------------------------------------------------------------------
def _batch(b=4, t=3, n=2, obs_dim=3, state_dim=3, a=2):
    ep = _episodes(b, t, n, obs_dim, state_dim, a)
    ep["terminated"][:, -1] = 1
    return ep


@pytest.mark.parametrize("mixer", [None, "vdn", "qmix"])
@pytest.mark.parametrize("agent_kind", ["mlp", "rnn"])
def test_learner_update_reduces_loss_on_fixed_batch(mixer, agent_kind):
    torch.manual_seed(0)
    d = agent_input_dim(3, 2, 2)
    agent = make_agent(agent_kind, d, 2, 32)
    mix = {None: None, "vdn": VDNMixer(2), "qmix": QMixer(2, 3, 8)}[mixer]
    learner = QLearner(agent, mix, n_actions=2, optimizer="adam", lr=3e-3)
    batch = _batch()
    first = learner.update(batch)["loss"]
    for _ in range(80):  # each case gets there within 40 updates
        last = learner.update(batch)["loss"]
    assert last < first * 0.2


def test_targets_one_step_and_lambda():
    learner = QLearner(MLPAgent(5, 2), VDNMixer(), n_actions=2, gamma=0.5)
    r = torch.tensor([[[1.0], [2.0], [3.0]]])
    term = torch.tensor([[[0.0], [0.0], [1.0]]])
    mask = torch.ones(1, 3, 1)
    q_next = torch.tensor([[[10.0], [20.0], [30.0]]])
    torch.testing.assert_close(
        learner.targets(r, term, mask, q_next), torch.tensor([[[6.0], [12.0], [3.0]]])
    )
    learner.td_lambda = 1.0  # Monte-Carlo returns
    torch.testing.assert_close(
        learner.targets(r, term, mask, q_next),
        torch.tensor([[[1 + 0.5 * (2 + 0.5 * 3)], [3.5], [3.0]]]),
    )
    # a truncated last step bootstraps from the target value
    trunc = torch.zeros(1, 3, 1)
    out = learner.targets(r, trunc, mask, q_next)
    assert out[0, 2, 0].item() == pytest.approx(3 + 0.5 * 30)


def test_double_q_never_picks_unavailable_actions():
    torch.manual_seed(0)
    agent = MLPAgent(agent_input_dim(3, 2, 2), 2)
    learner = QLearner(agent, VDNMixer(), n_actions=2, gamma=1.0)
    batch = _batch(b=2, t=1)
    batch["terminated"][:] = 0
    batch["avail"][:, 1, :, 1] = 0  # at the next step only action 0 is available
    with torch.no_grad():
        q_next = learner.episode_q_values(learner.target_agent, learner.agent_inputs(batch))[:, 1]
    expected = batch["reward"][:, 0] + q_next[..., 0].sum(-1)
    stats = learner.update(batch)
    assert stats["target"] == pytest.approx(expected.mean().item(), abs=1e-5)


def test_categorical_draws_what_torch_multinomial_draws():
    """The exponential race gives multinomial's draws from the same generator and leaves
    the generator where multinomial does, for uniform masks and for any weights."""
    from qmix_tut.runner import categorical

    for trial in range(50):
        make = torch.Generator().manual_seed(1000 + trial)
        weights = torch.rand(6, 3, 5, generator=make)
        weights[weights < 0.3] = 0.0
        weights[..., 2] += 0.1  # at least one positive weight per row
        if trial % 2:
            weights = (weights > 0).float()  # an availability mask
        ours, theirs = torch.Generator(), torch.Generator()
        ours.manual_seed(trial)
        theirs.manual_seed(trial)
        drawn = categorical(weights, ours)
        expected = torch.multinomial(weights.reshape(-1, 5), 1, generator=theirs).view(6, 3)
        assert torch.equal(drawn, expected)
        assert (weights.gather(-1, drawn.unsqueeze(-1)) > 0).all()
        assert torch.equal(torch.rand(4, generator=ours), torch.rand(4, generator=theirs))
