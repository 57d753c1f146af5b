"""Config validation, training, reproducibility, checkpoints and exact resumption."""

import math
import platform
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from history_helpers import assert_same_history, history_rows

from qmix_tut import Config, load, train
from qmix_tut.results import FILE_VERSION, HISTORY_KEYS, safe_load
from qmix_tut.train import Trainer

SMALL = dict(total_steps=600, eval_interval=100, buffer_size=64)


# -- config ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field, value, message",
    [
        ("gamma", 1.5, r"Config.gamma must be in \[0, 1\], got 1.5"),
        ("algo", "qtran", r"Config.algo must be one of"),
        ("batch_size", 0, r"Config.batch_size must be >= 1, got 0"),
        ("lr", -1.0, r"Config.lr must be > 0"),
        ("agent", "cnn", r"Config.agent must be one of \['mlp', 'rnn'\]"),
        ("total_steps", 2.5, r"Config.total_steps must be an integer"),
        ("double_q", "yes", r"Config.double_q must be True or False"),
        ("device", "tpu", r"Config.device must be"),
        ("weighting", "cw", r"Config.weighting must be one of"),
    ],
)
def test_config_rejects_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        Config(**{field: value})


def test_config_presets_and_unknown_fields():
    cfg = Config.preset("two_step_paper")
    assert (cfg.batch_size, cfg.buffer_size, cfg.target_update_interval) == (32, 500, 100)
    assert (cfg.epsilon_start, cfg.epsilon_finish, cfg.mixer_embed, cfg.lr) == (1.0, 1.0, 8, 5e-4)
    assert cfg.optimizer == "rmsprop" and cfg.agent == "mlp" and cfg.total_steps == 10_000
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        Config.preset("nope")
    with pytest.raises(ValueError, match="unknown Config field"):
        Config.preset("default", learning_rate=1e-3)
    assert Config.from_dict(cfg.to_dict()) == cfg


def test_bad_env_name_reported_before_training():
    with pytest.raises(ValueError, match="two_step"):
        train(Config(env="nosuchenv"), progress=False)


# -- training --------------------------------------------------------------------------------
def test_history_rows_and_result_roundtrip(tmp_path):
    result = train(Config.preset("two_step_paper", **SMALL), progress=False)
    assert [int(r["env_steps"]) for r in result.history] == [0, 100, 200, 300, 400, 500, 600]
    assert list(result.history[0]) == list(HISTORY_KEYS)
    last = result.history[-1]
    for key in ("loss", "q_tot_mean", "target_mean", "td_error", "grad_norm"):
        assert math.isnan(result.history[0][key]) and math.isfinite(last[key]), key
    assert last["td_error"] > 0 and last["grad_norm"] >= 0
    path = result.save(tmp_path / "r.pt")
    again = load(path)
    assert again.config == result.config
    assert_same_history(again.history, result.history)
    agent, mixer = again.build()
    for k, v in agent.state_dict().items():
        torch.testing.assert_close(v, result.agent_state[k])


def test_same_seed_same_history_different_seed_differs():
    cfg = Config.preset("memory", total_steps=800, eval_interval=200, eval_episodes=4)
    a = train(cfg, progress=False)
    b = train(cfg, progress=False)
    assert_same_history(a.history, b.history)
    c = train(cfg.replace(seed=1), progress=False)
    assert history_rows(c.history) != history_rows(a.history)


@pytest.mark.parametrize(
    "preset, extra",
    [("two_step_paper", {}), ("memory", {}), ("memory", dict(lr_anneal_steps=600))],
    ids=["two_step_paper", "memory", "memory-annealed-lr"],
)
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, preset, extra):
    cfg = Config.preset(
        preset, total_steps=900, eval_interval=150, eval_episodes=2, checkpoint_interval=300,
        **extra,
    )  # fmt: skip
    straight = train(cfg, progress=False)

    def interrupt_after_third_evaluation(row, count=[0]):  # noqa: B006 - a call counter
        count[0] += 1
        if count[0] == 3:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C does

    stopped = train(
        cfg, progress=False, run_dir=tmp_path, callback=interrupt_after_third_evaluation
    )
    assert stopped.interrupted and stopped.history[-1]["env_steps"] < 900
    assert (tmp_path / "checkpoint.pt").exists()
    resumed = train(cfg, resume_from=tmp_path, progress=False)
    assert not resumed.interrupted
    assert_same_history(resumed.history, straight.history)
    for k, v in straight.agent_state.items():
        torch.testing.assert_close(resumed.agent_state[k], v, rtol=0, atol=0)
    # resuming from the in-memory Result works as well
    again = train(cfg, resume_from=stopped, progress=False)
    assert_same_history(again.history, straight.history)


