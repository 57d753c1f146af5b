"""Exercises for notebook 00 (cooperative MARL and CTDE).

>>> check_joint_action_count(lambda n_agents, n_actions: n_actions**n_agents)
PASS joint_action_count: ...
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._common import fail, report_pass

__all__ = sorted(
    [
        "check_centralised_argmax",
        "check_dicts_to_arrays",
        "check_joint_action_count",
        "check_largest_team",
        "check_random_team_return",
    ]
)

_CASES = [(1, 5), (2, 2), (2, 3), (3, 5), (4, 2), (5, 10), (8, 3)]


def check_joint_action_count(fn: Callable[[int, int], int]) -> bool:
    """``fn(n_agents, n_actions)`` must return how many joint actions there are, ``|U|^n``."""
    name = "joint_action_count"
    for n_agents, n_actions in _CASES:
        got = fn(n_agents, n_actions)
        expected = n_actions**n_agents
        if got == expected:
            continue
        seen = f"fn({n_agents}, {n_actions}) returned {got!r}, expected {expected}"
        if got == n_agents * n_actions:
            hint = (
                "n * |U| counts the per-agent Q-values (what decentralised agents compare). "
                "A joint action picks one action for every agent: |U| choices, n times over."
            )
        elif got == n_agents**n_actions:
            hint = "the exponent is swapped: |U| actions per agent, n agents, so |U| ** n."
        else:
            hint = "each of the n agents picks one of |U| actions independently: multiply."
        raise fail(name, seen, hint)
    return report_pass(name, f"{len(_CASES)} cases, up to {10**5:,} joint actions")


def _unique_max_tables(rng: np.random.Generator) -> list[np.ndarray]:
    tables = []
    for n_agents, n_actions in [(2, 3), (2, 5), (3, 4), (4, 2)]:
        table = rng.permutation(n_actions**n_agents).astype(np.float64)
        tables.append(table.reshape([n_actions] * n_agents) - 3.0)
    # a table whose best joint action is not the tuple of best "rows" and "columns"
    tables.append(np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]]))
    return tables


def check_centralised_argmax(fn: Callable[[np.ndarray], tuple[int, ...]]) -> bool:
    """``fn(q_tot)`` takes a table with one axis per agent and returns the best joint action."""
    name = "centralised_argmax"
    rng = np.random.default_rng(0)
    for table in _unique_max_tables(rng):
        got = fn(table.copy())
        expected = tuple(int(i) for i in np.unravel_index(np.argmax(table), table.shape))
        if isinstance(got, (int, np.integer)):
            raise fail(
                name,
                f"returned the single number {got} for a table of shape {table.shape}",
                "np.argmax flattens the table; turn the flat index into one action per agent "
                "with np.unravel_index(flat, q_tot.shape).",
            )
        try:
            got_tuple = tuple(int(i) for i in got)
        except TypeError:
            raise fail(
                name,
                f"returned {got!r}",
                "return a tuple with one action index per agent.",
            ) from None
        if got_tuple == expected:
            continue
        marginal = tuple(
            int(np.argmax(table.mean(axis=tuple(b for b in range(table.ndim) if b != a))))
            for a in range(table.ndim)
        )
        seen = f"for a table of shape {table.shape} got {got_tuple}, expected {expected}"
        if len(got_tuple) != table.ndim:
            hint = f"the answer needs one action per agent ({table.ndim} here)."
        elif got_tuple == marginal:
            hint = (
                "each agent picked its best action on average over the others; the "
                "centralised argmax compares whole joint actions, every cell of the table."
            )
        else:
            hint = "search every cell of the table for its largest value."
        raise fail(name, seen, hint)
    return report_pass(name, "5 tables, 2 to 4 agents")


def _random_dicts(rng: np.random.Generator, n_agents: int, obs_dim: int, n_actions: int):
    agents = [f"agent_{i}" for i in range(n_agents)]
    observations = {
        a: rng.normal(size=obs_dim).astype(np.float32) for a in reversed(agents)
    }  # insertion order differs from the agents' order on purpose
    infos = {}
    for a in rng.permutation(agents):
        mask = (rng.random(n_actions) < 0.6).astype(np.int8)
        mask[rng.integers(n_actions)] = 1
        infos[str(a)] = {"action_mask": mask}
    return agents, observations, infos


def _reference_arrays(agents, observations, infos):
    obs = np.stack([np.asarray(observations[a], dtype=np.float32) for a in agents])
    avail = np.stack([np.asarray(infos[a]["action_mask"], dtype=np.float32) for a in agents])
    return obs, avail


def check_dicts_to_arrays(fn: Callable) -> bool:
    """``fn(observations, infos, agents)`` -> ``(obs [n, obs_dim], avail [n, n_actions])``.

    ``observations`` and ``infos`` are PettingZoo's per-agent dictionaries; the rows must
    follow the order of ``agents`` and both arrays must be float32.
    """
    name = "dicts_to_arrays"
    rng = np.random.default_rng(1)
    for n_agents, obs_dim, n_actions in [(2, 3, 2), (3, 5, 4), (4, 2, 6)]:
        agents, observations, infos = _random_dicts(rng, n_agents, obs_dim, n_actions)
        got = fn(observations, infos, list(agents))
        if not isinstance(got, tuple) or len(got) != 2:
            raise fail(name, f"returned {type(got).__name__}", "return a pair (obs, avail).")
        obs, avail = (np.asarray(x) for x in got)
        expected_obs, expected_avail = _reference_arrays(agents, observations, infos)
        if obs.shape != expected_obs.shape or avail.shape != expected_avail.shape:
            raise fail(
                name,
                f"shapes {obs.shape} and {avail.shape}, expected {expected_obs.shape} and "
                f"{expected_avail.shape}",
                "one row per agent: obs [n_agents, obs_dim], avail [n_agents, n_actions].",
            )
        reversed_obs = expected_obs[::-1]
        if not np.allclose(obs, expected_obs):
            if np.allclose(obs, reversed_obs):
                hint = (
                    "the rows follow the dictionary's order; a dict's order is not the agents' "
                    "order. Loop over `agents` and look each one up."
                )
            else:
                hint = "row i must be observations[agents[i]]."
            raise fail(name, "the observation rows differ from the expected ones", hint)
        if not np.array_equal(avail, expected_avail):
            if np.all(avail == 1):
                hint = (
                    "every action is marked available; read each agent's "
                    "infos[agent]['action_mask'] instead."
                )
            else:
                hint = "row i must be infos[agents[i]]['action_mask'] as 0/1 floats."
            raise fail(name, "the availability rows differ from the action masks", hint)
        if obs.dtype != np.float32 or avail.dtype != np.float32:
            raise fail(
                name,
                f"dtypes {obs.dtype} and {avail.dtype}",
                "both arrays are float32, the dtype the networks take: .astype(np.float32).",
            )
    return report_pass(name, "3 games, rows in the agents' order, masks read")


def check_largest_team(fn: Callable[[int, float], int]) -> bool:
    """``fn(n_actions, budget)`` returns the largest team size ``n`` whose joint actions,
    ``n_actions ** n``, still fit in ``budget`` (e.g. how many a centralised greedy step
    may score); 0 if even one agent's actions do not fit."""
    name = "largest_team"
    cases = [(5, 1e9), (10, 1e10), (2, 1e6), (36, 1e12), (7, 7.0), (3, 2.0), (2, 1024), (10, 999)]
    for n_actions, budget in cases:
        expected = 0
        while n_actions ** (expected + 1) <= budget:
            expected += 1
        got = fn(n_actions, budget)
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
            raise fail(name, f"returned {got!r}", "return a whole number of agents (an int).")
        if int(got) == expected:
            continue
        seen = f"fn({n_actions}, {budget:g}) returned {got}, expected {expected}"
        if got == expected + 1:
            hint = f"with {got} agents there are {n_actions}**{got} = {n_actions ** int(got):,} joint actions, more than the budget."
        elif got == expected - 1 and n_actions ** (expected) == budget:
            hint = "a team whose joint actions exactly fill the budget still fits (<=, not <)."
        elif got * n_actions <= budget < (got + 1) * n_actions:
            hint = (
                "n * |U| counts per-agent values; a greedy step over joint actions scores |U| ** n."
            )
        else:
            hint = "find the largest n with |U| ** n <= budget: a loop, or floor(log(budget) / log(|U|)) checked with integers."
        raise fail(name, seen, hint)
    return report_pass(name, f"{len(cases)} budgets, exact powers included")


