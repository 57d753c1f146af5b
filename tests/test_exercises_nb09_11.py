"""Exercise checkers of notebooks 07-09: a right answer passes, typical mistakes get a hint."""

import math

import numpy as np
import torch
from exercise_helpers import fails_with

import qmix_tut.exercises as ex
from qmix_tut.exercises.nb11 import QUIZ
from qmix_tut.mixers import QMixer


def test_checkers_are_reexported():
    for name in (
        "check_min_slopes",
        "check_steps_to_target",
        "check_expected_payoff",
        "check_ow_weights",
        "check_weighted_td_loss",
        "check_mixer_param_count",
        "check_quiz",
    ):
        assert callable(getattr(ex, name))


# -- notebook 09 -------------------------------------------------------------------------
def test_min_slopes(capsys):
    def right(q_tot, spacing):
        return (
            np.diff(q_tot, axis=0).min() / spacing,
            np.diff(q_tot, axis=1).min() / spacing,
        )

    assert ex.check_min_slopes(right) is True
    assert "PASS min_slopes" in capsys.readouterr().out
    fails_with(ex.check_min_slopes, lambda g, h: right(g, h)[::-1], "axis 0")
    fails_with(
        ex.check_min_slopes,
        lambda g, h: (np.diff(g, axis=0).min(), np.diff(g, axis=1).min()),
        "divided by the grid spacing",
    )
    fails_with(
        ex.check_min_slopes,
        lambda g, h: (np.diff(g, axis=0).max() / h, np.diff(g, axis=1).max() / h),
        "take the min",
    )
    fails_with(ex.check_min_slopes, lambda g, h: right(g, h)[0], "two numbers")
    fails_with(ex.check_min_slopes, lambda g, h: (0.0, 0.0), "np.diff")


def _first_stay(steps, returns, target):
    idx = len(returns)
    while idx > 0 and returns[idx - 1] >= target:
        idx -= 1
    return math.nan if idx == len(returns) else float(steps[idx])


def test_steps_to_target():
    assert ex.check_steps_to_target(_first_stay)

    def first_reach(steps, returns, target):
        hits = np.flatnonzero(np.asarray(returns) >= target)
        return float(steps[hits[0]]) if len(hits) else math.nan

    def last_below(steps, returns, target):
        bad = np.flatnonzero(np.asarray(returns) < target)
        if returns[-1] < target:
            return math.nan
        return float(steps[bad[-1]]) if len(bad) else float(steps[0])

    fails_with(ex.check_steps_to_target, first_reach, "fall back")
    fails_with(ex.check_steps_to_target, last_below, "the step after it")
    fails_with(ex.check_steps_to_target, lambda s, r, t: 0.0, "scan from the end")

    def never_nan(steps, returns, target):
        bad = np.flatnonzero(np.asarray(returns) < target)
        return float(steps[min(bad[-1] + 1, len(steps) - 1)]) if len(bad) else float(steps[0])

    fails_with(ex.check_steps_to_target, never_nan, "return nan")


# -- notebook 10 -------------------------------------------------------------------------
def test_expected_payoff():
    assert ex.check_expected_payoff(lambda payoff, policy: payoff @ policy)
    fails_with(ex.check_expected_payoff, lambda p, pi: pi @ p, "rows are agent 1")
    fails_with(ex.check_expected_payoff, lambda p, pi: p.mean(axis=1), "probability")
    fails_with(ex.check_expected_payoff, lambda p, pi: p.max(axis=1), "optimistic")
    fails_with(ex.check_expected_payoff, lambda p, pi: np.zeros(2), "shape")


def test_ow_weights():
    def right(q_tot, targets, alpha):
        return torch.where(q_tot < targets, 1.0, alpha)

    assert ex.check_ow_weights(right)
    assert ex.check_ow_weights(lambda q, y, a: ((q < y).float() * (1 - a) + a).numpy())
    fails_with(ex.check_ow_weights, lambda q, y, a: torch.where(q > y, 1.0, a), "BELOW")
    fails_with(ex.check_ow_weights, lambda q, y, a: torch.where(q <= y, 1.0, a), "tie")
    fails_with(ex.check_ow_weights, lambda q, y, a: torch.ones(3), "shape")


def test_weighted_td_loss():
    def right(q_tot, targets, mask, alpha):
        targets = targets.detach()
        w = torch.where(q_tot < targets, 1.0, alpha)
        return (w * mask * (q_tot - targets) ** 2).sum() / mask.sum()

    assert ex.check_weighted_td_loss(right)

    def unweighted(q, y, m, a):
        return (m * (q - y.detach()) ** 2).sum() / m.sum()

    def no_mask(q, y, m, a):
        y = y.detach()
        return (torch.where(q < y, 1.0, a) * (q - y) ** 2).mean()

    def grad_into_targets(q, y, m, a):
        w = torch.where(q < y, 1.0, a).detach()
        return (w * m * (q - y) ** 2).sum() / m.sum()

    fails_with(ex.check_weighted_td_loss, unweighted, "weight (1 or alpha)")
    fails_with(ex.check_weighted_td_loss, no_mask, "mask")
    fails_with(ex.check_weighted_td_loss, grad_into_targets, "detach")


# -- notebook 11 -------------------------------------------------------------------------
def test_mixer_param_count():
    def right(n, s, e, layers, h):
        mixer = QMixer(n, s, embed_dim=e, hypernet_layers=layers, hypernet_embed=h)
        return sum(p.numel() for p in mixer.parameters())

    def by_hand(n, s, e, layers, h):
        def linear(i, o):
            return i * o + o

        def hyper(o):
            return linear(s, o) if layers == 1 else linear(s, h) + linear(h, o)

        return hyper(n * e) + hyper(e) + linear(s, e) + linear(s, e) + linear(e, 1)

    assert ex.check_mixer_param_count(right)
    assert ex.check_mixer_param_count(by_hand)

    def no_v(n, s, e, layers, h):
        return by_hand(n, s, e, layers, h) - (s * e + e + e + 1)

    def one_layer_always(n, s, e, layers, h):
        return by_hand(n, s, e, 1, h)

    fails_with(ex.check_mixer_param_count, no_v, "V(s)")
    fails_with(ex.check_mixer_param_count, one_layer_always, "hypernet_layers=2")


def test_quiz(capsys):
    right = {k: answer for k, (_, _, answer, _) in QUIZ.items()}
    assert ex.check_quiz(right)
    assert "all 5 answers right" in capsys.readouterr().out
    fails_with(ex.check_quiz, {**right, "abs": "c"}, "[abs]", "ReLU outputs 0")
    fails_with(ex.check_quiz, {**right, "timeouts": "A"}, "truncated, not terminated")
    fails_with(ex.check_quiz, {k: v for k, v in right.items() if k != "ctde"}, "no answer for ctde")
    fails_with(ex.check_quiz, {**right, "extra": "a"}, "unknown question")
    assert ex.check_quiz({k: f" {v.upper()} " for k, v in right.items()})
