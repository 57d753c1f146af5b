"""Mixers: shapes, parameter layout, monotonicity and argmax consistency (IGM)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qmix_tut.algorithms import ALGOS, spec
from qmix_tut.analysis import igm_holds, is_monotonic, joint_q_table, mixer_gradients
from qmix_tut.mixers import (
    MANY_VALUES,
    LinearMixer,
    QMixer,
    QMixerNoState,
    VDNMixer,
    VDNSMixer,
    elu,
    make_mixer,
)

MONOTONIC = {
    "vdn": lambda n, s: VDNMixer(n),
    "vdn_s": lambda n, s: VDNSMixer(n, s, 8),
    "qmix": lambda n, s: QMixer(n, s, 8),
    "qmix_1layer": lambda n, s: QMixer(n, s, 8, hypernet_layers=1),
    "qmix_ns": lambda n, s: QMixerNoState(n, s, 8),
    "qmix_lin": lambda n, s: LinearMixer(n, s),
}


@pytest.mark.parametrize("name", MONOTONIC)
@pytest.mark.parametrize("lead", [(7,), (4, 5), ()])
def test_output_shape(name, lead):
    mixer = MONOTONIC[name](3, 6)
    q_tot = mixer(torch.randn(*lead, 3), torch.randn(*lead, 6))
    assert q_tot.shape == (*lead, 1)


def test_parameter_names_follow_reference_layout():
    two = QMixer(3, 6, embed_dim=8, hypernet_layers=2, hypernet_embed=16)
    names = {k for k, _ in two.named_parameters()}
    assert names == {
        "hyper_w_1.0.weight", "hyper_w_1.0.bias", "hyper_w_1.2.weight", "hyper_w_1.2.bias",
        "hyper_w_final.0.weight", "hyper_w_final.0.bias", "hyper_w_final.2.weight",
        "hyper_w_final.2.bias", "hyper_b_1.weight", "hyper_b_1.bias",
        "V.0.weight", "V.0.bias", "V.2.weight", "V.2.bias",
    }  # fmt: skip
    assert two.hyper_w_1[2].out_features == 3 * 8
    one = QMixer(3, 6, embed_dim=8, hypernet_layers=1)
    assert isinstance(one.hyper_w_1, torch.nn.Linear) and one.hyper_w_1.out_features == 24
    assert isinstance(one.hyper_w_final, torch.nn.Linear)


def test_qmixer_matches_hand_written_formula():
    torch.manual_seed(0)
    mixer = QMixer(2, 3, embed_dim=4, hypernet_layers=1)
    qs, s = torch.randn(5, 2), torch.randn(5, 3)
    w1 = torch.abs(mixer.hyper_w_1(s)).view(5, 2, 4)
    b1 = mixer.hyper_b_1(s).view(5, 1, 4)
    hidden = torch.nn.functional.elu(torch.bmm(qs.view(5, 1, 2), w1) + b1)
    w2 = torch.abs(mixer.hyper_w_final(s)).view(5, 4, 1)
    expected = (torch.bmm(hidden, w2) + mixer.V(s).view(5, 1, 1)).view(5, 1)
    torch.testing.assert_close(mixer(qs, s), expected)


@pytest.mark.parametrize("batch", [(4, 7), (16, 40)])  # 224 and 5,120 hidden values
def test_qmixer_gradients_match_the_bmm_and_f_elu_formula(batch):
    # past MANY_VALUES hidden values the mixer multiplies by broadcasting and computes ELU
    # with exp; either way its outputs and the gradients reaching the agents' values and
    # every hypernetwork weight equal those of torch.bmm and F.elu
    torch.manual_seed(1)
    mixer = QMixer(3, 6, embed_dim=8)
    qs, s = torch.randn(*batch, 3, requires_grad=True), torch.randn(*batch, 6)
    assert (batch[0] * batch[1] * 8 >= MANY_VALUES) == (batch == (16, 40))

    def reference(qs):
        p = mixer.mixing_weights(s.reshape(-1, 6))
        hidden = torch.nn.functional.elu(torch.bmm(qs.reshape(-1, 1, 3), p["w1"]) + p["b1"])
        return (torch.bmm(hidden, p["w2"]) + p["v"]).view(*batch, 1)

    grads = []
    for forward in (lambda: mixer(qs, s), lambda: reference(qs)):
        qs.grad = None
        mixer.zero_grad()
        (forward() ** 2).sum().backward()
        grads.append([qs.grad.clone()] + [p.grad.clone() for p in mixer.parameters()])
    for got, want in zip(*grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_elu_matches_f_elu_with_finite_gradients_far_out():
    small = torch.linspace(-3, 3, 61)
    assert torch.equal(elu(small), torch.nn.functional.elu(small))  # F.elu itself
    x = torch.cat([torch.linspace(-30, 30, 6001), torch.tensor([-1e4, -100.0, 100.0, 1e4])])
    assert x.numel() >= MANY_VALUES  # the exp form
    x.requires_grad_(True)
    y = elu(x)
    y.sum().backward()
    torch.testing.assert_close(y, torch.nn.functional.elu(x.detach()), rtol=0, atol=2e-7)
    reference = torch.where(x > 0, torch.ones_like(x), torch.exp(x)).detach()
    assert torch.isfinite(x.grad).all()
    torch.testing.assert_close(x.grad[x != 0], reference[x != 0], rtol=1e-6, atol=1e-7)


def test_vdn_sums():
    qs = torch.tensor([[1.0, 2.0, 3.5]])
    assert VDNMixer()(qs).item() == pytest.approx(6.5)


@pytest.mark.parametrize("name", ["qmix", "vdn_s", "qmix_lin"])
def test_state_mixers_reject_bad_shapes(name):
    mixer = MONOTONIC[name](3, 6)
    with pytest.raises(ValueError, match=r"agent_qs must be \[\.\.\., n_agents=3\]"):
        mixer(torch.randn(4, 2), torch.randn(4, 6))
    with pytest.raises(ValueError, match=r"states must have shape \(4, 6\), got \(4, 5\)"):
        mixer(torch.randn(4, 3), torch.randn(4, 5))
    with pytest.raises(ValueError, match="needs states"):
        mixer(torch.randn(4, 3), None)


def test_vdn_and_ns_reject_wrong_agent_count():
    with pytest.raises(ValueError, match="n_agents=3"):
        VDNMixer(3)(torch.randn(4, 2))
    with pytest.raises(ValueError, match="n_agents=3"):
        QMixerNoState(3)(torch.randn(4, 2))


def test_make_mixer_names():
    assert make_mixer("iql", 2, 3) is None
    with pytest.raises(ValueError, match="unknown algorithm 'qtran'"):
        make_mixer("qtran", 2, 3)
    with pytest.raises(ValueError, match="hypernet_layers"):
        QMixer(2, 3, hypernet_layers=3)


@pytest.mark.parametrize("algo", ALGOS)
def test_make_mixer_builds_what_the_registry_names(algo):
    mixer = make_mixer(algo, 3, 4, embed_dim=8)
    kinds = {None: type(None), "vdn": VDNMixer, "vdn_s": VDNSMixer, "qmix": QMixer,
             "qmix_ns": QMixerNoState, "qmix_lin": LinearMixer}  # fmt: skip
    assert type(mixer) is kinds[spec(algo).mixer]
    if mixer is not None:
        assert mixer(torch.zeros(5, 3), torch.zeros(5, 4)).shape == (5, 1)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(MONOTONIC)),
    n_agents=st.integers(1, 5),
    state_dim=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    scale=st.floats(0.1, 50.0),
)
def test_monotonic_in_every_agent_for_any_state(name, n_agents, state_dim, seed, scale):
    torch.manual_seed(seed)
    mixer = MONOTONIC[name](n_agents, state_dim)
    qs = torch.randn(64, n_agents) * scale
    states = torch.randn(64, state_dim) * scale
    grads = mixer_gradients(mixer, qs, states)
    assert (grads >= 0).all(), f"negative dQ_tot/dQ_a: {grads.min().item()}"
    assert is_monotonic(mixer, qs, states)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["vdn", "qmix", "qmix_1layer"]),
    n_agents=st.integers(2, 3),
    n_actions=st.integers(2, 4),
    seed=st.integers(0, 10_000),
)
def test_igm_on_random_small_games(name, n_agents, n_actions, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    mixer = MONOTONIC[name](n_agents, 4)
    agent_qs = rng.normal(size=(n_agents, n_actions)) * 3
    state = rng.normal(size=4)
    table = joint_q_table(mixer, agent_qs, state)
    assert table.shape == (n_actions,) * n_agents
    best = np.unravel_index(np.argmax(table), table.shape)
    assert tuple(int(i) for i in best) == tuple(int(i) for i in agent_qs.argmax(-1))
    assert igm_holds(mixer, agent_qs, state)


def test_negative_weight_breaks_igm():
    """A counterexample: one negative mixing weight and the decentralised argmax is wrong."""

    class SignedMixer(torch.nn.Module):
        def forward(self, qs, states=None):
            return (qs * torch.tensor([1.0, -1.0])).sum(-1, keepdim=True)

    agent_qs = np.array([[0.0, 1.0], [0.0, 2.0]])
    assert not igm_holds(SignedMixer(), agent_qs, np.zeros(1))
    assert not is_monotonic(SignedMixer(), torch.randn(3, 2), torch.zeros(3, 1))


@pytest.mark.parametrize("mixer_name", ["vdn", "vdn_s", "qmix", "qmix_ns", "qmix_lin"])
def test_a_mixer_names_what_it_expected_for_numpy_or_integer_inputs(mixer_name):
    from qmix_tut.mixers import make_mixer

    mixer = make_mixer(mixer_name, 2, 3)
    states = torch.zeros(4, 3)
    with pytest.raises(
        TypeError, match="agent_qs must be a floating-point torch.Tensor, got numpy"
    ):
        mixer(np.zeros((4, 2), dtype=np.float32), states)
    with pytest.raises(TypeError, match="dtype torch.int64"):
        mixer(torch.zeros(4, 2, dtype=torch.long), states)
    if mixer_name in ("vdn_s", "qmix", "qmix_lin"):
        with pytest.raises(TypeError, match="states must be a floating-point torch.Tensor"):
            mixer(torch.zeros(4, 2), [[0.0] * 3] * 4)
