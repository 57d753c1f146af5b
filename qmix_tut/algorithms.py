"""The one registry of algorithm names and what each is made of.

Every other module (the config, the mixers, the trainer, the command line, the widgets,
the plots and the benchmarks) reads its choices from here, so adding an algorithm means
adding one entry. This module imports nothing heavy (no torch), so the command line can
list choices without loading torch.

>>> spec("qmix").mixer, spec("qmix").learner
('qmix', 'q')
>>> "coma" in ALGORITHMS
True
>>> spec("sarsa")
Traceback (most recent call last):
...
ValueError: unknown algorithm 'sarsa'; choose one of iql, vdn, vdn_s, qmix, qmix_ns, qmix_lin, coma
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AlgorithmSpec:
    """What an algorithm is made of.

    mixer: the name :func:`qmix_tut.mixers.make_mixer` builds, or None when the agents'
    values are not mixed (IQL, and COMA, whose critic is not a mixer). learner: ``"q"``
    for the one value-based learner (:class:`qmix_tut.learner.QLearner`), ``"coma"`` for
    the actor-critic (:class:`qmix_tut.coma.COMALearner`). on_policy: trained only on the
    episodes just collected (no replay of old ones).
    """

    name: str
    label: str
    mixer: str | None
    learner: str
    on_policy: bool
    summary: str


_SPECS = (
    AlgorithmSpec("iql", "IQL", None, "q", False, "independent Q-learning, no mixer"),
    AlgorithmSpec("vdn", "VDN", "vdn", "q", False, "Q_tot as the sum of the agents' values"),
    AlgorithmSpec("vdn_s", "VDN-S", "vdn_s", "q", False, "VDN plus a state-dependent bias"),
    AlgorithmSpec("qmix", "QMIX", "qmix", "q", False, "monotonic mixing from hypernetworks"),
    AlgorithmSpec("qmix_ns", "QMIX-NS", "qmix_ns", "q", False, "QMIX without the state"),
    AlgorithmSpec("qmix_lin", "QMIX-Lin", "qmix_lin", "q", False, "QMIX without a hidden layer"),
    AlgorithmSpec(
        "coma", "COMA", None, "coma", True, "actor-critic with a counterfactual baseline"
    ),
)

ALGORITHMS: dict[str, AlgorithmSpec] = {s.name: s for s in _SPECS}
"""Every algorithm, by name, in the course's order of presentation."""

ALGOS: tuple[str, ...] = tuple(ALGORITHMS)
"""Every algorithm name."""

VALUE_ALGOS: tuple[str, ...] = tuple(n for n, s in ALGORITHMS.items() if s.learner == "q")
"""The algorithms trained by the value-based learner (IQL, VDN, QMIX and the ablations)."""

MIXER_NAMES: tuple[str, ...] = tuple(s.mixer for s in _SPECS if s.mixer is not None)
"""Every mixer :func:`qmix_tut.mixers.make_mixer` can build."""

CORE_ALGOS: tuple[str, ...] = ("iql", "vdn", "qmix")
"""The three value-based methods the course builds, in the order it builds them."""

ABLATION_ALGOS: tuple[str, ...] = ("qmix", "qmix_ns", "qmix_lin", "vdn_s", "vdn", "iql")
"""The QMIX paper's ablation study on the two-step game, in the order of its figure."""

# other choice lists, each with its one home here
AGENTS: tuple[str, ...] = ("mlp", "rnn")
RNN_CELLS: tuple[str, ...] = ("gru", "lstm")
OPTIMIZERS: tuple[str, ...] = ("rmsprop", "adam")
HYPERNET_LAYERS: tuple[int, ...] = (1, 2)
WEIGHTINGS: tuple[str, ...] = ("none", "ow")


def spec(name: str) -> AlgorithmSpec:
    """The registry entry of an algorithm; a ValueError listing the names otherwise."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGOS)}")
    return ALGORITHMS[name]


def label(name: str) -> str:
    """Display name of an algorithm (``"qmix_ns" -> "QMIX-NS"``); unknown names pass through."""
    return ALGORITHMS[name].label if name in ALGORITHMS else name
