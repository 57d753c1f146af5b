"""Watch a team play: render episodes of a trained team beside a random one.

``play_team`` plays a few episodes, greedily with a trained run's agent network or
uniformly at random over the available actions, and keeps one RGB frame per step from
the environment's ``rgb_array`` rendering. ``frame_strip`` lays chosen steps out as a
grid (one row per team), and ``save_gif`` writes the episodes side by side as an
animated GIF with Pillow. Both teams are reset with the same seeds, so each pair of
episodes starts from the same positions.

A trained team travels as ``save_weights``'s ``.npz`` file (the config, the env's sizes,
the history and the agent and mixer weights as plain arrays, no pickles; a few hundred
KB), which ``load_weights`` turns back into a ``Result``. The figure of the README and
notebook 08 is one command::

    python -m qmix_tut.render figures/data/team/simple_spread_qmix.npz \\
        --png figures/simple_spread_team.png --gif figures/simple_spread_team.gif

>>> episodes = play_team(None, seeds=[0], env="mpe:simple_spread", render=False)
>>> episodes[0].length, len(episodes[0].frames)
(25, 0)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from .agents import build_inputs
from .config import Config
from .results import Result, load
from .runner import choose_actions

__all__ = [
    "Episode",
    "frame_strip",
    "load_weights",
    "main",
    "play_team",
    "save_gif",
    "save_weights",
]

WEIGHTS_FORMAT = "qmix_tut.team_weights/1"


def save_weights(result: Result, path: str | Path) -> Path:
    """Write a run's config, env sizes, history and trained weights to one ``.npz`` file.

    Plain arrays and one JSON string only, so ``load_weights`` reads it back with
    ``allow_pickle=False``; the replay buffer and optimizer state are left out.
    """
    if not isinstance(result, Result):
        raise TypeError(f"save_weights takes a Result, got {type(result).__name__}")
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"the weights file must end in .npz, got {path.name!r}")
    result.config.validate()
    meta = {
        "format": WEIGHTS_FORMAT,
        "config": result.config.to_dict(),
        "env_info": result.env_info,
        "history": [{k: float(v) for k, v in row.items()} for row in result.history],
    }
    arrays = {"meta": np.array(json.dumps(meta))}
    for part, state in (("agent", result.agent_state), ("mixer", result.mixer_state)):
        for key, value in state.items():
            arrays[f"{part}/{key}"] = value.detach().cpu().numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez_compressed(f, allow_pickle=False, **arrays)
    return path


def load_weights(path: str | Path) -> Result:
    """The ``Result`` in a file written by ``save_weights`` (ValueError for anything else)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: torch.from_numpy(data[k].copy()) for k in data.files if k != "meta"}
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(
            f"{path} is not a team weights file (.npz from save_weights): {err}"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != WEIGHTS_FORMAT:
        raise ValueError(f"{path} is not a team weights file of format {WEIGHTS_FORMAT}")
    state: dict[str, dict[str, torch.Tensor]] = {"agent": {}, "mixer": {}}
    for key, value in arrays.items():
        part, _, name = key.partition("/")
        if part not in state:
            raise ValueError(f"{path}: unexpected array {key!r}")
        state[part][name] = value
    return Result(
        config=Config.from_dict(meta["config"]),
        history=list(meta["history"]),
        agent_state=state["agent"],
        mixer_state=state["mixer"],
        env_info=dict(meta["env_info"]),
    )


@dataclass
class Episode:
    """One played episode: its frames (``[H, W, 3]`` uint8, one before every step and one
    after the last), the team return, the number of steps and how it ended."""

    seed: int
    team_return: float
    length: int
    terminated: bool
    rewards: list[float] = field(default_factory=list, repr=False)
    frames: list[np.ndarray] = field(default_factory=list, repr=False)

    def return_after(self, steps: int) -> float:
        """The team reward summed over the first ``steps`` steps."""
        return float(sum(self.rewards[:steps]))


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or len(seeds) == 0:
        raise ValueError(f"seeds must be a non-empty sequence of ints >= 0, got {seeds!r}")
    out = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"seeds must be ints >= 0, got {s!r} in {list(seeds)!r}")
        out.append(int(s))
    return out


