"""The learner on torch.optim: its maths, its public steps, and the traps that used to
stop learning silently (after each of them the weights must still change)."""

import copy

import pytest
import torch

from qmix_tut.agents import MLPAgent, RNNAgent, agent_input_dim
from qmix_tut.buffer import FIELDS
from qmix_tut.learner import NonFiniteError, QLearner
from qmix_tut.mixers import QMixer, VDNMixer

N, A, OBS, STATE = 3, 4, 5, 7


def _learner(agent_kind="mlp", mixer_kind="qmix", optimizer="adam", seed=0, **kwargs):
    torch.manual_seed(seed)
    in_dim = agent_input_dim(OBS, A, N)
    agent = MLPAgent(in_dim, A, 16) if agent_kind == "mlp" else RNNAgent(in_dim, A, 16)
    mixer = {"qmix": QMixer(N, STATE, embed_dim=8), "vdn": VDNMixer(N), "iql": None}[mixer_kind]
    return QLearner(agent, mixer, n_actions=A, optimizer=optimizer, **kwargs)


def _batch(seed, b=6, t=5):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(b, t)
    mask[0, 3:] = 0  # one shorter episode, padded
    avail = (torch.rand(b, t + 1, N, A, generator=g) > 0.3).float()
    avail[..., 0] = 1.0
    return {
        "obs": torch.randn(b, t + 1, N, OBS, generator=g),
        "state": torch.randn(b, t + 1, STATE, generator=g),
        "avail": avail,
        "actions": torch.zeros(b, t, N, dtype=torch.int64),  # action 0 is always available
        "reward": 5 * torch.randn(b, t, generator=g),  # large, so clipping kicks in
        "terminated": torch.zeros(b, t),
        "mask": mask,
    }


def _targets(learner, batch, target_tot):
    """The batch's TD targets from ``target_tot``, and its mask [B, T, 1]."""
    mask = batch["mask"].unsqueeze(-1)
    reward, terminated = batch["reward"].unsqueeze(-1), batch["terminated"].unsqueeze(-1)
    return learner.targets(reward, terminated, mask, target_tot), mask


def _weights(learner):
    return [p.detach().clone() for p in learner.params]


def _moved(learner, before):
    return [not torch.equal(b, p) for b, p in zip(before, learner.params, strict=True)]


# -- the optimizer's maths -------------------------------------------------------------------
def _hand_step(params, grads, state, kind, k, lr=5e-4, alpha=0.99, eps=1e-5, clip=10.0):
    """RMSprop or Adam written out per parameter, after clipping the global gradient norm."""
    norm = torch.sqrt(sum((g**2).sum() for g in grads))
    scale = min(1.0, clip / (float(norm) + 1e-6))
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        g = g * scale
        if kind == "rmsprop":
            s = state.setdefault(i, torch.zeros_like(p))
            s.mul_(alpha).add_((1 - alpha) * g * g)
            p -= lr * g / (s.sqrt() + eps)
        else:
            m = state.setdefault(("m", i), torch.zeros_like(p))
            v = state.setdefault(("v", i), torch.zeros_like(p))
            m.mul_(0.9).add_(0.1 * g)
            v.mul_(0.999).add_(0.001 * g * g)
            m_hat, v_hat = m / (1 - 0.9**k), v / (1 - 0.999**k)
            p -= lr * m_hat / (v_hat.sqrt() + eps)
    return float(norm)


