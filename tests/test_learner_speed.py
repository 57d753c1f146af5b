"""The learner's speed-ups change nothing: flat parameters and the TD(lambda) loop, bit for bit."""

import pytest
import torch

from qmix_tut.agents import MLPAgent, RNNAgent, agent_input_dim
from qmix_tut.learner import FlatParameters, QLearner
from qmix_tut.mixers import QMixer, VDNMixer

N, A, OBS, STATE = 3, 4, 5, 7


class PerParameter:
    """What the learner did before: gradients per parameter, torch's clip_grad_norm_."""

    def __init__(self, flat: FlatParameters) -> None:
        self.params, self.weights = flat.params, flat.weights

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def clip_grad_norm_(self, max_norm: float) -> torch.Tensor:
        return torch.nn.utils.clip_grad_norm_(self.params, max_norm)


def _learner(agent_kind, mixer_kind, optimizer, seed=0, **kwargs):
    torch.manual_seed(seed)
    in_dim = agent_input_dim(OBS, A, N)
    agent = MLPAgent(in_dim, A) if agent_kind == "mlp" else RNNAgent(in_dim, A, hidden_dim=16)
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


@pytest.mark.parametrize(
    "agent_kind, mixer_kind, optimizer, extra",
    [
        ("mlp", "qmix", "rmsprop", {}),
        ("rnn", "qmix", "adam", {"td_lambda": 0.6}),
        ("rnn", "vdn", "adam", {"double_q": False}),
        ("mlp", "iql", "rmsprop", {"grad_clip": 0.5}),
    ],
)
def test_flat_update_equals_per_parameter_update(agent_kind, mixer_kind, optimizer, extra):
    fast = _learner(agent_kind, mixer_kind, optimizer, **extra)
    slow = _learner(agent_kind, mixer_kind, optimizer, **extra)
    slow.flat = PerParameter(slow.flat)
    make = torch.optim.RMSprop if optimizer == "rmsprop" else torch.optim.Adam
    kw = {"alpha": 0.99} if optimizer == "rmsprop" else {}
    slow.optimizer = make(slow.params, lr=5e-4, eps=1e-5, foreach=True, **kw)
    clipped = False
    for step in range(12):
        batch = _batch(step)
        a, b = fast.update(batch, step), slow.update(batch, step)
        assert a == b, step  # loss, grad norm and the means, to the last bit
        clipped |= a["grad_norm"] > fast.grad_clip
    assert clipped  # the clipped path was exercised too
    for p, q in zip(fast.params, slow.params, strict=True):
        assert torch.equal(p, q)
    # and the flat tensor really holds the module's weights
    first = fast.params[0]
    assert first.data_ptr() == fast.flat.weights.data_ptr()
    assert torch.equal(fast.flat.weights[: first.numel()], first.detach().reshape(-1))


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


def test_gradients_survive_someone_resetting_them():
    learner = _learner("mlp", "qmix", "adam")
    learner.agent.zero_grad(set_to_none=True)  # what a reader's own training loop might do
    before = learner.flat.weights.detach().clone()
    learner.update(_batch(0))
    assert not torch.equal(before, learner.flat.weights)
    assert all(p.grad is v for p, v in zip(learner.params, learner.flat.grad_views, strict=True))


def test_flat_parameters_reject_mixed_dtypes():
    with pytest.raises(ValueError, match="one dtype"):
        FlatParameters(
            [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2).double())]
        )


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
    got = learner.targets(reward, terminated, mask, q)
    want = _reference_lambda_targets(0.97, lam, reward, terminated, mask, q)
    assert torch.equal(got, want)
