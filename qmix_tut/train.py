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

Stopping and losing nothing:

1. Ctrl-C (SIGINT), SIGTERM (a cluster's time limit, ``docker stop``) and SIGHUP (a
   closed terminal) each stop the run at the end of the current round, write the
   checkpoint and print one message saying how to resume. A second signal stops at once,
   keeping the last checkpoint.
2. A checkpoint is also written every ``checkpoint_seconds`` of training (5 minutes by
   default) and every ``checkpoint_interval`` env steps if that is set.
3. A run directory is claimed with a lock for the whole run; every file in it is
   replaced atomically (``results.atomic_write``); a full disk stops the run with a clear
   error and the last good checkpoint.
4. A non-finite loss or gradient stops the run with a clear error; no checkpoint with
   non-finite weights is ever written.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import math
import os
import platform
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._version import __version__
from .agents import agent_input_dim, make_agent
from .algorithms import spec
from .buffer import EpisodeBuffer
from .coma import COMALearner, make_critic
from .config import Config
from .envs import make
from .envs.batched import BatchedEnv, has_batched, make_batched
from .envs.core import env_sizes
from .learner import NonFiniteError, QLearner
from .mixers import make_mixer
from .results import (  # noqa: F401 - re-exported: ``from qmix_tut.train import load`` works
    CHECKPOINT_FORMAT,
    FILE_VERSION,
    HISTORY_KEYS,
    RESULT_FORMAT,
    DiskFullError,
    Result,
    atomic_save,
    atomic_write_text,
    load,
    read_config_json,
    read_history_csv,
    result_from_checkpoint,
    safe_load,
    write_history_csv,
)
from .rundir import (  # noqa: F401 - claim_run_dir and RESUMABLE_CHANGES re-exported
    LOCK_NAME,
    RESUMABLE_CHANGES,
    check_resume_config,
    claim_run_dir,
    load_resume_state,
    prepare_run_dir,
    saved_config,
)
from .runner import EpisodeRunner, epsilon_at

# the learner's statistics averaged into each history row: update key -> column
UPDATE_COLUMNS = {
    "loss": "loss",
    "q_taken": "q_tot_mean",
    "target": "target_mean",
    "td_error": "td_error",
    "grad_norm": "grad_norm",
}
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


# ------------------------------------------------------------------------------------------
# Building blocks
# ------------------------------------------------------------------------------------------
def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> the GPU when torch sees one, else the CPU; a clear error for a GPU
    that is not there."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"Config.device={device!r} but torch sees no GPU; use 'auto' or 'cpu'")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"Config.device={device!r} but torch sees {torch.cuda.device_count()} GPU(s), "
                f"numbered from 0"
            )
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


def make_learner(
    config: Config, agent: torch.nn.Module, mixer: torch.nn.Module | None, env_info: dict
) -> QLearner | COMALearner:
    """The learner for ``config.algo``, training ``agent`` (and ``mixer``): the one value
    learner, or COMA's actor-critic, whose critic is built here on the agent's device,
    from the run's seed."""
    if spec(config.algo).learner == "coma":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            critic = make_critic(env_info, config.critic_hidden_dim)
        critic.to(next(agent.parameters()).device)
        n, a = env_info["n_agents"], env_info["n_actions"]
        return COMALearner.from_config(agent, critic, n, a, config)
    return QLearner.from_config(agent, mixer, env_info["n_actions"], config)


def env_info_of(env) -> dict:
    """The sizes of an environment that the networks and the buffer are built for."""
    return env_sizes(env)


def episode_seed(run_seed: int, episode: int, stream: int = 0) -> int:
    """A distinct, reproducible environment seed for each episode of a run."""
    return int(np.random.SeedSequence([run_seed, stream, episode]).generate_state(1)[0] >> 1)