@pytest.mark.parametrize("kind", ["rmsprop", "adam"])
@pytest.mark.parametrize("agent_kind", ["mlp", "rnn"])
def test_update_equals_a_hand_written_optimizer_step(kind, agent_kind):
    learner = _learner(agent_kind, "qmix", kind, grad_clip=1.0)
    hand = _learner(agent_kind, "qmix", kind)
    params, state, clipped = [p.detach().clone() for p in hand.params], {}, False
    for k in range(1, 6):
        batch = _batch(k)
        with torch.no_grad():
            for p, w in zip(hand.params, params, strict=True):
                p.copy_(w)
        hand.optimizer.zero_grad()
        inputs = hand.agent_inputs(batch)
        q = hand.episode_q_values(hand.agent, inputs)
        # same target networks: they never change here
        y, mask = _targets(hand, batch, learner.next_values(batch))
        loss, _ = hand.loss(hand.q_tot_taken(batch, q), y, mask)
        loss.backward()
        with torch.no_grad():
            norm = _hand_step(params, [p.grad for p in hand.params], state, kind, k, clip=1.0)
        stats = learner.update(batch, episodes_seen=0)
        assert stats["grad_norm"] == pytest.approx(norm, rel=1e-5)
        clipped |= norm > 1.0
        for got, want in zip(learner.params, params, strict=True):
            torch.testing.assert_close(got.detach(), want, rtol=1e-5, atol=1e-7)
    assert clipped  # the clipped path was exercised


@pytest.mark.parametrize("agent_kind", ["mlp", "rnn"])
@pytest.mark.parametrize("double_q", [True, False])
def test_the_target_agent_run_first_changes_no_value(agent_kind, double_q):
    # forward_loss runs the target agent before the online one (for the CPU's cache); the
    # loss must be, bit for bit, the one computed online first, as the steps read
    learner = _learner(agent_kind, "qmix", "adam")
    learner.double_q = double_q
    batch = _batch(2)
    inputs = learner.agent_inputs(batch)
    given = learner.next_values(batch, target_q=learner.target_agent_values(inputs))
    assert torch.equal(given, learner.next_values(batch))
    loss, sums = learner.forward_loss(batch)
    q = learner.episode_q_values(learner.agent, inputs)
    y, mask = _targets(learner, batch, learner.next_values(batch, q=q, inputs=inputs))
    online_first, _ = learner.loss(learner.q_tot_taken(batch, q), y, mask)
    assert torch.equal(loss, online_first)
    assert torch.equal(sums[1], (y * mask).sum())


def test_update_reports_the_five_statistics():
    learner = _learner()
    stats = learner.update(_batch(0))
    assert set(stats) == {"loss", "grad_norm", "q_taken", "target", "td_error"}
    assert all(isinstance(v, float) for v in stats.values())
    assert stats["loss"] > 0 and stats["td_error"] > 0 and stats["grad_norm"] > 0


def test_statistics_are_means_over_real_steps():
    learner = _learner(mixer_kind="vdn", td_lambda=0.5)
    batch = _batch(1)
    inputs = learner.agent_inputs(batch)
    with torch.no_grad():
        q = learner.episode_q_values(learner.agent, inputs)
        q_tot = learner.q_tot_taken(batch, q)
        y, mask = _targets(learner, batch, learner.next_values(batch))
    real = batch["mask"].bool()
    stats = learner.update(batch)
    assert stats["q_taken"] == pytest.approx(float(q_tot[..., 0][real].mean()), rel=1e-5)
    assert stats["target"] == pytest.approx(float(y[..., 0][real].mean()), rel=1e-5)
    assert stats["td_error"] == pytest.approx(float((q_tot - y)[..., 0][real].abs().mean()))
    assert stats["loss"] == pytest.approx(float(((q_tot - y)[..., 0][real] ** 2).mean()))


def test_optimistic_weighting_in_the_loss():
    learner = _learner(mixer_kind="vdn", weighting="ow", weighting_alpha=0.25)
    q_tot = torch.tensor([[[1.0], [3.0]]])
    targets = torch.tensor([[[2.0], [1.0]]])  # under, then over its target
    loss, td = learner.loss(q_tot, targets, torch.ones(1, 2, 1))
    assert td.flatten().tolist() == [-1.0, 2.0]
    assert learner.td_weights(td).flatten().tolist() == [1.0, 0.25]
    assert float(loss) == pytest.approx((1.0 + 0.25 * 4.0) / 2)


