"""``train(config) -> Result``: collect, learn, evaluate, checkpoint; resumable exactly.

>>> from qmix_tut import Config, train
>>> result = train(Config.preset("two_step_paper", total_steps=200), progress=False)
>>> list(result.history[-1])[:4]
['env_steps', 'episodes', 'wall_seconds', 'train_return']

The loop works in rounds: every environment plays one whole episode, the episodes go
into the replay buffer, then the learner takes ``updates_per_round`` gradient steps.
Each episode's environment seed is derived from the run's seed and the episode's number,
so a checkpoint between two rounds holds everything needed to continue exactly: the
networks, targets, optimizer, replay buffer, counters and random generator states.

Each history row is written after an evaluation of the greedy policy (``eval_return``);
its ``wall_seconds`` counts the time spent collecting, learning and evaluating so far,
so time-to-target figures include the cost of measuring them.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import platform
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .agents import agent_input_dim, make_agent
from .buffer import EpisodeBuffer
from .config import Config
from .envs import make
from .learner import QLearner
from .mixers import make_mixer
from .runner import EpisodeRunner, epsilon_at

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
    "epsilon",
)
# fields that may differ between a checkpoint's config and the config it resumes with
RESUMABLE_CHANGES = {
    "total_steps",
    "eval_interval",
    "eval_episodes",
    "checkpoint_interval",
    "device",
    "threads",
}


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------
@dataclass
class Result:
    """What a run learned: config, evaluation history and the trained weights."""

    config: Config
    history: list[dict[str, float]]
    agent_state: dict[str, torch.Tensor]
    mixer_state: dict[str, torch.Tensor]
    env_info: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    checkpoint: dict | None = field(default=None, repr=False)

    def column(self, key: str) -> np.ndarray:
        """One history column as an array, e.g. ``result.column("eval_return")``."""
        if self.history and key not in self.history[0]:
            raise ValueError(
                f"unknown history column {key!r}; columns: {', '.join(self.history[0])}"
            )
        return np.array([row[key] for row in self.history], dtype=np.float64)

    @property
    def final_eval_return(self) -> float:
        return float(self.history[-1]["eval_return"]) if self.history else math.nan

    def build(self, device: str = "cpu") -> tuple[torch.nn.Module, torch.nn.Module | None]:
        """The trained agent network and mixer (None for IQL), in eval mode."""
        agent, mixer = build_networks(self.config, self.env_info)
        agent.load_state_dict(self.agent_state)
        if mixer is not None:
            mixer.load_state_dict(self.mixer_state)
            mixer.to(device).eval()
        return agent.to(device).eval(), mixer

    def to_dict(self) -> dict:
        return {
            "format": RESULT_FORMAT,
            "file_version": FILE_VERSION,
            "package_version": __version__,
            "config": self.config.to_dict(),
            "history": self.history,
            "agent_state": {k: v.cpu() for k, v in self.agent_state.items()},
            "mixer_state": {k: v.cpu() for k, v in self.mixer_state.items()},
            "env_info": self.env_info,
            "meta": self.meta,
            "interrupted": self.interrupted,
        }

    def save(self, path: str | Path) -> Path:
        """Write the result (not the replay buffer) to ``path``; returns the path."""
        path = Path(path)
        atomic_save(self.to_dict(), path)
        return path

    def __repr__(self) -> str:
        last = self.history[-1] if self.history else {}
        return (
            f"Result(env={self.config.env!r}, algo={self.config.algo!r}, seed={self.config.seed}, "
            f"env_steps={int(last.get('env_steps', 0))}, eval_return={last.get('eval_return', math.nan):.3f}"
            f"{', interrupted' if self.interrupted else ''})"
        )


def load(path: str | Path) -> Result:
    """Load a Result saved by ``Result.save``, or the result inside a checkpoint or run dir."""
    path = Path(path)
    if path.is_dir():
        for name in ("result.pt", "final.pt", "checkpoint.pt"):
            if (path / name).exists():
                path = path / name
                break
        else:
            raise FileNotFoundError(f"{path} holds no result.pt, final.pt or checkpoint.pt")
    data = safe_load(path)
    if data["format"] == CHECKPOINT_FORMAT:
        return _result_from_checkpoint(data)
    return Result(
        config=Config.from_dict(data["config"]),
        history=list(data["history"]),
        agent_state=data["agent_state"],
        mixer_state=data["mixer_state"],
        env_info=dict(data["env_info"]),
        meta=dict(data.get("meta", {})),
        interrupted=bool(data.get("interrupted", False)),
    )


def atomic_save(obj: Any, path: Path) -> None:
    """Save via a temporary file and a rename, so an interruption never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _first_sentence(text: str) -> str:
    # torch's unpickling errors run to a page of advice (with terminal colour codes)
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).strip().splitlines()[0] if text.strip() else ""
    return text.split(". ")[0].rstrip(".")


