"""Exercises for notebook 08 (QMIX on your own task): one team's arrays from PettingZoo's
per-agent dictionaries, as :class:`~qmix_tut.envs.MultiAgentEnv` builds them.

>>> check_team_arrays(reference_team_arrays)
PASS team_arrays: ...
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._common import fail, report_pass

__all__ = ["check_team_arrays", "reference_team_arrays"]

TeamArrays = Callable[
    [Sequence[np.ndarray | None], Sequence[np.ndarray | None], Sequence[int]],
    tuple[np.ndarray, np.ndarray],
]


def reference_team_arrays(
    observations: Sequence[np.ndarray | None],
    masks: Sequence[np.ndarray | None],
    n_actions: Sequence[int],
) -> tuple[np.ndarray, np.ndarray]:
    """``obs [n, max obs size]`` and ``avail [n, max n_actions]`` (float32) of one step.

    ``observations[i]`` is agent i's flat observation, or None when it has left;
    ``masks[i]`` its action mask, or None when the env gives none. Observations are
    zero-padded; actions beyond an agent's own are unavailable; an agent that has left,
    or whose mask allows nothing, gets only the placeholder action 0.
    """
    n = len(observations)
    obs_dim = max(len(x) for x in observations if x is not None)
    obs = np.zeros((n, obs_dim), np.float32)
    avail = np.zeros((n, max(n_actions)), np.float32)
    for i, (x, mask, count) in enumerate(zip(observations, masks, n_actions, strict=True)):
        if x is not None:
            obs[i, : len(x)] = x
            avail[i, :count] = 1.0 if mask is None else np.asarray(mask) != 0
        if x is None or not avail[i].any():
            avail[i] = 0.0
            avail[i, 0] = 1.0
    return obs, avail


def _cases(rng: np.random.Generator) -> list[tuple[list, list, list[int]]]:
    speaker_listener = (
        [rng.normal(size=3), rng.normal(size=11)],
        [None, None],
        [3, 5],
    )
    one_left = ([rng.normal(size=4), None, rng.normal(size=4)], [None, None, None], [2, 2, 2])
    turn_based = (
        [rng.normal(size=18), rng.normal(size=18)],
        [np.ones(9, np.int8), np.zeros(9, np.int8)],
        [9, 9],
    )
    cases = [speaker_listener, one_left, turn_based]
    for _ in range(20):
        n = int(rng.integers(2, 5))
        sizes = rng.integers(1, 6, size=n)
        counts = [int(c) for c in rng.integers(1, 5, size=n)]
        obs = [rng.normal(size=int(s)) if rng.random() > 0.25 else None for s in sizes]
        if all(x is None for x in obs):
            obs[0] = rng.normal(size=int(sizes[0]))
        masks = [
            (rng.random(c) < 0.5).astype(np.int8) if rng.random() > 0.4 else None for c in counts
        ]
        cases.append((obs, masks, counts))
    return cases


def check_team_arrays(fn: TeamArrays) -> bool:
    """``fn(observations, masks, n_actions) -> (obs, avail)``: pad, mask, and give agents
    that left (None) or may do nothing (an all-zero mask) the placeholder action 0."""
    name = "team_arrays"
    rng = np.random.default_rng(8)
    for observations, masks, counts in _cases(rng):
        want_obs, want_avail = reference_team_arrays(observations, masks, counts)
        got = fn(
            [None if x is None else x.copy() for x in observations],
            [None if m is None else m.copy() for m in masks],
            list(counts),
        )
        if not (isinstance(got, tuple) and len(got) == 2):
            raise fail(name, f"returned {type(got).__name__}", "return the pair (obs, avail).")
        obs, avail = (np.asarray(a) for a in got)
        case = f"observations of sizes {[None if x is None else len(x) for x in observations]}"
        case += f", n_actions {counts}, masks {[None if m is None else m.tolist() for m in masks]}"
        if obs.shape != want_obs.shape or avail.shape != want_avail.shape:
            raise fail(
                name,
                f"shapes {obs.shape} and {avail.shape}, expected {want_obs.shape} and "
                f"{want_avail.shape} for {case}",
                "one row per agent; obs as wide as the largest observation, avail as wide "
                "as the largest action count.",
            )
        if not np.allclose(obs, want_obs):
            raise fail(
                name,
                f"wrong observations for {case}",
                "copy each observation into the start of its row; zeros elsewhere, and a "
                "whole row of zeros for an agent that has left.",
            )
        if not np.array_equal(avail != 0, want_avail != 0):
            raise fail(
                name,
                f"wrong available actions for {case}:\n{avail}\nexpected\n{want_avail}",
                "an agent's own actions follow its mask (all of them without one); actions "
                "past its own count are never available; a row with nothing available "
                "(gone, or not its turn) gets only action 0.",
            )
    return report_pass(name, "padded, masked, and placeholders where nobody may act")
