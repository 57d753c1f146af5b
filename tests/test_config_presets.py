"""Naming a task gives its tuned preset: Config(env=...), qmix-tut train --env and sweeps.

Explicit fields override the preset, COMA takes its own counterpart, the course's games and
your own tasks keep the Config defaults, the config records which preset applied, and a
config.json written before that record existed loads exactly as it was saved.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import fields

import pytest

from qmix_tut import Config
from qmix_tut.cli import main, preset_line
from qmix_tut.config import PRESETS, task_preset
from qmix_tut.results import read_config_json
from qmix_tut.rundir import changed_fields
from qmix_tut.sweep import plan_sweep, preset_for

LBF = "lbf:Foraging-8x8-2p-2f-coop-v3"
# each task with a tuned preset, and the preset a value-based method and COMA start from
TUNED = [
    ("mpe:simple_spread", "simple_spread", "coma_simple_spread"),
    (LBF, "lbf", "coma_lbf"),
    ("lbf:Foraging-10x10-3p-3f-v3", "lbf", "coma_lbf"),  # the LBF family shares one
    ("memory", "memory", "memory"),  # no COMA counterpart: COMA keeps the task's own
]
# tasks without a tuned preset: the course's games, other MPE scenarios, your own
UNTUNED = ["two_step", "matrix:climbing", "matrix", "mpe:simple_speaker_listener",
           "envs_fixture:masked_choice", "my_registered_task"]  # fmt: skip
# Config's field defaults, read from the dataclass itself rather than through __init__
BARE = {
    f.name: f.default_factory() if f.default is dataclasses.MISSING else f.default
    for f in fields(Config)
}


def _preset_values(name: str, env: str) -> dict:
    """What a config made from preset ``name`` for ``env`` must hold, field by field."""
    return {**BARE, **PRESETS[name], "env": env, "preset_name": name}


@pytest.mark.parametrize("env, name, _", TUNED, ids=[t[0] for t in TUNED])
def test_naming_a_tuned_task_gives_its_preset(env, name, _):
    config = Config(env=env)
    assert config.preset_name == name
    assert config.to_dict() == _preset_values(name, env)
    assert Config.from_dict({"env": env}) == config  # a partial dict resolves the same way
    assert config.num_envs > 1 and config.optimizer == "adam"  # not the two-step defaults


@pytest.mark.parametrize("env, _, coma", TUNED, ids=[t[0] for t in TUNED])
def test_coma_starts_from_its_counterpart(env, _, coma):
    config = Config(env=env, algo="coma")
    assert config.preset_name == coma
    assert config.to_dict() == {**_preset_values(coma, env), "algo": "coma"}


def test_explicit_fields_override_the_preset_even_when_equal_to_a_default():
    spread = Config(env="mpe:simple_spread", gamma=0.99, num_envs=1, agent="rnn")
    # 0.99, 1 and "rnn" are the Config defaults: given explicitly, they still win
    assert (spread.gamma, spread.num_envs, spread.agent) == (0.99, 1, "rnn")
    assert spread.preset_name == "simple_spread"
    assert spread.td_lambda == 0.6 and spread.tau == 0.002 and spread.lr == 1e-3
    assert spread.batch_size == 64 and spread.total_steps == 300_000
    lbf = Config(env=LBF, algo="vdn", seed=4, total_steps=1000)
    assert (lbf.algo, lbf.seed, lbf.total_steps) == ("vdn", 4, 1000)
    assert lbf.num_envs == 16 and lbf.td_lambda == 0.8 and lbf.preset_name == "lbf"
    # LBF keeps the batch and target rate it was tuned with, whatever simple_spread's are
    assert (lbf.batch_size, lbf.tau) == (32, 0.005)


@pytest.mark.parametrize("env", UNTUNED)
def test_tasks_without_a_tuned_preset_keep_the_config_defaults(env):
    for algo in ("qmix", "coma"):
        config = Config(env=env, algo=algo)
        assert config.preset_name == "none"
        assert config.to_dict() == {**BARE, "env": env, "algo": algo}


def test_config_with_no_arguments_is_the_two_step_defaults():
    assert Config().to_dict() == BARE
    assert BARE["env"] == "two_step" and BARE["agent"] == "rnn" and BARE["num_envs"] == 1


def test_bare_defaults_for_a_tuned_task_on_purpose():
    bare = Config(env="mpe:simple_spread", preset_name="none")
    assert bare.to_dict() == {**BARE, "env": "mpe:simple_spread"}
    assert Config.preset("none", env="mpe:simple_spread") == bare


def test_a_named_preset_applies_whatever_the_task():
    config = Config(env=LBF, preset_name="simple_spread", seed=2)
    assert config.to_dict() == {**_preset_values("simple_spread", LBF), "seed": 2}
    assert Config.preset("simple_spread", env=LBF, seed=2) == config
    # Config.preset keeps its old behaviour and records the name
    matrix = Config.preset("matrix", env="matrix:penalty", algo="iql")
    assert matrix.preset_name == "matrix" and matrix.env == "matrix:penalty"
    assert matrix.mixer_embed == 8 and matrix.epsilon_finish == 1.0
    assert Config.preset("lbf").env == LBF  # with no env, the preset's own task


def test_round_trips_keep_the_values_and_the_record():
    for config in (Config(env=LBF, gamma=0.9), Config(env=LBF, preset_name="none"), Config()):
        again = Config.from_dict(json.loads(json.dumps(config.to_dict())))
        assert again == config
        assert dataclasses.replace(config) == config
    moved = Config(env=LBF).replace(env="two_step")  # replace changes only what it names
    assert moved.num_envs == 16 and moved.preset_name == "lbf" and moved.env == "two_step"


def test_a_config_json_from_before_the_record_loads_as_saved(tmp_path):
    # the earlier version wrote every field but preset_name; these two are what its
    # Config(env=LBF) (the two-step defaults on LBF) and Config.preset("lbf", ...) made
    bare_lbf = {**BARE, "env": LBF}
    tuned_lbf = {**_preset_values("lbf", LBF), "seed": 3}
    for old in (bare_lbf, tuned_lbf):
        old = {k: v for k, v in old.items() if k != "preset_name"}
        (tmp_path / "config.json").write_text(json.dumps(old, indent=2))
        loaded = read_config_json(tmp_path)
        assert {k: v for k, v in loaded.to_dict().items() if k != "preset_name"} == old
        assert loaded.preset_name == "none"  # no preset supplied any of its values
    # resuming such a run under a config that names its preset is not a change of config
    old_run = Config.from_dict({k: v for k, v in tuned_lbf.items() if k != "preset_name"})
    assert changed_fields(Config.preset("lbf", seed=3), old_run) == []
    assert changed_fields(Config.preset("lbf", seed=3, lr=1e-3), old_run) == ["lr"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: Config(preset_name="fast"), r"Config\.preset_name: unknown preset 'fast'"),
        (lambda: Config(env=LBF, preset_name=3), r"Config\.preset_name: unknown preset 3"),
        (lambda: Config.preset("fast"), "unknown preset 'fast'; choose one of"),
        (lambda: Config.preset("lbf", preset_name="memory"), "names its preset once"),
        (lambda: task_preset("two_step", "qmix", "fast"), "unknown preset 'fast'"),
        (lambda: task_preset("two_step", "sarsa"), "unknown algorithm 'sarsa'"),
        (lambda: Config(env=LBF, algo="sarsa"), r"Config\.algo must be one of"),
        (lambda: Config(env=None), r"Config\.env must be a string"),
    ],
)
def test_bad_presets_are_clear_errors(call, message):
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


def test_fields_are_given_by_name():
    with pytest.raises(TypeError, match="by name"):
        Config("two_step")


def test_the_sweep_asks_the_same_mapping():
    assert preset_for("mpe:simple_spread") == task_preset("mpe:simple_spread") == "simple_spread"
    assert preset_for(LBF, "coma") == task_preset(LBF, "coma") == "coma_lbf"
    # the paper's games start sweeps (and the stored benchmark) from the paper's settings
    assert preset_for("two_step") == "two_step_paper" and task_preset("two_step") == "none"
    assert preset_for("matrix:climbing") == preset_for("matrix") == "matrix"
    assert preset_for("two_step", "coma") == "coma_two_step"
    assert preset_for("envs_fixture:masked_choice") == "none"
    assert preset_for("two_step", "vdn", "lbf") == "lbf"
    [spread, own] = plan_sweep(["mpe:simple_spread", "envs_fixture:masked_choice"], ["qmix"], [0])
    assert spread.config["preset_name"] == "simple_spread" and spread.config["num_envs"] == 8
    assert own.config["preset_name"] == "none" and own.config["num_envs"] == 1


def test_the_printed_line_says_which_preset_applied():
    assert preset_line(Config(env="mpe:simple_spread")) == (
        "Preset simple_spread applied, the one tuned for mpe:simple_spread; "
        "fields set explicitly override it."
    )
    assert preset_line(Config.preset("lbf", env="mpe:simple_spread")).startswith(
        "Preset lbf applied as named, not simple_spread (the one tuned for mpe:simple_spread);"
    )
    assert preset_line(Config.preset("two_step_paper")).startswith(
        "Preset two_step_paper applied as named (two_step has no tuned preset);"
    )
    assert "not simple_spread (the preset tuned for mpe:simple_spread)" in preset_line(
        Config(env="mpe:simple_spread", preset_name="none")
    )
    assert "two_step has no tuned preset" in preset_line(Config())


def _train(tmp_path, name, *flags, capsys):
    out = tmp_path / name
    # one round of one episode; no evaluation
    argv = ["train", *flags, "--steps", "1", "--set", "eval_episodes=0", "--out", str(out)]
    assert main(argv) == 0
    return read_config_json(out), capsys.readouterr().out, out


@pytest.mark.slow  # three short runs: about 3 s
def test_command_line_train_and_show(tmp_path, capsys):
    few = ["--set", "num_envs=1"]
    config, text, out = _train(
        tmp_path, "spread", "--env", "mpe:simple_spread", *few, capsys=capsys
    )
    assert config.preset_name == "simple_spread" and config.num_envs == 1
    assert config.to_dict() == {**_preset_values("simple_spread", config.env), "num_envs": 1,
                                "total_steps": 1, "eval_episodes": 0}  # fmt: skip
    assert "Preset simple_spread applied, the one tuned for mpe:simple_spread;" in text
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "Preset simple_spread applied, the one tuned for mpe:simple_spread" in shown
    differ = "fields that differ from preset simple_spread): total_steps=1, num_envs=1, eval"
    assert differ in shown
    # --env X --preset Y starts from Y; --preset none gives the bare defaults
    config, text, _ = _train(tmp_path, "named", "--env", "mpe:simple_spread", "--preset",
                             "two_step_paper", capsys=capsys)  # fmt: skip
    assert config.preset_name == "two_step_paper" and config.mixer_embed == 8
    assert (
        config.env == "mpe:simple_spread"
        and "Preset two_step_paper applied as named, not simple_spread" in text
    )
    config, text, _ = _train(tmp_path, "bare", "--env", "mpe:simple_spread", "--preset", "none",
                             capsys=capsys)  # fmt: skip
    assert config.to_dict() == {**BARE, "env": "mpe:simple_spread", "total_steps": 1,
                                "eval_episodes": 0}  # fmt: skip
    # a run directory written before the record existed
    old = json.loads((out / "config.json").read_text())
    del old["preset_name"]
    (out / "config.json").write_text(json.dumps(old))
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "preset: not recorded" in shown
    assert "fields that differ from the Config defaults): total_steps=1" in shown


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--preset", "fast"], "argument --preset: invalid choice: 'fast'"),
        (["train", "--set", "preset_name=fast"], "Config.preset_name: unknown preset 'fast'"),
        (["train", "--preset", "lbf", "--set", "preset_name=lbf"], "give the preset once"),
        (
            [
                "sweep",
                "--env",
                "two_step",
                "--algo",
                "qmix",
                "--seed",
                "0",
                "--preset",
                "fast",
                "--out",
                "x",
            ],
            "argument --preset: invalid choice",
        ),  # fmt: skip
    ],
)
def test_bad_preset_on_the_command_line_exits_with_status_2(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
