"""Weighted QMIX's optimistic weighting (``Config.weighting="ow"``): the loss it computes, and
that it recovers the optimum of QTRAN's matrix game where QMIX and VDN miss it."""

import itertools

import numpy as np
import pytest
import torch

from qmix_tut import Config, train
from qmix_tut.agents import MLPAgent, agent_input_dim
from qmix_tut.analysis import greedy_joint_action
from qmix_tut.envs.games import NAMED_MATRIX_GAMES
from qmix_tut.learner import QLearner
from qmix_tut.mixers import QMixer

QTRAN = np.array(NAMED_MATRIX_GAMES["qtran"](), dtype=np.float32)


def qtran_batch() -> dict[str, torch.Tensor]:
    """Every joint action of QTRAN's game once: a batch of 9 one-step episodes."""
    joint = torch.tensor(list(itertools.product(range(3), repeat=2)))  # [9, 2]
    b = len(joint)
    return {
        "obs": torch.ones(b, 2, 2, 1),
        "state": torch.ones(b, 2, 1),
        "avail": torch.ones(b, 2, 2, 3),
        "actions": joint[:, None, :],
        "reward": torch.as_tensor(QTRAN[joint[:, 0], joint[:, 1]])[:, None],
        "terminated": torch.ones(b, 1),
        "mask": torch.ones(b, 1),
    }


def make_learner(weighting: str, alpha: float = 0.1, seed: int = 0) -> QLearner:
    torch.manual_seed(seed)
    agent = MLPAgent(agent_input_dim(1, 3, 2, last_action=False), 3)
    mixer = QMixer(2, 1, embed_dim=8, hypernet_layers=1)
    return QLearner(
        agent, mixer, n_actions=3, last_action_input=False, weighting=weighting,
        weighting_alpha=alpha,
    )  # fmt: skip


def q_tot_of(learner: QLearner, batch: dict) -> torch.Tensor:
    with torch.no_grad():
        q = learner.episode_q_values(learner.agent, learner.agent_inputs(batch))
        q_taken = q[:, :-1].gather(-1, batch["actions"].unsqueeze(-1)).squeeze(-1)
        return learner.mixer(q_taken, batch["state"][:, :-1])  # [B, 1, 1]


@pytest.mark.parametrize("alpha", [0.1, 0.5])
def test_ow_loss_weights_underestimates_fully_and_the_rest_by_alpha(alpha):
    batch = qtran_batch()
    learner = make_learner("ow", alpha)
    q_tot = q_tot_of(learner, batch)
    y = batch["reward"].unsqueeze(-1)  # one-step episodes: the target is the reward
    w = torch.where(q_tot < y, torch.ones(()), torch.tensor(alpha))
    expected = (w * (q_tot - y) ** 2).sum() / 9
    assert 0 < int((q_tot < y).sum()) < 9  # both kinds of error are in the batch
    assert learner.update(batch)["loss"] == pytest.approx(float(expected), rel=1e-5)


def test_alpha_one_is_plain_qmix_and_none_ignores_alpha():
    batch = qtran_batch()
    plain = make_learner("none", alpha=0.3).update(batch)["loss"]
    assert make_learner("ow", alpha=1.0).update(batch)["loss"] == pytest.approx(plain, rel=1e-6)
    assert make_learner("ow", alpha=0.3).update(batch)["loss"] < plain


def test_ow_gradient_steps_lift_the_optimum_more_than_plain_qmix():
    """On the same data, the weighted loss moves Q_tot(A, A) up relative to the rest."""
    batch = qtran_batch()
    learners = {w: make_learner(w, 0.1, seed=3) for w in ("none", "ow")}
    for learner in learners.values():
        for _ in range(100):
            learner.update(batch)
    gaps = {}
    for w, learner in learners.items():
        table = q_tot_of(learner, batch).reshape(3, 3)
        gaps[w] = float(table[0, 0] - table[1:, 1:].max())
    assert gaps["none"] < 0 < gaps["ow"], gaps


def test_weighting_needs_qmix():
    with pytest.raises(ValueError, match="weighting='ow' needs algo='qmix'"):
        Config.preset("matrix", algo="vdn", weighting="ow")


@pytest.mark.slow
def test_ow_qmix_recovers_the_qtran_optimum_that_qmix_misses():
    def greedy(seed: int, **kw) -> tuple[int, int]:
        cfg = Config.preset("matrix", env="matrix:qtran", total_steps=1500, seed=seed, **kw)
        return greedy_joint_action(train(cfg, progress=False))

    assert greedy(0, algo="qmix") != (0, 0)
    assert greedy(0, algo="vdn") != (0, 0)
    for seed in (0, 1):
        assert greedy(seed, algo="qmix", weighting="ow", weighting_alpha=0.1) == (0, 0)