@functools.lru_cache(maxsize=1)
def source_commit() -> str:
    """The git commit this package's code was checked out at, with ``+changes`` when its
    files differ from that commit; ``unknown`` outside a git checkout (an installed wheel).
    Recorded in each run's versions.json, so a stored run names the code that made it."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():  # a directory, or a file in a git worktree
        return "unknown"
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if head.returncode != 0:
            return "unknown"
        changed = subprocess.run(
            ["git", "-C", str(root), "diff", "--quiet", "HEAD", "--", "qmix_tut"],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):  # no git, or it hangs
        return "unknown"
    return head.stdout.strip() + ("+changes" if changed.returncode != 0 else "")


def versions() -> dict[str, str]:
    """The versions of Python, torch and the packages a run depends on, and the commit of
    this package's code (:func:`source_commit`)."""
    from importlib import metadata

    found = {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "qmix_tut": __version__,
        "qmix_tut_commit": source_commit(),
    }
    for dist in ("numpy", "pettingzoo", "mpe2", "lbforaging", "gymnasium"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


@contextlib.contextmanager
def deterministic_torch(threads: int, device: str | torch.device = "cpu") -> Iterator[None]:
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


# glibc's mallopt parameters (malloc.h): the size from which a block gets its own mapping
# from the kernel, the free space at the top of the heap above which it is given back,
# and the extra space asked for whenever the heap grows
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MALLOC_SETTINGS = {
    _M_MMAP_THRESHOLD: 32 * 2**20,  # glibc's largest allowed value on 64-bit systems
    _M_TRIM_THRESHOLD: 2**30,
    _M_TOP_PAD: 64 * 2**20,
}
_malloc_kept: bool | None = None


def keep_freed_memory() -> bool:
    """Let the C library keep memory that torch frees, for the next tensor; True if it does.

    An update allocates its activations afresh (a replay batch of the ``simple_spread``
    preset has hidden layers of over a megabyte each) and frees them at its end. By
    default glibc often hands blocks of that size back to the kernel when they are freed,
    so that the next update's first write to each page is a page fault: about 450 faults
    per update, a few percent of a run's time on one core. With these settings (blocks
    of up to 32 MiB come from the heap, and up to 1 GiB of free heap is kept) the faults
    are gone, at the price of the process keeping its peak memory until it ends. The
    values computed do not change. Process-wide and for the process's lifetime (the C
    library cannot tell its earlier settings); applied by :func:`train`. A no-op,
    returning False, on C libraries other than glibc.
    """
    global _malloc_kept
    if _malloc_kept is None:
        _malloc_kept = False
        if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
            try:
                mallopt = ctypes.CDLL(None).mallopt
            except (OSError, AttributeError):
                return _malloc_kept
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
            _malloc_kept = all(mallopt(k, v) == 1 for k, v in _MALLOC_SETTINGS.items())
    return _malloc_kept


# ------------------------------------------------------------------------------------------
# Resources: refuse what this machine cannot run, before allocating it
# ------------------------------------------------------------------------------------------
ENV_BYTES = 64 * 1024  # a rough allowance for one environment object and its runner rows


def estimate_memory(config: Config, env_info: dict) -> dict[str, int]:
    """Bytes a run of ``config`` needs, by part: ``buffer``, ``networks``, ``updates``,
    ``envs`` and ``total``.

    The replay buffer is counted twice (a checkpoint copies it), the networks five times
    (online and target weights, gradients, two optimizer statistics) and one update's
    activations generously; the networks are sized exactly by building them on torch's
    ``meta`` device, which allocates nothing.
    """
    n, a = env_info["n_agents"], env_info["n_actions"]
    t, obs, state = env_info["episode_limit"], env_info["obs_dim"], env_info["state_dim"]
    per_episode = 4 * (t + 1) * (n * obs + state + n * a) + 8 * t * n + 4 * 3 * t + 8
    with torch.device("meta"):
        agent, mixer = build_networks(config, env_info)
    params = sum(p.numel() for p in agent.parameters())
    if mixer is not None:
        params += sum(p.numel() for p in mixer.parameters())
    if config.algo == "coma":  # the critic: state, observation, actions and id in, A out
        h = config.critic_hidden_dim
        params += (state + obs + 2 * n * a + n) * h + h * h + h * a
    in_dim = agent_input_dim(obs, a, n, config.last_action_input, config.agent_id_input)
    per_step = n * (in_dim + 12 * config.hidden_dim + 4 * a) + 4 * (
        n * config.mixer_embed + config.hypernet_embed
    )
    parts = {
        "buffer": 2 * config.buffer_size * per_episode,
        "networks": 5 * 4 * params,
        "updates": 4 * config.batch_size * (t + 1) * per_step * 3,
        "envs": (config.num_envs + min(config.eval_episodes, 16)) * (ENV_BYTES + per_episode),
    }
    parts["total"] = sum(parts.values())
    return parts


def available_memory(device: torch.device | None = None) -> int | None:
    """Free memory in bytes: the GPU's for a CUDA device, else the machine's available RAM
    (``MemAvailable`` in /proc/meminfo, or the physical memory); None if unknown."""
    if device is not None and device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n: float) -> str:
    """Bytes in decimal units, three significant digits: ``_size(2.5e9) == '2.5 GB'``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def check_memory(config: Config, env_info: dict, device: torch.device) -> None:
    """Raise ValueError with the estimate and the free memory if the run cannot fit."""
    need = estimate_memory(config, env_info)
    free = available_memory(device)
    if free is None or need["total"] <= free:
        return
    parts = ", ".join(f"{k} {_size(v)}" for k, v in need.items() if k != "total")
    raise ValueError(
        f"this config needs about {_size(need['total'])} of memory ({parts}) but "
        f"{'the GPU' if device.type == 'cuda' else 'this machine'} has {_size(free)} available; "
        "lower buffer_size, hidden_dim, num_envs, batch_size or the mixer's sizes"
    )


def check_threads(threads: int) -> None:
    """Refuse a thread count far beyond the machine's cores (OpenMP aborts on huge ones)."""
    cores = os.cpu_count() or 1
    if threads > 4 * cores:
        raise ValueError(
            f"Config.threads={threads} is more than 4 x this machine's {cores} CPU cores; "
            f"use at most {cores}"
        )