def safe_load(path: str | Path) -> dict:
    """Load a qmix_tut file with ``weights_only=True``; clear errors for anything else."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
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


# ------------------------------------------------------------------------------------------
# Building blocks
# ------------------------------------------------------------------------------------------
def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"Config.device={device!r} but torch sees no GPU; use 'auto' or 'cpu'")
    return torch.device(device)


def build_networks(
    config: Config, env_info: dict
) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """The agent network and mixer a config asks for, for an env's dimensions."""
    n, a = env_info["n_agents"], env_info["n_actions"]
    in_dim = agent_input_dim(
        env_info["obs_dim"], a, n, config.last_action_input, config.agent_id_input
    )
    agent = make_agent(config.agent, in_dim, a, config.hidden_dim, config.rnn_cell)
    mixer = make_mixer(
        config.algo,
        n,
        env_info["state_dim"],
        config.mixer_embed,
        config.hypernet_layers,
        config.hypernet_embed,
    )
    return agent, mixer


def env_info_of(env) -> dict:
    return {
        "name": env.name,
        "n_agents": env.n_agents,
        "n_actions": env.n_actions,
        "obs_dim": env.obs_dim,
        "state_dim": env.state_dim,
        "episode_limit": env.episode_limit,
    }


def episode_seed(run_seed: int, episode: int, stream: int = 0) -> int:
    """A distinct, reproducible environment seed for each episode of a run."""
    return int(np.random.SeedSequence([run_seed, stream, episode]).generate_state(1)[0] >> 1)