@torch.no_grad()
def play_team(
    result: Result | None,
    seeds: Sequence[int],
    env: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    render: bool = True,
) -> list[Episode]:
    """Play one episode per seed and return them, frames included when ``render``.

    With a ``Result`` the team acts greedily (epsilon 0) with the run's agent network,
    fed the same inputs as in training (last action and agent id as the config says);
    ``env`` and ``env_kwargs`` default to the run's. With ``result=None`` every agent
    picks uniformly among its available actions, from a generator seeded by the episode's
    seed; ``env`` is then required. COMA runs act greedily on their policy logits.
    """
    seeds = _check_seeds(seeds)
    if result is not None and not isinstance(result, Result):
        raise TypeError(f"result must be a qmix_tut Result or None, got {type(result).__name__}")
    if result is None and env is None:
        raise ValueError("a random team needs env (an env name, e.g. 'mpe:simple_spread')")
    from .envs import make

    name = env if env is not None else result.config.env  # type: ignore[union-attr]
    kwargs = dict(result.config.env_kwargs) if (result is not None and env is None) else {}
    kwargs.update(env_kwargs or {})
    if render:
        kwargs["render_mode"] = "rgb_array"
    team_env = make(name, **kwargs)
    agent = None
    if result is not None:
        agent, _ = result.build("cpu")
        info = result.env_info
        if (info["n_agents"], info["obs_dim"], info["n_actions"]) != (
            team_env.n_agents,
            team_env.obs_dim,
            team_env.n_actions,
        ):
            raise ValueError(
                f"the run was trained on n_agents {info['n_agents']}, obs_dim {info['obs_dim']}, "
                f"n_actions {info['n_actions']}; {name} has {team_env.n_agents}, "
                f"{team_env.obs_dim}, {team_env.n_actions}"
            )
    episodes = []
    try:
        for seed in seeds:
            episodes.append(_play_one(team_env, agent, result, seed, render))
    finally:
        team_env.close()
    return episodes


def _play_one(team_env, agent, result: Result | None, seed: int, render: bool) -> Episode:
    obs, _, avail = team_env.reset(seed=seed)
    frames = [np.asarray(team_env.render())] if render else []
    rng = np.random.default_rng(seed)
    n, n_actions = team_env.n_agents, team_env.n_actions
    if agent is not None:
        hidden = agent.init_hidden(n)
        last = torch.full((n,), -1, dtype=torch.int64)
    rewards, done, terminated = [], False, False
    while not done:
        if agent is None:
            actions = np.array([int(rng.choice(np.flatnonzero(row))) for row in avail])
        else:
            cfg = result.config  # type: ignore[union-attr]
            inputs = build_inputs(
                torch.as_tensor(obs, dtype=torch.float32),
                last if cfg.last_action_input else None,
                n_actions,
                cfg.agent_id_input,
            )
            out, hidden = agent(inputs.reshape(n, 1, -1), hidden)
            q = out.reshape(n, n_actions)
            acts = choose_actions(q, torch.as_tensor(avail, dtype=torch.float32), 0.0)
            last, actions = acts, acts.numpy()
        obs, _, avail, reward, terminated, truncated, _ = team_env.step(actions)
        if render:
            frames.append(np.asarray(team_env.render()))
        rewards.append(float(reward))
        done = bool(terminated or truncated)
    return Episode(seed, float(sum(rewards)), len(rewards), bool(terminated), rewards, frames)


def _check_teams(teams: Mapping[str, Sequence[Episode]]) -> None:
    if not isinstance(teams, Mapping) or not teams:
        raise ValueError("teams must be a non-empty mapping: team name -> list of Episodes")
    counts = {k: len(v) for k, v in teams.items()}
    if len(set(counts.values())) != 1 or 0 in counts.values():
        raise ValueError(f"every team needs the same, non-zero number of episodes, got {counts}")
    for k, episodes in teams.items():
        for ep in episodes:
            if not ep.frames:
                raise ValueError(f"team {k!r}, seed {ep.seed}: no frames (play with render=True)")