# ------------------------------------------------------------------------------------------
# Signals
# ------------------------------------------------------------------------------------------
class _StopNow(BaseException):
    """A second stop signal: leave the round at once."""


class _StopGuard:
    """Turn Ctrl-C, SIGTERM and SIGHUP into a request to stop at the end of the round.

    A round (collect, insert, learn) is never cut in half, so the checkpoint written on
    stopping is as good as any periodic one. A second signal stops at once. Handlers can
    only be installed in the main thread; elsewhere (a worker thread) signals keep their
    usual meaning. A SIGHUP that is ignored (``nohup``) stays ignored.
    """

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._old: dict[int, Any] = {}
        self._leaving = False

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def __enter__(self) -> _StopGuard:
        if threading.current_thread() is not threading.main_thread():
            return self
        for name in STOP_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None:  # SIGHUP does not exist on Windows
                continue
            old = signal.getsignal(signum)
            if name == "SIGHUP" and old == signal.SIG_IGN:
                continue
            signal.signal(signum, self._handle)
            self._old[signum] = old
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and not self._leaving:
            raise _StopNow
        self.signal_name = self.signal_name or signal.Signals(signum).name

    def __exit__(self, *exc: Any) -> None:
        self._leaving = True  # a signal while the handlers are restored is only noted
        for signum, old in self._old.items():
            signal.signal(signum, old)


def _batched(config: Config, n_envs: int) -> BatchedEnv:
    """The batched version of ``config.env`` (which has one) with ``n_envs`` environments."""
    env = make_batched(config.env, n_envs, **config.env_kwargs)
    assert env is not None, f"{config.env} has no batched version"
    return env


