"""A typed, validated training configuration with named presets.

>>> cfg = Config.preset("two_step_paper", algo="vdn", seed=3)
>>> cfg.algo, cfg.batch_size, cfg.total_steps
('vdn', 32, 10000)
>>> Config(env="two_step", gamma=1.5)
Traceback (most recent call last):
...
ValueError: Config.gamma must be in [0, 1], got 1.5
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from .algorithms import AGENTS, ALGOS, HYPERNET_LAYERS, OPTIMIZERS, RNN_CELLS, WEIGHTINGS


@dataclass
class Config:
    """Everything a training run depends on. Every field has a sensible default.

    Differences from the QMIX paper's defaults are deliberate and listed in the README
    ("Implementation details"): several environments stepped together, Adam, and
    TD(lambda) in the PettingZoo presets; the two_step_paper preset keeps the paper's.
    The ``simple_spread`` and ``lbf`` presets (``default`` is ``simple_spread``) are tuned
    for the time to a good greedy return on one CPU core; the comments above each in
    ``PRESETS`` list every way they differ from the paper, and why.
    """

    # what to train
    env: str = "two_step"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    algo: str = "qmix"
    seed: int = 0
    total_steps: int = 10_000
    device: str = "auto"
    threads: int = 1
    # agents
    agent: str = "rnn"
    rnn_cell: str = "gru"
    hidden_dim: int = 64
    last_action_input: bool = True
    agent_id_input: bool = True
    # mixer
    mixer_embed: int = 32
    hypernet_layers: int = 2
    hypernet_embed: int = 64
    # data collection
    num_envs: int = 1
    epsilon_start: float = 1.0
    epsilon_finish: float = 0.05
    epsilon_anneal_steps: int = 50_000
    buffer_size: int = 5000
    # learning
    batch_size: int = 32
    updates_per_round: int = 1
    gamma: float = 0.99
    optimizer: str = "rmsprop"
    lr: float = 5e-4
    optim_alpha: float = 0.99
    optim_eps: float = 1e-5
    grad_clip: float = 10.0
    double_q: bool = True
    target_update_interval: int = 200
    tau: float = 0.0
    td_lambda: float = 0.0
    weighting: str = "none"
    weighting_alpha: float = 0.1
    # bookkeeping
    eval_interval: int = 2000
    eval_episodes: int = 16
    checkpoint_interval: int = 0

    def __post_init__(self) -> None:
        self.validate()

    # -- validation -------------------------------------------------------------------
    def validate(self) -> None:
        """Raise ValueError naming the first field with an invalid value."""
        expected = {f.name: f.type for f in fields(self)}
        for f in fields(self):
            value = getattr(self, f.name)
            kind = expected[f.name]
            if kind in ("int",) and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"Config.{f.name} must be an integer, got {value!r}")
            if kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"Config.{f.name} must be a number, got {value!r}")
            if kind == "bool" and not isinstance(value, bool):
                raise ValueError(f"Config.{f.name} must be True or False, got {value!r}")
            if kind == "str" and not isinstance(value, str):
                raise ValueError(f"Config.{f.name} must be a string, got {value!r}")
        if not isinstance(self.env_kwargs, dict):
            raise ValueError(f"Config.env_kwargs must be a dict, got {self.env_kwargs!r}")
        _choice("algo", self.algo, ALGOS)
        _choice("agent", self.agent, AGENTS)
        _choice("rnn_cell", self.rnn_cell, RNN_CELLS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("weighting", self.weighting, WEIGHTINGS)
        if not (self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda")):
            raise ValueError(
                f"Config.device must be 'auto', 'cpu' or 'cuda[:N]', got {self.device!r}"
            )
        _at_least("total_steps", self.total_steps, 1)
        _at_least("threads", self.threads, 1)
        _at_least("hidden_dim", self.hidden_dim, 1)
        _at_least("mixer_embed", self.mixer_embed, 1)
        _choice("hypernet_layers", self.hypernet_layers, HYPERNET_LAYERS)
        _at_least("hypernet_embed", self.hypernet_embed, 1)
        _at_least("num_envs", self.num_envs, 1)
        _unit("epsilon_start", self.epsilon_start)
        _unit("epsilon_finish", self.epsilon_finish)
        _at_least("epsilon_anneal_steps", self.epsilon_anneal_steps, 1)
        _at_least("buffer_size", self.buffer_size, 1)
        _at_least("batch_size", self.batch_size, 1)
        _at_least("updates_per_round", self.updates_per_round, 0)
        _unit("gamma", self.gamma)
        if not self.lr > 0:
            raise ValueError(f"Config.lr must be > 0, got {self.lr}")
        _unit("optim_alpha", self.optim_alpha)
        if not self.optim_eps > 0:
            raise ValueError(f"Config.optim_eps must be > 0, got {self.optim_eps}")
        if not self.grad_clip > 0:
            raise ValueError(f"Config.grad_clip must be > 0, got {self.grad_clip}")
        _at_least("target_update_interval", self.target_update_interval, 1)
        _unit("tau", self.tau)
        _unit("td_lambda", self.td_lambda)
        if not 0 < self.weighting_alpha <= 1:
            raise ValueError(
                f"Config.weighting_alpha must be in (0, 1], got {self.weighting_alpha}"
            )
        _at_least("eval_interval", self.eval_interval, 1)
        _at_least("eval_episodes", self.eval_episodes, 0)
        _at_least("checkpoint_interval", self.checkpoint_interval, 0)
        if self.weighting != "none" and self.algo != "qmix":
            raise ValueError(
                f"Config.weighting={self.weighting!r} needs algo='qmix', got {self.algo!r}"
            )

    # -- presets and conversions ------------------------------------------------------
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> Config:
        """A named starting point, with any field overridden by keyword."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}")
        values = {**PRESETS[name], **overrides}
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown Config field(s): {', '.join(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> Config:
        return self.from_dict({**self.to_dict(), **changes})


def _choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"Config.{name} must be one of {list(allowed)}, got {value!r}")


def _at_least(name: str, value: int, low: int) -> None:
    if value < low:
        raise ValueError(f"Config.{name} must be >= {low}, got {value}")


def _unit(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"Config.{name} must be in [0, 1], got {value}")


PRESETS: dict[str, dict[str, Any]] = {
    # QMIX paper, appendix B: the two-step game. Uniform exploration throughout
    # (epsilon held at 1), replay of 500 episodes, batch 32, target network copied every
    # 100 episodes, RMSprop lr 5e-4, mixing embed 8, feed-forward agents of 64 units,
    # 10k environment steps (5k episodes, one update after each).
    "two_step_paper": dict(
        env="two_step",
        algo="qmix",
        total_steps=10_000,
        agent="mlp",
        hidden_dim=64,
        last_action_input=False,
        mixer_embed=8,
        hypernet_layers=1,
        num_envs=1,
        epsilon_start=1.0,
        epsilon_finish=1.0,
        epsilon_anneal_steps=1,
        buffer_size=500,
        batch_size=32,
        gamma=0.99,
        optimizer="rmsprop",
        lr=5e-4,
        target_update_interval=100,
        eval_interval=1000,
        eval_episodes=1,
    ),
    # One-step matrix games: same recipe, uniform exploration.
    "matrix": dict(
        env="matrix:climbing",
        algo="qmix",
        total_steps=4000,
        agent="mlp",
        last_action_input=False,
        mixer_embed=8,
        hypernet_layers=1,
        epsilon_start=1.0,
        epsilon_finish=1.0,
        epsilon_anneal_steps=1,
        buffer_size=500,
        batch_size=32,
        target_update_interval=100,
        eval_interval=1000,
        eval_episodes=1,
    ),
    # The partially observable memory task: recurrent agents, annealed exploration.
    # A small one-layer-hypernetwork mixer and 4 updates per round: the mixer sees the cue
    # in the state, and if the agents learn to remember it too slowly, V(s) explains the
    # reward on its own and greedy play settles on one fixed action (return 0.5).
    "memory": dict(
        env="memory",
        algo="qmix",
        total_steps=5000,
        agent="rnn",
        mixer_embed=8,
        hypernet_layers=1,
        num_envs=8,
        epsilon_anneal_steps=4000,
        buffer_size=1000,
        batch_size=32,
        updates_per_round=4,
        optimizer="adam",
        lr=1e-3,
        target_update_interval=100,
        eval_interval=500,
        eval_episodes=32,
    ),
    # MPE simple_spread (3 agents, 25 steps, summed team reward), tuned for time to a good
    # greedy return on one CPU core. How it differs from the QMIX paper's SMAC setting
    # (RNN agents, one env, RMSprop, 50k-step epsilon schedule, 1-step targets, target
    # copied every 200 episodes, one batch of 32 episodes per episode) and why:
    #  1. feed-forward agents: each agent already observes every landmark and the other
    #     agents, so memory buys little, and an update costs a third of a GRU's;
    #  2. 8 envs stepped together, 6 updates per round (0.75 per episode): one batched
    #     forward chooses every action, and learning takes about half of the time;
    #  3. gamma 0.95: the time limit is not an end of the task, so targets bootstrap
    #     through it; with 0.99 the values grow towards -300 and learning turned unstable
    #     after ~50k steps, with 0.95 they stay near -40;
    #  4. Adam at 1e-3, soft target updates (tau 0.005), TD(lambda=0.6) targets and a
    #     15k-step epsilon schedule: each reached -57 sooner than the paper's choices.
    "simple_spread": dict(
        env="mpe:simple_spread",
        algo="qmix",
        total_steps=200_000,
        agent="mlp",
        num_envs=8,
        epsilon_anneal_steps=15_000,
        buffer_size=5000,
        batch_size=32,
        updates_per_round=6,
        gamma=0.95,
        optimizer="adam",
        lr=1e-3,
        tau=0.005,
        td_lambda=0.6,
        eval_interval=2500,
        eval_episodes=16,
    ),
}
# the command line's default: the simple_spread preset
PRESETS["default"] = {**PRESETS["simple_spread"]}
# Level-Based Foraging 8x8, 2 players, 2 foods, cooperative (50-step episodes): the
# simple_spread recipe (feed-forward agents, Adam, soft targets, TD(lambda)) except:
#  1. 16 envs and 4 updates per round (0.25 per episode): an LBF step costs a third of an
#     MPE step, so learning would otherwise take most of the time;
#  2. lambda 0.8: the only reward is for loading food, often tens of steps after the
#     moves that led to it, so targets must carry it far back;
#  3. gamma 0.95 rather than 0.99: with 0.99, Q_tot shrinks by only 1% per step of
#     bootstrapping, and a run stalled from 450k to 900k steps at 0.5 (one food of two);
#     one with 0.95 (and this epsilon schedule) found both foods (return 1.0) by 675k steps;
#  4. epsilon annealed over 100k steps and Adam at 5e-4.
# The env scales its observations onto [-1, 1] (``scale_obs``, on by default): with the
# game's raw grid coordinates a fresh mixer starts at Q_tot of about 10 (returns are at
# most 1), and a run was still at a greedy return of 0 after 300k steps.
PRESETS["lbf"] = {
    **PRESETS["simple_spread"],
    "env": "lbf:Foraging-8x8-2p-2f-coop-v3",
    "total_steps": 2_000_000,
    "num_envs": 16,
    "updates_per_round": 4,
    "epsilon_anneal_steps": 100_000,
    "gamma": 0.95,
    "lr": 5e-4,
    "td_lambda": 0.8,
    "eval_interval": 25_000,
}
