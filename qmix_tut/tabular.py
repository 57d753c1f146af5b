"""Tabular pieces for one-step matrix games: independent Q-learners and VDN's additive fit.

A one-step cooperative matrix game pays every agent ``payoff[u_1, ..., u_n]`` and ends, so
each learner's target is just the reward. Two things are small enough here to compute
exactly, which is why the first notebooks use them:

* :func:`independent_q_learning`: every agent keeps its own table ``Q_a(u_a)`` and treats
  the others as part of the environment (tabular IQL, Tan 1993; Claus & Boutilier 1998).
* :func:`additive_fit`: the best approximation of a payoff by a sum of per-agent
  utilities, ``Q_tot(u) = sum_a Q_a(u_a)``, in the least-squares sense. It is what VDN's
  loss is minimised by when every joint action appears with the given weights.

>>> run = independent_q_learning("climbing", steps=3000, seed=0)
>>> run.q.shape, run.greedy_joint_action(), run.greedy_return()
((2, 3), (2, 2), 5.0)
>>> fit = additive_fit([[0, 1], [1, 8]])
>>> fit.fit.round(6).tolist()
[[-1.5, 2.5], [2.5, 6.5]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .envs.games import NAMED_MATRIX_GAMES, validate_payoff
from .runner import epsilon_at

__all__ = ["AdditiveFit", "TabularIQLRun", "additive_fit", "independent_q_learning", "payoff_of"]


def payoff_of(game: str | Sequence | np.ndarray, **game_kwargs) -> np.ndarray:
    """A payoff table as a float array: a named game (``"climbing"``) or a nested list.

    >>> payoff_of("penalty", k=-10)[0].tolist()
    [-10.0, 0.0, 10.0]
    """
    if isinstance(game, str):
        if game not in NAMED_MATRIX_GAMES:
            raise ValueError(
                f"unknown matrix game {game!r}; named games: {', '.join(NAMED_MATRIX_GAMES)}"
            )
        return validate_payoff(NAMED_MATRIX_GAMES[game](**game_kwargs))
    if game_kwargs:
        raise ValueError("game arguments apply to named games only, not to a payoff table")
    return validate_payoff(game)


def _per_agent(name: str, value: float | Sequence[float], n_agents: int) -> np.ndarray:
    values = np.asarray(value, dtype=np.float64)
    if values.ndim > 1 or values.size not in (1, n_agents):
        raise ValueError(f"{name} must be one value or one per agent ({n_agents}), got {value}")
    values = np.broadcast_to(values, (n_agents,)).copy()
    if ((values < 0) | (values > 1)).any():
        raise ValueError(f"{name} must be in [0, 1] (one value, or one per agent), got {value}")
    return values


@dataclass
class TabularIQLRun:
    """Everything one run of tabular IQL did, step by step.

    ``q_history[t]`` holds every agent's table before step ``t`` (so ``q_history[0]`` is
    the initial table and ``q_history[-1]`` the final one): shape ``[steps + 1, n, A]``.
    ``actions [steps, n]``, ``rewards [steps]`` and ``epsilons [steps, n]`` record the
    joint action played, the team reward and each agent's exploration rate.
    """

    payoff: np.ndarray
    q_history: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    epsilons: np.ndarray

    @property
    def q(self) -> np.ndarray:
        """The final tables, ``[n_agents, n_actions]``."""
        return self.q_history[-1]

    def greedy_joint_action(self) -> tuple[int, ...]:
        """Each agent's greedy action (ties to the lowest index)."""
        return tuple(int(a) for a in self.q.argmax(-1))

    def greedy_return(self) -> float:
        """The payoff of the greedy joint action."""
        return float(self.payoff[self.greedy_joint_action()])