# ------------------------------------------------------------------------------------------
# The trainer
# ------------------------------------------------------------------------------------------
class Trainer:
    """All the state of one training run, with ``state_dict`` for exact resumption."""

    def __init__(self, config: Config) -> None:
        config.validate()
        self.config = c = config
        self.device = resolve_device(c.device)
        first = make(c.env, **c.env_kwargs)
        self.env_info = env_info_of(first)
        check_memory(c, self.env_info, self.device)  # before anything large is allocated
        n_eval = max(1, min(c.eval_episodes, 16))
        self.envs: list | BatchedEnv
        self.eval_envs: list | BatchedEnv
        if c.batched_env and has_batched(c.env):
            # the fast path: each round's environments stepped as one array program (mpe2,
            # which `first` is, stays the reference it is tested against)
            self.envs = _batched(c, c.num_envs)
            self.eval_envs = _batched(c, n_eval)
        else:
            self.envs = [first] + [make(c.env, **c.env_kwargs) for _ in range(c.num_envs - 1)]
            self.eval_envs = [make(c.env, **c.env_kwargs) for _ in range(n_eval)]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(c.seed)
            self.agent, self.mixer = build_networks(c, self.env_info)
        self.agent.to(self.device)
        if self.mixer is not None:
            self.mixer.to(self.device)
        self.learner = make_learner(c, self.agent, self.mixer, self.env_info)
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
        self.sample_rng = torch.Generator(device=self.device).manual_seed(c.seed + 1)
        # an actor-critic samples from its policy; the value methods act epsilon-greedily
        selection = "policy" if spec(c.algo).learner == "coma" else "epsilon_greedy"
        self.runner = EpisodeRunner(
            self.envs, self.agent, c.last_action_input, c.agent_id_input, self.action_rng, selection
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
        self.recent_stats: dict[str, list[float]] = {k: [] for k in UPDATE_COLUMNS}

    # -- one round ----------------------------------------------------------------------
    @property
    def epsilon(self) -> float:
        c = self.config
        return epsilon_at(self.env_steps, c.epsilon_start, c.epsilon_finish, c.epsilon_anneal_steps)

    def round(self) -> None:
        """Play one episode in every environment, store them, then learn."""
        c = self.config
        seeds = [episode_seed(c.seed, self.episodes + i) for i in range(len(self.envs))]
        episodes, stats = self.runner.run(self.epsilon, seeds)
        if not spec(c.algo).on_policy:
            self.buffer.insert(episodes)
        self.env_steps += stats["steps"]
        self.episodes += len(self.envs)
        self.recent_returns.extend(float(r) for r in stats["returns"])
        self.learn(episodes)

    def learn(self, episodes: dict[str, torch.Tensor]) -> None:
        """``updates_per_round`` gradient steps on batches drawn from the replay buffer, or,
        on-policy (COMA), on the ``episodes`` just collected, never on older ones."""
        c = self.config
        on_policy = spec(c.algo).on_policy
        if not on_policy and len(self.buffer) < c.batch_size:
            return
        self.anneal_learning_rates()
        for _ in range(c.updates_per_round):
            batch = episodes if on_policy else self.buffer.sample(c.batch_size, self.sample_rng)
            stats = self.learner.update(batch, self.episodes)
            if not math.isfinite(stats["loss"]):  # a learner that does not check itself
                raise NonFiniteError(f"the loss is {stats['loss']}")
            for key, values in self.recent_stats.items():
                if key in stats:
                    values.append(float(stats[key]))  # type: ignore[literal-required]

    def anneal_learning_rates(self) -> None:
        """With ``lr_anneal_steps > 0``, set the optimizers' learning rates for this env step:
        lr falls linearly to lr_finish (and COMA's critic_lr in the same proportion). Derived
        from the env step alone, so a resumed run continues on the same schedule."""
        c = self.config
        if c.lr_anneal_steps == 0:
            return
        lr = epsilon_at(self.env_steps, c.lr, c.lr_finish, c.lr_anneal_steps)
        if isinstance(self.learner, QLearner):
            pairs = [(self.learner.optimizer, lr)]
        else:
            pairs = [
                (self.learner.actor_optimizer, lr),
                (self.learner.critic_optimizer, c.critic_lr * lr / c.lr),
            ]
        for optimizer, value in pairs:
            for group in optimizer.param_groups:
                group["lr"] = value

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
        """Evaluate, and append one history row (see ``results.HISTORY_KEYS``)."""
        started = time.perf_counter()
        eval_mean, eval_std = self.evaluate()
        self.wall_seconds += time.perf_counter() - started  # evaluating costs time too
        row: dict[str, float] = {
            "env_steps": self.env_steps,
            "episodes": self.episodes,
            "wall_seconds": round(self.wall_seconds, 3),
            "train_return": _mean(self.recent_returns),
            "eval_return": eval_mean,
            "eval_return_std": eval_std,
        }
        for key, column in UPDATE_COLUMNS.items():
            row[column] = _mean(self.recent_stats[key])
        row["epsilon"] = self.epsilon
        self.recent_returns = []
        self.recent_stats = {k: [] for k in UPDATE_COLUMNS}
        self.history.append(row)
        return row

    def weights_finite(self) -> bool:
        """Whether every weight of the agent and the mixer is finite."""
        modules = [self.agent] + ([self.mixer] if self.mixer is not None else [])
        return all(bool(torch.isfinite(p).all()) for m in modules for p in m.parameters())

    # -- checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to continue the run exactly (a checkpoint)."""
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
            "recent_stats": self.recent_stats,
            "rng": {
                "action": self.action_rng.get_state(),
                "sample": self.sample_rng.get_state(),
            },
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from ``state_dict()``'s output."""
        if state["env_info"] != self.env_info:
            raise ValueError(
                f"checkpoint was made on env {state['env_info']}, not on {self.env_info}"
            )
        self.learner.load_state_dict(state["learner"])
        self.buffer.load_state_dict(state["buffer"])
        counters = state["counters"]
        self.env_steps = int(counters["env_steps"])
        self.episodes = int(counters["episodes"])
        self.evaluations = int(counters["evaluations"])
        self.wall_seconds = float(counters["wall_seconds"])
        self.next_eval = int(counters["next_eval"])
        self.next_checkpoint = int(counters["next_checkpoint"])
        self.history = list(state["history"])
        self.recent_returns = list(state["recent_returns"])
        stored = state.get("recent_stats", {"loss": state.get("recent_losses", [])})
        self.recent_stats = {k: list(stored.get(k, [])) for k in UPDATE_COLUMNS}
        self.action_rng.set_state(state["rng"]["action"])
        self.sample_rng.set_state(state["rng"]["sample"])

    def result(self, interrupted: bool = False, stop_signal: str | None = None) -> Result:
        """The run so far as a Result (weights copied to the CPU)."""
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
            stop_signal=stop_signal,
        )


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


