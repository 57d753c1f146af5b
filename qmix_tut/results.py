"""What a run leaves behind: the ``Result``, its files, and how they are written and read.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_history_csv([{"env_steps": 0, "eval_return": 1.5}], folder / "history.csv")
>>> read_history_csv(folder / "history.csv")[0]["eval_return"]
1.5

A run directory holds ``config.json``, ``versions.json``, ``history.csv``, ``checkpoint.pt``
(everything needed to continue the run, replay buffer included) and ``result.pt`` (the
config, history and trained weights, without the buffer). Files are only ever replaced
whole: each is written to a fresh temporary file beside it, flushed to the disk and then
renamed over the old one, so a crash, a signal or a full disk leaves the last good version.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import re
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from ._paths import missing_data_hint, stored_data_dir
from ._version import __version__
from .config import Config

CHECKPOINT_FORMAT = "qmix_tut.checkpoint"
RESULT_FORMAT = "qmix_tut.result"
FILE_VERSION = 1  # bump when the layout of saved files changes
HISTORY_KEYS = (
    "env_steps",
    "episodes",
    "wall_seconds",
    "train_return",
    "eval_return",
    "eval_return_std",
    "loss",
    "q_tot_mean",
    "target_mean",
    "td_error",
    "grad_norm",
    "epsilon",
)
"""The columns of ``history.csv``, one row per evaluation. ``loss``, ``q_tot_mean`` (the
mean Q_tot of the actions taken), ``target_mean`` (the mean TD target), ``td_error`` and
``grad_norm`` are means over the gradient steps since the previous evaluation (NaN before
the first one). Files written before the learner's diagnostics were recorded lack those
four columns and are still read."""

# read the process's umask once: temporary files are created private, then given the
# permissions an ordinary ``open`` would have given the final file
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class DiskFullError(OSError):
    """The disk filled up while a run's file was written; the previous version is kept."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.errno = errno.ENOSPC


# ------------------------------------------------------------------------------------------
# Writing files safely
# ------------------------------------------------------------------------------------------
def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write ``path`` whole or not at all: ``write(file)`` fills a fresh temporary file.

    The temporary file gets a unique name in the target's directory (``mkstemp`` opens it
    with ``O_EXCL``, so a symlink planted there is never followed), is flushed to the disk
    with ``fsync`` and then renamed over ``path``. On any failure it is removed and the old
    ``path`` is left as it was; a full disk raises ``DiskFullError`` saying so.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise _write_error(err, path) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException as err:  # a signal or a full disk: never leave half a file behind
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise _write_error(err, path) from None
        if isinstance(err, RuntimeError) and _is_disk_full(err):  # torch wraps write errors
            raise _write_error(OSError(errno.ENOSPC, "No space left on device"), path) from None
        raise
    _fsync_directory(path.parent)
    return path