def independent_q_learning(
    payoff: str | Sequence | np.ndarray,
    steps: int = 3000,
    alpha: float = 0.1,
    epsilon_start: float | Sequence[float] = 1.0,
    epsilon_finish: float | Sequence[float] = 0.05,
    anneal_steps: int | None = None,
    seed: int = 0,
    q_init: float = 0.0,
) -> TabularIQLRun:
    """Tabular independent Q-learners on a one-step matrix game (a named game or a table).

    Each step every agent acts epsilon-greedily on its own table, the joint action is paid
    ``r = payoff[u]``, and every agent moves its own entry toward ``r``::

        Q_a(u_a) <- Q_a(u_a) + alpha * (r - Q_a(u_a))

    Epsilon falls linearly from ``epsilon_start`` to ``epsilon_finish`` over
    ``anneal_steps`` (half the run by default); either may be one value per agent, which
    lets one agent keep exploring while the other settles. Random draws, per step, in
    this order: ``rng.random(n)`` (explore or not), ``rng.integers(A, size=n)`` (the
    random actions); ``rng = np.random.default_rng(seed)``. Greedy ties go to the lowest
    action index.

    >>> run = independent_q_learning("penalty", steps=200, seed=1)
    >>> run.q_history.shape, run.actions.shape
    ((201, 2, 3), (200, 2))
    """
    table = payoff_of(payoff)
    n_agents, n_actions = table.ndim, table.shape[0]
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    anneal = max(1, steps // 2) if anneal_steps is None else anneal_steps
    if isinstance(anneal, bool) or not isinstance(anneal, (int, np.integer)) or anneal < 1:
        raise ValueError(f"anneal_steps must be a positive integer, got {anneal_steps!r}")
    eps_start = _per_agent("epsilon_start", epsilon_start, n_agents)
    eps_finish = _per_agent("epsilon_finish", epsilon_finish, n_agents)

    rng = np.random.default_rng(seed)
    q = np.full((n_agents, n_actions), float(q_init))
    agents = np.arange(n_agents)
    q_history = np.empty((steps + 1, n_agents, n_actions))
    actions = np.empty((steps, n_agents), dtype=np.int64)
    rewards = np.empty(steps)
    epsilons = np.empty((steps, n_agents))
    q_history[0] = q
    for t in range(steps):
        eps = np.array(
            [epsilon_at(t, s, f, anneal) for s, f in zip(eps_start, eps_finish, strict=True)]
        )
        explore = rng.random(n_agents) < eps
        random_actions = rng.integers(n_actions, size=n_agents)
        u = np.where(explore, random_actions, q.argmax(-1))
        r = table[tuple(u)]
        q[agents, u] += alpha * (r - q[agents, u])
        q_history[t + 1], actions[t], rewards[t], epsilons[t] = q, u, r, eps
    return TabularIQLRun(table, q_history, actions, rewards, epsilons)


@dataclass
class AdditiveFit:
    """The least-squares additive approximation of a payoff.

    ``utilities[a]`` is agent ``a``'s value of each of its actions, and
    ``fit[u] = sum_a utilities[a, u_a]``; ``residual = payoff - fit`` is the part no sum
    of per-agent terms can express (zero exactly when the payoff is additive). Only the
    sum is determined: adding ``c`` to one agent's utilities and subtracting it from
    another's gives the same fit, and the smallest-norm choice is returned.
    """

    payoff: np.ndarray
    utilities: np.ndarray
    fit: np.ndarray
    residual: np.ndarray

    def greedy_joint_action(self) -> tuple[int, ...]:
        """The tuple of per-agent argmaxes, which is also the argmax of the fit."""
        return tuple(int(a) for a in self.utilities.argmax(-1))

    @property
    def max_abs_residual(self) -> float:
        return float(np.abs(self.residual).max())


def additive_fit(
    payoff: str | Sequence | np.ndarray, weights: Sequence | np.ndarray | None = None
) -> AdditiveFit:
    """Fit ``payoff[u] ~ sum_a Q_a(u_a)`` by (weighted) least squares.

    With no weights every joint action counts the same and the answer is closed form:
    for two agents ``fit[i, j] = row_mean[i] + col_mean[j] - grand_mean``. ``weights``
    (same shape as the payoff, non-negative) count some joint actions more, as the data a
    learner sees would: ``sum_u w(u) (payoff[u] - fit[u])^2`` is minimised.

    >>> f = additive_fit("climbing")
    >>> f.greedy_joint_action(), round(float(f.fit[2, 2]), 2)
    ((2, 2), 8.78)
    """
    table = payoff_of(payoff)
    n_agents, n_actions = table.ndim, table.shape[0]
    joint = np.array(list(np.ndindex(*table.shape)))  # [A^n, n], row-major like table.ravel()
    design = np.zeros((len(joint), n_agents * n_actions))
    for a in range(n_agents):
        design[np.arange(len(joint)), a * n_actions + joint[:, a]] = 1.0
    target = table.ravel()
    if weights is None:
        w = np.ones_like(target)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != table.shape:
            raise ValueError(f"weights must have the payoff's shape {table.shape}, got {w.shape}")
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        w = w.ravel()
    root = np.sqrt(w)[:, None]
    solution = np.linalg.lstsq(root * design, root[:, 0] * target, rcond=None)[0]
    utilities = solution.reshape(n_agents, n_actions)
    fit = (design @ solution).reshape(table.shape)
    return AdditiveFit(table, utilities, fit, table - fit)
