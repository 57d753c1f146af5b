"""Exercises for notebook 06 (QMIX end to end).

>>> check_td_targets(lambda r, term, trunc, next_q, gamma: r + gamma * (1 - term) * next_q)
PASS td_targets: ...
True
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._common import fail, report_pass, scalar_like, tensor_like

__all__ = sorted(
    ["check_double_q_values", "check_masked_td_loss", "check_td_targets", "check_n_step_targets"]
)


def check_td_targets(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(reward, terminated, truncated, next_q_tot, gamma)`` returns the targets ``y``.

    All tensors are ``[B, T]``: the team reward, 1 where the step ended the task, 1 where
    the time limit cut the episode, and ``Q_tot`` of the target network at the next step.
    ``y = r + gamma * (1 - terminated) * next_q_tot``: a time limit is not an ending, so the
    target bootstraps through it.
    """
    name = "td_targets"
    gen = torch.Generator().manual_seed(6)
    for batch, steps in [(4, 5), (6, 3)]:
        reward = torch.randn(batch, steps, generator=gen)
        next_q = torch.randn(batch, steps, generator=gen) * 4
        terminated = torch.zeros(batch, steps)
        truncated = torch.zeros(batch, steps)
        terminated[0, -1] = terminated[1, 1] = 1.0  # episodes that ended the task
        truncated[2, -1] = truncated[3, -1] = 1.0  # episodes cut by the time limit
        gamma = 0.9
        expected = reward + gamma * (1 - terminated) * next_q
        got = fn(reward.clone(), terminated.clone(), truncated.clone(), next_q.clone(), gamma)
        got = tensor_like(name, got, expected, "one target per step: [B, T], like the reward.")
        if torch.allclose(got, expected, atol=1e-6):
            continue
        ended = torch.clamp(terminated + truncated, max=1.0)
        if torch.allclose(got, reward + gamma * (1 - ended) * next_q, atol=1e-6):
            hint = (
                "a time limit (truncated) is not the end of the task: the state after it "
                "still has value, so keep bootstrapping there; only terminated stops it."
            )
        elif torch.allclose(got, reward + gamma * next_q, atol=1e-6):
            hint = "after a terminal step there is no future: multiply the bootstrap by (1 - terminated)."
        elif torch.allclose(got, reward + (1 - terminated) * next_q, atol=1e-6):
            hint = "discount the next step's value by gamma."
        else:
            hint = "y = reward + gamma * (1 - terminated) * next_q_tot."
        raise fail(name, f"wrong targets for a [{batch}, {steps}] batch", hint)
    return report_pass(name, "terminations stop bootstrapping, time limits do not")


