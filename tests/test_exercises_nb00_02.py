"""Exercise checkers of notebooks 00-02: a right answer passes, typical mistakes get a hint."""

import numpy as np
import torch
from exercise_helpers import fails_with

import qmix_tut.exercises as ex


def test_checkers_are_reexported():
    for name in (
        "check_joint_action_count",
        "check_centralised_argmax",
        "check_dicts_to_arrays",
        "check_iql_update",
        "check_independent_values",
        "check_add_agent_ids",
        "check_vdn_sum",
        "check_additive_fit",
        "check_vdn_target",
    ):
        assert callable(getattr(ex, name))


# -- notebook 00 -------------------------------------------------------------------------
def test_joint_action_count(capsys):
    assert ex.check_joint_action_count(lambda n, a: a**n) is True
    assert "PASS joint_action_count" in capsys.readouterr().out
    fails_with(ex.check_joint_action_count, lambda n, a: n * a, "per-agent Q-values")
    fails_with(ex.check_joint_action_count, lambda n, a: n**a, "exponent is swapped")
    fails_with(ex.check_joint_action_count, lambda n, a: a**n - 1, "multiply")


def test_centralised_argmax():
    def right(q_tot):
        return tuple(int(i) for i in np.unravel_index(np.argmax(q_tot), q_tot.shape))

    def per_agent_average(q_tot):
        n = q_tot.ndim
        return tuple(
            int(np.argmax(q_tot.mean(axis=tuple(b for b in range(n) if b != a)))) for a in range(n)
        )

    assert ex.check_centralised_argmax(right)
    fails_with(ex.check_centralised_argmax, lambda q: int(np.argmax(q)), "np.unravel_index")
    fails_with(ex.check_centralised_argmax, per_agent_average, "on average over the others")
    fails_with(ex.check_centralised_argmax, lambda q: (0, 0), "")


def test_dicts_to_arrays():
    def right(observations, infos, agents):
        obs = np.stack([observations[a] for a in agents]).astype(np.float32)
        avail = np.stack([infos[a]["action_mask"] for a in agents]).astype(np.float32)
        return obs, avail

    def dict_order(observations, infos, agents):
        obs = np.stack(list(observations.values())).astype(np.float32)
        return obs, right(observations, infos, agents)[1]

    def no_mask(observations, infos, agents):
        obs, avail = right(observations, infos, agents)
        return obs, np.ones_like(avail)

    def float64(observations, infos, agents):
        obs, avail = right(observations, infos, agents)
        return obs.astype(np.float64), avail.astype(np.float64)

    assert ex.check_dicts_to_arrays(right)
    fails_with(ex.check_dicts_to_arrays, dict_order, "dictionary's order")
    fails_with(ex.check_dicts_to_arrays, no_mask, "action_mask")
    fails_with(ex.check_dicts_to_arrays, float64, "float32")


# -- notebook 01 -------------------------------------------------------------------------
def test_iql_update():
    def right(q, action, reward, alpha):
        q[action] += alpha * (reward - q[action])
        return q

    def in_place_only(q, action, reward, alpha):
        q[action] += alpha * (reward - q[action])

    def all_entries(q, action, reward, alpha):
        return q + alpha * (reward - q)

    def no_error(q, action, reward, alpha):
        q[action] += alpha * reward
        return q

    def jump(q, action, reward, alpha):
        q[action] = reward
        return q

    assert ex.check_iql_update(right)
    fails_with(ex.check_iql_update, in_place_only, "returned None")
    fails_with(ex.check_iql_update, all_entries, "only the action that was played")
    fails_with(ex.check_iql_update, no_error, "alpha times the error")
    fails_with(ex.check_iql_update, jump, "fraction alpha")


def test_independent_values():
    def right(payoff):
        return np.stack([payoff.mean(axis=1), payoff.mean(axis=0)])

    assert ex.check_independent_values(right)
    fails_with(ex.check_independent_values, lambda p: right(p)[::-1], "swapped")
    fails_with(
        ex.check_independent_values,
        lambda p: np.stack([p.mean(axis=1), p.mean(axis=1)]),
        "average each column",
    )
    fails_with(
        ex.check_independent_values,
        lambda p: np.stack([p.max(axis=1), p.max(axis=0)]),
        "optimist",
    )
    fails_with(ex.check_independent_values, lambda p: p.mean(axis=1), "one row per agent")