# -- bad input -------------------------------------------------------------------------------
def test_empty_batch_names_the_missing_keys():
    with pytest.raises(ValueError, match="missing field") as err:
        _learner().update({})
    for key in FIELDS:
        assert key in str(err.value)


def test_batch_with_a_wrong_shape_is_named():
    batch = _batch(0)
    batch["reward"] = batch["reward"][:, :-1]
    with pytest.raises(ValueError, match="reward"):
        _learner().update(batch)


def test_unknown_optimizer_and_weighting_are_named():
    with pytest.raises(ValueError, match="rmsprop, adam"):
        _learner(optimizer="sgd")
    with pytest.raises(ValueError, match="weighting"):
        _learner(weighting="cw")


@pytest.mark.parametrize("where", ["reward", "weight"])
def test_non_finite_values_stop_before_the_weights_change(where):
    learner = _learner()
    learner.update(_batch(0))
    batch = _batch(1)
    if where == "reward":
        batch["reward"][2, 1] = float("nan")
    else:
        with torch.no_grad():
            learner.agent.fc1.weight[0, 0] = float("inf")
    before = _weights(learner)
    with pytest.raises(NonFiniteError, match="at update 2"):
        learner.update(batch)
    assert not any(_moved(learner, before))
    assert isinstance(NonFiniteError("x"), FloatingPointError)


# -- the traps: after each of them, an update still changes the weights ---------------------
def _still_learns(learner):
    before = _weights(learner)
    learner.update(_batch(7))
    assert all(_moved(learner, before)), "an update left some weights unchanged"


def test_learns_after_deepcopy():
    learner = _learner()
    learner.update(_batch(0))
    twin = copy.deepcopy(learner)
    _still_learns(twin)
    _still_learns(learner)
    assert not any(p is q for p, q in zip(learner.params, twin.params, strict=True))


def test_two_learners_on_one_agent_both_learn():
    first = _learner()
    second = QLearner(first.agent, first.mixer, n_actions=A)
    _still_learns(first)
    _still_learns(second)


def test_learns_after_double_then_float():
    learner = _learner()
    learner.update(_batch(0))
    learner.agent.double().float()
    learner.mixer.double().float()
    _still_learns(learner)


def test_learns_after_moving_to_a_device():
    learner = _learner()
    learner.update(_batch(0))
    learner.agent.to(torch.device("cpu"), torch.float64)
    learner.agent.to("cpu", torch.float32)  # a move to a GPU and back: see test_gpu.py
    _still_learns(learner)


def test_learns_after_vector_to_parameters():
    learner = _learner()
    learner.update(_batch(0))
    vector = torch.nn.utils.parameters_to_vector(learner.agent.parameters())
    torch.nn.utils.vector_to_parameters(vector + 0.01, learner.agent.parameters())
    _still_learns(learner)


def test_learns_after_a_reader_resets_the_gradients():
    learner = _learner()
    learner.agent.zero_grad(set_to_none=True)
    _still_learns(learner)


@pytest.mark.parametrize("kind", ["adam", "rmsprop"])
def test_frozen_weights_do_not_move(kind):
    learner = _learner(optimizer=kind)
    learner.update(_batch(0))  # the optimizer has momentum for every weight now
    learner.agent.fc1.requires_grad_(False)
    frozen = [learner.agent.fc1.weight.detach().clone(), learner.agent.fc1.bias.detach().clone()]
    learner.update(_batch(1))
    assert torch.equal(frozen[0], learner.agent.fc1.weight)
    assert torch.equal(frozen[1], learner.agent.fc1.bias)
    assert not torch.equal(learner.agent.fc2.weight, _learner(optimizer=kind).agent.fc2.weight)


