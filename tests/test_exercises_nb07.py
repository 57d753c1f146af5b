"""Exercise checkers of notebook 07 (COMA): right answers pass, typical mistakes get their hint."""

import torch
from exercise_helpers import fails_with

import qmix_tut.exercises as exercises
from qmix_tut.exercises import check_exact_policy_gradient, check_gradient_variance


def test_checkers_are_reexported():
    assert {"check_exact_policy_gradient", "check_gradient_variance"} <= set(exercises.__all__)


def right_gradient(payoff, logits):
    pi = torch.softmax(logits, -1)
    q = torch.stack([payoff @ pi[1], payoff.T @ pi[0]])
    return pi * (q - (pi * q).sum(-1, keepdim=True))


def test_exact_policy_gradient_right_answer_passes(capsys):
    assert check_exact_policy_gradient(right_gradient) is True
    assert "PASS exact_policy_gradient" in capsys.readouterr().out


def test_exact_policy_gradient_typical_mistakes():
    def no_baseline_term(payoff, logits):
        pi = torch.softmax(logits, -1)
        return pi * torch.stack([payoff @ pi[1], payoff.T @ pi[0]])

    def agents_swapped(payoff, logits):
        return right_gradient(payoff, logits).flip(0)

    fails_with(check_exact_policy_gradient, no_baseline_term, "wrong gradient", "Jacobian")
    fails_with(check_exact_policy_gradient, agents_swapped, "wrong gradient", "row a")
    fails_with(check_exact_policy_gradient, lambda p, lg: lg[0], "returned shape", "[2, A]")


def right_variance(payoff, logits, baseline):
    pi = torch.softmax(logits, -1)
    n = payoff.shape[0]
    eye = torch.eye(n, dtype=payoff.dtype)
    value = pi[0] @ payoff @ pi[1]
    mean, second = torch.zeros(2, n, dtype=payoff.dtype), torch.zeros((), dtype=payoff.dtype)
    for u1 in range(n):
        for u2 in range(n):
            p = pi[0, u1] * pi[1, u2]
            g = torch.zeros(2, n, dtype=payoff.dtype)
            for a, u in enumerate((u1, u2)):
                if baseline == "none":
                    b = 0.0
                elif baseline == "value":
                    b = value
                else:
                    b = pi[a] @ (payoff[:, u2] if a == 0 else payoff[u1, :])
                g[a] = (payoff[u1, u2] - b) * (eye[u] - pi[a])
            mean, second = mean + p * g, second + p * (g**2).sum()
    return second - (mean**2).sum()


def test_gradient_variance_right_answer_passes(capsys):
    assert check_gradient_variance(right_variance) is True
    assert "PASS gradient_variance" in capsys.readouterr().out


def test_gradient_variance_typical_mistakes():
    def second_moment_only(payoff, logits, baseline):
        mean_sq = right_variance(payoff, logits, baseline)
        return mean_sq + 1.0

    def counterfactual_as_value(payoff, logits, baseline):
        return right_variance(payoff, logits, "value" if baseline == "counterfactual" else baseline)

    fails_with(check_gradient_variance, second_moment_only, "baseline 'none'", "E ||g||^2")
    fails_with(check_gradient_variance, counterfactual_as_value, "'counterfactual'", "averages")
    fails_with(check_gradient_variance, lambda p, lg, b: torch.zeros(2), "shape")