@pytest.mark.parametrize("preset", ["memory", "coma_two_step"])
def test_learning_rate_falls_linearly_then_stays(preset):
    cfg = Config.preset(preset, total_steps=400, eval_episodes=0)
    cfg = cfg.replace(lr=1e-3, critic_lr=5e-4, lr_finish=2e-4, lr_anneal_steps=200)
    trainer = Trainer(cfg)
    learner = trainer.learner
    optimizers = (
        [learner.actor_optimizer, learner.critic_optimizer]
        if preset.startswith("coma")
        else [learner.optimizer]
    )
    bases = [cfg.lr, cfg.critic_lr][: len(optimizers)]
    seen = []
    while trainer.env_steps < cfg.total_steps:
        trainer.round()
        if learner.updates:  # the rates are set before each round's updates
            fraction = min(trainer.env_steps / 200, 1.0)
            lr = 1e-3 + fraction * (2e-4 - 1e-3)
            for optimizer, base in zip(optimizers, bases, strict=True):
                assert optimizer.param_groups[0]["lr"] == pytest.approx(base * lr / 1e-3)
            seen.append(optimizers[0].param_groups[0]["lr"])
    assert seen[0] > seen[-1] == pytest.approx(2e-4)  # it fell, and stayed at lr_finish


def test_constant_learning_rate_is_left_alone_and_the_schedule_changes_the_run():
    cfg = Config.preset("memory", total_steps=400, eval_interval=200, eval_episodes=2)
    constant = train(cfg, progress=False)
    again = train(cfg.replace(lr_anneal_steps=0, lr_finish=5e-5), progress=False)
    assert_same_history(again.history, constant.history)  # lr_finish unused without a schedule
    annealed = train(cfg.replace(lr_anneal_steps=200, lr_finish=5e-5), progress=False)
    assert history_rows(annealed.history) != history_rows(constant.history)


def test_periodic_and_final_checkpoints_and_run_dir(tmp_path):
    cfg = Config.preset("two_step_paper", **SMALL, checkpoint_interval=200)
    saved_at = []

    def note_checkpoint(row):
        if (tmp_path / "checkpoint.pt").exists():
            saved_at.append(safe_load(tmp_path / "checkpoint.pt")["counters"]["env_steps"])

    train(cfg, progress=False, run_dir=tmp_path, callback=note_checkpoint)
    assert saved_at[:2] == [200, 200] and 400 in saved_at  # every 200 steps
    names = {p.name for p in tmp_path.iterdir() if not p.name.startswith(".")}
    # one copy of the state: the checkpoint, and the result without the buffer
    assert names == {"config.json", "versions.json", "history.csv", "checkpoint.pt", "result.pt"}
    state = safe_load(tmp_path / "checkpoint.pt")
    assert state["counters"]["env_steps"] == 600 and state["buffer"]["size"] == 64
    assert {"python", "torch", "qmix_tut", "pettingzoo"} <= set(state["versions"])
    result = safe_load(tmp_path / "result.pt")
    assert "buffer" not in result and result["history"][-1]["env_steps"] == 600


def test_resume_refuses_a_changed_config(tmp_path):
    cfg = Config.preset("two_step_paper", **SMALL)
    train(cfg, progress=False, run_dir=tmp_path)
    with pytest.raises(ValueError, match=r"changed field\(s\): lr"):
        train(cfg.replace(lr=1e-3), resume_from=tmp_path, progress=False)
    longer = train(cfg.replace(total_steps=800), resume_from=tmp_path, progress=False)
    assert longer.history[-1]["env_steps"] == 800


