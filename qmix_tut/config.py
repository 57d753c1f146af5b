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
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .algorithms import AGENTS, ALGOS, HYPERNET_LAYERS, OPTIMIZERS, RNN_CELLS, WEIGHTINGS, spec


@dataclass(frozen=True)
class FieldDoc:
    """The documentation of one :class:`Config` field.

    meaning: what it does. unit: what it counts (env steps, episodes, ...), if anything.
    allowed: the values :meth:`Config.validate` accepts. reference: where our default
    differs from the QMIX paper or the reference code (PyMARL, the original QMIX code;
    EPyMARL, the code of the benchmark study by Papoudakis et al. 2021), their value.
    """

    meaning: str
    unit: str = ""
    allowed: str = ""
    reference: str = ""

    def line(self) -> str:
        """One line of text: meaning [unit; allowed] (reference)."""
        details = "; ".join(x for x in (self.unit, f"allowed: {self.allowed}") if x)
        text = f"{self.meaning} [{details}]"
        return f"{text} (reference: {self.reference})" if self.reference else text


def _doc(default: Any, meaning: str, *, unit: str = "", allowed: str = "", reference: str = ""):
    """A dataclass field with its default and its :class:`FieldDoc` (a callable default is
    a factory, for mutable defaults such as ``dict``)."""
    metadata = {"doc": FieldDoc(meaning, unit, allowed, reference)}
    if callable(default):
        return field(default_factory=default, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class Config:
    """Everything a training run depends on. Every field has a sensible default.

    Differences from the QMIX paper's defaults are deliberate and listed in the README
    ("Implementation details"): several environments stepped together, Adam, and
    TD(lambda) in the PettingZoo presets; the two_step_paper preset keeps the paper's.
    The ``simple_spread`` and ``lbf`` presets (``default`` is ``simple_spread``) are tuned
    for the time to a good greedy return on one CPU core; the comments above each in
    ``PRESETS`` list every way they differ from the paper, and why.

    Naming a task gives its tuned preset: ``Config(env="mpe:simple_spread")`` starts from
    ``simple_spread``, an LBF task from ``lbf``, the memory task from ``memory`` (COMA from
    its ``coma_*`` counterpart), and every field given explicitly overrides the preset. The
    course's two-step and matrix games, other MPE scenarios and your own environments have
    no tuned preset and start from the defaults below, so ``Config()`` is the two-step
    game's own configuration. ``preset_name`` records which preset applied ("none": none);
    ``preset_name="none"`` asks for the bare defaults on any task, ``Config.preset(name)``
    or ``preset_name=name`` for a named preset.

    >>> Config(env="lbf:Foraging-8x8-2p-2f-coop-v3").preset_name
    'lbf'
    >>> spread = Config(env="mpe:simple_spread", gamma=0.99)
    >>> spread.preset_name, spread.num_envs, spread.gamma
    ('simple_spread', 8, 0.99)
    >>> Config(env="mpe:simple_spread", preset_name="none").num_envs
    1
    """

    # what to train
    env: str = _doc(
        "two_step",
        "the task: a name from `qmix-tut envs`, 'matrix:<game>', 'mpe:<scenario>', "
        "'lbf:<Foraging id>', a name given to register(), or 'package.module:function' "
        "returning a PettingZoo ParallelEnv",
        allowed="any name make() accepts",
    )
    env_kwargs: dict[str, Any] = _doc(
        dict,
        'keyword arguments passed to make(env, ...), e.g. {"scale_obs": false} for LBF',
        allowed="a dict (JSON object on the command line)",
    )
    algo: str = _doc(
        "qmix",
        "the algorithm: how the agents' values are mixed, or COMA's actor-critic",
        allowed=", ".join(ALGOS),
    )
    preset_name: str = _doc(
        "none",
        "the preset that supplied every value not given explicitly. Left out, it is the "
        "preset tuned for the task (see task_preset: 'simple_spread', 'lbf', 'memory', or "
        "COMA's 'coma_*' counterpart), and 'none', the Config defaults, for every other task; "
        "name one to start from it, or 'none' for the bare defaults",
        allowed="a name from `qmix-tut presets`",
    )
    seed: int = _doc(
        0,
        "seeds the networks, exploration, replay sampling and every environment",
        allowed=">= 0",
    )
    total_steps: int = _doc(
        10_000,
        "length of the run, counted over all environments stepped together",
        unit="env steps",
        allowed=">= 1",
        reference="task-dependent; PyMARL's default t_max is 10,000",
    )
    device: str = _doc(
        "auto",
        "where the networks and the replay buffer live; 'auto' takes a GPU when torch sees "
        "one, the CPU otherwise",
        allowed="'auto', 'cpu', 'cuda' or 'cuda:N'",
    )
    threads: int = _doc(
        1,
        "CPU threads torch may use during the run (torch.set_num_threads); 1 keeps runs "
        "reproducible and lets several run side by side",
        allowed=">= 1",
    )
    compile: bool = _doc(
        False,
        "run the value learner's loss and its gradient as code generated by torch.compile: "
        "about a quarter less time per update on a CPU for the simple_spread preset, after "
        "a one-off compilation on the first update (about 20 CPU seconds and a C++ "
        "compiler; cached on disk, about 2 s in later runs); values agree with the "
        "uncompiled update to float rounding, not bit for bit; if compilation fails the run "
        "warns and goes on uncompiled",
        allowed="True or False (not with algo 'coma')",
    )
    # agents
    agent: str = _doc(
        "rnn",
        "the agent network: 'mlp' feed-forward, or 'rnn' recurrent (DRQN) with memory",
        allowed=", ".join(AGENTS),
    )
    rnn_cell: str = _doc(
        "gru",
        "the recurrent cell of 'rnn' agents (ignored by 'mlp')",
        allowed=", ".join(RNN_CELLS),
    )
    hidden_dim: int = _doc(
        64,
        "width of the agent network's hidden layers",
        unit="units",
        allowed=">= 1",
    )
    last_action_input: bool = _doc(
        True,
        "give each agent its own previous action (one-hot) beside its observation",
        allowed="true, false",
        reference="PyMARL true; EPyMARL's QMIX config false",
    )
    agent_id_input: bool = _doc(
        True,
        "give each agent its index (one-hot), so one shared network can act differently per agent",
        allowed="true, false",
    )
    # mixer
    mixer_embed: int = _doc(
        32,
        "width of the mixing network's hidden layer",
        unit="units",
        allowed=">= 1",
        reference="the QMIX paper's two-step game uses 8",
    )
    hypernet_layers: int = _doc(
        2,
        "layers of the hypernetworks that make the mixing weights from the state",
        allowed=", ".join(map(str, HYPERNET_LAYERS)),
        reference="the QMIX paper (ICML 2018) uses 1; PyMARL's QMIX config 2",
    )
    hypernet_embed: int = _doc(
        64,
        "width of the hidden layer of two-layer hypernetworks",
        unit="units",
        allowed=">= 1",
    )
    # data collection
    num_envs: int = _doc(
        1,
        "environments stepped together; each round collects one episode from each",
        allowed=">= 1",
    )
    batched_env: bool = _doc(
        True,
        "step a round's environments as one array program when the task has a batched "
        "version (qmix_tut.envs.batched: mpe:simple_spread), proven equal to the task's own "
        "env step for step; False steps the task's own env (mpe2) one environment at a time",
        allowed="True or False",
    )
    epsilon_start: float = _doc(1.0, "exploration rate at the start of the run", allowed="[0, 1]")
    epsilon_finish: float = _doc(
        0.05, "exploration rate after the linear annealing", allowed="[0, 1]"
    )
    epsilon_anneal_steps: int = _doc(
        50_000,
        "how long epsilon takes to fall linearly from epsilon_start to epsilon_finish",
        unit="env steps",
        allowed=">= 1",
    )
    buffer_size: int = _doc(
        5000,
        "replay capacity; the oldest episodes are dropped first",
        unit="episodes",
        allowed=">= 1",
    )
    # learning
    batch_size: int = _doc(
        32,
        "episodes sampled from the replay for one gradient step",
        unit="episodes",
        allowed=">= 1",
    )
    updates_per_round: int = _doc(
        1,
        "gradient steps after each round of num_envs episodes (0: collect only)",
        unit="gradient steps",
        allowed=">= 0",
        reference="PyMARL: one after every episode",
    )
    gamma: float = _doc(0.99, "discount factor of future rewards", allowed="[0, 1]")
    optimizer: str = _doc(
        "rmsprop",
        "the torch.optim optimizer of the agents and the mixer",
        allowed=", ".join(OPTIMIZERS),
        reference="PyMARL rmsprop; EPyMARL adam",
    )
    lr: float = _doc(5e-4, "learning rate", allowed="> 0")
    lr_finish: float = _doc(
        1e-4,
        "the learning rate after the linear annealing (lr_anneal_steps > 0 only); COMA's "
        "critic_lr falls in the same proportion",
        allowed="> 0",
    )
    lr_anneal_steps: int = _doc(
        0,
        "how long the learning rate takes to fall linearly from lr to lr_finish; 0 keeps lr "
        "for the whole run",
        unit="env steps",
        allowed=">= 0",
        reference="PyMARL: a constant lr; JaxMARL's QMIX: a linear decay to 0 over the run",
    )
    optim_alpha: float = _doc(
        0.99,
        "RMSprop's smoothing constant of the squared gradients (unused by Adam)",
        allowed="[0, 1]",
    )
    optim_eps: float = _doc(
        1e-5,
        "term added to the optimizer's denominator for numerical stability",
        allowed="> 0",
        reference="EPyMARL's Adam uses torch's default, 1e-8",
    )
    grad_clip: float = _doc(
        10.0,
        "the gradients' global L2 norm is clipped to this",
        allowed="> 0",
    )
    double_q: bool = _doc(
        True,
        "double Q-learning: the online network picks the next action, the target network scores it",
        allowed="true, false",
        reference="the QMIX paper (ICML 2018) uses a plain max over the target network",
    )
    target_update_interval: int = _doc(
        200,
        "hard copies of the target networks happen this often (ignored when tau > 0)",
        unit="episodes",
        allowed=">= 1",
        reference="EPyMARL counts it in gradient steps",
    )
    tau: float = _doc(
        0.0,
        "Polyak factor: after every gradient step the target networks move this fraction "
        "towards the online ones; 0 means hard copies every target_update_interval",
        allowed="[0, 1]",
        reference="PyMARL: hard copies only",
    )
    td_lambda: float = _doc(
        0.0,
        "lambda of TD(lambda) targets; 0 gives one-step targets",
        allowed="[0, 1]",
        reference="PyMARL: one-step targets",
    )
    weighting: str = _doc(
        "none",
        "'ow': the optimistic weighting of Weighted QMIX (Rashid et al. 2020) on the QMIX "
        "loss; needs algo 'qmix'",
        allowed=", ".join(WEIGHTINGS),
    )
    weighting_alpha: float = _doc(
        0.1,
        "with weighting 'ow', the loss weight where Q_tot is above its target",
        allowed="(0, 1]",
    )
    # COMA (algo="coma"): the centralised critic; the actor uses lr, and epsilon_* set the
    # floor mixed into its policy
    critic_lr: float = _doc(
        5e-4,
        "learning rate of COMA's centralised critic (the actor's is lr)",
        allowed="> 0",
        reference="PyMARL's COMA config 5e-4",
    )
    critic_hidden_dim: int = _doc(
        128,
        "width of the two hidden layers of COMA's critic",
        unit="units",
        allowed=">= 1",
        reference="PyMARL's COMA critic 128",
    )
    # bookkeeping
    eval_interval: int = _doc(
        2000,
        "a greedy evaluation (one row of history.csv) this often",
        unit="env steps",
        allowed=">= 1",
    )
    eval_episodes: int = _doc(
        16,
        "greedy episodes per evaluation (0: none, and eval_return is NaN)",
        unit="episodes",
        allowed=">= 0",
        reference="PyMARL 20",
    )
    checkpoint_interval: int = _doc(
        0,
        "write checkpoint.pt into the run directory this often; 0: only at the end and on Ctrl-C",
        unit="env steps",
        allowed=">= 0",
    )
    checkpoint_seconds: float = _doc(
        300.0,
        "also write checkpoint.pt when this much training time has passed since the last one; "
        "0: off",
        unit="seconds",
        allowed=">= 0",
    )

    def __post_init__(self) -> None:
        self.validate()

    # -- validation -------------------------------------------------------------------
    def validate(self) -> None:
        """Raise ValueError naming the first field with an invalid value.

        Values are normalised first: numpy scalars (as sweep scripts produce) become plain
        Python ints, floats and bools, integral values in float fields become floats, and
        numpy arrays and tuples in ``env_kwargs`` become lists, so that whatever a run
        writes can be read back and compared exactly.
        """
        for f in fields(self):
            setattr(self, f.name, _normalised(f.name, str(f.type), getattr(self, f.name)))
        _choice("algo", self.algo, ALGOS)
        _choice("preset_name", self.preset_name, tuple(PRESETS))
        _choice("agent", self.agent, AGENTS)
        _choice("rnn_cell", self.rnn_cell, RNN_CELLS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("weighting", self.weighting, WEIGHTINGS)
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ValueError(
                f"Config.device must be 'auto', 'cpu' or 'cuda[:N]', got {self.device!r}"
            )
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"Config.seed must be in [0, 2**32 - 1], got {self.seed}")
        _at_least("total_steps", self.total_steps, 1)
        _at_least("threads", self.threads, 1)
        if self.threads > MAX_THREADS:
            raise ValueError(f"Config.threads must be <= {MAX_THREADS}, got {self.threads}")
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
        if self.batch_size > self.buffer_size:
            raise ValueError(
                f"Config.batch_size ({self.batch_size}) must be <= Config.buffer_size "
                f"({self.buffer_size}): a batch is drawn from the episodes in the buffer, "
                "so a larger one would never be drawn and the run would never learn"
            )
        _at_least("updates_per_round", self.updates_per_round, 0)
        _unit("gamma", self.gamma)
        _positive("lr", self.lr)
        _positive("lr_finish", self.lr_finish)
        _at_least("lr_anneal_steps", self.lr_anneal_steps, 0)
        _unit("optim_alpha", self.optim_alpha)
        _positive("optim_eps", self.optim_eps)
        _positive("grad_clip", self.grad_clip)
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
        _positive("critic_lr", self.critic_lr)
        _at_least("critic_hidden_dim", self.critic_hidden_dim, 1)
        if not self.checkpoint_seconds >= 0:
            raise ValueError(
                f"Config.checkpoint_seconds must be >= 0, got {self.checkpoint_seconds}"
            )
        if self.compile and self.algo == "coma":
            raise ValueError(
                "Config.compile=True applies to the value learners (iql, vdn, vdn_s, qmix, "
                "qmix_ns, qmix_lin), not to algo='coma'"
            )
        if self.weighting != "none" and self.algo != "qmix":
            raise ValueError(
                f"Config.weighting={self.weighting!r} needs algo='qmix', got {self.algo!r}"
            )

    # -- presets and conversions ------------------------------------------------------
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> Config:
        """A named starting point, with any field overridden by keyword; the config records
        the name as ``preset_name``. ``Config.preset("none", env=...)`` gives the bare
        Config defaults for a task that has a tuned preset."""
        check_preset_name(name)
        if "preset_name" in overrides:
            raise ValueError(
                f"Config.preset({name!r}) names its preset once; drop preset_name="
                f"{overrides['preset_name']!r}"
            )
        return cls.from_dict({**overrides, "preset_name": name})

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown Config field(s): {', '.join(unknown)}; the fields are "
                f"{', '.join(f.name for f in fields(cls))}"
            )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> Config:
        return self.from_dict({**self.to_dict(), **changes})


