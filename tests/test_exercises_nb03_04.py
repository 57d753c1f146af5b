"""Exercise checkers of notebooks 03-04: a right answer passes, typical mistakes get a hint."""

import itertools

import numpy as np
import torch
import torch.nn.functional as F
from exercise_helpers import fails_with

import qmix_tut.exercises as ex


def test_checkers_are_reexported():
    for name in (
        "check_monotonic_mix",
        "check_joint_argmax",
        "check_monotonicity_gradient",
        "check_hypernet_weights",
        "check_qmix_forward",
        "check_vdn_s",
    ):
        assert callable(getattr(ex, name))


# -- notebook 03 -------------------------------------------------------------------------
def test_monotonic_mix(capsys):
    def right(q, w1, b1, w2, b2):
        return F.elu(q @ w1.abs() + b1) @ w2.abs() + b2

    assert ex.check_monotonic_mix(right) is True
    assert "PASS monotonic_mix" in capsys.readouterr().out
    fails_with(
        ex.check_monotonic_mix, lambda q, w1, b1, w2, b2: F.elu(q @ w1 + b1) @ w2 + b2, "w1.abs()"
    )
    fails_with(
        ex.check_monotonic_mix,
        lambda q, w1, b1, w2, b2: F.elu(q @ w1.abs() + b1) @ w2 + b2,
        "second layer",
    )
    fails_with(
        ex.check_monotonic_mix,
        lambda q, w1, b1, w2, b2: F.elu(q @ w1.abs() + b1.abs()) @ w2.abs() + b2.abs(),
        "leave the biases free",
    )
    fails_with(
        ex.check_monotonic_mix,
        lambda q, w1, b1, w2, b2: F.relu(q @ w1.abs() + b1) @ w2.abs() + b2,
        "ELU",
    )
    fails_with(
        ex.check_monotonic_mix,
        lambda q, w1, b1, w2, b2: (F.elu(q @ w1.abs() + b1) @ w2.abs() + b2).squeeze(-1),
        "gave shape",
    )


def test_joint_argmax(capsys):
    def right(mixer, agent_qs):
        n, a = agent_qs.shape
        joints = list(itertools.product(range(a), repeat=n))
        chosen = torch.stack([agent_qs[torch.arange(n), torch.tensor(u)] for u in joints])
        return joints[int(mixer(chosen).argmax())]

    assert ex.check_joint_argmax(right) is True
    out = capsys.readouterr().out
    assert "PASS joint_argmax" in out
    # the checker must contain cases where the decentralised argmax is wrong
    assert " 0 where" not in out
    fails_with(
        ex.check_joint_argmax,
        lambda mixer, q: tuple(int(i) for i in q.argmax(-1)),
        "each agent's own argmax",
        "itertools.product",
    )

    def flat(mixer, agent_qs):
        n, a = agent_qs.shape
        joints = list(itertools.product(range(a), repeat=n))
        chosen = torch.stack([agent_qs[torch.arange(n), torch.tensor(u)] for u in joints])
        return int(mixer(chosen).argmax())

    fails_with(ex.check_joint_argmax, flat, "np.unravel_index")

    def argmin(mixer, agent_qs):
        n, a = agent_qs.shape
        joints = list(itertools.product(range(a), repeat=n))
        chosen = torch.stack([agent_qs[torch.arange(n), torch.tensor(u)] for u in joints])
        return joints[int(mixer(chosen).argmin())]

    fails_with(ex.check_joint_argmax, argmin, "not the argmin")
    fails_with(ex.check_joint_argmax, lambda m, q: (0,) * q.shape[0], "every joint action")


def test_monotonicity_gradient(capsys):
    def right(mixer, agent_qs, states):
        agent_qs = agent_qs.detach().clone().requires_grad_(True)
        return torch.autograd.grad(mixer(agent_qs, states).sum(), agent_qs)[0]

    def mean(mixer, agent_qs, states):
        agent_qs = agent_qs.detach().clone().requires_grad_(True)
        return torch.autograd.grad(mixer(agent_qs, states).mean(), agent_qs)[0]

    def wrt_states(mixer, agent_qs, states):
        states = states.detach().clone().requires_grad_(True)
        return torch.autograd.grad(mixer(agent_qs, states).sum(), states)[0]

    def absolute(mixer, agent_qs, states):
        return right(mixer, agent_qs, states).abs()

    assert ex.check_monotonicity_gradient(right) is True
    assert "PASS monotonicity_gradient" in capsys.readouterr().out
    fails_with(ex.check_monotonicity_gradient, mean, "q_tot.sum()")
    fails_with(ex.check_monotonicity_gradient, wrt_states, "with respect to the states")
    fails_with(ex.check_monotonicity_gradient, absolute, "keep the sign")
    fails_with(
        ex.check_monotonicity_gradient, lambda m, q, s: torch.ones_like(q), "torch.autograd.grad"
    )