def frame_strip(
    teams: Mapping[str, Sequence[Episode]],
    steps: Sequence[int] = (0, 5, 10, 15, 20, 25),
    episode: int = 0,
) -> Figure:
    """A grid of frames: one row per team, one column per step of episode ``episode``.

    Each row is titled with the team's name and that episode's return; a step past the
    episode's end shows its last frame.
    """
    _check_teams(teams)
    n_episodes = len(next(iter(teams.values())))
    if not 0 <= episode < n_episodes:
        raise ValueError(f"episode must be in [0, {n_episodes}), got {episode}")
    steps = [int(s) for s in steps]
    if not steps or min(steps) < 0:
        raise ValueError(f"steps must be a non-empty list of ints >= 0, got {steps}")
    rows, cols = len(teams), len(steps)
    fig = Figure(figsize=(1.45 * cols, 1.65 * rows), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    for r, (name, episodes) in enumerate(teams.items()):
        ep = episodes[episode]
        for c, t in enumerate(steps):
            ax = axes[r, c]
            ax.imshow(ep.frames[min(t, len(ep.frames) - 1)])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == rows - 1:
                ax.set_xlabel(f"step {t}", fontsize=8)
        axes[r, 0].set_ylabel(f"{name}\nreturn {ep.team_return:.1f}", fontsize=8)
    return fig


def save_gif(
    teams: Mapping[str, Sequence[Episode]],
    path: str | Path,
    size: int = 200,
    fps: int = 6,
    pause: float = 1.5,
) -> Path:
    """Write the teams' episodes side by side as an animated GIF; returns the path.

    Panels are ``size`` pixels square, one per team, with the team's name and its running
    return written above; the episodes play one after another, each ending on a short
    pause.
    """
    from PIL import Image, ImageDraw

    _check_teams(teams)
    if isinstance(size, bool) or not isinstance(size, int) or size < 32:
        raise ValueError(f"size must be an int >= 32 (pixels), got {size!r}")
    if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
        raise ValueError(f"fps must be an int >= 1, got {fps!r}")
    if not pause >= 0:
        raise ValueError(f"pause must be a number of seconds >= 0, got {pause!r}")
    names = list(teams)
    label_h = 30
    canvas_w, canvas_h = size * len(names), size + label_h
    images, durations = [], []
    for i in range(len(teams[names[0]])):
        episodes = [teams[k][i] for k in names]
        longest = max(len(ep.frames) for ep in episodes)
        for t in range(longest):
            canvas = Image.new("RGB", (canvas_w, canvas_h), "white")
            draw = ImageDraw.Draw(canvas)
            for j, (name, ep) in enumerate(zip(names, episodes, strict=True)):
                k = min(t, len(ep.frames) - 1)
                frame = Image.fromarray(ep.frames[k]).resize((size, size), Image.Resampling.LANCZOS)
                canvas.paste(frame, (j * size, label_h))
                so_far = ep.return_after(k)
                draw.text((j * size + 4, 2), name, fill="black")
                draw.text(
                    (j * size + 4, 15),
                    f"episode {i + 1}, step {k}, return {so_far:.1f}",
                    fill="black",
                )
            for j in range(1, len(names)):  # a thin line between the panels
                draw.line([(j * size, 0), (j * size, canvas_h)], fill="grey")
            images.append(canvas.quantize(colors=64, method=Image.Quantize.MEDIANCUT))
            durations.append(int(1000 / fps) if t < longest - 1 else int(1000 * pause))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(
        path,
        save_all=True,
        append_images=images[1:],
        duration=durations,
        loop=0,
        optimize=True,
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m qmix_tut.render RESULT``: play a trained team and a random team on the
    same seeds, print both returns, and write the strip (--png) and the GIF (--gif)."""
    parser = argparse.ArgumentParser(
        prog="python -m qmix_tut.render",
        description="Render a trained team beside a random team on the same seeds.",
    )
    parser.add_argument(
        "result", help="a weights .npz (save_weights), a result.pt, checkpoint.pt or run directory"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    parser.add_argument("--png", help="write the strip of frames of the first episode here")
    parser.add_argument("--gif", help="write every episode, side by side, as a GIF here")
    parser.add_argument("--size", type=int, default=200, help="GIF panel size in pixels")
    args = parser.parse_args(argv)
    try:
        result = (
            load_weights(args.result) if str(args.result).endswith(".npz") else load(args.result)
        )
        seeds = _check_seeds(args.seeds)
        trained = play_team(result, seeds)
        random_team = play_team(
            None, seeds, env=result.config.env, env_kwargs=result.config.env_kwargs
        )
    except (OSError, ValueError, TypeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    teams = {"random team": random_team, f"trained {result.config.algo.upper()}": trained}
    for name, episodes in teams.items():
        values = [ep.team_return for ep in episodes]
        print(
            f"{name:<16} returns {', '.join(f'{v:.1f}' for v in values)}; "
            f"mean {sum(values) / len(values):.1f}"
        )
    if args.png:
        fig = frame_strip(teams)
        fig.savefig(args.png, dpi=110)
        print("wrote", args.png)
    if args.gif:
        print("wrote", save_gif(teams, args.gif, size=args.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