def _is_disk_full(err: BaseException | None) -> bool:
    """Whether ``err``, or an error it was raised while handling, is a full disk."""
    seen = 0
    while err is not None and seen < 10:  # torch.save wraps the OSError in a RuntimeError
        if getattr(err, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
            return True
        err, seen = err.__cause__ or err.__context__, seen + 1
    return False


def _write_error(err: OSError, path: Path) -> OSError:
    if _is_disk_full(err):
        return DiskFullError(
            f"no space left on device while writing {path}; the last good version of it "
            "(the last good checkpoint) is kept"
        )
    reason = err.strerror or str(err)
    return type(err)(err.errno, f"cannot write {path}: {reason}") if err.errno else err


def _fsync_directory(folder: Path) -> None:
    # make the rename itself durable; some filesystems cannot open a directory for this
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj)`` to ``path`` through ``atomic_write``."""
    return atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path: str | Path) -> Path:
    """Write a text file (UTF-8) through ``atomic_write``."""
    data = text.encode("utf-8")

    def write(f: IO[bytes]) -> None:
        f.write(data)

    return atomic_write(path, write)


# ------------------------------------------------------------------------------------------
# History files
# ------------------------------------------------------------------------------------------
def write_history_csv(history: list[dict[str, float]], path: str | Path) -> None:
    """Write history rows as CSV: the ``HISTORY_KEYS`` columns a row has, then any others.

    A value a row lacks is written as ``nan``.
    """
    keys = [k for k in HISTORY_KEYS if any(k in row for row in history)] or list(HISTORY_KEYS)
    for row in history:
        keys.extend(k for k in row if k not in keys)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=keys, restval="nan", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(text.getvalue(), path)


def read_history_csv(path: str | Path) -> list[dict[str, float]]:
    """Read a history CSV into rows of floats; an empty cell reads as NaN.

    Works for files from any version of the package (older ones lack some columns).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such history file: {path}")
    rows = []
    with open(path, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                rows.append({k: float(v) if v not in ("", None) else math.nan
                             for k, v in row.items() if k is not None})  # fmt: skip
            except ValueError as err:
                raise ValueError(f"{path}, line {line}: not a number ({err})") from None
    return rows


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------
@dataclass
class Result:
    """What a run learned: config, evaluation history and the trained weights.

    ``interrupted`` is True when a signal (Ctrl-C's SIGINT, SIGTERM or SIGHUP) stopped the
    run early; ``stop_signal`` then names it and ``exit_status`` is the conventional exit
    status of a process it ended (128 + the signal's number: 130, 143, 129).
    """

    config: Config
    history: list[dict[str, float]]
    agent_state: dict[str, torch.Tensor]
    mixer_state: dict[str, torch.Tensor]
    env_info: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    checkpoint: dict | None = field(default=None, repr=False)
    stop_signal: str | None = None

    def column(self, key: str) -> np.ndarray:
        """One history column as an array, e.g. ``result.column("eval_return")``."""
        if self.history and key not in self.history[0]:
            raise ValueError(
                f"unknown history column {key!r}; columns: {', '.join(self.history[0])}"
            )
        return np.array([row[key] for row in self.history], dtype=np.float64)

    @property
    def final_eval_return(self) -> float:
        """The greedy return of the last evaluation (NaN for an empty history)."""
        return float(self.history[-1]["eval_return"]) if self.history else math.nan

    @property
    def exit_status(self) -> int:
        """0 for a finished run; 128 + the signal's number for one a signal stopped."""
        if not self.interrupted:
            return 0
        import signal

        name = self.stop_signal or "SIGINT"
        return 128 + int(getattr(signal, name, signal.SIGINT))

    def build(self, device: str = "cpu") -> tuple[torch.nn.Module, torch.nn.Module | None]:
        """The trained agent network and mixer (None for IQL), in eval mode."""
        from .train import build_networks

        agent, mixer = build_networks(self.config, self.env_info)
        agent.load_state_dict(self.agent_state)
        if mixer is not None:
            mixer.load_state_dict(self.mixer_state)
            mixer.to(device).eval()
        return agent.to(device).eval(), mixer

    def to_dict(self) -> dict:
        """The result as plain data, the layout ``save`` writes."""
        return {
            "format": RESULT_FORMAT,
            "file_version": FILE_VERSION,
            "package_version": __version__,
            "config": self.config.to_dict(),
            "history": [{k: float(v) for k, v in row.items()} for row in self.history],
            "agent_state": {k: v.detach().cpu() for k, v in self.agent_state.items()},
            "mixer_state": {k: v.detach().cpu() for k, v in self.mixer_state.items()},
            "env_info": self.env_info,
            "meta": self.meta,
            "interrupted": self.interrupted,
            "stop_signal": self.stop_signal,
        }

    def save(self, path: str | Path) -> Path:
        """Write the result (not the replay buffer) to ``path``; returns the path.

        The config is validated first (which turns numpy values into plain Python ones),
        so that what is written can always be read back by ``load``.
        """
        self.config.validate()
        return atomic_save(self.to_dict(), Path(path))

    def __repr__(self) -> str:
        last = self.history[-1] if self.history else {}
        return (
            f"Result(env={self.config.env!r}, algo={self.config.algo!r}, seed={self.config.seed}, "
            f"env_steps={int(last.get('env_steps', 0))}, "
            f"eval_return={last.get('eval_return', math.nan):.3f}"
            f"{', interrupted' if self.interrupted else ''})"
        )


# ------------------------------------------------------------------------------------------
# Reading files
# ------------------------------------------------------------------------------------------
RESULT_NAMES = ("result.pt", "checkpoint.pt", "final.pt")  # final.pt: older run directories


def load(path: str | Path) -> Result:
    """Load a Result saved by ``Result.save``, or the result inside a checkpoint or run dir."""
    path = Path(path)
    if path.is_dir():
        for name in RESULT_NAMES:
            if (path / name).exists():
                path = path / name
                break
        else:
            raise FileNotFoundError(f"{path} holds no result.pt or checkpoint.pt")
    data = safe_load(path)
    try:
        if data["format"] == CHECKPOINT_FORMAT:
            return result_from_checkpoint(data)
        return Result(
            config=Config.from_dict(data["config"]),
            history=list(data["history"]),
            agent_state=dict(data["agent_state"]),
            mixer_state=dict(data["mixer_state"]),
            env_info=dict(data["env_info"]),
            meta=dict(data.get("meta", {})),
            interrupted=bool(data.get("interrupted", False)),
            stop_signal=data.get("stop_signal"),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path} is a damaged qmix_tut file: {_describe(err)}") from None


def result_from_checkpoint(state: dict) -> Result:
    """The Result held in a checkpoint (the learner's current weights and the history)."""
    learner = state["learner"]
    return Result(
        config=Config.from_dict(state["config"]),
        history=list(state["history"]),
        agent_state=dict(learner["agent"]),
        mixer_state=dict(learner.get("mixer", {})),
        env_info=dict(state["env_info"]),
        meta={"versions": state.get("versions", {}), "from_checkpoint": True},
    )


def _describe(err: BaseException) -> str:
    if isinstance(err, KeyError):
        return f"it lacks the entry {err.args[0]!r}"
    return _first_sentence(str(err))


def _first_sentence(text: str) -> str:
    # torch's unpickling errors run to a page of advice (with terminal colour codes)
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).strip().splitlines()[0] if text.strip() else ""
    return text.split(". ")[0].rstrip(".")


