"""COMA: the counterfactual baseline, the policy gradient, the exploring policy, the learner."""

import csv
import itertools
import math
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from history_helpers import assert_same_history
from hypothesis import given, settings
from hypothesis import strategies as st

from qmix_tut import Config, train
from qmix_tut.agents import MLPAgent, RNNAgent, agent_input_dim
from qmix_tut.coma import (
    COMACritic,
    COMALearner,
    build_critic_inputs,
    counterfactual_advantage,
    critic_input_dim,
    lambda_returns,
    make_critic,
)
from qmix_tut.envs import make
from qmix_tut.learner import QLearner
from qmix_tut.results import safe_load
from qmix_tut.runner import EpisodeRunner, policy_probs, sample_actions


def _counterfactual_q(payoff: torch.Tensor, joint: tuple[int, ...]) -> torch.Tensor:
    """q[a, u'] = payoff of the joint action with agent a's action replaced by u'."""
    n, n_actions = payoff.dim(), payoff.shape[0]
    q = torch.empty(n, n_actions, dtype=payoff.dtype)
    for a in range(n):
        for u in range(n_actions):
            q[a, u] = payoff[joint[:a] + (u,) + joint[a + 1 :]]
    return q


# -- the counterfactual baseline ----------------------------------------------------------
def test_baseline_equals_a_brute_force_loop_over_each_agents_actions():
    gen = torch.Generator().manual_seed(0)
    n, n_actions = 3, 4
    payoff = torch.randn((n_actions,) * n, generator=gen, dtype=torch.float64)
    pi = torch.softmax(torch.randn(n, n_actions, generator=gen, dtype=torch.float64), -1)
    for joint in [(0, 0, 0), (1, 3, 2), (3, 2, 1)]:
        q = _counterfactual_q(payoff, joint)
        got = counterfactual_advantage(q, pi, torch.tensor(joint))
        for a in range(n):
            baseline = 0.0
            for u in range(n_actions):  # agent a tries each action, the others keep theirs
                others_fixed = joint[:a] + (u,) + joint[a + 1 :]
                baseline += float(pi[a, u]) * float(payoff[others_fixed])
            assert math.isclose(float(got[a]), float(payoff[joint]) - baseline, abs_tol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    n=st.integers(1, 4),
    n_actions=st.integers(1, 5),
    seed=st.integers(0, 10_000),
)
def test_advantage_shapes_and_zero_mean_under_the_policy(lead, n, n_actions, seed):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(*lead, n, n_actions, generator=gen, dtype=torch.float64)
    pi = torch.softmax(torch.randn(*lead, n, n_actions, generator=gen, dtype=torch.float64), -1)
    # averaged over agent a's own action, with the policy's weights, A^a is exactly zero
    weighted = torch.zeros(*lead, n, dtype=torch.float64)
    for u in range(n_actions):
        actions = torch.full((*lead, n), u)
        adv = counterfactual_advantage(q, pi, actions)
        assert adv.shape == (*lead, n)
        weighted += pi[..., u] * adv
    torch.testing.assert_close(weighted, torch.zeros_like(weighted), atol=1e-12, rtol=0)


def test_advantage_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"q_values and pi must share one shape"):
        counterfactual_advantage(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2).long())
    with pytest.raises(ValueError, match=r"actions must have shape \(2,\)"):
        counterfactual_advantage(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3).long())


