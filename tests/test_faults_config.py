"""Bad input to every Config field: each value is refused with a ValueError naming the
field, or accepted as a plain Python value that survives saving and loading unchanged.

The cases are generated from the dataclass's fields, so a new field is covered by the
type checks as soon as it exists; the range rules below list what each known field allows.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields

import numpy as np
import pytest

from qmix_tut import Config
from qmix_tut.config import MAX_SEED

KINDS = {f.name: str(f.type) for f in fields(Config)}
DEFAULTS = Config().to_dict()

# the smallest allowed value of each integer field (anything below is refused)
INT_MIN = {
    "seed": 0, "total_steps": 1, "threads": 1, "hidden_dim": 1, "mixer_embed": 1,
    "hypernet_embed": 1, "num_envs": 1, "epsilon_anneal_steps": 1, "buffer_size": 1,
    "batch_size": 1, "updates_per_round": 0, "target_update_interval": 1,
    "eval_interval": 1, "eval_episodes": 0, "checkpoint_interval": 0,
    "critic_hidden_dim": 1, "lr_anneal_steps": 0,
}  # fmt: skip
# float fields by the range they allow
UNIT = {"epsilon_start", "epsilon_finish", "gamma", "optim_alpha", "tau", "td_lambda"}
POSITIVE = {"lr", "lr_finish", "optim_eps", "grad_clip", "critic_lr", "weighting_alpha"}
NON_NEGATIVE = {"checkpoint_seconds"}
CHOICES = {"algo", "agent", "rnn_cell", "optimizer", "weighting", "device"}

BAD = "bad"  # the expected outcome of a value that must be refused


def _cases() -> list[tuple[str, object, object]]:
    """(field, value, expected): expected is BAD or the normalised value."""
    cases: list[tuple[str, object, object]] = []
    for name, kind in KINDS.items():
        if kind == "int":
            low = INT_MIN.get(name, 0)
            cases += [
                (name, "7", BAD), (name, None, BAD), (name, 2.5, BAD), (name, True, BAD),
                (name, math.nan, BAD), (name, math.inf, BAD), (name, [1], BAD),
                (name, 10**30, BAD),
            ]  # fmt: skip
            if name == "hypernet_layers":
                cases += [(name, 0, BAD), (name, 3, BAD), (name, np.int64(1), 1)]
                continue
            cases += [(name, low - 1, BAD), (name, np.int64(low + 40), low + 40)]
        elif kind == "float":
            cases += [
                (name, "0.5", BAD), (name, None, BAD), (name, False, BAD), (name, [0.1], BAD),
                (name, math.nan, BAD), (name, math.inf, BAD), (name, -math.inf, BAD),
                (name, -0.5, BAD), (name, 10**400, BAD),
            ]  # fmt: skip
            value = 0.5 if name in UNIT | {"weighting_alpha"} else 2.0
            cases.append((name, np.float64(value), value))
            cases.append((name, np.float32(0.25), 0.25))
            if name in UNIT:
                cases += [(name, 0.0, 0.0), (name, 1.0, 1.0), (name, 1.5, BAD), (name, 1e300, BAD)]
            elif name in POSITIVE:
                cases.append((name, 0.0, BAD))
                if name != "weighting_alpha":
                    cases.append((name, 1e300, 1e300))
            elif name in NON_NEGATIVE:
                cases += [(name, 0.0, 0.0), (name, 1e300, 1e300)]
            if name not in UNIT:
                cases.append((name, 3, BAD if name == "weighting_alpha" else 3.0))
        elif kind == "bool":
            cases += [
                (name, "yes", BAD), (name, 1, BAD), (name, None, BAD), (name, 0.0, BAD),
                (name, np.bool_(False), False),
            ]  # fmt: skip
        elif kind == "str":
            cases += [(name, 3, BAD), (name, None, BAD), (name, b"qmix", BAD)]
            if name in CHOICES:
                cases.append((name, "no-such-choice", BAD))
                cases.append((name, np.str_(DEFAULTS[name]), DEFAULTS[name]))
    return cases


CASES = _cases()
SPECIAL = [
    ("seed", MAX_SEED, MAX_SEED),
    ("seed", MAX_SEED + 1, BAD),
    ("threads", 10**6, BAD),
    ("device", "cuda:x", BAD),
    ("device", "cuda:0", "cuda:0"),
    ("env_kwargs", "payoff", BAD),
    ("env_kwargs", [("a", 1)], BAD),
    ("env_kwargs", {"a": object()}, BAD),
    ("env_kwargs", {1: 2}, BAD),
    ("env_kwargs", {"payoff": np.array([[1.0, 2.0], [3.0, 4.0]])}, {"payoff": [[1.0, 2.0], [3.0, 4.0]]}),
    ("env_kwargs", {"payoff": np.array([[1 + 2j]])}, BAD),
    ("env_kwargs", {"size": (5, 5), "n": np.int32(2)}, {"size": [5, 5], "n": 2}),
]  # fmt: skip


@pytest.mark.parametrize(
    "name, value, expected",
    CASES + SPECIAL,
    ids=lambda v: repr(v)[:30] if not isinstance(v, str) else v,
)
def test_config_field(name, value, expected):
    if expected is BAD:
        with pytest.raises(ValueError, match=rf"Config\.{name}") as info:
            Config(**{name: value})
        assert "\n" not in str(info.value)
        return
    config = Config(**{name: value})
    stored = getattr(config, name)
    assert stored == expected and type(stored) is type(expected), (stored, expected)
    # what is stored survives JSON (config.json) and comparison with the original exactly
    again = Config.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


def test_every_field_is_covered():
    covered = {name for name, _, _ in CASES + SPECIAL}
    assert covered == set(KINDS)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(batch_size=64, buffer_size=32), r"batch_size \(64\) must be <= Config.buffer_size \(32\)"),
        (dict(weighting="ow", algo="vdn"), r"Config.weighting='ow' needs algo='qmix'"),
    ],
)  # fmt: skip
def test_fields_that_depend_on_each_other(changes, message):
    with pytest.raises(ValueError, match=message):
        Config(**changes)


def test_validate_catches_fields_set_after_construction():
    config = Config()
    config.lr = np.float64(math.inf)
    with pytest.raises(ValueError, match="Config.lr must be a finite number, got inf"):
        config.validate()
    config.lr = np.float64(1e-3)
    config.validate()
    assert type(config.lr) is float


def test_numpy_config_saves_and_loads(tmp_path):
    """A sweep script's numpy values train, save and load back (they once could not)."""
    from qmix_tut import load, train

    config = Config.preset(
        "two_step_paper", total_steps=np.int64(100), eval_interval=np.int64(50),
        lr=np.float64(1e-3), double_q=np.bool_(True), seed=np.int32(3),
    )  # fmt: skip
    result = train(config, progress=False, run_dir=tmp_path / "run")
    for path in (tmp_path / "run", tmp_path / "run" / "checkpoint.pt"):
        assert load(path).config == config
    again = load(result.save(tmp_path / "r.pt"))
    assert again.config.lr == 1e-3 and type(again.config.seed) is int


def test_train_refuses_what_is_not_a_config():
    from qmix_tut import train

    with pytest.raises(TypeError, match=r"train\(\) takes a Config, got str 'two_step'"):
        train("two_step")
    with pytest.raises(TypeError, match=r"takes a Config, got dict"):
        train({"env": "two_step"})