def _start_from_preset(fields_init: Callable[..., None]) -> Callable[..., None]:
    """Config's ``__init__``: the one the dataclass writes, given the values the preset
    supplies as well as the ones the caller gave (see :func:`with_preset_values`).

    Only ``__init__`` sees which fields the caller gave, as opposed to left at their
    defaults, and a preset may fill in only the latter: ``Config(env="mpe:simple_spread",
    gamma=0.99)`` keeps 0.99 although the preset says 0.95.
    """

    @functools.wraps(fields_init)
    def __init__(self: Config, *args: Any, **given: Any) -> None:
        if args:
            raise TypeError(
                f"Config takes its fields by name, e.g. Config(env='two_step'), got {args!r:.60}"
            )
        fields_init(self, **with_preset_values(given))

    return __init__


# set after the class is made, so that the dataclass's own __init__ (whose signature type
# checkers and help() show) is the one wrapped
Config.__init__ = _start_from_preset(Config.__init__)  # type: ignore[method-assign]

MAX_SEED = 2**32 - 1  # what numpy's and torch's generators take without folding
MAX_INT = 2**63 - 1  # what fits a tensor's int64; larger values cannot be counts
MAX_THREADS = 4096  # a bound on absurd values; train() also checks the machine's cores


def _normalised(name: str, kind: str, value: Any) -> Any:
    """``value`` as the plain Python type field ``name`` declares, or a ValueError."""
    if isinstance(value, np.generic):  # numpy scalars: np.float64(1e-3), np.int64(3), ...
        value = value.item()
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"Config.{name} must be True or False, got {value!r}")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"Config.{name} must be an integer, got {value!r}")
        if abs(value) > MAX_INT:
            raise ValueError(f"Config.{name} must be at most 2**63 - 1, got {value}")
        value = int(value)
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"Config.{name} must be a number, got {value!r}")
        try:
            value = float(value)
        except OverflowError:
            raise ValueError(f"Config.{name} is too large for a float, got {value}") from None
        if not math.isfinite(value):
            raise ValueError(f"Config.{name} must be a finite number, got {value}")
    elif kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"Config.{name} must be a string, got {value!r}")
        value = str(value)
    elif name == "env_kwargs":
        if not isinstance(value, dict):
            raise ValueError(f"Config.env_kwargs must be a dict, got {value!r}")
        value = _plain_data(value, "Config.env_kwargs")
    return value