# -- the policy gradient on a one-step matrix game ----------------------------------------
def _matrix_game_gradients(payoff: torch.Tensor, logits: torch.Tensor, samples: int):
    """Exact gradient of J = E_pi[R], the COMA estimator's exact expectation, and its
    Monte Carlo average over ``samples`` joint actions (true Q = R in a one-step game)."""
    n, n_actions = logits.shape

    def coma_surrogate(joints: torch.Tensor, weights: torch.Tensor, theta: torch.Tensor):
        pi = torch.softmax(theta, -1)
        q = torch.stack([_counterfactual_q(payoff, tuple(j.tolist())) for j in joints])
        adv = counterfactual_advantage(q, pi.detach().expand(len(joints), n, n_actions), joints)
        log_pi = torch.log(pi.gather(-1, joints.T).T)  # [S, n]
        return ((adv * log_pi).sum(-1) * weights).sum()

    theta = logits.clone().requires_grad_(True)
    pi = torch.softmax(theta, -1)
    expected_return = sum(
        payoff[j] * math.prod(pi[a, j[a]] for a in range(n))
        for j in itertools.product(range(n_actions), repeat=n)
    )
    (exact,) = torch.autograd.grad(expected_return, theta)

    every = torch.tensor(list(itertools.product(range(n_actions), repeat=n)))
    with torch.no_grad():
        probs = torch.softmax(logits, -1)
        joint_probs = torch.stack([probs[torch.arange(n), j].prod() for j in every])
    theta = logits.clone().requires_grad_(True)
    (expectation,) = torch.autograd.grad(coma_surrogate(every, joint_probs, theta), theta)

    gen = torch.Generator().manual_seed(1)
    drawn = torch.stack(
        [torch.multinomial(probs[a], samples, replacement=True, generator=gen) for a in range(n)],
        dim=1,
    )
    theta = logits.clone().requires_grad_(True)
    weights = torch.full((samples,), 1.0 / samples, dtype=logits.dtype)
    (sampled,) = torch.autograd.grad(coma_surrogate(drawn, weights, theta), theta)
    return exact, expectation, sampled


def test_policy_gradient_estimate_matches_the_exact_gradient_of_the_expected_return():
    gen = torch.Generator().manual_seed(3)
    payoff = torch.tensor([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]]).double()
    logits = torch.randn(2, 3, generator=gen, dtype=torch.float64)
    exact, expectation, sampled = _matrix_game_gradients(payoff, logits, samples=20_000)
    # the estimator's expectation, summed over every joint action, is the exact gradient
    torch.testing.assert_close(expectation, exact, atol=1e-10, rtol=0)
    # and an average over sampled joint actions converges to it (about 4 standard errors)
    assert float((sampled - exact).abs().max()) < 0.2, (sampled, exact)
    assert float(exact.abs().max()) > 1.0  # the test would pass trivially for a flat payoff


# -- the exploring policy: never an unavailable action ------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    n_actions=st.integers(1, 6),
    epsilon=st.floats(0.0, 1.0),
    seed=st.integers(0, 10_000),
    scale=st.sampled_from([1.0, 30.0, 1e4]),
)
def test_unavailable_actions_have_probability_exactly_zero(n_actions, epsilon, seed, scale):
    gen = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(5, n_actions, generator=gen)
    avail = (torch.rand(5, n_actions, generator=gen) < 0.5).float()
    avail[:, torch.randint(n_actions, (1,), generator=gen)] = 1.0  # at least one each
    pi = policy_probs(logits, avail, epsilon)
    assert bool((pi[avail == 0] == 0).all())
    torch.testing.assert_close(pi.sum(-1), torch.ones(5), atol=1e-6, rtol=0)
    # the floor: every available action keeps at least epsilon / n_available
    floor = epsilon / avail.sum(-1, keepdim=True)
    assert bool((pi[avail == 1] >= (floor.expand_as(pi)[avail == 1] - 1e-7)).all())
    drawn = sample_actions(pi.repeat(40, 1), gen)
    assert bool((avail.repeat(40, 1).gather(-1, drawn.unsqueeze(-1)) == 1).all())


def test_agent_with_nothing_available_gets_zero_probabilities():
    pi = policy_probs(torch.zeros(2, 3), torch.tensor([[0.0, 0, 0], [1, 0, 1]]), 0.1)
    assert pi[0].tolist() == [0.0, 0.0, 0.0] and pi[1, 1] == 0
    assert sample_actions(pi).tolist()[0] == 0


