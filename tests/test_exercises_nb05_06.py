"""Exercise checkers of notebooks 05-06: right answers pass, typical mistakes get their hint."""

import pytest
import torch
import torch.nn.functional as F

import qmix_tut.exercises as exercises
from qmix_tut.exercises import (
    ExerciseFailed,
    check_build_inputs,
    check_double_q_values,
    check_gru_step,
    check_masked_td_loss,
    check_td_targets,
    check_unroll_with_resets,
)


def test_checkers_are_reexported():
    for name in (
        "check_build_inputs",
        "check_gru_step",
        "check_unroll_with_resets",
        "check_td_targets",
        "check_double_q_values",
        "check_masked_td_loss",
    ):
        assert name in exercises.__all__


# -- notebook 05 -------------------------------------------------------------------------
def right_build_inputs(obs, last, n_actions):
    n_agents = obs.shape[-2]
    last_onehot = F.one_hot(last + 1, n_actions + 1)[..., 1:].to(obs.dtype)
    ids = torch.eye(n_agents).expand(*obs.shape[:-1], n_agents)
    return torch.cat([obs, last_onehot, ids], dim=-1)


def test_build_inputs_right_answer_passes(capsys):
    assert check_build_inputs(right_build_inputs) is True
    assert "PASS build_inputs" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (
            lambda obs, last, n: right_build_inputs(obs, last, n)[..., : obs.shape[-1] + n],
            "each agent.s id",
        ),
        (
            lambda obs, last, n: torch.cat(
                [
                    obs,
                    torch.eye(n)[last],  # -1 picks the last row
                    torch.eye(obs.shape[-2]).expand(*obs.shape[:-1], obs.shape[-2]),
                ],
                -1,
            ),
            "negative indexing",
        ),
        (
            lambda obs, last, n: torch.cat(
                [
                    obs,
                    torch.eye(obs.shape[-2]).expand(*obs.shape[:-1], obs.shape[-2]),
                    F.one_hot(last + 1, n + 1)[..., 1:].float(),
                ],
                -1,
            ),
            "middle part",
        ),
        (
            lambda obs, last, n: torch.cat(
                [
                    obs,
                    F.one_hot(last + 1, n + 1).float(),
                    torch.eye(obs.shape[-2]).expand(*obs.shape[:-1], obs.shape[-2]),
                ],
                -1,
            ),  # fmt: skip
            "drop the first column",
        ),
    ],
)
def test_build_inputs_wrong_answers_get_hints(wrong, hint):
    with pytest.raises(ExerciseFailed, match=hint):
        check_build_inputs(wrong)


def gru_step(x, h, w_ih, w_hh, b_ih, b_hh, swap_z=False, r_outside=False):
    hidden = h.shape[-1]
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    r = torch.sigmoid(gi[:, :hidden] + gh[:, :hidden])
    z = torch.sigmoid(gi[:, hidden : 2 * hidden] + gh[:, hidden : 2 * hidden])
    if r_outside:
        n = torch.tanh(gi[:, 2 * hidden :] + r * (h @ w_hh[2 * hidden :].T) + b_hh[2 * hidden :])
    else:
        n = torch.tanh(gi[:, 2 * hidden :] + r * gh[:, 2 * hidden :])
    return z * n + (1 - z) * h if swap_z else (1 - z) * n + z * h


def test_gru_step_right_answer_passes():
    assert check_gru_step(gru_step)


def test_gru_step_wrong_answers_get_hints():
    with pytest.raises(ExerciseFailed, match="OLD state"):
        check_gru_step(lambda *a: gru_step(*a, swap_z=True))
    with pytest.raises(ExerciseFailed, match="bias included"):
        check_gru_step(lambda *a: gru_step(*a, r_outside=True))
    with pytest.raises(ExerciseFailed, match="shape of h"):
        check_gru_step(lambda x, h, *w: h[:, :1])


def unroll(cell, inputs, starts, reset=True, before=True):
    h = torch.zeros(inputs.shape[1], cell.hidden_size)
    out = []
    for t in range(inputs.shape[0]):
        keep = (~starts[t]).float()[:, None]
        h = h * keep if (reset and before) else h
        h = cell(inputs[t], h)
        h = h * keep if (reset and not before) else h
        out.append(h)
    return torch.stack(out)


def test_unroll_right_answer_passes():
    assert check_unroll_with_resets(unroll)


def test_unroll_wrong_answers_get_hints():
    with pytest.raises(ExerciseFailed, match="leaked"):
        check_unroll_with_resets(lambda c, i, s: unroll(c, i, s, reset=False))
    with pytest.raises(ExerciseFailed, match="BEFORE"):
        check_unroll_with_resets(lambda c, i, s: unroll(c, i, s, before=False))


# -- notebook 06 -------------------------------------------------------------------------
def test_td_targets():
    assert check_td_targets(lambda r, d, tr, q, g: r + g * (1 - d) * q)
    with pytest.raises(ExerciseFailed, match="time limit"):
        check_td_targets(lambda r, d, tr, q, g: r + g * (1 - torch.clamp(d + tr, max=1)) * q)
    with pytest.raises(ExerciseFailed, match=r"\(1 - terminated\)"):
        check_td_targets(lambda r, d, tr, q, g: r + g * q)
    with pytest.raises(ExerciseFailed, match="gamma"):
        check_td_targets(lambda r, d, tr, q, g: r + (1 - d) * q)
    with pytest.raises(ExerciseFailed, match="shape"):
        check_td_targets(lambda r, d, tr, q, g: (r + g * (1 - d) * q).sum(-1))


def double_q(online, target, avail, mask=True, online_scores=False):
    chooser = online.masked_fill(avail == 0, -torch.inf) if mask else online
    choice = chooser.argmax(-1, keepdim=True)
    return (online if online_scores else target).gather(-1, choice).squeeze(-1)


def test_double_q_values():
    assert check_double_q_values(double_q)
    with pytest.raises(ExerciseFailed, match="plain max"):
        check_double_q_values(lambda o, t, a: t.masked_fill(a == 0, -torch.inf).max(-1).values)
    with pytest.raises(ExerciseFailed, match="available"):
        check_double_q_values(lambda o, t, a: double_q(o, t, a, mask=False))
    with pytest.raises(ExerciseFailed, match="TARGET"):
        check_double_q_values(lambda o, t, a: double_q(o, t, a, online_scores=True))


def test_masked_td_loss():
    assert check_masked_td_loss(lambda q, y, m: (m * (q - y.detach()) ** 2).sum() / m.sum())
    with pytest.raises(ExerciseFailed, match="weight each squared error by mask"):
        check_masked_td_loss(lambda q, y, m: ((q - y.detach()) ** 2).mean())
    with pytest.raises(ExerciseFailed, match="mask.sum"):
        check_masked_td_loss(lambda q, y, m: (m * (q - y.detach()) ** 2).mean())
    with pytest.raises(ExerciseFailed, match="detach"):
        check_masked_td_loss(lambda q, y, m: (m * (q - y) ** 2).sum() / m.sum())
    with pytest.raises(ExerciseFailed, match="no gradient"):
        check_masked_td_loss(lambda q, y, m: ((m * (q - y) ** 2).sum() / m.sum()).detach())