def _plain_data(value: Any, where: str) -> Any:
    """JSON-like data (dicts with string keys, lists, str, int, float, bool, None)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ValueError(f"{where} must hold numbers, got an array of {value.dtype}")
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise ValueError(f"{where} keys must be strings, got {bad[0]!r}")
        return {k: _plain_data(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_data(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ValueError(
        f"{where} must be plain data (numbers, strings, booleans, None, lists, dicts) "
        f"so the run can be saved and resumed, got {type(value).__name__} {value!r:.60}"
    )


FIELD_DOCS: dict[str, FieldDoc] = {
    f.name: f.metadata.get("doc", FieldDoc("(not documented yet)")) for f in fields(Config)
}
"""Every Config field's documentation, in the order of the fields (``qmix-tut train --help``
and ``qmix-tut presets NAME`` print it)."""


def _choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"Config.{name} must be one of {list(allowed)}, got {value!r}")


def _at_least(name: str, value: int, low: int) -> None:
    if value < low:
        raise ValueError(f"Config.{name} must be >= {low}, got {value}")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"Config.{name} must be > 0, got {value}")


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
    #  4. Adam at 1e-3, soft target updates, TD(lambda=0.6) targets and a 15k-step
    #     epsilon schedule: each reached -57 sooner than the paper's choices;
    #  5. batches of 64 episodes and tau 0.002 (version 0.1: 32 and 0.005): with those,
    #     seeds lost their level late as Q_tot rose (over-estimation), and 1 of 5 held
    #     -48.6; with these none drifts and every seed of 5 held it within 300k steps
    #     (figures/data/stability, benchmarks/against_jaxmarl.py), for about 1.7 times the
    #     learner's CPU time per env step. 300k steps: the last seed held it at 243k.
    "simple_spread": dict(
        env="mpe:simple_spread",
        algo="qmix",
        total_steps=300_000,
        agent="mlp",
        num_envs=8,
        epsilon_anneal_steps=15_000,
        buffer_size=5000,
        batch_size=64,
        updates_per_round=6,
        gamma=0.95,
        optimizer="adam",
        lr=1e-3,
        tau=0.002,
        td_lambda=0.6,
        eval_interval=2500,
        eval_episodes=16,
    ),
}
# the simple_spread preset under the name it had as the command line's default (`qmix-tut
# train` with no --env now trains mpe:simple_spread, which starts from simple_spread)
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
#  4. epsilon annealed over 100k steps and Adam at 5e-4;
#  5. batches of 32 episodes and tau 0.005: the simple_spread preset's values when this
#     one was tuned (simple_spread has since moved to 64 and 0.002; LBF was not re-tuned).
# The env scales its observations onto [-1, 1] (``scale_obs``, on by default): with the
# game's raw grid coordinates a fresh mixer starts at Q_tot of about 10 (returns are at
# most 1), and a run was still at a greedy return of 0 after 300k steps.
PRESETS["lbf"] = {
    **PRESETS["simple_spread"],
    "env": "lbf:Foraging-8x8-2p-2f-coop-v3",
    "total_steps": 2_000_000,
    "num_envs": 16,
    "batch_size": 32,
    "updates_per_round": 4,
    "tau": 0.005,
    "epsilon_anneal_steps": 100_000,
    "gamma": 0.95,
    "lr": 5e-4,
    "td_lambda": 0.8,
    "eval_interval": 25_000,
}
# COMA (Foerster et al. 2018) with the PyMARL framework's COMA configuration, changed
# only where the task demands it: recurrent agents of 64 units, 8 envs stepped together
# and one update on their 8 fresh episodes per round (on-policy: no replay), RMSprop at
# 5e-4 for the actor and the critic, TD(lambda=0.8) critic targets, target critic copied
# every 200 critic steps, epsilon floor from 0.5 to 0.01 over 100k steps, gradients
# clipped at 10. Task changes, the same as in the QMIX presets so the comparison is on
# one task: gamma 0.95 on simple_spread and LBF, and their step budgets and evaluation
# protocol (eval_interval, eval_episodes).
PRESETS["coma_two_step"] = dict(
    env="two_step",
    algo="coma",
    total_steps=10_000,
    agent="rnn",
    hidden_dim=64,
    num_envs=8,
    epsilon_start=0.5,
    epsilon_finish=0.01,
    epsilon_anneal_steps=100_000,
    buffer_size=8,
    batch_size=8,
    updates_per_round=1,
    gamma=0.99,
    optimizer="rmsprop",
    lr=5e-4,
    critic_lr=5e-4,
    td_lambda=0.8,
    target_update_interval=200,
    eval_interval=500,
    eval_episodes=1,
)
PRESETS["coma_simple_spread"] = {
    **PRESETS["coma_two_step"],
    "env": "mpe:simple_spread",
    "total_steps": 200_000,
    "gamma": 0.95,
    "eval_interval": 2500,
    "eval_episodes": 16,
}
PRESETS["coma_lbf"] = {
    **PRESETS["coma_simple_spread"],
    "env": "lbf:Foraging-8x8-2p-2f-coop-v3",
    "total_steps": 1_000_000,
    "eval_interval": 25_000,
}

# No preset: every field not given keeps its Config default.
PRESETS["none"] = {}


# ------------------------------------------------------------------------------------------
# Which preset a task starts from
# ------------------------------------------------------------------------------------------
TASK_PRESETS: dict[str, str] = {
    "mpe:simple_spread": "simple_spread",
    "lbf:": "lbf",
    "memory": "memory",
}
"""The preset tuned for each task, by env name or by a family's prefix (``"lbf:"``: every
Foraging grid; the ``lbf`` preset was tuned on 8x8-2p-2f-coop and is the starting point for
the others). Every other task (the course's one-step and two-step games, other MPE
scenarios, registered and your own environments) starts from the Config defaults."""

PAPER_GAME_PRESETS: dict[str, str] = {
    "two_step": "two_step_paper",
    "matrix": "matrix",
    "matrix:": "matrix",
}
"""The QMIX paper's settings for its two-step and one-step matrix games. Sweeps (and so the
stored benchmark) start these games from them; ``Config`` and ``qmix-tut train`` leave
them at the Config defaults, which are the two-step game's own (recurrent agents, annealed
exploration) and which the course's notebooks build on."""


