"""Run directories and resuming: claiming a directory, checking what it holds, and
finding the checkpoint and config a run continues from.

A run directory is claimed with an exclusive lock (released when the process ends, even
by ``kill -9``) for the whole run; a directory holding anything but a run of the same
config is refused unless told to overwrite, and then cleared atomically.

>>> import tempfile
>>> from pathlib import Path
>>> with claim_run_dir(Path(tempfile.mkdtemp()) / "run") as run:
...     run_dir_contents(run)
[]
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .config import Config
from .results import CHECKPOINT_FORMAT, DiskFullError, Result, read_config_json, safe_load

LOCK_NAME = ".lock"
# fields that may differ between a checkpoint's config and the config it resumes with
RESUMABLE_CHANGES = {
    "total_steps",
    "eval_interval",
    "eval_episodes",
    "checkpoint_interval",
    "checkpoint_seconds",
    "device",
    "threads",
    # a record of where the defaults came from, not a setting: a run saved before it was
    # recorded (as "none") resumes under a config that names its preset
    "preset_name",
}


# ------------------------------------------------------------------------------------------
# Resuming
# ------------------------------------------------------------------------------------------
def changed_fields(config: Config, saved: Config) -> list[str]:
    new, old = config.to_dict(), saved.to_dict()
    return [k for k in new if new[k] != old[k] and k not in RESUMABLE_CHANGES]


def check_resume_config(config: Config, saved: Config) -> None:
    changed = changed_fields(config, saved)
    if changed:
        old, new = saved.to_dict(), config.to_dict()
        raise ValueError(
            "cannot resume with a different config; changed field(s): "
            + ", ".join(f"{k} ({old[k]!r} -> {new[k]!r})" for k in changed)
            + f". Only {', '.join(sorted(RESUMABLE_CHANGES))} may change."
        )


def load_resume_state(resume_from: Any) -> tuple[dict, str]:
    """The checkpoint to resume from, and a description of where it came from."""
    if isinstance(resume_from, Result):
        if resume_from.checkpoint is None:
            raise ValueError(
                "this Result carries no checkpoint to resume from (only an interrupted run's does)"
            )
        return resume_from.checkpoint, "the interrupted Result"
    if isinstance(resume_from, dict):
        return resume_from, "the checkpoint dict"
    if not isinstance(resume_from, (str, os.PathLike)):
        raise TypeError(
            "resume_from must be a run directory, a checkpoint file, an interrupted Result or "
            f"a checkpoint dict, got {type(resume_from).__name__}"
        )
    path = Path(resume_from)
    if not path.exists():
        raise FileNotFoundError(f"cannot resume: {path} does not exist")
    if path.is_dir():
        if not (path / "checkpoint.pt").exists():
            raise FileNotFoundError(
                f"cannot resume: {path} holds no checkpoint.pt (the run stopped before its first "
                "checkpoint, or this is not a run directory)"
            )
        path = path / "checkpoint.pt"
    data = safe_load(path)
    if data["format"] != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is a result file, not a checkpoint; it cannot be resumed")
    return data, str(path)


def saved_config(state: dict, source: str) -> Config:
    try:
        values = state["config"]
        if not isinstance(values, dict):
            raise ValueError(f"its config is a {type(values).__name__}, not a dict")
        return Config.from_dict(values)
    except (KeyError, TypeError, ValueError) as err:
        detail = f"it lacks {err}" if isinstance(err, KeyError) else str(err)
        raise ValueError(f"{source} holds no usable config: {detail}") from None


# ------------------------------------------------------------------------------------------
# Run directories
# ------------------------------------------------------------------------------------------
def _is_own_temp(name: str) -> bool:
    # temporary files of atomic_write, left behind only by a process killed mid-write
    return name.startswith(".") and name.endswith(".tmp")


def run_dir_contents(run_dir: Path) -> list[str]:
    """The names in a run directory, apart from its lock and stale temporary files."""
    return sorted(
        name for name in os.listdir(run_dir) if name != LOCK_NAME and not _is_own_temp(name)
    )


@contextlib.contextmanager
def claim_run_dir(run_dir: Path) -> Iterator[Path]:
    """Create ``run_dir`` if needed and hold an exclusive lock on it while inside.

    Raises ValueError when the path is a file, lies below one, cannot be written, or is in
    use by another run, and DiskFullError when the disk is full.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"run directory {run_dir} is a file, not a directory")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        # unbuffered, so that a full disk shows at the write and never at close
        fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as err:
        raise _dir_error(err, run_dir) from None
    try:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; runs are not guarded
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                owner = os.read(fd, 64).decode(errors="replace").strip()
                raise ValueError(
                    f"run directory {run_dir} is in use by another training run"
                    f"{f' (process {owner})' if owner else ''}; wait for it to end or use "
                    "another directory"
                ) from None
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except OSError as err:
                raise _dir_error(err, run_dir) from None
        for name in os.listdir(run_dir):  # left by a process killed mid-write
            if _is_own_temp(name) and (run_dir / name).is_file():
                (run_dir / name).unlink(missing_ok=True)
        yield run_dir
    finally:
        os.close(fd)  # releases the lock