def versions() -> dict[str, str]:
    from importlib import metadata

    found = {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "qmix_tut": __version__,
    }
    for dist in ("numpy", "pettingzoo", "mpe2", "lbforaging", "gymnasium"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


@contextlib.contextmanager
def deterministic_torch(threads: int, device: str | torch.device = "cpu"):
    """Fixed thread count, and deterministic GPU kernels, for the run; restored afterwards.

    The CPU kernels used here are deterministic already, so torch's deterministic mode is
    only switched on for a GPU: switching it on the first time costs about two seconds
    (torch imports its compiler settings), which a short CPU run would otherwise pay.
    """
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    on_gpu = torch.device(device).type != "cpu"
    torch.set_num_threads(threads)
    if on_gpu:
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        if on_gpu:
            torch.use_deterministic_algorithms(old_det, warn_only=old_warn)


class _InterruptGuard:
    """Turn Ctrl-C into a request to stop at the end of the current round.

    A round (collect, insert, learn) is never cut in half, so the checkpoint written on
    stopping is as good as any periodic one. A second Ctrl-C stops at once.
    """

    def __init__(self) -> None:
        self.requested = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


# ------------------------------------------------------------------------------------------
# The trainer
# ------------------------------------------------------------------------------------------
class Trainer:
    """All the state of one training run, with ``state_dict`` for exact resumption."""

    def __init__(self, config: Config) -> None:
        config.validate()
        self.config = c = config
        self.device = resolve_device(c.device)
        self.envs = [make(c.env, **c.env_kwargs) for _ in range(c.num_envs)]
        n_eval = max(1, min(c.eval_episodes, 16))
        self.eval_envs = [make(c.env, **c.env_kwargs) for _ in range(n_eval)]
        self.env_info = env_info_of(self.envs[0])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(c.seed)
            self.agent, self.mixer = build_networks(c, self.env_info)
        self.agent.to(self.device)
        if self.mixer is not None:
            self.mixer.to(self.device)
        self.learner = QLearner.from_config(self.agent, self.mixer, self.env_info["n_actions"], c)
        info = self.env_info
        self.buffer = EpisodeBuffer(
            c.buffer_size,
            info["episode_limit"],
            info["n_agents"],
            info["obs_dim"],
            info["state_dim"],
            info["n_actions"],
            self.device,
        )
        self.action_rng = torch.Generator().manual_seed(c.seed)
        # on the CPU whatever the device: the same draws everywhere, and a checkpoint's
        # generator state resumes on a GPU or a CPU alike (the buffer moves the indices)
        self.sample_rng = torch.Generator().manual_seed(c.seed + 1)
        self.runner = EpisodeRunner(
            self.envs, self.agent, c.last_action_input, c.agent_id_input, self.action_rng
        )
        self.eval_runner = EpisodeRunner(
            self.eval_envs, self.agent, c.last_action_input, c.agent_id_input
        )
        self.env_steps = 0
        self.episodes = 0
        self.evaluations = 0
        self.wall_seconds = 0.0
        self.next_eval = 0
        self.next_checkpoint = c.checkpoint_interval
        self.history: list[dict[str, float]] = []
        self.recent_returns: list[float] = []
        self.recent_losses: list[float] = []

    # -- one round ----------------------------------------------------------------------
    @property
    def epsilon(self) -> float:
        c = self.config
        return epsilon_at(self.env_steps, c.epsilon_start, c.epsilon_finish, c.epsilon_anneal_steps)

    def round(self) -> None:
        c = self.config
        seeds = [episode_seed(c.seed, self.episodes + i) for i in range(len(self.envs))]
        episodes, stats = self.runner.run(self.epsilon, seeds)
        self.buffer.insert(episodes)
        self.env_steps += stats["steps"]
        self.episodes += len(self.envs)
        self.recent_returns.extend(float(r) for r in stats["returns"])
        if len(self.buffer) >= c.batch_size:
            for _ in range(c.updates_per_round):
                batch = self.buffer.sample(c.batch_size, self.sample_rng)
                info = self.learner.update(batch, self.episodes)
                self.recent_losses.append(info["loss"])

    def evaluate(self) -> tuple[float, float]:
        """Greedy returns over ``eval_episodes`` fresh episodes (mean, std)."""
        c = self.config
        returns: list[float] = []
        while len(returns) < c.eval_episodes:
            n = min(len(self.eval_envs), c.eval_episodes - len(returns))
            seeds = [
                episode_seed(c.seed, self.evaluations * 10_000 + len(returns) + i, 1)
                for i in range(n)
            ]
            _, stats = self.eval_runner.run(0.0, seeds, n_envs=n)
            returns.extend(float(r) for r in stats["returns"])
        self.evaluations += 1
        if not returns:
            return math.nan, math.nan
        return float(np.mean(returns)), float(np.std(returns))

    def log_row(self) -> dict[str, float]:
        started = time.perf_counter()
        eval_mean, eval_std = self.evaluate()
        self.wall_seconds += time.perf_counter() - started  # evaluating costs time too
        row = {
            "env_steps": self.env_steps,
            "episodes": self.episodes,
            "wall_seconds": round(self.wall_seconds, 3),
            "train_return": float(np.mean(self.recent_returns))
            if self.recent_returns
            else math.nan,
            "eval_return": eval_mean,
            "eval_return_std": eval_std,
            "loss": float(np.mean(self.recent_losses)) if self.recent_losses else math.nan,
            "epsilon": self.epsilon,
        }
        self.recent_returns, self.recent_losses = [], []
        self.history.append(row)
        return row

    # -- checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "file_version": FILE_VERSION,
            "package_version": __version__,
            "versions": versions(),
            "config": self.config.to_dict(),
            "env_info": self.env_info,
            "learner": self.learner.state_dict(),
            "buffer": self.buffer.state_dict(),
            "counters": {
                "env_steps": self.env_steps,
                "episodes": self.episodes,
                "evaluations": self.evaluations,
                "wall_seconds": self.wall_seconds,
                "next_eval": self.next_eval,
                "next_checkpoint": self.next_checkpoint,
            },
            "history": self.history,
            "recent_returns": self.recent_returns,
            "recent_losses": self.recent_losses,
            "rng": {
                "action": self.action_rng.get_state(),
                "sample": self.sample_rng.get_state(),
            },
        }

    def load_state_dict(self, state: dict) -> None:
        if state["env_info"] != self.env_info:
            raise ValueError(
                f"checkpoint was made on env {state['env_info']}, not on {self.env_info}"
            )
        self.learner.load_state_dict(state["learner"])
        self.buffer.load_state_dict(state["buffer"])
        for key, value in state["counters"].items():
            setattr(self, key, value)
        self.history = list(state["history"])
        self.recent_returns = list(state["recent_returns"])
        self.recent_losses = list(state["recent_losses"])
        self.action_rng.set_state(state["rng"]["action"])
        self.sample_rng.set_state(state["rng"]["sample"])

    def result(self, interrupted: bool = False) -> Result:
        return Result(
            config=self.config,
            history=list(self.history),
            agent_state={k: v.detach().cpu().clone() for k, v in self.agent.state_dict().items()},
            mixer_state=(
                {k: v.detach().cpu().clone() for k, v in self.mixer.state_dict().items()}
                if self.mixer is not None
                else {}
            ),
            env_info=self.env_info,
            meta={"versions": versions(), "wall_seconds": self.wall_seconds},
            interrupted=interrupted,
        )


