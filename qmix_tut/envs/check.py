"""Will QMIX train on this environment? ``check_env`` answers before a run is started.

It runs PettingZoo's own ``parallel_api_test``, wraps the env as this package does, plays a
few episodes at random, and reports the agents, the sizes, where the action masks, the
state and the episode limit come from, the random-play return, and anything that will
not work, with the reason.

>>> report = check_env("memory", episodes=3, verbose=False)
>>> report.ok, report.n_agents, report.state_source, report.masks
(True, 2, 'env.state()', 'infos[agent]["action_mask"]')
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .core import MultiAgentEnv
from .pettingzoo import as_multi_agent_env
from .registry import build

__all__ = ["EnvReport", "check_env", "run_check_env_command"]

# an observation entry this large suggests unscaled inputs (see notebook 06 on LBF)
LARGE_INPUT = 10.0


@dataclass
class EnvReport:
    """What :func:`check_env` found. ``ok`` is True when nothing stops training."""

    name: str
    agents: list[tuple[str, int, int]] = field(default_factory=list)
    n_agents: int = 0
    n_actions: int = 0
    obs_dim: int = 0
    state_dim: int = 0
    state_source: str = ""
    episode_limit: int | None = None
    limit_source: str = ""
    masks: str = "not seen"
    api_test: str = "not run"
    random_returns: list[float] = field(default_factory=list)
    random_lengths: list[int] = field(default_factory=list)
    terminated: int = 0
    truncated: int = 0
    agents_left_early: bool = False
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def random_return(self) -> float:
        """Mean team return of uniform random play over the available actions."""
        return float(np.mean(self.random_returns)) if self.random_returns else math.nan

    def summary(self) -> str:
        """The report as text, as ``qmix-tut check-env`` prints it."""
        lines = [f"Environment {self.name}"]
        if self.agents:
            lines.append(f"  agents ({self.n_agents}):")
            for agent, size, actions in self.agents:
                lines.append(f"    {agent:<20} observation {size:>5}   actions {actions:>3}")
            lines.append(
                f"  padded sizes: obs_dim {self.obs_dim}, n_actions {self.n_actions}"
                + ("  (heterogeneous team: padded and masked)" if self._heterogeneous() else "")
            )
            lines.append(f"  state: {self.state_dim} numbers from {self.state_source}")
            lines.append(f"  action masks: {self.masks}")
            lines.append(f"  episode limit: {self.episode_limit} ({self.limit_source})")
        lines.append(f"  PettingZoo parallel_api_test: {self.api_test}")
        if self.random_returns:
            r = np.asarray(self.random_returns)
            lines.append(
                f"  random play, {len(r)} episodes: return {r.mean():.3f} +- {r.std():.3f} "
                f"(min {r.min():.3f}, max {r.max():.3f}), length "
                f"{np.mean(self.random_lengths):.1f}; {self.terminated} terminated, "
                f"{self.truncated} truncated"
                + ("; agents left early" if self.agents_left_early else "")
            )
        for text in self.warnings:
            lines.append(f"  warning: {text}")
        for text in self.problems:
            lines.append(f"  PROBLEM: {text}")
        lines.append(
            "  usable: yes" if self.ok else f"  usable: no ({len(self.problems)} problem(s))"
        )
        return "\n".join(lines)

    def _heterogeneous(self) -> bool:
        return len({(s, a) for _, s, a in self.agents}) > 1

    def __str__(self) -> str:
        return self.summary()


def _api_test(raw: Any, cycles: int, report: EnvReport) -> None:
    from pettingzoo.test import parallel_api_test
    from pettingzoo.utils.conversions import (
        aec_to_parallel_wrapper,
        turn_based_aec_to_parallel_wrapper,
    )

    if isinstance(getattr(raw, "unwrapped", raw), (aec_to_parallel_wrapper,)) or isinstance(
        getattr(raw, "unwrapped", raw), turn_based_aec_to_parallel_wrapper
    ):
        report.api_test = (
            "skipped: the env is an AEC env converted by PettingZoo's own wrapper, which "
            "parallel_api_test does not take (pettingzoo.test.api_test checks the AEC env)"
        )
        return
    # the test overwrites the env's max_cycles; the wrapper has read its limit already
    had = "max_cycles" in vars(raw)
    old = vars(raw).get("max_cycles")
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("always")
            parallel_api_test(raw, num_cycles=cycles)
        report.api_test = "passed"
        for w in {str(w.message) for w in caught}:
            report.warnings.append(f"parallel_api_test: {w}")
    except Exception as err:  # the test asserts; anything it raises is a finding
        message = str(err) or "an assertion in the test failed"
        report.api_test = f"FAILED ({type(err).__name__}: {message})"
        report.problems.append(
            f"PettingZoo's parallel_api_test failed: {type(err).__name__}: {message}"
        )
    finally:
        if had:
            raw.max_cycles = old
        else:
            vars(raw).pop("max_cycles", None)


def _random_play(env: MultiAgentEnv, episodes: int, seed: int, report: EnvReport) -> None:
    rng = np.random.default_rng(seed)
    largest = 0.0
    masked = False
    for e in range(episodes):
        obs, state, avail = env.reset(seed=seed + e)
        total, length, done = 0.0, 0, False
        while not done:
            for name, x in (("observation", obs), ("state", state)):
                if not np.isfinite(x).all():
                    raise ValueError(f"the {name} holds non-finite numbers at step {length}")
            largest = max(largest, float(np.abs(obs).max(initial=0.0)))
            counts = [n for _, _, n in env.agent_sizes()]
            masked |= any(avail[i, :n].sum() < n for i, n in enumerate(counts))
            actions = [int(rng.choice(np.flatnonzero(row))) for row in avail]
            obs, state, avail, reward, terminated, truncated, _ = env.step(actions)
            if not (terminated or truncated):
                report.agents_left_early |= len(env.env.agents) < env.n_agents
            total += reward
            length += 1
            done = terminated or truncated
        report.random_returns.append(total)
        report.random_lengths.append(length)
        report.terminated += int(terminated)
        report.truncated += int(truncated)
    if env.mask_source is not None:
        where = {
            "observation": 'observation["action_mask"]',
            "infos": 'infos[agent]["action_mask"]',
        }
        report.masks = where[env.mask_source] + ("" if masked else " (every action always allowed)")
    else:
        report.masks = "none found: every action is available"
    if largest > LARGE_INPUT:
        report.warnings.append(
            f"observations reach |x| = {largest:.3g}: scale them to about [-1, 1] (large inputs "
            "make the mixer start far from the returns; notebook 06 shows it on LBF)"
        )


def check_env(
    name_or_env: Any,
    episodes: int = 5,
    seed: int = 0,
    api_test: bool = True,
    verbose: bool = True,
    **kwargs: Any,
) -> EnvReport:
    """Check that an environment can be trained here, and report what was found.

    Args:
        name_or_env: a name :func:`~qmix_tut.envs.make` knows (including
            ``"package.module:function"``), a PettingZoo ``ParallelEnv``, or a
            :class:`MultiAgentEnv`.
        episodes: random-play episodes (uniform over the available actions).
        seed: seed of the first episode (episode ``e`` uses ``seed + e``).
        api_test: run PettingZoo's ``parallel_api_test`` on the env first.
        verbose: print the report.
        **kwargs: the environment's keyword arguments, with ``episode_limit`` and
            ``reward`` as for ``make``.

    Returns the :class:`EnvReport`; ``report.ok`` is False when something stops training
    (``report.problems`` says what). A name that cannot be built raises ``ValueError``.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    kwargs = dict(kwargs)
    if isinstance(name_or_env, str):
        name = name_or_env
        raw, episode_limit, reward = build(name, **kwargs)
    elif isinstance(name_or_env, MultiAgentEnv):
        if kwargs:
            raise ValueError(
                "keyword arguments apply to a name or a ParallelEnv, not a MultiAgentEnv"
            )
        name, raw, episode_limit, reward = name_or_env.name, name_or_env, None, None
    else:
        raw = name_or_env
        name = str((getattr(raw, "metadata", None) or {}).get("name", type(raw).__name__))
        episode_limit, reward = kwargs.pop("episode_limit", None), kwargs.pop("reward", None)
        if kwargs:
            raise ValueError(
                f"only episode_limit and reward apply to an env object, got {sorted(kwargs)}"
            )
    report = EnvReport(name=name)
    try:
        env = as_multi_agent_env(raw, name, episode_limit, reward)
    except (ValueError, TypeError) as err:
        report.problems.append(str(err))
        _finish(report, verbose)
        return report
    report.agents = env.agent_sizes()
    report.n_agents, report.n_actions = env.n_agents, env.n_actions
    report.obs_dim, report.state_dim = env.obs_dim, env.state_dim
    report.state_source = env.state_source
    report.episode_limit, report.limit_source = env.episode_limit, env.limit_source
    if env.n_agents == 1:
        report.warnings.append("one agent: QMIX then is DQN with a monotonic head")
    if api_test:
        _api_test(env.env, cycles=env.episode_limit + 1, report=report)
    try:
        _random_play(env, episodes, seed, report)
    except Exception as err:  # whatever stops random play stops training too
        report.problems.append(f"random play failed: {type(err).__name__}: {err}")
    if report.random_lengths and report.truncated == len(report.random_lengths):
        if env.limit_source == "given" and max(report.random_lengths) == env.episode_limit:
            report.warnings.append(
                "every random episode ran to the given episode_limit: the env did not end "
                "them itself, so this package truncated them (the learner bootstraps)"
            )
    _finish(report, verbose)
    return report


def _finish(report: EnvReport, verbose: bool) -> None:
    if verbose:
        print(report.summary())


def run_check_env_command(
    name: str, episodes: int, seed: int, env_kwargs: dict[str, Any], api_test: bool = True
) -> int:
    """``qmix-tut check-env``: print the report; 0 when usable, 1 when not.

    A name that cannot be built raises ``ValueError`` (the command line exits with 2).
    """
    report = check_env(
        name, episodes=episodes, seed=seed, api_test=api_test, verbose=True, **env_kwargs
    )
    return 0 if report.ok else 1