def check_random_team_return(fn: Callable[[np.ndarray, np.ndarray], float]) -> bool:
    """``fn(payoff_2a, payoff_2b)`` returns the expected return of a team that picks every
    action uniformly at random in a two-step game: agent 1's action in state 1 leads to 2A
    (action A) or 2B (action B), state 1 pays nothing, and the second step pays the chosen
    table's entry."""
    name = "random_team_return"
    rng = np.random.default_rng(4)
    cases = [(np.full((2, 2), 7.0), np.array([[0.0, 1.0], [1.0, 8.0]]))]
    cases += [
        (np.round(rng.normal(size=(2, 2)) * 4, 1), np.round(rng.normal(size=(2, 2)) * 4, 1))
        for _ in range(4)
    ]
    for a, b in cases:
        expected = 0.5 * a.mean() + 0.5 * b.mean()
        got = float(fn(a.copy(), b.copy()))
        if abs(got - expected) < 1e-9:
            continue
        seen = (
            f"payoffs 2A {a.tolist()} and 2B {b.tolist()}: got {got:.4g}, expected {expected:.4g}"
        )
        if abs(got - 0.5 * (a.max() + b.max())) < 1e-9 or abs(got - max(a.max(), b.max())) < 1e-9:
            hint = "a random team does not pick the best cell: average over the joint actions it plays."
        elif abs(got - b.mean()) < 1e-9 or abs(got - a.mean()) < 1e-9:
            hint = "agent 1's random action in state 1 sends the team to 2A half the time and to 2B the other half."
        elif abs(got - (a.mean() + b.mean())) < 1e-9:
            hint = (
                "the team visits only one of the two second states per episode: weight each by 1/2."
            )
        else:
            hint = "E[return] = 1/2 * mean(payoff_2a) + 1/2 * mean(payoff_2b): every joint action in a state is equally likely."
        raise fail(name, seen, hint)
    return report_pass(name, f"{len(cases)} games, the paper's two-step game (4.75) included")