def test_policy_rollouts_on_lbf_never_take_an_unavailable_action():
    envs = [make("lbf:Foraging-8x8-2p-2f-coop-v3") for _ in range(4)]
    e = envs[0]
    agent = RNNAgent(agent_input_dim(e.obs_dim, e.n_actions, e.n_agents), e.n_actions)
    with torch.no_grad():  # a policy that strongly prefers one action, often unavailable
        agent.fc2.bias[:] = torch.tensor([0.0, 0, 0, 0, 0, 20.0])[: e.n_actions]
    runner = EpisodeRunner(envs, agent, action_selection="policy")
    episodes, stats = runner.run(0.05, seeds=[0, 1, 2, 3])
    real = episodes["mask"].bool()
    taken = episodes["avail"][:, :-1].gather(-1, episodes["actions"].unsqueeze(-1)).squeeze(-1)
    assert bool((taken[real] == 1).all())
    blocked = (episodes["avail"][:, :-1][real] == 0).any()
    assert bool(blocked), "LBF offered no unavailable action: the test checks nothing"
    assert episodes["final_actions"].shape == (4, e.n_agents)
    assert episodes["epsilon"].tolist() == [0.05] * 4


def test_runner_rejects_an_unknown_action_selection():
    e = make("two_step")
    agent = MLPAgent(agent_input_dim(e.obs_dim, e.n_actions, e.n_agents), e.n_actions)
    with pytest.raises(ValueError, match=r"action_selection must be one of"):
        EpisodeRunner([e], agent, action_selection="boltzmann")


# -- the critic ---------------------------------------------------------------------------
def test_critic_inputs_built_by_hand():
    state = torch.tensor([7.0, 8.0])
    obs = torch.tensor([[1.0], [2.0]])
    actions, previous = torch.tensor([2, 0]), torch.tensor([-1, 1])
    x = build_critic_inputs(state, obs, actions, previous, n_actions=3)
    assert x.shape == (2, critic_input_dim(2, 1, 2, 3))
    #          state     obs  joint u, own block zeroed  previous joint u     id
    agent0 = [7.0, 8.0, 1.0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0]
    agent1 = [7.0, 8.0, 2.0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1]
    assert x.tolist() == [agent0, agent1]
    with pytest.raises(ValueError, match=r"actions must have shape \(2,\)"):
        build_critic_inputs(state, obs, torch.tensor([0]), previous, 3)


def test_lambda_returns_equal_the_value_learners_targets():
    gen = torch.Generator().manual_seed(0)
    b, t, k = 4, 6, 3
    reward, values = torch.randn(b, t, k, generator=gen), torch.randn(b, t, k, generator=gen)
    mask = torch.ones(b, t, k)
    mask[0, 4:] = 0  # a shorter episode, then padding
    terminated = torch.zeros(b, t, k)
    terminated[0, 3] = 1.0
    e = make("two_step")
    agent = MLPAgent(agent_input_dim(e.obs_dim, e.n_actions, e.n_agents), e.n_actions)
    for lam in (0.0, 0.8, 1.0):
        learner = QLearner(agent, None, n_actions=e.n_actions, gamma=0.9, td_lambda=lam)
        expected = learner.targets(reward, terminated, mask, values)
        got = lambda_returns(reward, terminated, mask, values, 0.9, lam)
        torch.testing.assert_close(got[mask > 0], expected[mask > 0])


# -- the learner --------------------------------------------------------------------------
def _policy_batch(env_name: str, n_envs: int = 4, seed: int = 0):
    envs = [make(env_name) for _ in range(n_envs)]
    e = envs[0]
    torch.manual_seed(seed)
    agent = RNNAgent(agent_input_dim(e.obs_dim, e.n_actions, e.n_agents), e.n_actions)
    info = dict(n_agents=e.n_agents, n_actions=e.n_actions, obs_dim=e.obs_dim)
    critic = make_critic({**info, "state_dim": e.state_dim})
    runner = EpisodeRunner(envs, agent, action_selection="policy")
    episodes, _ = runner.run(0.3, seeds=list(range(n_envs)))
    return agent, critic, episodes, e