# ------------------------------------------------------------------------------------------
# The entry point
# ------------------------------------------------------------------------------------------
def train(
    config: Config | None = None,
    resume_from: str | Path | Result | dict | None = None,
    progress: bool = True,
    run_dir: str | Path | None = None,
    callback: Callable[[dict[str, float]], None] | None = None,
    overwrite: bool = False,
) -> Result:
    """Train IQL, VDN or QMIX as ``config`` says and return the Result.

    resume_from: a checkpoint file, a run directory, or an interrupted Result; the run
    continues exactly where it stopped (``config`` may then be None, or change only
    total_steps and the bookkeeping fields in ``RESUMABLE_CHANGES``).

    run_dir: claimed with a lock for the run; receives config.json, versions.json,
    history.csv (after every evaluation), checkpoint.pt (every ``checkpoint_seconds`` and
    ``checkpoint_interval``, on a stop signal and at the end) and result.pt (at the end:
    the result without the replay buffer). A directory that holds a run of the same
    config is continued; one that holds anything else is refused unless ``overwrite``,
    which clears it first.

    callback(row) is called after every evaluation. Ctrl-C, SIGTERM and SIGHUP stop at the
    end of the current round and return what was learned so far, with
    ``Result.interrupted`` set and ``Result.stop_signal`` naming the signal.

    Raises TypeError for a config that is not a ``Config``, ValueError for anything this
    run cannot do (an invalid config, a run directory in use or not empty, a checkpoint
    that does not fit, more memory than the machine has), FileNotFoundError for a missing
    checkpoint, DiskFullError when the disk fills, and the learner's NonFiniteError when
    the loss or gradients turn NaN or infinite.
    """
    if config is not None and not isinstance(config, Config):
        raise TypeError(
            f"train() takes a Config, got {type(config).__name__} {config!r:.60}; for example "
            "train(Config(env='two_step')) or train(Config.preset('two_step_paper'))"
        )
    if overwrite and resume_from is not None:
        raise ValueError("train() cannot both resume a run and overwrite its run directory")
    if config is None and resume_from is None and run_dir is None:
        raise ValueError("train needs a config (or resume_from a checkpoint)")
    if run_dir is None:
        return _train(config, resume_from, progress, None, callback)
    run_path = Path(run_dir)
    with claim_run_dir(run_path):
        resume_from = prepare_run_dir(run_path, config, resume_from, overwrite)
        return _train(config, resume_from, progress, run_path, callback)


