"""The exercises that ask for something new (derive, predict then check, extend): each
checker passes a right answer and fails typical wrong ones with a hint."""

import itertools

import numpy as np
import torch
from exercise_helpers import fails_with

import qmix_tut.exercises as ex

CLIMBING = np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]])


# -- notebook 00 -------------------------------------------------------------------------
def _largest(n_actions, budget):
    n = 0
    while n_actions ** (n + 1) <= budget:
        n += 1
    return n


def test_largest_team():
    assert ex.check_largest_team(_largest)
    fails_with(ex.check_largest_team, lambda a, b: _largest(a, b) + 1, "more than the budget")
    fails_with(ex.check_largest_team, lambda a, b: int(b // a), "per-agent values")
    fails_with(ex.check_largest_team, lambda a, b: float(_largest(a, b)), "an int")


def test_random_team_return():
    assert ex.check_random_team_return(lambda a, b: 0.5 * a.mean() + 0.5 * b.mean())
    fails_with(ex.check_random_team_return, lambda a, b: b.mean(), "half the time")
    fails_with(ex.check_random_team_return, lambda a, b: max(a.max(), b.max()), "best cell")
    fails_with(ex.check_random_team_return, lambda a, b: a.mean() + b.mean(), "weight each")


# -- notebook 01 -------------------------------------------------------------------------
def _equilibria(p):
    return [
        (i, j)
        for i, j in itertools.product(range(p.shape[0]), range(p.shape[1]))
        if p[i, j] >= p[:, j].max() and p[i, j] >= p[i, :].max()
    ]


def test_pure_equilibria():
    assert ex.check_pure_equilibria(_equilibria)

    def strict(p):  # a tie is not a profitable deviation, so ties must count
        return [
            (i, j)
            for i, j in itertools.product(range(p.shape[0]), range(p.shape[1]))
            if all(p[i, j] > p[k, j] for k in range(p.shape[0]) if k != i)
            and all(p[i, j] > p[i, k] for k in range(p.shape[1]) if k != j)
        ]

    def only_rows(p):  # checks agent 1's deviations only: (C, C) slips through
        return [
            (i, j) for i, j in itertools.product(range(3), range(3)) if p[i, j] >= p[:, j].max()
        ]

    fails_with(
        ex.check_pure_equilibria,
        lambda p: [np.unravel_index(p.argmax(), p.shape)],
        "need not be the optimum",
    )
    fails_with(ex.check_pure_equilibria, only_rows, "not an equilibrium")
    fails_with(ex.check_pure_equilibria, strict, "ties count")
    fails_with(ex.check_pure_equilibria, lambda p: 3, "list of (i, j)")


def test_partner_values():
    assert ex.check_partner_values(lambda p, g, e: (1 - e) * p[:, g] + e * p.mean(axis=1))

    def without_greedy(p, g, e):
        return (1 - e) * p[:, g] + e * np.delete(p, g, axis=1).mean(axis=1)

    fails_with(ex.check_partner_values, without_greedy, "greedy one included")
    fails_with(ex.check_partner_values, lambda p, g, e: p.mean(axis=1), "uniform partner")
    fails_with(
        ex.check_partner_values, lambda p, g, e: (1 - e) * p[g, :] + e * p.mean(axis=0), "rows"
    )
    fails_with(ex.check_partner_values, lambda p, g, e: p[:2, g], "one value per action")


# -- notebook 02 -------------------------------------------------------------------------
def _fit(p):
    return p.mean(axis=1, keepdims=True) + p.mean(axis=0, keepdims=True) - p.mean()


def _vdn_first_step(a, b, gamma, fit=_fit):
    va, vb = gamma * fit(a).max(), gamma * fit(b).max()
    table, f = (b, fit(b)) if vb > va else (a, fit(a))
    return va, vb, table[np.unravel_index(f.argmax(), f.shape)]


def test_vdn_first_step():
    assert ex.check_vdn_first_step(_vdn_first_step)
    fails_with(
        ex.check_vdn_first_step,
        lambda a, b, g: _vdn_first_step(a, b, g, fit=lambda p: p),
        "not of the payoff",
    )
    fails_with(
        ex.check_vdn_first_step, lambda a, b, g: _vdn_first_step(a, b, 1.0), "discounted once"
    )
    fails_with(
        ex.check_vdn_first_step,
        lambda a, b, g: (*_vdn_first_step(a, b, g)[:2], 8.0),
        "greedy team goes",
    )
    fails_with(ex.check_vdn_first_step, lambda a, b, g: 7.0, "three numbers")


def _weighted_fit(p, w):
    n = p.shape[0]
    design = np.zeros((n * n, 2 * n))
    for k, (i, j) in enumerate(np.ndindex(n, n)):
        design[k, i] = design[k, n + j] = 1.0
    root = np.sqrt(w.ravel())
    coef = np.linalg.lstsq(design * root[:, None], p.ravel() * root, rcond=None)[0]
    return coef[:n, None] + coef[None, n:]


def test_weighted_additive_fit():
    assert ex.check_weighted_additive_fit(_weighted_fit)
    fails_with(ex.check_weighted_additive_fit, lambda p, w: _fit(p), "unweighted fit")
    fails_with(ex.check_weighted_additive_fit, lambda p, w: _fit(p * w), "one unknown per row")
    fails_with(ex.check_weighted_additive_fit, lambda p, w: p[0], "fitted table")


# -- notebook 03 -------------------------------------------------------------------------
def _ordered(lines):
    return all((a <= b).all() or (a >= b).all() for a, b in itertools.combinations(lines, 2))


def test_monotonic_representable():
    assert ex.check_monotonic_representable(lambda p: _ordered(p) and _ordered(p.T))
    additive = lambda p: bool(np.abs(p - _fit(p)).max() < 1e-9)  # noqa: E731
    fails_with(ex.check_monotonic_representable, additive, "wider than additive")
    fails_with(ex.check_monotonic_representable, lambda p: _ordered(p), "columns must be ordered")
    fails_with(ex.check_monotonic_representable, lambda p: True, "cross")
    fails_with(ex.check_monotonic_representable, lambda p: "yes", "True or False")


# -- notebook 04 -------------------------------------------------------------------------
def test_qmix_lin():
    assert ex.check_qmix_lin(lambda hw, v, q, s: (q * hw(s).abs()).sum(-1, keepdim=True) + v(s))
    fails_with(
        ex.check_qmix_lin,
        lambda hw, v, q, s: (q * hw(s)).sum(-1, keepdim=True) + v(s),
        "non-negative",
    )
    fails_with(
        ex.check_qmix_lin, lambda hw, v, q, s: (q * hw(s).abs()).sum(-1, keepdim=True), "V(s)"
    )
    fails_with(
        ex.check_qmix_lin, lambda hw, v, q, s: (q * hw(s).abs()).sum(-1) + v(s)[..., 0], "shape"
    )


# -- notebook 05 -------------------------------------------------------------------------
def test_memory_bounds():
    assert ex.check_memory_bounds(lambda n, c: (1 / c, (1 / c) ** n))
    fails_with(
        ex.check_memory_bounds, lambda n, c: ((1 / c) ** n, (1 / c) ** n), "fixed joint action"
    )
    fails_with(ex.check_memory_bounds, lambda n, c: (1 / c, 1 / c), "every one of the n agents")
    fails_with(ex.check_memory_bounds, lambda n, c: 0.5, "two numbers")


# -- notebook 06 -------------------------------------------------------------------------
def _n_step(r, d, m, q, gamma, n):
    B, T = r.shape
    out = torch.zeros_like(r)
    for b, t in itertools.product(range(B), range(T)):
        total, discount = 0.0, 1.0
        for k in range(n):
            i = t + k
            total += discount * float(r[b, i])
            discount *= gamma
            if d[b, i] > 0:
                break
            if k == n - 1 or i + 1 >= T or m[b, i + 1] == 0:
                total += discount * float(q[b, i])
                break
        out[b, t] = total
    return out


def test_n_step_targets():
    assert ex.check_n_step_targets(_n_step)
    fails_with(
        ex.check_n_step_targets, lambda r, d, m, q, g, n: r + g * (1 - d) * q, "one-step target"
    )

    def ignores_mask(r, d, m, q, g, n):
        return _n_step(r, d, torch.ones_like(m), q, g, n)

    def ignores_endings(r, d, m, q, g, n):
        return _n_step(r, torch.zeros_like(d), m, q, g, n)

    fails_with(ex.check_n_step_targets, ignores_mask, "time limit")
    fails_with(ex.check_n_step_targets, ignores_endings, "really ends")


# -- notebook 10 -------------------------------------------------------------------------
def _optimism(p, a):
    ps = np.linspace(0, 1, 100_001)
    rest = [j for j in range(p.shape[1]) if j != a]
    values = np.outer(ps, p[:, a]) + np.outer(1 - ps, p[:, rest].mean(axis=1))
    ok = (values[:, [a]] >= values - 1e-12).all(axis=1)
    return float(ps[ok.argmax()]) if ok.any() else float("nan")


def test_optimism_needed():
    assert ex.check_optimism_needed(_optimism)

    def all_uniform(p, a):  # the rest spread over every action, a included
        ps = np.linspace(0, 1, 100_001)
        values = np.outer(ps, p[:, a]) + np.outer(1 - ps, p.mean(axis=1))
        ok = (values[:, [a]] >= values - 1e-12).all(axis=1)
        return float(ps[ok.argmax()]) if ok.any() else float("nan")

    fails_with(ex.check_optimism_needed, all_uniform, "smallest p")
    fails_with(ex.check_optimism_needed, lambda p, a: 0.5, "")
    fails_with(ex.check_optimism_needed, lambda p, a: _optimism(p, a) if a != 1 else 0.0, "nan")


def test_cw_weights():
    def right(q, p, alpha):
        g = np.unravel_index(q.argmax(), q.shape)
        w = np.where(p > p[g], 1.0, alpha)
        w[g] = 1.0
        return w

    def no_greedy(q, p, alpha):
        g = np.unravel_index(q.argmax(), q.shape)
        return np.where(p > p[g], 1.0, alpha)

    assert ex.check_cw_weights(right)
    fails_with(ex.check_cw_weights, lambda q, p, a: np.where(q < p, 1.0, a), "optimistic weighting")
    fails_with(ex.check_cw_weights, no_greedy, "always gets full weight")
    fails_with(ex.check_cw_weights, lambda q, p, a: np.ones(2), "one weight per joint action")
