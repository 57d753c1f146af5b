"""Exercises for notebook 11 (papers and Q&A): what the mixer costs, and a short quiz.

>>> check_quiz({"abs": "b", "biases": "a", "timeouts": "b", "vdn_enough": "a", "ctde": "b"})
PASS quiz: ...
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..mixers import QMixer
from ._common import fail, report_pass

__all__ = ["QUIZ", "check_mixer_param_count", "check_quiz"]


def check_mixer_param_count(fn: Callable[[int, int, int, int, int], int]) -> bool:
    """``fn(n_agents, state_dim, embed_dim, hypernet_layers, hypernet_embed) -> int``: the
    number of trained numbers in a :class:`~qmix_tut.mixers.QMixer` of that size."""
    name = "mixer_param_count"
    cases = [(2, 3, 8, 1, 64), (3, 48, 32, 2, 64), (8, 120, 32, 2, 64), (27, 300, 32, 1, 64)]
    cases.append((5, 10, 16, 2, 32))
    for n, s, e, layers, h in cases:
        mixer = QMixer(n, s, embed_dim=e, hypernet_layers=layers, hypernet_embed=h)
        expected = sum(p.numel() for p in mixer.parameters())
        got = fn(n, s, e, layers, h)
        if got == expected:
            continue
        w1_only = (s * n * e + n * e) if layers == 1 else (s * h + h + h * n * e + n * e)
        if isinstance(got, (int, float)) and got == expected - (e + 1 + s * e + e):
            hint = "count V(s) too: Linear(state_dim, embed) -> ReLU -> Linear(embed, 1)."
        elif isinstance(got, (int, float)) and got == w1_only:
            hint = "that is hyper_w_1 alone; add hyper_w_final, hyper_b_1 and V."
        elif layers == 2 and isinstance(got, (int, float)) and got < expected:
            hint = (
                "with hypernet_layers=2 each weight hypernetwork is Linear(state_dim, "
                "hypernet_embed) -> ReLU -> Linear(hypernet_embed, out): two weight matrices "
                "and two bias vectors."
            )
        else:
            hint = (
                "add up weights and biases of hyper_w_1 (out n_agents * embed_dim), "
                "hyper_w_final (out embed_dim), hyper_b_1 (Linear(state_dim, embed_dim)) and V."
            )
        raise fail(
            name,
            f"n_agents={n}, state_dim={s}, embed_dim={e}, hypernet_layers={layers}, "
            f"hypernet_embed={h}: got {got}, expected {expected}",
            hint,
        )
    return report_pass(name, f"{len(cases)} sizes, equal to counting QMixer's parameters")


# question -> (text, options, answer, why)
QUIZ: dict[str, tuple[str, dict[str, str], str, str]] = {
    "abs": (
        "Why does QMIX pass the hypernetworks' weight outputs through abs and not ReLU?",
        {
            "a": "abs is cheaper to compute",
            "b": "ReLU would make about half the weights exactly zero, with no gradient to revive them",
            "c": "ReLU allows negative weights",
            "d": "abs makes Q_tot linear in the agents' values",
        },
        "b",
        "ReLU outputs 0 for every negative input, and its gradient there is 0 too: those "
        "mixing weights, and the agents they carry, drop out of the mix.",
    ),
    "biases": (
        "Why may the biases b1(s) and V(s) be negative?",
        {
            "a": "they do not appear in dQ_tot/dQ_a, so their sign cannot break monotonicity",
            "b": "they are always small",
            "c": "ELU clips negative biases",
            "d": "they are not trained",
        },
        "a",
        "dQ_tot/dQ_a = sum_k |w2_k| ELU'(h_k) |w1_ak| has no bias in it; the biases only "
        "shift values.",
    ),
    "timeouts": (
        "A simple_spread episode stops at its 25-step limit. What is the TD target of the last step?",
        {
            "a": "y = r, as at any terminal step",
            "b": "y = r + gamma * max Q_tot(s'), bootstrapping through the time limit",
            "c": "y = 0",
            "d": "the step is left out of the loss",
        },
        "b",
        "the task did not end there, only the episode did (truncated, not terminated), so "
        "the value of what would follow still counts.",
    ),
    "vdn_enough": (
        "For which payoff is VDN's sum of per-agent values enough?",
        {
            "a": "[[0, 2], [1, 3]]",
            "b": "the climbing game",
            "c": "QTRAN's game [[8, -12, -12], [-12, 0, 0], [-12, 0, 0]]",
            "d": "the two-step game's state 2B, [[0, 1], [1, 8]]",
        },
        "a",
        "[[0, 2], [1, 3]] is a row effect plus a column effect (0/1 plus 0/2): additive.",
    ),
    "ctde": (
        "With n agents and |U| actions each, how many Q-values do QMIX's agents compare to act greedily?",
        {"a": "|U|^n", "b": "n * |U|", "c": "|U|", "d": "n^|U|"},
        "b",
        "each agent takes the argmax of its own |U| values; monotonic mixing makes that the "
        "joint argmax, with no search over the |U|^n joint actions.",
    ),
}


def check_quiz(answers: Mapping[str, str]) -> bool:
    """``answers``: question key -> the letter chosen, for every question in :data:`QUIZ`."""
    name = "quiz"
    missing = [k for k in QUIZ if k not in answers]
    if missing:
        raise fail(
            name,
            f"no answer for {', '.join(missing)}",
            f"answer every question: {', '.join(QUIZ)} (one letter each).",
        )
    unknown = [k for k in answers if k not in QUIZ]
    if unknown:
        raise fail(
            name, f"unknown question(s) {', '.join(unknown)}", f"the keys are {', '.join(QUIZ)}."
        )
    wrong = [
        k for k, (_, _, answer, _) in QUIZ.items() if str(answers[k]).strip().lower() != answer
    ]
    if wrong:
        lines = []
        for k in wrong:
            text, options, _, why = QUIZ[k]
            chosen = str(answers[k]).strip().lower()
            lines.append(
                f"[{k}] {text} You chose {chosen!r}: {options.get(chosen, '(not an option)')}."
            )
        hints = " ".join(f"[{k}] {QUIZ[k][3]}" for k in wrong)
        raise fail(name, f"{len(wrong)} of {len(QUIZ)} wrong:\n" + "\n".join(lines), hints)
    return report_pass(name, f"all {len(QUIZ)} answers right")