def check_double_q_values(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(online_next, target_next, avail_next)`` returns each agent's next-step value.

    ``online_next`` and ``target_next`` are ``[B, T, n, A]`` Q-values of the online and the
    target agent network at the next step, ``avail_next`` the available actions there.
    Double Q: the online network picks the best *available* action, the target network
    scores it. Returns ``[B, T, n]``.
    """
    name = "double_q_values"
    gen = torch.Generator().manual_seed(7)
    for shape in [(3, 4, 2, 5), (2, 6, 3, 4)]:
        online = torch.randn(*shape, generator=gen)
        target = torch.randn(*shape, generator=gen)
        avail = (torch.rand(*shape, generator=gen) < 0.6).float()
        avail[..., 0] = 1.0  # every agent keeps at least one action
        # make the online favourite unavailable somewhere, so ignoring avail shows
        best = online.argmax(-1, keepdim=True)
        avail.scatter_(-1, best, 0.0)
        avail[..., 0] = 1.0
        choice = online.masked_fill(avail == 0, -torch.inf).argmax(-1, keepdim=True)
        expected = target.gather(-1, choice).squeeze(-1)
        got = fn(online.clone(), target.clone(), avail.clone())
        got = tensor_like(name, got, expected, "one value per agent: [B, T, n].")
        if torch.allclose(got, expected):
            continue
        unmasked = target.gather(-1, online.argmax(-1, keepdim=True)).squeeze(-1)
        plain_max = target.masked_fill(avail == 0, -torch.inf).max(-1).values
        online_value = online.gather(-1, choice).squeeze(-1)
        if torch.allclose(got, plain_max):
            hint = (
                "that is the plain max of the target network; with double Q the ONLINE "
                "network chooses the action (argmax) and the target network scores it."
            )
        elif torch.allclose(got, unmasked):
            hint = "the online network may only choose available actions: mask the others with -inf first."
        elif torch.allclose(got, online_value):
            hint = "read the chosen action's value from the TARGET network, not the online one."
        else:
            hint = "choice = online.masked_fill(avail == 0, -inf).argmax(-1); value = target at choice."
        raise fail(name, f"wrong values for shape {shape}", hint)
    return report_pass(name, "online argmax over available actions, target value")


def check_masked_td_loss(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(q_tot, y, mask)`` returns the TD loss of a batch of padded episodes.

    All ``[B, T]``. The loss is the mean squared TD error over real steps only:
    ``sum(mask * (q_tot - y)**2) / sum(mask)``; gradients flow into ``q_tot`` only (the
    target is held fixed).
    """
    name = "masked_td_loss"
    gen = torch.Generator().manual_seed(8)
    for batch, steps in [(4, 6), (3, 5)]:
        q_tot = torch.randn(batch, steps, generator=gen).requires_grad_(True)
        y = torch.randn(batch, steps, generator=gen).requires_grad_(True)
        lengths = torch.randint(1, steps + 1, (batch,), generator=gen)
        lengths[0] = steps
        lengths[1] = 1
        mask = (torch.arange(steps)[None] < lengths[:, None]).float()
        # padded steps hold junk, as after a real episode's end
        with torch.no_grad():
            y[mask == 0] = 100.0
        d = (q_tot - y).detach()
        expected = (mask * d**2).sum() / mask.sum()
        got = fn(q_tot, y, mask.clone())
        value = scalar_like(name, got, "return one number (a scalar).").detach()
        if not torch.allclose(value, expected):
            if torch.allclose(value, (d**2).mean()):
                hint = "padded steps are not real transitions: weight each squared error by mask."
            elif torch.allclose(value, (mask * d**2).mean()):
                hint = "divide by the number of real steps, mask.sum(), not by B * T."
            elif torch.allclose(value, (mask * d**2).sum()):
                hint = "average: divide the masked sum by mask.sum()."
            else:
                hint = "loss = (mask * (q_tot - y) ** 2).sum() / mask.sum()."
            raise fail(name, f"loss {float(value):.4f}, expected {float(expected):.4f}", hint)
        if not got.requires_grad:
            raise fail(
                name, "the loss carries no gradient", "compute it from q_tot, keeping its graph."
            )
        got.backward()
        if y.grad is not None and y.grad.abs().sum() > 0:
            raise fail(
                name,
                "gradients flow into the target y",
                "the target is a fixed regression label: use y.detach() (the learner builds it "
                "under torch.no_grad()).",
            )
        if q_tot.grad is None or q_tot.grad[mask == 0].abs().sum() > 0:
            raise fail(name, "padded steps get gradient", "multiply by mask before summing.")
    return report_pass(name, "real steps only, the target held fixed")


def _n_step(reward, terminated, mask, next_q, gamma, n):
    B, T = reward.shape
    out = torch.zeros_like(reward)
    for b in range(B):
        for t in range(T):
            total, discount = 0.0, 1.0
            for k in range(n):
                i = t + k
                total += discount * float(reward[b, i])
                discount *= gamma
                if terminated[b, i] > 0:
                    break
                last_real = i + 1 >= T or mask[b, i + 1] == 0
                if k == n - 1 or last_real:
                    total += discount * float(next_q[b, i])
                    break
            out[b, t] = total
    return out


def check_n_step_targets(fn: Callable[..., torch.Tensor]) -> bool:
    """``fn(reward, terminated, mask, next_q_tot, gamma, n)``, all ``[B, T]`` except gamma
    and n, returns the n-step targets ``G_t = r_t + gamma r_{t+1} + ... + gamma^(m-1)
    r_{t+m-1} + gamma^m Q^-(t+m-1)``, where ``next_q_tot[:, i]`` is the target network's value
    of the state after step ``i``; the sum stops early (m < n) at a real ending (no
    bootstrap) or at the episode's last real step (bootstrap there). Padded steps
    (``mask == 0``) are not checked."""
    name = "n_step_targets"
    gen = torch.Generator().manual_seed(6)
    B, T = 4, 7
    reward, next_q = torch.randn(B, T, generator=gen), torch.randn(B, T, generator=gen) * 3
    terminated, mask = torch.zeros(B, T), torch.ones(B, T)
    terminated[0, 4], mask[0, 5:] = 1.0, 0.0  # a real ending at step 4, then padding
    mask[1, 3:] = 0.0  # cut by a time limit after step 2: bootstraps there
    for gamma, n in [(0.9, 1), (0.99, 3), (0.5, 7), (0.95, 2)]:
        expected = _n_step(reward, terminated, mask, next_q, gamma, n)
        got = fn(reward.clone(), terminated.clone(), mask.clone(), next_q.clone(), gamma, n)
        got = tensor_like(name, got, expected, "one target per step: [B, T].")
        if torch.allclose(got * mask, expected * mask, atol=1e-5):
            continue
        one_step = reward + gamma * (1 - terminated) * next_q
        if torch.allclose(got * mask, one_step * mask, atol=1e-5):
            hint = "that is the one-step target; add the next n - 1 rewards, discounted, before bootstrapping."
        elif not torch.allclose(got[1] * mask[1], expected[1] * mask[1], atol=1e-5):
            hint = "episode 1 was cut by its time limit after step 2: near the end, sum the rewards that exist and bootstrap from next_q_tot at the last real step."
        elif not torch.allclose(got[0] * mask[0], expected[0] * mask[0], atol=1e-5):
            hint = "episode 0 really ends at step 4: a sum that reaches a terminated step stops there, with no bootstrap."
        else:
            hint = "G_t = sum_k gamma^k r_{t+k} over m steps, plus gamma^m next_q_tot[t+m-1] unless step t+m-1 ended the task."
        raise fail(name, f"wrong targets for n = {n}, gamma = {gamma}", hint)
    return report_pass(name, "n = 1 to 7, a real ending and a time limit")