# -- target networks and checkpoints ----------------------------------------------------------
def test_soft_target_update_equals_per_parameter_lerp():
    learner = _learner("rnn", "qmix", "adam", tau=0.05)
    for step in range(3):
        learner.update(_batch(step), step)
    expected = [
        tp.detach().clone().lerp_(p.detach(), 0.05)
        for online, target in learner._pairs()
        for p, tp in zip(online.parameters(), target.parameters(), strict=True)
    ]
    learner.update_targets(episodes_seen=3)
    targets = [p for _, t in learner._pairs() for p in t.parameters()]
    for got, want in zip(targets, expected, strict=True):
        assert torch.equal(got, want)


def test_soft_target_update_after_deepcopy_moves_only_the_copy():
    learner = _learner(tau=0.5)
    learner.update(_batch(0))
    twin = copy.deepcopy(learner)
    original_target = learner.target_agent.fc1.weight.detach().clone()
    twin_target = twin.target_agent.fc1.weight.detach().clone()
    twin.update(_batch(1))
    assert torch.equal(learner.target_agent.fc1.weight, original_target)
    assert not torch.equal(twin.target_agent.fc1.weight, twin_target)


def test_hard_target_update_every_interval():
    learner = _learner(target_update_interval=10)
    learner.update(_batch(0), episodes_seen=5)
    assert not torch.equal(learner.agent.fc1.weight, learner.target_agent.fc1.weight)
    learner.update(_batch(1), episodes_seen=10)
    assert torch.equal(learner.agent.fc1.weight, learner.target_agent.fc1.weight)


@pytest.mark.parametrize("kind", ["rmsprop", "adam"])
def test_state_dict_round_trip_continues_identically(kind):
    a = _learner(optimizer=kind)
    for step in range(3):
        a.update(_batch(step), step)
    b = _learner(optimizer=kind, seed=5)
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    assert b.updates == 3
    sa, sb = a.update(_batch(9), 9), b.update(_batch(9), 9)
    assert sa == sb
    for p, q in zip(a.params, b.params, strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("kind", ["rmsprop", "adam"])
def test_loads_the_earlier_flat_optimizer_state(kind):
    a = _learner(optimizer=kind)
    for step in range(2):
        a.update(_batch(step), step)
    torch_state = a.state_dict()
    names = ("square_avg",) if kind == "rmsprop" else ("exp_avg", "exp_avg_sq")
    flat = {
        name: torch.cat(
            [torch_state["optimizer"]["state"][i][name].reshape(-1) for i in range(len(a.params))]
        )
        for name in names
    }
    old = {**torch_state, "optimizer": {"kind": kind, "steps": 2, "state": flat}}
    del old["updates"]
    b = _learner(optimizer=kind, seed=5)
    b.load_state_dict(old)
    assert a.update(_batch(5)) == b.update(_batch(5))
    wrong = _learner(optimizer="adam" if kind == "rmsprop" else "rmsprop")
    with pytest.raises(ValueError, match="optimizer state is for"):
        wrong.load_state_dict(old)


# -- TD(lambda) ------------------------------------------------------------------------------
def _reference_lambda_targets(gamma, lam, reward, terminated, mask, target_tot):
    """The TD(lambda) recursion written out step by step, as the paper's appendix does."""
    not_done = 1.0 - terminated
    t_max = reward.shape[1]
    returns = torch.zeros_like(target_tot)
    next_return = torch.zeros_like(target_tot[:, 0])
    for t in reversed(range(t_max)):
        next_real = mask[:, t + 1] if t + 1 < t_max else torch.zeros_like(mask[:, t])
        bootstrap = target_tot[:, t] + lam * next_real * (next_return - target_tot[:, t])
        returns[:, t] = reward[:, t] + gamma * not_done[:, t] * bootstrap
        next_return = returns[:, t]
    return returns


@pytest.mark.parametrize("lam", [0.3, 0.8, 1.0])
@pytest.mark.parametrize("k", [1, N])
def test_lambda_targets_equal_the_step_by_step_recursion(lam, k):
    g = torch.Generator().manual_seed(int(lam * 10) + k)
    b, t = 5, 7
    reward = torch.randn(b, t, k, generator=g)
    terminated = torch.zeros(b, t, k)
    terminated[1, 4] = 1.0
    mask = torch.ones(b, t, k)
    mask[2, 5:] = 0.0
    q = torch.randn(b, t, k, generator=g)
    learner = _learner("mlp", "vdn", "adam", gamma=0.97, td_lambda=lam)
    # the learner folds the recursion into G_t = a_t + b_t G_{t+1}: the same sums in
    # another order, so equal up to rounding (float32), and to 1e-12 in float64
    got = learner.targets(reward, terminated, mask, q)
    want = _reference_lambda_targets(0.97, lam, reward, terminated, mask, q)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    args64 = [x.double() for x in (reward, terminated, mask, q)]
    got64 = learner.targets(*args64)
    want64 = _reference_lambda_targets(0.97, lam, *args64)
    assert got64.dtype == torch.float64
    torch.testing.assert_close(got64, want64, rtol=0, atol=1e-12)


def test_targets_name_mismatched_shapes():
    learner = _learner()
    with pytest.raises(ValueError, match=r"target_tot \[2, 4, 1\]"):
        learner.targets(torch.zeros(2, 3, 1), torch.zeros(2, 3, 1), torch.ones(2, 3, 1),
                        torch.zeros(2, 4, 1))  # fmt: skip


@pytest.mark.parametrize("double_q", [True, False])
def test_next_values_pick_available_actions_only(double_q):
    learner = _learner("mlp", "iql", double_q=double_q)
    batch = _batch(3)
    batch["avail"][:, 1:] = 0.0
    batch["avail"][:, 1:, :, 2] = 1.0  # only action 2 is available at every next step
    inputs = learner.agent_inputs(batch)
    with torch.no_grad():
        target_q = learner.episode_q_values(learner.target_agent, inputs)[:, 1:]
    assert torch.equal(learner.next_values(batch), target_q[..., 2])


# -- torch.compile (Config.compile) ------------------------------------------------------------
@pytest.mark.slow  # a real compilation: about 30 s
def test_the_compiled_update_matches_the_plain_one_to_float_rounding():
    plain, compiled = _learner(td_lambda=0.6, tau=0.01), _learner(td_lambda=0.6, tau=0.01)
    compiled.compile()
    assert compiled.compiled and not plain.compiled
    for step in range(3):  # the first compiles; the next two run the generated code
        batch = _batch(10 + step)
        a, b = plain.update(batch), compiled.update(batch)
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-5), key
    assert compiled.compiled  # no fallback happened
    for p, q in zip(plain.params + plain.target_params, compiled.params + compiled.target_params,
                    strict=True):  # fmt: skip
        torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-5)


