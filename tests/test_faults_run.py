"""Faults around a training run, in-process: files written safely, full disks, run
directories claimed and refused, bad checkpoints, machines too small, non-finite losses,
stop signals. Every case must end cleanly: a clear one-line error naming the problem, or
a run whose last checkpoint loads and resumes exactly."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from history_helpers import same_history

from qmix_tut import Config, load, train
from qmix_tut import results as results_module
from qmix_tut.learner import NonFiniteError
from qmix_tut.results import (
    DiskFullError,
    atomic_save,
    atomic_write_text,
    read_config_json,
    read_history_csv,
    safe_load,
    write_history_csv,
)
from qmix_tut.train import claim_run_dir, env_info_of, estimate_memory

SMALL = dict(total_steps=400, eval_interval=100, buffer_size=64, eval_episodes=1)
REPO = Path(__file__).resolve().parents[1]


def small(**changes) -> Config:
    return Config.preset("two_step_paper", **{**SMALL, **changes})


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text, text
    return text


@pytest.fixture(scope="module")
def straight():
    """The uninterrupted run that interrupted and resumed ones must equal."""
    return train(small(total_steps=600), progress=False)


# -- writing files ------------------------------------------------------------------------------
@pytest.mark.parametrize("planted", ["checkpoint.pt.tmp", ".checkpoint.pt.tmp", "checkpoint.tmp"])
def test_a_symlink_at_a_predictable_temp_name_is_not_followed(tmp_path, planted):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / planted).symlink_to(victim)
    atomic_save({"x": torch.ones(3)}, tmp_path / "checkpoint.pt")
    assert victim.read_text() == "precious"
    assert (tmp_path / planted).is_symlink()
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["x"].sum() == 3


@pytest.mark.parametrize(
    "failure", [OSError(errno.EIO, "Input/output error"), KeyboardInterrupt(), RuntimeError("x")]
)
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, failure):
    target = tmp_path / "checkpoint.pt"
    atomic_save({"step": 1}, target)

    def write(f):
        f.write(b"partial")
        raise failure

    with pytest.raises(type(failure)) as info:
        results_module.atomic_write(target, write)
    if isinstance(failure, OSError):
        assert str(target) in one_line(info.value)
    assert torch.load(target, weights_only=True) == {"step": 1}
    assert leftovers(tmp_path) == []


def test_files_get_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text("x", tmp_path / "a.txt")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


class FullDisk:
    """Files opened by atomic_write accept ``room`` bytes, then fail with ENOSPC."""

    def __init__(self, monkeypatch, room: int) -> None:
        self.room = room
        real = os.fdopen

        def fdopen(fd, mode="r", *args, **kwargs):
            return _Limited(real(fd, mode, *args, **kwargs), self)

        monkeypatch.setattr(results_module.os, "fdopen", fdopen)


class _Limited(io.RawIOBase):
    def __init__(self, f, disk: FullDisk) -> None:
        self.f, self.disk = f, disk

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        if len(data) > self.disk.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.disk.room -= len(data)
        return self.f.write(data)

    def flush(self) -> None:
        if not self.f.closed:
            self.f.flush()

    def fileno(self) -> int:
        return self.f.fileno()

    def close(self) -> None:
        self.f.close()
        super().close()


@pytest.mark.parametrize("what", ["checkpoint", "text", "history"])
def test_disk_full_while_writing_gives_a_clear_error_and_keeps_the_old_file(
    tmp_path, monkeypatch, what
):
    target = tmp_path / {"checkpoint": "c.pt", "text": "config.json", "history": "h.csv"}[what]
    write = {
        "checkpoint": lambda: atomic_save({"x": torch.zeros(10_000)}, target),
        "text": lambda: atomic_write_text("y" * 10_000, target),
        "history": lambda: write_history_csv([{"env_steps": i} for i in range(2000)], target),
    }[what]
    target.write_bytes(b"old")
    FullDisk(monkeypatch, room=100)
    with pytest.raises(
        DiskFullError, match=rf"no space left on device while writing .*{target.name}"
    ):
        write()
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_disk_full_mid_run_keeps_the_last_checkpoint_which_resumes_exactly(
    tmp_path, monkeypatch, straight
):
    run = tmp_path / "run"
    saves = []
    real_save = results_module.atomic_save

    def failing_on_third(obj, path):
        if Path(path).name == "checkpoint.pt":
            saves.append(obj["counters"]["env_steps"])
            if len(saves) == 3:
                FullDisk(monkeypatch, room=0)
        return real_save(obj, path)

    monkeypatch.setattr(sys.modules["qmix_tut.train"], "atomic_save", failing_on_third)
    with pytest.raises(DiskFullError, match="no space left on device while writing") as info:
        train(small(total_steps=600, checkpoint_interval=100), progress=False, run_dir=run)
    one_line(info.value)
    monkeypatch.undo()
    kept = safe_load(run / "checkpoint.pt")
    assert kept["counters"]["env_steps"] == saves[1] and leftovers(run) == []
    resumed = train(small(total_steps=600, checkpoint_interval=100), progress=False, run_dir=run)
    assert same_history(resumed.history, straight.history)


@contextlib.contextmanager
def small_filesystem(folder: Path, size: str):
    """A tmpfs of ``size`` mounted on ``folder`` (skips the test where mounting is refused)."""
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small filesystem here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_disk_full_on_a_real_small_filesystem(tmp_path):
    with small_filesystem(tmp_path / "small", "160k") as disk:
        run = disk / "run"
        with pytest.raises(DiskFullError, match="no space left on device") as info:
            train(small(total_steps=4000, buffer_size=500, checkpoint_interval=100),
                  progress=False, run_dir=run)  # fmt: skip
        one_line(info.value)
        assert leftovers(run) == []
        kept = safe_load(run / "checkpoint.pt")  # the last good checkpoint
        assert 0 < kept["counters"]["env_steps"] < 4000
        assert load(run).history  # and it reads as a result


def test_disk_full_at_start_on_a_real_small_filesystem(tmp_path):
    with small_filesystem(tmp_path / "small", "64k") as disk:
        filler = disk / "filler"
        with pytest.raises(OSError), open(filler, "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        with pytest.raises(DiskFullError, match="no space left on device") as info:
            train(small(), progress=False, run_dir=disk / "run")
        one_line(info.value)


# -- run directories -------------------------------------------------------------------------
def test_a_run_directory_in_use_is_refused(tmp_path):
    with claim_run_dir(tmp_path / "run"):
        with pytest.raises(
            ValueError,
            match=r"run directory .*run is in use by another training run \(process \d+\)",
        ):
            train(small(), progress=False, run_dir=tmp_path / "run")
    train(small(), progress=False, run_dir=tmp_path / "run")  # free again afterwards


def test_a_directory_of_other_files_is_refused_naming_overwrite(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"is not empty \(holds notes.txt\).*--overwrite") as info:
        train(small(), progress=False, run_dir=tmp_path)
    one_line(info.value)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_run_of_another_config_is_refused_naming_the_change(tmp_path):
    train(small(), progress=False, run_dir=tmp_path)
    with pytest.raises(ValueError, match=r"different config \(changed: lr\).*--overwrite"):
        train(small(lr=1e-3), progress=False, run_dir=tmp_path)


def test_a_run_of_the_same_config_is_continued(tmp_path, straight):
    first = train(small(total_steps=400), progress=False, run_dir=tmp_path)
    again = train(small(total_steps=400), progress=False, run_dir=tmp_path)  # nothing to do
    assert same_history(again.history, first.history)
    longer = train(small(total_steps=600), progress=False, run_dir=tmp_path)
    assert same_history(longer.history, straight.history)


def test_overwrite_clears_the_old_run_before_the_new_one_writes(tmp_path):
    train(small(lr=1e-3), progress=False, run_dir=tmp_path)
    (tmp_path / "notes.txt").write_text("old")
    seen = []

    def look(row):
        seen.append(sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")))
        seen.append(load(tmp_path).config.lr if (tmp_path / "checkpoint.pt").exists() else None)

    result = train(small(), progress=False, run_dir=tmp_path, overwrite=True, callback=look)
    assert seen[0] == ["config.json", "history.csv", "versions.json"] and seen[1] is None
    assert load(tmp_path).config.lr == result.config.lr == small().lr
    assert not (tmp_path / "notes.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".replaced")] == []


def test_overwrite_and_resume_together_are_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot both resume a run and overwrite"):
        train(small(), progress=False, run_dir=tmp_path, resume_from=tmp_path, overwrite=True)


@pytest.mark.parametrize("where", ["file", "below_file"])
def test_a_run_directory_that_cannot_be_one(tmp_path, where):
    (tmp_path / "f").write_text("x")
    run = tmp_path / "f" if where == "file" else tmp_path / "f" / "run"
    with pytest.raises(ValueError, match="is a file|part of its path is a file") as info:
        train(small(), progress=False, run_dir=run)
    one_line(info.value)


def test_a_read_only_run_directory(tmp_path):
    if os.geteuid() == 0:  # root writes anywhere: make the filesystem itself read-only
        with small_filesystem(tmp_path / "ro", "64k") as disk:
            if subprocess.run(["mount", "-o", "remount,ro", str(disk)]).returncode != 0:
                pytest.skip("cannot remount read-only")
            with pytest.raises(ValueError, match="cannot use .* as a run directory: Read-only"):
                train(small(), progress=False, run_dir=disk)
            with pytest.raises(ValueError, match="cannot create run directory|Read-only"):
                train(small(), progress=False, run_dir=disk / "sub")
    else:
        tmp_path.chmod(0o500)
        try:
            with pytest.raises(ValueError, match="Permission denied"):
                train(small(), progress=False, run_dir=tmp_path / "run")
        finally:
            tmp_path.chmod(0o700)


def test_stale_temp_files_are_removed_and_the_lock_is_not_content(tmp_path):
    (tmp_path / ".checkpoint.pt.abc123.tmp").write_bytes(b"half")
    (tmp_path / ".lock").write_text("")
    train(small(), progress=False, run_dir=tmp_path)
    assert leftovers(tmp_path) == []


# -- resuming from bad files ------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("finished")
    train(small(), progress=False, run_dir=run)
    return run


def _resume_error(source, config=None):
    with pytest.raises((ValueError, FileNotFoundError, TypeError)) as info:
        train(config, resume_from=source, progress=False)
    return one_line(info.value)


def test_resume_without_checkpoint(tmp_path):
    assert "holds no checkpoint.pt" in _resume_error(tmp_path, small())
    assert "does not exist" in _resume_error(tmp_path / "missing", small())


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "json"])
def test_resume_from_a_damaged_checkpoint(tmp_path, finished_run, damage):
    data = (finished_run / "checkpoint.pt").read_bytes()
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(
        {
            "truncated": data[: len(data) // 3],
            "empty": b"",
            "garbage": os.urandom(500),
            "json": b'{"format": "qmix_tut.checkpoint"}',
        }[damage]  # fmt: skip
    )
    message = _resume_error(tmp_path)
    assert "checkpoint.pt" in message and ("not a readable" in message or "is empty" in message)


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda s: s.pop("counters"), "does not fit this run: it lacks 'counters'"),
        (
            lambda s: s["config"].update(lr="fast"),
            "holds no usable config: Config.lr must be a number",
        ),
        (lambda s: s["config"].update(colour=1), "holds no usable config: unknown Config field"),
        (lambda s: s.update(config=[1, 2]), "holds no usable config: its config is a list"),
        (lambda s: s["learner"].pop("agent"), "does not fit this run"),
        (lambda s: s.update(env_info={**s["env_info"], "n_actions": 5}), "does not fit this run"),
    ],
)
def test_resume_from_an_edited_checkpoint(tmp_path, finished_run, edit, expected):
    state = safe_load(finished_run / "checkpoint.pt")
    edit(state)
    torch.save(state, tmp_path / "checkpoint.pt")
    assert expected in _resume_error(tmp_path)


def test_resume_from_another_algorithms_checkpoint(tmp_path):
    train(small(algo="vdn"), progress=False, run_dir=tmp_path / "vdn")
    assert "changed field(s): algo ('vdn' -> 'qmix')" in _resume_error(tmp_path / "vdn", small())
    state = safe_load(tmp_path / "vdn" / "checkpoint.pt")
    state["config"]["algo"] = "qmix"  # a VDN learner's state under a QMIX config
    torch.save(state, tmp_path / "checkpoint.pt")
    assert "does not fit this run" in _resume_error(tmp_path)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"env": "two_step", "colour": 1}', "unknown Config field(s): colour"),
        ('{"lr": "Infinity"}', "Config.lr must be a number"),
        ('{"lr": Infinity}', "Config.lr must be a finite number"),
        ('{"seed": -1}', "Config.seed must be in"),
    ],
)
def test_an_edited_config_json(tmp_path, text, expected):
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ValueError, match="config.json") as info:
        read_config_json(tmp_path)
    assert expected in one_line(info.value)


def test_other_bad_resume_requests(tmp_path, finished_run):
    assert "already at 400 env steps" in _resume_error(finished_run, small(total_steps=200))
    assert "resume_from must be a run directory" in _resume_error(42, small())
    assert "carries no checkpoint" in _resume_error(load(finished_run), small())
    assert "is a result file, not a checkpoint" in _resume_error(finished_run / "result.pt")


# -- what the machine cannot run --------------------------------------------------------------
@pytest.mark.parametrize(
    "changes",
    [
        dict(buffer_size=10**12),
        dict(hidden_dim=10**8),
        dict(num_envs=10**9),
        dict(mixer_embed=10**7, hypernet_layers=2, hypernet_embed=10**6),
        dict(buffer_size=10**9, batch_size=10**9),
    ],
)
def test_configs_too_large_for_memory_are_refused_before_allocating(changes):
    with pytest.raises(
        ValueError, match=r"this config needs about .* of memory \(.*\) but .* has .* available"
    ) as info:
        train(small(**changes), progress=False)
    one_line(info.value)


def test_the_memory_estimate_covers_the_buffer():
    from qmix_tut.buffer import EpisodeBuffer
    from qmix_tut.envs import make

    config = Config.preset("memory")
    info = env_info_of(make(config.env))
    buffer = EpisodeBuffer(config.buffer_size, info["episode_limit"], info["n_agents"],
                           info["obs_dim"], info["state_dim"], info["n_actions"])  # fmt: skip
    estimate = estimate_memory(config, info)
    assert buffer.memory_bytes() <= estimate["buffer"] <= 3 * buffer.memory_bytes()
    assert estimate["total"] < 10**9


def test_absurd_thread_counts_are_refused():
    with pytest.raises(ValueError, match=r"Config.threads=4000 is more than 4 x"):
        train(small(threads=4000), progress=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_a_gpu_that_is_not_there(device):
    with pytest.raises(ValueError, match=rf"Config.device='{device}' but torch sees no GPU"):
        train(small(device=device), progress=False)


# -- non-finite losses ------------------------------------------------------------------------
def test_a_diverging_run_stops_with_a_clear_message_and_a_finite_checkpoint(tmp_path):
    with pytest.raises(
        NonFiniteError, match=r"training stopped at \d+ env steps: the loss is nan"
    ) as info:
        train(small(total_steps=2000, lr=1e30), progress=False, run_dir=tmp_path)
    assert "checkpoint in" in one_line(info.value)
    stored = load(tmp_path / "checkpoint.pt")
    assert all(torch.isfinite(v).all() for v in stored.agent_state.values())
    assert all(torch.isfinite(v).all() for v in stored.mixer_state.values())


# -- stop signals -----------------------------------------------------------------------------
@pytest.mark.parametrize("name, status", [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_each_stop_signal_checkpoints_and_resumes_exactly(tmp_path, capsys, straight, name, status):
    def stop_after_second_evaluation(row, count=[0]):  # noqa: B006 - a call counter
        count[0] += 1
        if count[0] == 2:
            signal.raise_signal(getattr(signal, name))

    # under nohup SIGHUP arrives ignored, and an ignored SIGHUP stays ignored (tested
    # below); here it gets the default that a terminal session gives it
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL) if name == "SIGHUP" else None
    cfg = small(total_steps=600)
    try:
        stopped = train(
            cfg, progress=False, run_dir=tmp_path, callback=stop_after_second_evaluation
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGHUP, previous)
    assert stopped.interrupted and stopped.stop_signal == name and stopped.exit_status == status
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"Stopped by {name} at ")
    assert f"qmix-tut train --resume {tmp_path}" in err[0]
    state = safe_load(tmp_path / "checkpoint.pt")
    assert state["counters"]["env_steps"] > stopped.history[-1]["env_steps"] - 1
    assert load(tmp_path).interrupted
    resumed = train(cfg, resume_from=tmp_path, run_dir=tmp_path, progress=False)
    assert same_history(resumed.history, straight.history)


def test_a_second_signal_stops_at_once_and_keeps_the_last_checkpoint(tmp_path, capsys):
    def two_signals(row, count=[0]):  # noqa: B006 - a call counter
        count[0] += 1
        if count[0] == 3:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)

    stopped = train(
        small(checkpoint_interval=100), progress=False, run_dir=tmp_path, callback=two_signals
    )
    assert stopped.interrupted and stopped.stop_signal == "SIGINT"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stopped at once; the checkpoint from 200 env steps is kept" in err[0]
    assert safe_load(tmp_path / "checkpoint.pt")["counters"]["env_steps"] == 200
    assert leftovers(tmp_path) == []


def test_an_ignored_sighup_stays_ignored(tmp_path):
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        seen = []
        train(small(), progress=False,
              callback=lambda row: seen.append(signal.getsignal(signal.SIGHUP)))  # fmt: skip
        assert set(seen) == {signal.SIG_IGN}
    finally:
        signal.signal(signal.SIGHUP, old)


# -- history files ----------------------------------------------------------------------------
def test_old_history_files_without_the_diagnostics_still_read(tmp_path):
    # the stored two-step runs of figures/data/lab predate the diagnostics columns
    stored = next((REPO / "figures" / "data" / "lab").glob("two_step-qmix-*.csv"))
    rows = read_history_csv(stored)
    assert rows and "eval_return" in rows[0] and "q_tot_mean" not in rows[0]
    write_history_csv(rows, tmp_path / "h.csv")  # legacy rows write back as they were
    again = read_history_csv(tmp_path / "h.csv")
    assert list(again[0]) == list(rows[0]) and same_history(again, rows)


@pytest.mark.parametrize(
    "text, expected",
    [("env_steps,eval_return\n", []), ("env_steps,eval_return\n0,\n", [{"env_steps": 0.0}])],
)
def test_header_only_and_empty_cells(tmp_path, text, expected):
    (tmp_path / "h.csv").write_text(text)
    rows = read_history_csv(tmp_path / "h.csv")
    assert len(rows) == len(expected)
    if rows:
        assert rows[0]["env_steps"] == 0.0 and math.isnan(rows[0]["eval_return"])


def test_a_history_cell_that_is_not_a_number(tmp_path):
    (tmp_path / "h.csv").write_text("env_steps,eval_return\n0,1.0\n100,lots\n")
    with pytest.raises(ValueError, match=r"h.csv, line 3: not a number"):
        read_history_csv(tmp_path / "h.csv")


def test_every_save_in_a_run_loads_back(tmp_path, monkeypatch):
    """Each file a run writes is read back right after it is written."""
    real_write = results_module.atomic_write
    checked = []

    def write_then_read(path, write):
        out = real_write(path, write)
        name = Path(path).name
        if name.endswith(".pt"):
            assert safe_load(path)["file_version"] == results_module.FILE_VERSION
            load(path)
        elif name.endswith(".json"):
            json.loads(Path(path).read_text())
        elif name.endswith(".csv"):
            read_history_csv(path)
        checked.append(name)
        return out

    monkeypatch.setattr(results_module, "atomic_write", write_then_read)
    train(small(checkpoint_interval=100), progress=False, run_dir=tmp_path)
    assert {"checkpoint.pt", "result.pt", "config.json", "versions.json", "history.csv"} <= set(
        checked
    )
    shutil.rmtree(tmp_path)