def _train(
    config: Config | None,
    resume_from: Any,
    progress: bool,
    run_path: Path | None,
    callback: Callable[[dict[str, float]], None] | None,
) -> Result:
    state, source = load_resume_state(resume_from) if resume_from is not None else (None, "")
    if state is not None:
        saved = saved_config(state, source)
        if config is None:
            config = saved
        check_resume_config(config, saved)
    if config is None:
        raise ValueError(f"{run_path} holds no run to continue; train needs a config")
    config.validate()
    check_threads(config.threads)
    device = resolve_device(config.device)
    keep_freed_memory()

    with deterministic_torch(config.threads, device):
        trainer = Trainer(config)
        if state is not None:
            try:
                trainer.load_state_dict(state)
            except (KeyError, TypeError, ValueError, RuntimeError) as err:
                detail = f"it lacks {err}" if isinstance(err, KeyError) else str(err)
                first_line = detail.strip().splitlines()[0] if detail.strip() else ""
                raise ValueError(f"{source} does not fit this run: {first_line}") from None
            if config.total_steps < trainer.env_steps:
                raise ValueError(
                    f"{source} is already at {trainer.env_steps} env steps; total_steps "
                    f"({config.total_steps}) must be at least that"
                )
        return _loop(trainer, progress, run_path, callback)