def test_learner_policy_is_the_policy_the_runner_sampled_from():
    agent, critic, episodes, e = _policy_batch("memory")
    learner = COMALearner(agent, critic, n_agents=e.n_agents, n_actions=e.n_actions)
    batch = learner.trim(episodes)
    pi = learner.policy(batch)  # one fused unroll over the episodes
    # step by step, as the runner acts, with the hidden state carried along
    hidden = agent.init_hidden(batch["mask"].shape[0] * e.n_agents)
    from qmix_tut.agents import build_inputs

    for t in range(batch["mask"].shape[1]):
        last = batch["actions"][:, t - 1] if t > 0 else torch.full_like(batch["actions"][:, 0], -1)
        x = build_inputs(batch["obs"][:, t], last, e.n_actions)
        out, hidden = agent(x.reshape(-1, 1, x.shape[-1]), hidden)
        step_pi = policy_probs(out.reshape(-1, e.n_agents, e.n_actions), batch["avail"][:, t], 0.3)
        real = batch["mask"][:, t] > 0
        torch.testing.assert_close(pi[:, t][real], step_pi[real], atol=1e-6, rtol=0)


def test_update_reports_statistics_and_moves_both_networks():
    agent, critic, episodes, e = _policy_batch("mpe:simple_spread")
    learner = COMALearner(agent, critic, n_agents=e.n_agents, n_actions=e.n_actions)
    actor_before = [p.detach().clone() for p in agent.parameters()]
    critic_before = [p.detach().clone() for p in critic.parameters()]
    stats = learner.update(episodes)
    assert list(stats)[:5] == ["loss", "grad_norm", "q_taken", "target", "td_error"]
    assert {"actor_loss", "actor_grad_norm", "advantage", "entropy"} <= set(stats)
    assert all(math.isfinite(v) for v in stats.values())
    assert learner.critic_steps == episodes["mask"].shape[1]  # one step per time step
    assert any(not torch.equal(a, p) for a, p in zip(actor_before, agent.parameters(), strict=True))
    assert any(
        not torch.equal(a, p) for a, p in zip(critic_before, critic.parameters(), strict=True)
    )


def test_update_refuses_a_replay_batch():
    agent, critic, episodes, e = _policy_batch("two_step")
    learner = COMALearner(agent, critic, n_agents=e.n_agents, n_actions=e.n_actions)
    replayed = {k: v for k, v in episodes.items() if k not in ("final_actions", "epsilon")}
    with pytest.raises(ValueError, match=r"final_actions, epsilon.*action_selection='policy'"):
        learner.update(replayed)


def test_time_limit_bootstraps_from_the_final_actions_and_a_real_end_does_not():
    agent, critic, episodes, e = _policy_batch("mpe:simple_spread", n_envs=2)
    learner = COMALearner(
        agent, critic, n_agents=e.n_agents, n_actions=e.n_actions, gamma=0.9, td_lambda=0.0
    )
    batch = learner.trim(episodes)
    inputs = learner.critic_inputs(batch)
    last = int(batch["mask"][0].sum()) - 1
    y = learner.critic_targets(batch, inputs)
    q_final = critic(inputs[:, last + 1]).detach()
    v_final = q_final.gather(-1, batch["final_actions"].unsqueeze(-1)).squeeze(-1)
    expected = batch["reward"][:, last, None] + 0.9 * v_final
    torch.testing.assert_close(y[:, last], expected)  # truncated: bootstrapped
    ended = dict(batch, terminated=batch["terminated"].clone())
    ended["terminated"][:, last] = 1.0
    y_end = learner.critic_targets(ended, inputs)
    torch.testing.assert_close(y_end[:, last], batch["reward"][:, last, None].expand(2, 3))


# -- training through the package ---------------------------------------------------------
@pytest.mark.slow
def test_coma_learns_the_optimal_joint_action_of_a_matrix_game():
    # the optimum (10) is reachable by gradient from anywhere: whatever the other agent
    # does, action 0 pays each agent most, so the joint optimum is the only equilibrium.
    # (Where another equilibrium exists, e.g. 4 in place of 7 below, a policy gradient
    # can settle there: one seed of three did in a trial run.)
    payoff = [[10.0, 5.0, 7.0], [5.0, 0.0, 2.0], [7.0, 2.0, 4.0]]
    returns = []
    for seed in range(3):
        cfg = Config.preset(
            "coma_two_step",
            env="matrix:custom",
            env_kwargs={"payoff": payoff},
            agent="mlp",
            last_action_input=False,
            total_steps=3000,
            epsilon_anneal_steps=2000,
            eval_interval=3000,
            seed=seed,
        )
        returns.append(train(cfg, progress=False).final_eval_return)
    assert returns == [10.0, 10.0, 10.0]