def _lookup(table: dict[str, str], env: str) -> str | None:
    """``table``'s entry for ``env``: its exact name, else its family (``"lbf:"``)."""
    if env in table:
        return table[env]
    family = env.split(":", 1)[0] + ":" if ":" in env else None
    return table.get(family) if family else None


def check_preset_name(name: Any, where: str = "") -> None:
    """Raise ValueError unless ``name`` is a preset's name (a key of PRESETS); ``where``
    (e.g. ``"Config.preset_name: "``) starts the message."""
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(
            f"{where}unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}"
        )


def task_preset(
    env: str, algo: str = "qmix", preset: str | None = None, *, paper_games: bool = False
) -> str:
    """The name of the preset a run of ``algo`` on ``env`` starts from.

    ``preset`` if given (checked), else the one tuned for the task (:data:`TASK_PRESETS`),
    else ``"none"``: the Config defaults. ``paper_games=True`` (sweeps) starts the two-step
    and matrix games from the paper's settings (:data:`PAPER_GAME_PRESETS`). COMA, an
    actor-critic, takes the preset's own counterpart where there is one (``coma_lbf`` for
    ``lbf``, ``coma_two_step`` for ``two_step_paper``). This is the one place that maps a
    task to its preset: ``Config(env=...)``, ``qmix-tut train --env`` and the sweep tool
    all ask it.

    >>> task_preset("mpe:simple_spread"), task_preset("lbf:Foraging-8x8-2p-2f-coop-v3", "coma")
    ('simple_spread', 'coma_lbf')
    >>> task_preset("two_step"), task_preset("two_step", paper_games=True)
    ('none', 'two_step_paper')
    """
    if preset is None:
        tuned = _lookup(TASK_PRESETS, env)
        if tuned is None and paper_games:
            tuned = _lookup(PAPER_GAME_PRESETS, env)
        preset = tuned or "none"
    check_preset_name(preset)
    if spec(algo).learner == "q" or preset.startswith(f"{algo}_"):
        return preset
    own = f"{algo}_{preset.removesuffix('_paper')}"
    return own if own in PRESETS else preset


def with_preset_values(given: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of a Config with the values its preset supplies added.

    With ``preset_name`` given, that preset's values (its env too) fill every field not
    given. Without it, the preset tuned for the task does (:func:`task_preset`; never its
    env: the task is the one named) and ``preset_name`` records which, or ``"none"``
    where it supplied nothing: a task with no tuned preset, or every field it sets given
    (as in a config.json written before ``preset_name`` existed, which so loads as saved).
    """
    if "preset_name" in given:
        check_preset_name(given["preset_name"], "Config.preset_name: ")
        return {**PRESETS[given["preset_name"]], **given}
    env, algo = given.get("env", _DEFAULT_ENV), given.get("algo", _DEFAULT_ALGO)
    if not isinstance(env, str) or algo not in ALGOS:
        return {**given, "preset_name": "none"}  # validate() names the bad field
    name = task_preset(env, algo)
    supplied = {k: v for k, v in PRESETS[name].items() if k not in given and k != "env"}
    return {**supplied, **given, "preset_name": name if supplied else "none"}


_DEFAULT_ENV: str = Config.__dataclass_fields__["env"].default  # type: ignore[assignment]
_DEFAULT_ALGO: str = Config.__dataclass_fields__["algo"].default  # type: ignore[assignment]