def _failing_compiler(message):
    """A stand-in for torch.compile whose compiled function raises ``message``."""

    def compile_(*args, **kwargs):
        def run(batch):
            raise RuntimeError(message)

        return run

    return compile_


def test_a_compiler_that_fails_leaves_a_warning_and_the_plain_update(monkeypatch):
    monkeypatch.setattr(torch, "compile", _failing_compiler("no C++ compiler found\nmore detail"))
    plain, fallback = _learner(), _learner(compile=True)
    assert fallback.compiled
    batch = _batch(3)
    expected = plain.update(batch)
    with pytest.warns(
        RuntimeWarning,
        match="torch.compile failed .RuntimeError: no C.. compiler found.; the learner goes on uncompiled",
    ):
        got = fallback.update(batch)
    assert got == expected and not fallback.compiled  # the plain update, bit for bit
    assert fallback.update(_batch(4)) == plain.update(_batch(4))


def test_an_error_in_the_batch_is_not_taken_for_a_compiler_failure(monkeypatch):
    monkeypatch.setattr(torch, "compile", _failing_compiler("compiler trouble"))
    learner = _learner(compile=True)
    batch = _batch(5)
    batch["state"] = batch["state"][..., :3]  # the mixer expects 7 state features
    with pytest.raises(ValueError, match="state"):
        learner.update(batch)