# -- bad files -------------------------------------------------------------------------------
def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ValueError, match="garbage.pt is not a readable qmix_tut file"):
        load(garbage)
    result = train(
        Config.preset("two_step_paper", **SMALL), progress=False, run_dir=tmp_path / "run"
    )
    full = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(full[: len(full) // 2])
    with pytest.raises(ValueError, match="truncated.pt is not a readable qmix_tut file"):
        train(result.config, resume_from=truncated, progress=False)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(ValueError, match="foreign.pt is not a qmix_tut result or checkpoint"):
        load(foreign)
    future = tmp_path / "future.pt"
    data = result.to_dict()
    data["file_version"] = FILE_VERSION + 1
    torch.save(data, future)
    with pytest.raises(ValueError, match="file format version 2"):
        load(future)
    with pytest.raises(ValueError, match="is a result file, not a checkpoint"):
        train(result.config, resume_from=tmp_path / "run" / "result.pt", progress=False)


def random_play_returns(env, episodes: int) -> list[float]:
    """Team returns of uniformly random available actions, episodes seeded 1000, 1001, ..."""
    rng = np.random.default_rng(0)
    returns = []
    for episode in range(episodes):
        _, _, avail = env.reset(seed=1000 + episode)
        total, done = 0.0, False
        while not done:
            acts = [int(rng.choice(np.flatnonzero(row))) for row in avail]
            _, _, avail, reward, terminated, truncated, _ = env.step(acts)
            total, done = total + reward, terminated or truncated
        returns.append(total)
    return returns


@pytest.mark.slow
@pytest.mark.slow
def test_short_simple_spread_run_beats_random_play():
    from qmix_tut.envs import make

    env = make("mpe:simple_spread")
    random_returns = random_play_returns(env, episodes=32)
    result = train(
        Config.preset("simple_spread", total_steps=30_000, eval_interval=10_000, seed=1),
        progress=False,
    )
    # random play scores about -77 (std 27 over episodes); 30k steps of QMIX about -57
    assert result.final_eval_return > np.mean(random_returns) + 10


@pytest.mark.slow
@pytest.mark.slow
def test_short_lbf_run_beats_random_play():
    from qmix_tut.envs import make

    name, kwargs = "lbf:Foraging-5x5-2p-1f-v3", {"max_episode_steps": 25}
    env = make(name, **kwargs)
    random_returns = random_play_returns(env, episodes=64)
    config = Config.preset(
        "lbf", env=name, env_kwargs=kwargs, total_steps=40_000, epsilon_anneal_steps=20_000,
        eval_interval=5_000, seed=1,
    )  # fmt: skip
    result = train(config, progress=False)
    # a random team finds and loads the food in about one episode of four (return 0.25);
    # over seeds 0-4, 40k steps of QMIX ended at 0.69, 1.0, 0.94, 0.75 and 1.0
    assert np.mean(random_returns) < 0.35
    assert result.final_eval_return > np.mean(random_returns) + 0.3


_FAULTS_SCRIPT = """
import resource, sys, torch
from qmix_tut.train import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else False
def update():  # as an update does: several blocks of 1.3 MB held together, then freed
    held = [torch.ones(4992 * 64) for _ in range(8)]  # every page written
    return sum(float(t[0]) for t in held)
update()  # the first time, every page is new either way
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    update()
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="the allocator setting is for glibc",
)
def test_freed_memory_is_kept_for_the_next_tensor():
    # a fresh process each: the setting lasts for the process's lifetime
    def faults(mode):
        out = subprocess.run(
            [sys.executable, "-c", _FAULTS_SCRIPT, mode], capture_output=True, text=True, check=True
        )
        kept, count = out.stdout.split()
        return kept == "True", int(count)

    default_kept, default_faults = faults("default")
    kept, kept_faults = faults("keep")
    assert not default_kept and kept
    # 20 x 8 blocks of 313 pages: by default the freed blocks go back to the kernel and
    # their pages fault again when next written (glibc's adaptive threshold spares some
    # of them on some runs: about 2,700 or 49,000 faults here); kept, they come back
    # already mapped (about 300 faults, all in the first round)
    assert kept_faults < 1000 < default_faults