def test_interrupted_and_resumed_coma_run_equals_the_uninterrupted_one(tmp_path):
    cfg = Config.preset("coma_two_step", total_steps=480, eval_interval=80, checkpoint_interval=160)
    straight = train(cfg, progress=False)

    def interrupt_after_third_evaluation(row, count=[0]):  # noqa: B006 - a call counter
        count[0] += 1
        if count[0] == 3:
            signal.raise_signal(signal.SIGINT)

    stopped = train(
        cfg, progress=False, run_dir=tmp_path, callback=interrupt_after_third_evaluation
    )
    assert stopped.interrupted and stopped.history[-1]["env_steps"] < 480
    resumed = train(cfg, resume_from=tmp_path, progress=False)
    assert_same_history(resumed.history, straight.history)
    for k, v in straight.agent_state.items():
        torch.testing.assert_close(resumed.agent_state[k], v, rtol=0, atol=0)
    assert (tmp_path / "checkpoint.pt").exists() and (tmp_path / "result.pt").exists()
    # on-policy: nothing was kept for replay, and the critic and its optimiser were saved
    state = safe_load(tmp_path / "checkpoint.pt")
    assert state["buffer"]["size"] == 0
    assert {"critic", "target_critic", "critic_optimizer"} <= set(state["learner"])


BUILT_IN_TASKS = ["two_step", "matrix:climbing", "memory", "mpe:simple_spread",
                  "lbf:Foraging-8x8-2p-2f-coop-v3"]  # fmt: skip


@pytest.mark.parametrize("env", BUILT_IN_TASKS)
def test_coma_trains_from_python_on_every_built_in_task(env):
    cfg = Config(env=env, algo="coma", total_steps=60, num_envs=2, eval_interval=60,
                 eval_episodes=1, buffer_size=2, batch_size=2)  # fmt: skip
    result = train(cfg, progress=False)
    assert result.history[-1]["env_steps"] >= 60
    assert math.isfinite(result.history[-1]["loss"])
    assert result.mixer_state == {}


@pytest.mark.slow
@pytest.mark.parametrize("env", ["two_step", "mpe:simple_spread"])
def test_coma_trains_from_the_command_line(tmp_path, env):
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "qmix_tut", "train", "--env", env, "--algo", "coma",
         "--steps", "100", "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / "history.csv").exists() and (out / "result.pt").exists()
    assert np.isfinite(np.genfromtxt(out / "history.csv", delimiter=",", names=True)["loss"][-1])


def test_coma_config_fields_are_validated():
    with pytest.raises(ValueError, match=r"Config.critic_lr must be > 0"):
        Config(algo="coma", critic_lr=0.0)
    with pytest.raises(ValueError, match=r"Config.critic_hidden_dim must be >= 1"):
        Config(algo="coma", critic_hidden_dim=0)
    assert isinstance(COMACritic(4, 2, 8), torch.nn.Module)


@pytest.mark.slow
def test_scaling_benchmark_writes_its_table(tmp_path, capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        import coma_scaling
    finally:
        sys.path.pop(0)
    assert coma_scaling.main(["--reps", "1", "--agents", "2", "3", "--out", str(tmp_path)]) == 0
    rows = list(csv.DictReader(open(tmp_path / "scaling.csv")))
    assert [int(r["n_agents"]) for r in rows] == [2, 3]
    assert int(rows[1]["critic_input"]) == critic_input_dim(48, 16, 3, 5)
    assert int(rows[1]["other_joint_actions"]) == 25
    assert (tmp_path / "scaling.png").exists() and (tmp_path / "scaling.md").exists()
    assert coma_scaling.main(["--reps", "0"]) == 2
    assert "must be >= 1" in capsys.readouterr().err