def _result_from_checkpoint(state: dict) -> Result:
    learner = state["learner"]
    return Result(
        config=Config.from_dict(state["config"]),
        history=list(state["history"]),
        agent_state=learner["agent"],
        mixer_state=learner["mixer"],
        env_info=dict(state["env_info"]),
        meta={"versions": state.get("versions", {}), "from_checkpoint": True},
    )


def _check_resume_config(config: Config, saved: Config) -> None:
    changed = [
        k
        for k, v in config.to_dict().items()
        if v != saved.to_dict()[k] and k not in RESUMABLE_CHANGES
    ]
    if changed:
        raise ValueError(
            "cannot resume with a different config; changed field(s): "
            + ", ".join(f"{k} ({saved.to_dict()[k]!r} -> {config.to_dict()[k]!r})" for k in changed)
            + f". Only {', '.join(sorted(RESUMABLE_CHANGES))} may change."
        )


def _load_resume_state(resume_from: Any) -> dict:
    if isinstance(resume_from, Result):
        if resume_from.checkpoint is None:
            raise ValueError("this Result carries no checkpoint to resume from")
        return resume_from.checkpoint
    if isinstance(resume_from, dict):
        return resume_from
    path = Path(resume_from)
    if path.is_dir():
        path = path / "checkpoint.pt"
    data = safe_load(path)
    if data["format"] != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is a result file, not a checkpoint; it cannot be resumed")
    return data


# ------------------------------------------------------------------------------------------
# Run directories
# ------------------------------------------------------------------------------------------
def write_history_csv(history: list[dict], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(HISTORY_KEYS))
        writer.writeheader()
        writer.writerows(history)
    os.replace(tmp, path)


def read_history_csv(path: str | Path) -> list[dict[str, float]]:
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _start_run_dir(run_dir: Path, config: Config) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    (run_dir / "versions.json").write_text(json.dumps(versions(), indent=2) + "\n")