# -- notebook 04 -------------------------------------------------------------------------
def test_hypernet_weights(capsys):
    def right(hyper_w_1, states, n_agents, embed_dim):
        return torch.abs(hyper_w_1(states)).view(*states.shape[:-1], n_agents, embed_dim)

    def transposed(hyper_w_1, states, n_agents, embed_dim):
        w = torch.abs(hyper_w_1(states)).view(*states.shape[:-1], embed_dim, n_agents)
        return w.transpose(-1, -2)

    assert ex.check_hypernet_weights(right) is True
    assert "PASS hypernet_weights" in capsys.readouterr().out
    fails_with(
        ex.check_hypernet_weights,
        lambda h, s, n, e: h(s).view(*s.shape[:-1], n, e),
        "torch.abs",
    )
    fails_with(ex.check_hypernet_weights, transposed, "agent-major")
    fails_with(
        ex.check_hypernet_weights,
        lambda h, s, n, e: F.relu(h(s)).view(*s.shape[:-1], n, e),
        "not ReLU",
    )
    fails_with(ex.check_hypernet_weights, lambda h, s, n, e: h(s).abs(), "leading dimensions")


def _forward(mixer, agent_qs, states, w1_fn=torch.abs, b1_fn=lambda b: b, with_v=True):
    lead, n, e = states.shape[:-1], mixer.n_agents, mixer.embed_dim
    w1 = w1_fn(mixer.hyper_w_1(states)).view(*lead, n, e)
    b1 = b1_fn(mixer.hyper_b_1(states)).view(*lead, 1, e)
    w2 = torch.abs(mixer.hyper_w_final(states)).view(*lead, e, 1)
    hidden = F.elu(agent_qs.unsqueeze(-2) @ w1 + b1)
    q_tot = hidden @ w2
    if with_v:
        q_tot = q_tot + mixer.V(states).view(*lead, 1, 1)
    return q_tot.squeeze(-1)


def test_qmix_forward(capsys):
    assert ex.check_qmix_forward(_forward) is True
    assert "PASS qmix_forward" in capsys.readouterr().out
    fails_with(ex.check_qmix_forward, lambda m, q, s: _forward(m, q, s, with_v=False), "V(s)")
    fails_with(
        ex.check_qmix_forward, lambda m, q, s: _forward(m, q, s, b1_fn=torch.abs), "hidden bias"
    )
    fails_with(
        ex.check_qmix_forward, lambda m, q, s: _forward(m, q, s, w1_fn=lambda w: w), "hyper_w_1"
    )
    fails_with(ex.check_qmix_forward, lambda m, q, s: _forward(m, q, s).squeeze(-1), "squeeze(-1)")
    fails_with(ex.check_qmix_forward, lambda m, q, s: _forward(m, q, s) + 1.0, "ELU(q |W1(s)|")


def test_vdn_s(capsys):
    assert ex.check_vdn_s(lambda q, s, v: q.sum(-1, keepdim=True) + v(s)) is True
    assert "PASS vdn_s" in capsys.readouterr().out
    fails_with(ex.check_vdn_s, lambda q, s, v: q.sum(-1, keepdim=True), "plain VDN sum")
    fails_with(ex.check_vdn_s, lambda q, s, v: (q + v(s)).sum(-1, keepdim=True), "once")
    fails_with(ex.check_vdn_s, lambda q, s, v: q.mean(-1, keepdim=True) + v(s), "averaged")
    fails_with(ex.check_vdn_s, lambda q, s, v: q.sum(-1) + v(s).squeeze(-1), "keepdim=True")


def test_checkers_leave_the_global_seed_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ex.check_qmix_forward(_forward)
    ex.check_hypernet_weights(lambda h, s, n, e: torch.abs(h(s)).view(*s.shape[:-1], n, e))
    ex.check_monotonicity_gradient(
        lambda m, q, s: torch.autograd.grad(m(q.requires_grad_(True), s).sum(), q)[0]
    )
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())