def test_add_agent_ids():
    def right(obs):
        n = obs.shape[-2]
        ids = torch.eye(n).expand(*obs.shape[:-1], n)
        return torch.cat([obs, ids], dim=-1)

    def ids_first(obs):
        n = obs.shape[-2]
        return torch.cat([torch.eye(n).expand(*obs.shape[:-1], n), obs], dim=-1)

    def index_column(obs):
        index = torch.arange(obs.shape[-2], dtype=obs.dtype)
        return torch.cat([obs, index.expand(obs.shape[:-1]).unsqueeze(-1)], dim=-1)

    def wrong_ids(obs):
        n = obs.shape[-2]
        return torch.cat([obs, torch.ones(*obs.shape[:-1], n) / n], dim=-1)

    assert ex.check_add_agent_ids(right)
    fails_with(ex.check_add_agent_ids, ids_first, "after the observation")
    fails_with(ex.check_add_agent_ids, index_column, "one-hot")
    fails_with(ex.check_add_agent_ids, wrong_ids, "torch.eye")
    fails_with(ex.check_add_agent_ids, lambda obs: obs.numpy(), "torch.Tensor")


# -- notebook 02 -------------------------------------------------------------------------
def test_vdn_sum():
    assert ex.check_vdn_sum(lambda q: q.sum(dim=-1, keepdim=True))
    fails_with(ex.check_vdn_sum, lambda q: q.sum(dim=-1), "keepdim=True")
    fails_with(ex.check_vdn_sum, lambda q: q.mean(dim=-1, keepdim=True), "that is the mean")
    fails_with(ex.check_vdn_sum, lambda q: q.sum(), "not over the whole batch")
    fails_with(ex.check_vdn_sum, lambda q: q.max(dim=-1, keepdim=True).values, "plain sum")


def test_additive_fit():
    def right(p):
        return p.mean(axis=1, keepdims=True) + p.mean(axis=0, keepdims=True) - p.mean()

    assert ex.check_additive_fit(right)
    fails_with(
        ex.check_additive_fit,
        lambda p: p.mean(axis=1, keepdims=True) + p.mean(axis=0, keepdims=True),
        "subtract the grand mean",
    )
    fails_with(ex.check_additive_fit, lambda p: p.copy(), "not additive in general")
    fails_with(
        ex.check_additive_fit,
        lambda p: np.repeat(p.mean(axis=1, keepdims=True), p.shape[1], axis=1),
        "column (agent 2) effect",
    )
    fails_with(ex.check_additive_fit, lambda p: p[0], "fitted table")


def test_vdn_target():
    def right(reward, terminated, next_qs, gamma):
        return reward + gamma * (1 - terminated) * next_qs.max(dim=-1).values.sum(dim=-1)

    def forgot_terminal(reward, terminated, next_qs, gamma):
        return reward + gamma * next_qs.max(dim=-1).values.sum(dim=-1)

    def mean_over_agents(reward, terminated, next_qs, gamma):
        return reward + gamma * (1 - terminated) * next_qs.max(dim=-1).values.mean(dim=-1)

    def one_action_for_all(reward, terminated, next_qs, gamma):
        return reward + gamma * (1 - terminated) * next_qs.sum(dim=-2).max(dim=-1).values

    def sum_everything(reward, terminated, next_qs, gamma):
        return reward + gamma * (1 - terminated) * next_qs.sum(dim=(-1, -2))

    assert ex.check_vdn_target(right)
    fails_with(ex.check_vdn_target, forgot_terminal, "(1 - terminated)")
    fails_with(ex.check_vdn_target, mean_over_agents, "not their mean")
    fails_with(ex.check_vdn_target, one_action_for_all, "same action index")
    fails_with(ex.check_vdn_target, sum_everything, "max over each agent's actions")
    fails_with(ex.check_vdn_target, lambda r, d, q, g: r.unsqueeze(-1), "one target per")