def _dir_error(err: OSError, run_dir: Path) -> Exception:
    import errno

    if err.errno == errno.ENOSPC:
        return DiskFullError(f"no space left on device to create run directory {run_dir}")
    if isinstance(err, (NotADirectoryError, FileExistsError)):
        return ValueError(f"cannot create run directory {run_dir}: a part of its path is a file")
    return ValueError(f"cannot use {run_dir} as a run directory: {err.strerror or err}")


def clear_run_dir(run_dir: Path) -> None:
    """Remove a claimed run directory's contents: first moved aside in one rename each
    (so no old file is ever read as part of the new run), then deleted."""
    entries = run_dir_contents(run_dir)
    if not entries:
        return
    aside = Path(tempfile.mkdtemp(prefix=".replaced-", dir=run_dir))
    for name in entries:
        os.replace(run_dir / name, aside / name)
    shutil.rmtree(aside, ignore_errors=True)


def prepare_run_dir(run_dir: Path, config: Config | None, resume_from: Any, overwrite: bool) -> Any:
    """Check a claimed run directory's contents; returns what to resume from (or None).

    A directory that holds a checkpoint of the same config (only bookkeeping fields
    changed) is continued; one that holds anything else is refused unless ``overwrite``.
    """
    if overwrite:
        clear_run_dir(run_dir)
        return resume_from
    entries = run_dir_contents(run_dir)
    if not entries:
        return resume_from
    resuming_here = isinstance(resume_from, (str, os.PathLike)) and Path(resume_from).resolve() in (
        run_dir.resolve(),
        (run_dir / "checkpoint.pt").resolve(),
    )
    if resuming_here:
        return resume_from
    hint = "choose another directory, or pass --overwrite (overwrite=True) to replace its contents"
    if "checkpoint.pt" in entries:
        hint = f"continue it with qmix-tut train --resume {shlex.quote(str(run_dir))}, " + hint
    if resume_from is None and config is None and "checkpoint.pt" in entries:
        return run_dir  # no config given: continue the run that is there
    if resume_from is None and config is not None and "config.json" in entries:
        try:
            stored = read_config_json(run_dir)
        except (OSError, ValueError) as err:
            raise ValueError(f"run directory {run_dir} is not empty ({err}); {hint}") from None
        changed = changed_fields(config, stored)
        if changed:
            raise ValueError(
                f"run directory {run_dir} holds a run of a different config (changed: "
                f"{', '.join(changed)}); {hint}"
            )
        if "checkpoint.pt" in entries:
            return run_dir  # the same run: continue it
        return None  # the same run stopped before its first checkpoint: start it again
    shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    raise ValueError(f"run directory {run_dir} is not empty (holds {shown}); {hint}")