def safe_load(path: str | Path) -> dict:
    """Load a qmix_tut file with ``weights_only=True``; clear errors for anything else."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not a qmix_tut file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty, not a readable qmix_tut file")
    try:
        with warnings.catch_warnings():
            # a damaged or foreign pickle makes torch warn about its protocol first; the
            # error below says what is wrong (this package's files load without it)
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for damaged or foreign files
        raise ValueError(
            f"{path} is not a readable qmix_tut file (truncated, corrupt or foreign): "
            f"{type(err).__name__}: {_first_sentence(str(err))}"
        ) from None
    if not isinstance(data, dict) or data.get("format") not in (CHECKPOINT_FORMAT, RESULT_FORMAT):
        raise ValueError(f"{path} is not a qmix_tut result or checkpoint file")
    version = data.get("file_version")
    if version != FILE_VERSION:
        raise ValueError(
            f"{path} was written in file format version {version} (by qmix_tut "
            f"{data.get('package_version', '?')}); this qmix_tut {__version__} reads version "
            f"{FILE_VERSION} only"
        )
    return data


def read_config_json(path: str | Path) -> Config:
    """The Config stored in a run directory's ``config.json`` (or at ``path``), checked.

    Raises FileNotFoundError when there is none and ValueError, naming the file, when it
    is not JSON, not an object, or holds an unknown field or an invalid value.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path.parent} is not a run directory (no config.json)")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a JSON object of Config fields, got {values!r:.60}")
    try:
        return Config.from_dict(values)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: {err}") from None


# ------------------------------------------------------------------------------------------
# stored runs: the full-length runs of figures/data/ that notebooks and figures plot
# ------------------------------------------------------------------------------------------
DATA_DIR = stored_data_dir()
"""Where the stored runs (JSON/CSV) are read from: the repository's ``figures/data/``, or
the copy an installed package carries."""


def data_file(relative: str, made_by: str) -> Path:
    """``DATA_DIR / relative``, or a FileNotFoundError naming the command that makes it."""
    path = DATA_DIR / relative
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; it is made by: {made_by} ({missing_data_hint()})"
        )
    return path


def stored_curves(
    task: str, key: str = "eval_return"
) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Learning curves stored as ``figures/data/<task>/<algo>_seed<S>.csv``: algo -> [(x, y)],
    algorithms in the registry's order (others after them)."""
    from .algorithms import ALGOS

    folder = data_file(task, f"the commands in figures/data/{task}/COMMANDS.md")
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for path in sorted(folder.glob("*_seed*.csv")):
        algo = path.stem.rsplit("_seed", 1)[0]
        rows = read_history_csv(path)
        x = np.array([r["env_steps"] for r in rows], dtype=np.float64)
        y = np.array([r[key] for r in rows], dtype=np.float64)
        curves.setdefault(algo, []).append((x, y))
    if not curves:
        raise FileNotFoundError(f"{folder} holds no <algo>_seed<S>.csv learning curves")
    order = [a for a in ALGOS if a in curves] + [a for a in curves if a not in ALGOS]
    return {a: curves[a] for a in order}
