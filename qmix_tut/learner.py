"""One learner for IQL, VDN and QMIX: the only difference is the mixer passed in.

Loss, for a batch of padded episodes (mask m_t = 1 on real steps)::

    y_t  = r_t + gamma * (1 - terminated_t) * Q_tot^target(s_{t+1}, argmax-or-max u')
    loss = sum_t m_t (Q_tot(s_t, u_t) - y_t)^2 / sum_t m_t

With ``mixer=None`` (IQL) every agent is its own Q_tot and learns from the shared team
reward. Time-limit endings are not ``terminated``, so the target bootstraps through them.

One update is three small public steps, which a reader (or a widget) can call one by one:

1. :meth:`QLearner.next_values`: the target networks' value of every next step
   (double Q, unavailable actions and padding handled), ``target_tot [B, T, k]``;
2. :meth:`QLearner.targets`: one-step or TD(lambda) targets ``y [B, T, k]`` from them;
3. :meth:`QLearner.loss`: the masked (and, for Weighted QMIX, weighted) squared TD error.

:meth:`QLearner.update` chains them, then takes one ``torch.optim`` step.

>>> import torch
>>> from qmix_tut.agents import MLPAgent
>>> from qmix_tut.mixers import VDNMixer
>>> learner = QLearner(MLPAgent(5, 2), VDNMixer(), n_actions=2, agent_id_input=False,
...                    last_action_input=False)
>>> batch = {"obs": torch.zeros(4, 3, 2, 5), "state": torch.zeros(4, 3, 1),
...          "avail": torch.ones(4, 3, 2, 2), "actions": torch.zeros(4, 2, 2, dtype=torch.long),
...          "reward": torch.ones(4, 2), "terminated": torch.zeros(4, 2), "mask": torch.ones(4, 2)}
>>> sorted(learner.update(batch))
['grad_norm', 'loss', 'q_taken', 'target', 'td_error']
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

import torch
from torch import nn

from .agents import build_inputs
from .algorithms import OPTIMIZERS, WEIGHTINGS
from .buffer import EpisodeBatch, check_batch

if TYPE_CHECKING:
    from .config import Config


class NonFiniteError(FloatingPointError):
    """A loss, gradient or weight became NaN or infinite; raised before any weight changes."""


class UpdateStats(TypedDict):
    """What one update reports (means over the real, not padded, steps of the batch)."""

    loss: float  # the (weighted) mean squared TD error that was minimised
    grad_norm: float  # the gradients' global 2-norm before clipping
    q_taken: float  # mean Q_tot of the actions taken
    target: float  # mean TD target y
    td_error: float  # mean |Q_tot - y|


def make_optimizer(
    params: list[nn.Parameter], kind: str, lr: float, alpha: float = 0.99, eps: float = 1e-5
) -> torch.optim.Optimizer:
    """``torch.optim.RMSprop(alpha, eps)`` (multi-tensor) or ``torch.optim.Adam(eps)`` (fused).

    For networks this small the optimizer's per-tensor bookkeeping costs more than its
    arithmetic: the fused Adam kernel takes a quarter of the multi-tensor one's time on a
    CPU (``benchmarks/speed.py``); torch has no fused RMSprop.
    """
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=alpha, eps=eps, foreach=True)
    if kind == "adam":
        fused = all(p.device.type in ("cpu", "cuda") for p in params)
        return torch.optim.Adam(params, lr=lr, eps=eps, fused=fused, foreach=not fused)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {kind!r}")


class QLearner:
    """Trains a shared agent network (and a mixer) from batches of episodes.

    Implementation details (where this differs from the paper, and why):

    1. Double Q on by default: the online network picks the next action, the target
       network scores it (van Hasselt et al. 2016); the paper used a plain max.
    2. Target networks are copied every ``target_update_interval`` episodes, or, with
       ``tau > 0``, moved a little after every update (Polyak averaging).
    3. Optional TD(lambda) targets (``td_lambda > 0``), computed backwards over each
       episode from the target network's values.
    4. Unavailable actions are never picked by the max; padded steps are masked out.
    5. ``weighting="ow"`` applies the optimistic weighting of Weighted QMIX (Rashid et al.
       2020) to the QMIX loss: full weight where Q_tot underestimates its target, weight
       ``weighting_alpha`` elsewhere. The full method also learns an unrestricted Q* for
       the targets; here the targets are QMIX's own (in one-step games both are just the
       reward).
    6. The optimizer is ``torch.optim`` (RMSprop as in the paper's code, or Adam), with the
       gradients' global norm clipped to ``grad_clip`` (``torch.nn.utils.get_total_norm`` and
       ``clip_grads_with_norm_``, the two halves of ``clip_grad_norm_``).
    7. A non-finite loss or gradient stops training with :class:`NonFiniteError` before
       the optimizer step, so NaNs never reach the weights.
    """

    def __init__(
        self,
        agent: nn.Module,
        mixer: nn.Module | None,
        *,
        n_actions: int,
        gamma: float = 0.99,
        lr: float = 5e-4,
        optimizer: str = "rmsprop",
        optim_alpha: float = 0.99,
        optim_eps: float = 1e-5,
        grad_clip: float = 10.0,
        double_q: bool = True,
        target_update_interval: int = 200,
        tau: float = 0.0,
        td_lambda: float = 0.0,
        last_action_input: bool = True,
        agent_id_input: bool = True,
        weighting: str = "none",
        weighting_alpha: float = 0.1,
        compile: bool = False,
    ) -> None:
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
        self.agent, self.mixer = agent, mixer
        self.target_agent = copy.deepcopy(agent)
        self.target_mixer = copy.deepcopy(mixer)
        self.n_actions = n_actions
        self.gamma, self.double_q, self.grad_clip = gamma, double_q, grad_clip
        self.target_update_interval, self.tau = target_update_interval, tau
        self.td_lambda = td_lambda
        self.last_action_input, self.agent_id_input = last_action_input, agent_id_input
        self.weighting, self.weighting_alpha = weighting, weighting_alpha
        self.params = list(agent.parameters()) + (list(mixer.parameters()) if mixer else [])
        # the target networks' parameters in the same order, for the Polyak step
        self.target_params = [p for _, target in self._pairs() for p in target.parameters()]
        self.optimizer = make_optimizer(self.params, optimizer, lr, optim_alpha, optim_eps)
        self.episodes_at_last_target_update = 0
        self.updates = 0  # gradient steps taken
        self.compiled = False
        self._forward: Any = self.forward_loss  # or its torch.compile'd twin (compile())
        if compile:
            self.compile()

    @classmethod
    def from_config(
        cls, agent: nn.Module, mixer: nn.Module | None, n_actions: int, config: Config
    ) -> QLearner:
        """A learner with every setting read from a :class:`~qmix_tut.config.Config`."""
        c = config
        return cls(
            agent, mixer, n_actions=n_actions, gamma=c.gamma, lr=c.lr, optimizer=c.optimizer,
            optim_alpha=c.optim_alpha, optim_eps=c.optim_eps, grad_clip=c.grad_clip,
            double_q=c.double_q, target_update_interval=c.target_update_interval, tau=c.tau,
            td_lambda=c.td_lambda, last_action_input=c.last_action_input,
            agent_id_input=c.agent_id_input, weighting=c.weighting,
            weighting_alpha=c.weighting_alpha, compile=c.compile,
        )  # fmt: skip

    # -- Q-values over whole episodes ---------------------------------------------------
    def agent_inputs(self, batch: EpisodeBatch) -> torch.Tensor:
        """Inputs for every step of every episode: [B, T+1, n, input_dim]."""
        obs = batch["obs"]
        last = None
        if self.last_action_input:
            actions = batch["actions"]
            first = torch.full_like(actions[:, :1], -1)
            last = torch.cat([first, actions], dim=1)  # action taken before each step
        return build_inputs(obs, last, self.n_actions, self.agent_id_input)

    @staticmethod
    def episode_q_values(agent: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        """Run the agent over whole episodes: [B, T+1, n, D] -> [B, T+1, n, A]."""
        b, t1, n, d = inputs.shape
        if getattr(agent, "recurrent", False):
            seq = inputs.permute(0, 2, 1, 3).reshape(b * n, t1, d)
            q, _ = agent(seq)  # one fused unroll over time, hidden state starts at zero
            return q.reshape(b, n, t1, -1).permute(0, 2, 1, 3)
        q, _ = agent(inputs)
        return q

    def q_tot_taken(self, batch: EpisodeBatch, q: torch.Tensor) -> torch.Tensor:
        """Q_tot of the actions taken, [B, T, 1] (IQL: each agent's own value, [B, T, n]).

        ``q`` is the online agent's ``episode_q_values`` [B, T+1, n, A].
        """
        q_taken = q[:, :-1].gather(-1, batch["actions"].unsqueeze(-1)).squeeze(-1)  # [B, T, n]
        if self.mixer is None:
            return q_taken
        return self.mixer(q_taken, batch["state"][:, :-1])

    # -- step 1: the value of the next state -------------------------------------------
    @torch.no_grad()
    def target_agent_values(self, inputs: torch.Tensor) -> torch.Tensor:
        """The target agent's values of every action at each next step, [B, T, n, A].

        ``inputs`` are :meth:`agent_inputs` [B, T+1, n, D]. A recurrent agent is unrolled
        over the whole episode (it needs the history); a feed-forward one is scored only
        where it is needed, at t + 1.
        """
        if getattr(self.target_agent, "recurrent", False):
            return self.episode_q_values(self.target_agent, inputs)[:, 1:]
        return self.episode_q_values(self.target_agent, inputs[:, 1:])

    @torch.no_grad()
    def next_agent_values(
        self,
        batch: EpisodeBatch,
        q: torch.Tensor | None = None,
        inputs: torch.Tensor | None = None,
        double_q: bool | None = None,
        target_q: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Each agent's target-network value of the next step's chosen action, [B, T, n].

        The action is the online network's argmax (double Q) or the target network's own,
        among the available actions; after the end of an episode nothing is available and
        any action is let through (those steps are masked out later). ``q`` (the online
        values), ``inputs`` and ``target_q`` (:meth:`target_agent_values`) are computed
        when not given; ``double_q`` defaults to the learner's.
        """
        double_q = self.double_q if double_q is None else double_q
        if target_q is None:
            if inputs is None:
                inputs = self.agent_inputs(batch)
            target_q = self.target_agent_values(inputs)
        next_avail = batch["avail"][:, 1:]
        has_action = next_avail.sum(-1, keepdim=True) > 0
        next_avail = torch.where(has_action, next_avail, torch.ones_like(next_avail))
        if not double_q:
            return target_q.masked_fill(next_avail == 0, -torch.inf).max(-1).values
        if q is None:
            if inputs is None:
                inputs = self.agent_inputs(batch)
            q = self.episode_q_values(self.agent, inputs)
        chooser = q[:, 1:].detach().masked_fill(next_avail == 0, -torch.inf)
        return target_q.gather(-1, chooser.argmax(-1, keepdim=True)).squeeze(-1)

    @torch.no_grad()
    def next_values(
        self,
        batch: EpisodeBatch,
        q: torch.Tensor | None = None,
        inputs: torch.Tensor | None = None,
        double_q: bool | None = None,
        target_q: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The target mixer's Q_tot of every next step, ``target_tot`` [B, T, 1].

        For IQL (no mixer) each agent's own next value, [B, T, n]. Arguments as in
        :meth:`next_agent_values`.
        """
        target_next = self.next_agent_values(batch, q, inputs, double_q, target_q)
        if self.target_mixer is None:
            return target_next
        return self.target_mixer(target_next, batch["state"][:, 1:])

    # -- step 2: the TD targets ----------------------------------------------------------
    def targets(
        self,
        reward: torch.Tensor,
        terminated: torch.Tensor,
        mask: torch.Tensor,
        target_tot: torch.Tensor,
        gamma: float | None = None,
    ) -> torch.Tensor:
        """One-step or TD(lambda) targets; all inputs [B, T, k] with k = 1 or n_agents."""
        _check_btk(reward=reward, terminated=terminated, mask=mask, target_tot=target_tot)
        gamma = self.gamma if gamma is None else gamma
        not_done = 1.0 - terminated
        if self.td_lambda == 0.0:
            return reward + gamma * not_done * target_tot
        # G_t = r_t + gamma (1 - d_t) [(1 - lambda) Q(s_{t+1}) + lambda G_{t+1}], where
        # G_{t+1} exists only if step t+1 is real; otherwise it falls back to Q(s_{t+1}).
        # Written as G_t = a_t + b_t G_{t+1}, with a_t = r_t + gamma (1 - d_t)(1 - c_t)
        # Q(s_{t+1}) and b_t = gamma (1 - d_t) c_t, where c_t = lambda if step t+1 is real
        # and 0 if not: a and b are computed for all steps at once, and the backward loop
        # is one fused multiply-add (addcmul) a step.
        next_real = torch.cat([mask[:, 1:], torch.zeros_like(mask[:, :1])], dim=1)
        discount = gamma * not_done
        b = discount * (self.td_lambda * next_real)
        a = torch.addcmul(reward, discount - b, target_tot)
        a_t, b_t = a.unbind(1), b.unbind(1)
        returns = list(a_t)  # the last step: b is 0 there, so G equals a
        for t in range(len(a_t) - 2, -1, -1):
            returns[t] = torch.addcmul(a_t[t], b_t[t], returns[t + 1])
        return torch.stack(returns, dim=1)

    # -- step 3: the loss ----------------------------------------------------------------
    def td_weights(self, td: torch.Tensor) -> torch.Tensor:
        """Each TD error's weight in the loss: 1, or with ``weighting="ow"`` (Weighted QMIX's
        optimistic weighting) 1 where Q_tot is below its target (td < 0) and alpha elsewhere."""
        if self.weighting == "ow":
            return torch.where(td < 0, 1.0, self.weighting_alpha).to(td.dtype)
        return torch.ones_like(td)

    def loss(
        self, q_tot: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked, weighted mean squared TD error and the masked TD errors ``q_tot - y``.

        ``q_tot`` and ``targets`` are [B, T, k]; ``mask`` [B, T, 1] (or [B, T, k]).
        """
        if q_tot.shape != targets.shape:
            raise ValueError(
                f"q_tot and targets must have one shape, got {tuple(q_tot.shape)} and "
                f"{tuple(targets.shape)}"
            )
        _check_btk(q_tot=q_tot, targets=targets, mask=mask)
        m = mask.expand_as(q_tot)
        td = (q_tot - targets.detach()) * m
        squared = td**2
        if self.weighting == "ow":  # skipped otherwise: all-ones weights change nothing
            squared = self.td_weights(td) * squared
        return squared.sum() / m.sum(), td

    # -- one gradient step --------------------------------------------------------------
    def forward_loss(self, batch: EpisodeBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Steps 1 to 3 on one batch: the loss to minimise and, for the statistics, the
        sums over the real steps of Q_tot, of the targets and of the absolute TD errors,
        and the number of those steps (a tensor of four values)."""
        inputs = self.agent_inputs(batch)
        # the target agent first: its layers are the largest tensors of an update after the
        # online agent's, and run between the online forward and its backward they would
        # push the online activations that the backward reads out of the CPU's cache (the
        # same values in either order; about 3% less time per update for simple_spread)
        target_q = self.target_agent_values(inputs)  # [B, T, n, A]
        q = self.episode_q_values(self.agent, inputs)  # [B, T+1, n, A]
        q_tot = self.q_tot_taken(batch, q)  # [B, T, k]
        target_tot = self.next_values(batch, q=q, inputs=inputs, target_q=target_q)
        mask = batch["mask"].unsqueeze(-1)
        y = self.targets(
            batch["reward"].unsqueeze(-1), batch["terminated"].unsqueeze(-1), mask, target_tot
        )
        loss, td = self.loss(q_tot, y, mask)
        with torch.no_grad():
            m = mask.expand_as(q_tot)
            sums = torch.stack([(q_tot * m).sum(), (y * m).sum(), td.abs().sum(), m.sum()])
        return loss, sums

    def compile(self) -> None:
        """Run :meth:`forward_loss` (and its backward pass) as code generated by
        ``torch.compile``: the same arithmetic with the small operations fused, about a
        quarter less time per update for the ``simple_spread`` preset on a CPU, for a
        one-off compilation on the first update (about 20 CPU seconds and a C++ compiler;
        torch caches the result on disk, so that later runs of the same shapes start in
        about 2 s). Values agree with the uncompiled update up to float rounding, not bit
        for bit. If compilation fails, the update warns once and runs uncompiled.

        On a CPU the kernels and their calling code are compiled as one C++ file
        (``cpp_wrapper``: fewer compiler runs, less Python per call), and the vector
        instructions the CPU reports are used without first test-compiling a program for
        each (``cpp.vec_isa_ok``), which would take longer than the compilation itself.
        """
        # torch's C++ build helpers, imported on the way, warn that a CUDA build of torch
        # finds no CUDA runtime: true on every CPU-only machine, and no concern here
        cpp_logger = logging.getLogger("torch.utils.cpp_extension")
        level = cpp_logger.level
        cpp_logger.setLevel(logging.ERROR)
        try:
            import torch.utils.cpp_extension  # noqa: F401
        finally:
            cpp_logger.setLevel(level)
        on_cpu = all(p.device.type == "cpu" for p in self.params)
        options: dict[str, Any] | None = (
            {"cpp_wrapper": True, "cpp.vec_isa_ok": True} if on_cpu else None
        )
        self._forward = torch.compile(self.forward_loss, dynamic=False, options=options)
        self.compiled = True

    def _forward_loss(self, batch: EpisodeBatch) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.compiled:
            return self.forward_loss(batch)
        try:
            return self._forward(batch)
        except Exception as err:  # noqa: BLE001  (any compiler failure: fall back)
            result = self.forward_loss(batch)  # a real error in the batch raises here
            warnings.warn(
                f"torch.compile failed ({type(err).__name__}: {str(err).splitlines()[0]}); "
                "the learner goes on uncompiled",
                RuntimeWarning,
                stacklevel=3,
            )
            self._forward, self.compiled = self.forward_loss, False
            return result

    def update(self, batch: EpisodeBatch, episodes_seen: int = 0) -> UpdateStats:
        """One gradient step on a batch from ``EpisodeBuffer.sample``; returns statistics.

        Raises :class:`NonFiniteError` (and changes no weight) if the loss or the gradients
        are not finite.
        """
        check_batch(batch)
        loss, sums = self._forward_loss(batch)

        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for p in self.params if p.grad is not None]
        grad_norm = torch.nn.utils.get_total_norm(grads, foreach=True)
        with torch.no_grad():
            means = torch.cat([torch.stack([loss.detach(), grad_norm]), sums[:3] / sums[3]])
            loss_, grad_norm_, q_taken, target, td_error = means.tolist()  # one device sync
        self._check_finite(loss=loss_, grad_norm=grad_norm_)
        # clip_grad_norm_ scales by min(1, grad_clip / (norm + 1e-6)): well below the limit
        # that is exactly 1, and the multiplication is skipped
        if grad_norm_ >= 0.999 * self.grad_clip:
            torch.nn.utils.clip_grads_with_norm_(
                self.params, self.grad_clip, grad_norm, foreach=True
            )
        self.optimizer.step()
        self.update_targets(episodes_seen)
        self.updates += 1
        return UpdateStats(
            loss=loss_, grad_norm=grad_norm_, q_taken=q_taken, target=target, td_error=td_error
        )

    def _check_finite(self, **values: float) -> None:
        for name, value in values.items():
            if value != value or value in (float("inf"), float("-inf")):
                hint = "" if name == "loss" else " (a weight or the batch may hold NaN or inf)"
                raise NonFiniteError(
                    f"the {name} is {value} at update {self.updates + 1}{hint}; no weight was "
                    "changed. Try a smaller lr, a smaller grad_clip, or check the rewards."
                )

    def update_targets(self, episodes_seen: int) -> None:
        """Polyak-average the target networks (``tau > 0``), or copy them every
        ``target_update_interval`` episodes."""
        if self.tau > 0:
            with torch.no_grad():
                torch._foreach_lerp_(self.target_params, self.params, self.tau)  # type: ignore[arg-type]
        elif episodes_seen - self.episodes_at_last_target_update >= self.target_update_interval:
            self.hard_update_targets()
            self.episodes_at_last_target_update = episodes_seen

    def hard_update_targets(self) -> None:
        """Copy the online networks' weights into the target networks."""
        for online, target in self._pairs():
            target.load_state_dict(online.state_dict())

    def _pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        pairs = [(self.agent, self.target_agent)]
        if self.mixer is not None and self.target_mixer is not None:
            pairs.append((self.mixer, self.target_mixer))
        return pairs

    # -- checkpointing --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Networks, target networks, ``torch.optim`` state and the target-update counter."""
        has_mixer = self.mixer is not None and self.target_mixer is not None
        return {
            "agent": self.agent.state_dict(),
            "target_agent": self.target_agent.state_dict(),
            "mixer": self.mixer.state_dict() if has_mixer else {},  # type: ignore[union-attr]
            "target_mixer": self.target_mixer.state_dict() if has_mixer else {},  # type: ignore[union-attr]
            "optimizer": self.optimizer.state_dict(),
            "episodes_at_last_target_update": self.episodes_at_last_target_update,
            "updates": self.updates,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (also that of the earlier flat optimizer)."""
        self.agent.load_state_dict(state["agent"])
        self.target_agent.load_state_dict(state["target_agent"])
        if self.mixer is not None and self.target_mixer is not None:
            self.mixer.load_state_dict(state["mixer"])
            self.target_mixer.load_state_dict(state["target_mixer"])
        optimizer = state["optimizer"]
        if "kind" in optimizer:  # one flat tensor per statistic, from before torch.optim
            optimizer = self._from_flat_optimizer_state(optimizer)
        self.optimizer.load_state_dict(optimizer)
        self.episodes_at_last_target_update = int(state["episodes_at_last_target_update"])
        self.updates = int(state.get("updates", 0))

    def _from_flat_optimizer_state(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """The earlier checkpoint format (``kind``, ``steps``, flat ``state``) as torch.optim's."""
        kind = "rmsprop" if isinstance(self.optimizer, torch.optim.RMSprop) else "adam"
        if flat["kind"] != kind:
            raise ValueError(f"optimizer state is for {flat['kind']!r}, not {kind!r}")
        total = sum(p.numel() for p in self.params)
        per_param: dict[int, dict[str, torch.Tensor]] = {i: {} for i in range(len(self.params))}
        for name, tensor in flat["state"].items():
            if tensor.numel() != total:
                raise ValueError(
                    f"optimizer state {name!r} holds {tensor.numel()} numbers, the networks {total}"
                )
            for i, piece in enumerate(tensor.split([p.numel() for p in self.params])):
                per_param[i][name] = piece.reshape(self.params[i].shape).clone()
        for entry in per_param.values():
            entry["step"] = torch.tensor(float(flat["steps"]))
        state = {i: s for i, s in per_param.items() if flat["steps"] > 0}
        return {"state": state, "param_groups": self.optimizer.state_dict()["param_groups"]}


def _check_btk(**tensors: torch.Tensor) -> None:
    """All [B, T, 1] or [B, T, k] with one B, T and k; ValueError naming the shapes otherwise."""
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    k = max(s[-1] if s else 0 for s in shapes.values())
    b_t = {s[:2] for s in shapes.values()}
    if any(len(s) != 3 or s[-1] not in (1, k) for s in shapes.values()) or len(b_t) > 1:
        seen = ", ".join(f"{name} {list(shape)}" for name, shape in shapes.items())
        raise ValueError(f"expected [B, T, 1] or [B, T, k] with one B, T and k; got {seen}")