# ------------------------------------------------------------------------------------------
# The entry point
# ------------------------------------------------------------------------------------------
def train(
    config: Config | None = None,
    resume_from: str | Path | Result | dict | None = None,
    progress: bool = True,
    run_dir: str | Path | None = None,
    callback=None,
) -> Result:
    """Train IQL, VDN or QMIX as ``config`` says and return the Result.

    resume_from: a checkpoint file, a run directory, or an interrupted Result; the run
    continues exactly where it stopped (``config`` may then be None, or change only
    total_steps and the bookkeeping fields). run_dir: write config.json, versions.json,
    history.csv, checkpoint.pt (every ``checkpoint_interval`` steps and on Ctrl-C),
    final.pt and result.pt there. callback(row) is called after every evaluation.
    Ctrl-C stops at the end of the current round and returns what was learned so far.
    """
    state = _load_resume_state(resume_from) if resume_from is not None else None
    if state is not None:
        saved = Config.from_dict(state["config"])
        if config is None:
            config = saved
        _check_resume_config(config, saved)
    if config is None:
        raise ValueError("train needs a config (or resume_from a checkpoint)")
    run_path = Path(run_dir) if run_dir is not None else None

    with deterministic_torch(config.threads, resolve_device(config.device)):
        trainer = Trainer(config)
        if state is not None:
            trainer.load_state_dict(state)
        if run_path is not None:
            _start_run_dir(run_path, config)

        def save_checkpoint(name: str) -> None:
            if run_path is not None:
                atomic_save(trainer.state_dict(), run_path / name)

        from tqdm.auto import tqdm

        bar = tqdm(
            total=config.total_steps,
            initial=min(trainer.env_steps, config.total_steps),
            disable=not progress,
            unit="step",
            desc=f"{config.algo} on {config.env}",
            dynamic_ncols=True,
        )
        interrupted = False
        with _InterruptGuard() as guard:
            try:
                while True:
                    if trainer.env_steps >= trainer.next_eval:
                        row = trainer.log_row()
                        trainer.next_eval += config.eval_interval
                        if run_path is not None:
                            write_history_csv(trainer.history, run_path / "history.csv")
                        bar.set_postfix(
                            episodes=row["episodes"],
                            ret=f"{row['eval_return']:.3g}",
                            eps=f"{row['epsilon']:.2f}",
                        )
                        if callback is not None:
                            callback(row)
                    if trainer.env_steps >= config.total_steps:
                        break
                    if guard.requested:
                        interrupted = True
                        break
                    started = time.perf_counter()
                    before = trainer.env_steps
                    trainer.round()
                    trainer.wall_seconds += time.perf_counter() - started
                    bar.update(
                        min(trainer.env_steps, config.total_steps) - min(before, config.total_steps)
                    )
                    if config.checkpoint_interval and trainer.env_steps >= trainer.next_checkpoint:
                        trainer.next_checkpoint += config.checkpoint_interval
                        save_checkpoint("checkpoint.pt")
                    if trainer.env_steps >= config.total_steps:
                        # always finish with an evaluation at the final step
                        trainer.next_eval = min(trainer.next_eval, trainer.env_steps)
            except KeyboardInterrupt:
                interrupted = True  # a second Ctrl-C, mid-round: the last checkpoint stands
                bar.close()
                result = trainer.result(interrupted=True)
                return result
        bar.close()

        result = trainer.result(interrupted=interrupted)
        if interrupted:
            result.checkpoint = trainer.state_dict()
            save_checkpoint("checkpoint.pt")
            where = f"; checkpoint in {run_path / 'checkpoint.pt'}" if run_path else ""
            print(
                f"Interrupted at {trainer.env_steps} env steps{where}. "
                f"Resume with train(config, resume_from=...)."
            )
        elif run_path is not None:
            save_checkpoint("final.pt")
            save_checkpoint("checkpoint.pt")
        if run_path is not None:
            write_history_csv(trainer.history, run_path / "history.csv")
            result.save(run_path / "result.pt")
        return result