def _loop(
    trainer: Trainer,
    progress: bool,
    run_path: Path | None,
    callback: Callable[[dict[str, float]], None] | None,
) -> Result:
    config = trainer.config
    checkpoint_at = {"steps": trainer.env_steps, "time": time.monotonic()}

    def save_checkpoint() -> None:
        if run_path is None:
            return
        if not trainer.weights_finite():
            raise NonFiniteError(
                f"a weight is NaN or infinite at {trainer.env_steps} env steps; the checkpoint "
                f"in {run_path} from {checkpoint_at['steps']} env steps is kept"
            )
        atomic_save(trainer.state_dict(), run_path / "checkpoint.pt")
        checkpoint_at.update(steps=trainer.env_steps, time=time.monotonic())

    if run_path is not None:
        atomic_write_text(json.dumps(config.to_dict(), indent=2) + "\n", run_path / "config.json")
        atomic_write_text(json.dumps(versions(), indent=2) + "\n", run_path / "versions.json")
        # result.pt is written when the run ends; until then the checkpoint is the result
        (run_path / "result.pt").unlink(missing_ok=True)
        (run_path / "final.pt").unlink(missing_ok=True)  # older versions' copy of the state

    from tqdm.auto import tqdm

    bar = tqdm(
        total=config.total_steps,
        initial=min(trainer.env_steps, config.total_steps),
        disable=not progress,
        unit="step",
        desc=f"{config.algo} on {config.env}",
        dynamic_ncols=True,
    )
    stop_signal: str | None = None
    at_once = False
    try:
        with _StopGuard() as guard:
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
                    if trainer.env_steps >= config.total_steps or guard.requested:
                        break
                    started = time.perf_counter()
                    before = trainer.env_steps
                    try:
                        trainer.round()
                    except NonFiniteError as err:
                        raise _non_finite(err, trainer, run_path, checkpoint_at) from None
                    trainer.wall_seconds += time.perf_counter() - started
                    bar.update(
                        min(trainer.env_steps, config.total_steps) - min(before, config.total_steps)
                    )
                    by_steps = config.checkpoint_interval and (
                        trainer.env_steps >= trainer.next_checkpoint
                    )
                    if by_steps:
                        trainer.next_checkpoint += config.checkpoint_interval
                    by_time = config.checkpoint_seconds and (
                        time.monotonic() - checkpoint_at["time"] >= config.checkpoint_seconds
                    )
                    if by_steps or by_time:
                        save_checkpoint()
                    if trainer.env_steps >= config.total_steps:
                        # always finish with an evaluation at the final step
                        trainer.next_eval = min(trainer.next_eval, trainer.env_steps)
                stop_signal = guard.signal_name
                if trainer.env_steps >= config.total_steps:
                    # a stop asked for in the last round came when every step was done and
                    # the final evaluation made: the run is complete, nothing to resume
                    stop_signal = None
                bar.close()
                result = trainer.result(
                    interrupted=stop_signal is not None, stop_signal=stop_signal
                )
                if stop_signal is not None:
                    result.checkpoint = trainer.state_dict()
                save_checkpoint()
                if run_path is not None:
                    write_history_csv(trainer.history, run_path / "history.csv")
                    result.save(run_path / "result.pt")
            except _StopNow:  # a second signal: the last checkpoint written stands
                at_once = True
                stop_signal = guard.signal_name
                result = trainer.result(interrupted=True, stop_signal=stop_signal)
    finally:
        bar.close()
    if stop_signal is not None:  # reported once the handlers are restored
        _report_stop(result, trainer, run_path, at_once=at_once, saved=checkpoint_at)
    return result


def _non_finite(
    err: NonFiniteError, trainer: Trainer, run_path: Path | None, saved: dict
) -> NonFiniteError:
    """The error a run stops with when the loss turns non-finite, after saving what it can.

    The learner raises before applying the bad update, so while the weights are still
    finite the checkpoint is replaced by the state just before that update (for
    inspection: resuming it would meet the same update again); otherwise the last
    checkpoint, written before any weight turned non-finite, is kept.
    """
    where = f"training stopped at {trainer.env_steps} env steps: {str(err).rstrip('.')}"
    if run_path is None:
        return NonFiniteError(where)
    if trainer.weights_finite():
        atomic_save(trainer.state_dict(), run_path / "checkpoint.pt")
        kept = f"the checkpoint in {run_path} holds the run just before the bad update"
    elif (run_path / "checkpoint.pt").exists():
        kept = f"the checkpoint in {run_path} from {saved['steps']} env steps, before it, is kept"
    else:
        kept = f"no checkpoint had been written to {run_path} yet"
    return NonFiniteError(f"{where}; {kept}")


def _report_stop(
    result: Result, trainer: Trainer, run_path: Path | None, at_once: bool, saved: dict
) -> None:
    """The one message a stopped run prints (on stderr)."""
    how = f"Stopped by {result.stop_signal or 'a signal'} at {trainer.env_steps} env steps"
    last = trainer.history[-1]["env_steps"] if trainer.history else 0
    how += f" (last evaluation at {int(last)})"
    if run_path is None:
        print(
            f"{how}. Resume with train(config, resume_from=result) from the returned Result.",
            file=sys.stderr,
        )
        return
    if at_once and (run_path / "checkpoint.pt").exists():
        kept = f"stopped at once; the checkpoint from {saved['steps']} env steps is kept"
    elif at_once:
        print(f"{how}; stopped at once, before any checkpoint was written.", file=sys.stderr)
        return
    else:
        kept = "checkpoint written"
    print(
        f"{how}; {kept} in {run_path}. Resume with: qmix-tut train --resume "
        f"{shlex.quote(str(run_path))}",
        file=sys.stderr,
    )
