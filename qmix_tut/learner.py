"""One learner for IQL, VDN and QMIX: the only difference is the mixer passed in.

Loss, for a batch of padded episodes (mask m_t = 1 on real steps)::

    y_t  = r_t + gamma * (1 - terminated_t) * Q_tot^target(s_{t+1}, argmax-or-max u')
    loss = sum_t m_t (Q_tot(s_t, u_t) - y_t)^2 / sum_t m_t

With ``mixer=None`` (IQL) every agent is its own Q_tot and learns from the shared team
reward. Time-limit endings are not ``terminated``, so the target bootstraps through them.

>>> import torch
>>> from qmix_tut.agents import MLPAgent
>>> from qmix_tut.mixers import VDNMixer
>>> learner = QLearner(MLPAgent(5, 2), VDNMixer(), n_actions=2)
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .agents import build_inputs


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
    ) -> None:
        self.agent, self.mixer = agent, mixer
        self.target_agent = copy.deepcopy(agent)
        self.target_mixer = copy.deepcopy(mixer)
        self.n_actions = n_actions
        self.gamma, self.double_q, self.grad_clip = gamma, double_q, grad_clip
        self.target_update_interval, self.tau, self.td_lambda = (
            target_update_interval,
            tau,
            td_lambda,
        )
        self.last_action_input, self.agent_id_input = last_action_input, agent_id_input
        self.weighting, self.weighting_alpha = weighting, weighting_alpha
        self.params = list(agent.parameters()) + (list(mixer.parameters()) if mixer else [])
        # All trained weights live in one flat tensor and their gradients in another, so the
        # optimizer, clipping and target updates are a few calls, not a few per parameter
        # (for networks this small, per-call overhead is most of an update's cost).
        self.flat = FlatParameters(self.params)
        self.target_flat = FlatParameters(
            [p for _, target in self._pairs() for p in target.parameters()]
        )
        self.optimizer = FlatOptimizer(self.flat, optimizer, lr, alpha=optim_alpha, eps=optim_eps)
        self.episodes_at_last_target_update = 0

    @classmethod
    def from_config(
        cls, agent: nn.Module, mixer: nn.Module | None, n_actions: int, config
    ) -> QLearner:
        c = config
        return cls(
            agent, mixer, n_actions=n_actions, gamma=c.gamma, lr=c.lr, optimizer=c.optimizer,
            optim_alpha=c.optim_alpha, optim_eps=c.optim_eps, grad_clip=c.grad_clip,
            double_q=c.double_q, target_update_interval=c.target_update_interval, tau=c.tau,
            td_lambda=c.td_lambda, last_action_input=c.last_action_input,
            agent_id_input=c.agent_id_input, weighting=c.weighting,
            weighting_alpha=c.weighting_alpha,
        )  # fmt: skip

    # -- Q-values over whole episodes ---------------------------------------------------
    def agent_inputs(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
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

    # -- one gradient step --------------------------------------------------------------
    def update(self, batch: dict[str, torch.Tensor], episodes_seen: int = 0) -> dict[str, float]:
        """One gradient step on a batch from ``EpisodeBuffer.sample``; returns statistics."""
        actions, avail = batch["actions"], batch["avail"]
        reward, terminated, mask = batch["reward"], batch["terminated"], batch["mask"]
        inputs = self.agent_inputs(batch)

        q = self.episode_q_values(self.agent, inputs)  # [B, T+1, n, A]
        q_taken = q[:, :-1].gather(-1, actions.unsqueeze(-1)).squeeze(-1)  # [B, T, n]

        with torch.no_grad():
            if getattr(self.target_agent, "recurrent", False):  # needs the whole history
                target_q = self.episode_q_values(self.target_agent, inputs)[:, 1:]
            else:  # a feed-forward agent is scored only where it is needed, at t + 1
                target_q = self.episode_q_values(self.target_agent, inputs[:, 1:])
            next_avail = avail[:, 1:]
            # a state with nothing available (the padding after an episode) scores 0
            has_action = next_avail.sum(-1, keepdim=True) > 0
            next_avail = torch.where(has_action, next_avail, torch.ones_like(next_avail))
            if self.double_q:
                chooser = q[:, 1:].detach().masked_fill(next_avail == 0, -torch.inf)
                best = chooser.argmax(-1, keepdim=True)
                target_next = target_q.gather(-1, best).squeeze(-1)  # [B, T, n]
            else:
                target_next = target_q.masked_fill(next_avail == 0, -torch.inf).max(-1).values

        if self.mixer is not None:
            q_tot = self.mixer(q_taken, batch["state"][:, :-1])  # [B, T, 1]
            with torch.no_grad():
                target_tot = self.target_mixer(target_next, batch["state"][:, 1:])
        else:
            q_tot, target_tot = q_taken, target_next  # [B, T, n]: each agent on its own

        targets = self.targets(
            reward.unsqueeze(-1), terminated.unsqueeze(-1), mask.unsqueeze(-1), target_tot
        )
        m = mask.unsqueeze(-1).expand_as(q_tot)
        td = (q_tot - targets) * m
        squared = td**2
        if self.weighting == "ow":  # full weight where Q_tot is below its target, else alpha
            squared = torch.where(td < 0, squared, self.weighting_alpha * squared)
        loss = squared.sum() / m.sum()

        self.flat.zero_grad()
        loss.backward()
        grad_norm = self.flat.clip_grad_norm_(self.grad_clip)
        self.optimizer.step()
        self.update_targets(episodes_seen)
        with torch.no_grad():
            n_real = m.sum()
            return {
                "loss": float(loss),
                "grad_norm": float(grad_norm),
                "q_taken": float((q_tot * m).sum() / n_real),
                "target": float((targets * m).sum() / n_real),
            }

    def targets(
        self,
        reward: torch.Tensor,
        terminated: torch.Tensor,
        mask: torch.Tensor,
        target_tot: torch.Tensor,
    ) -> torch.Tensor:
        """One-step or TD(lambda) targets; all inputs [B, T, k] with k = 1 or n_agents."""
        not_done = 1.0 - terminated
        if self.td_lambda == 0.0:
            return reward + self.gamma * not_done * target_tot
        # G_t = r_t + gamma (1 - d_t) [(1 - lambda) Q(s_{t+1}) + lambda G_{t+1}], where
        # G_{t+1} exists only if step t+1 is real; otherwise it falls back to Q(s_{t+1}).
        # The factors that do not depend on G are computed for all steps at once, and the
        # tensors split into per-step views once: the loop then runs five small ops a step.
        next_real = torch.cat([mask[:, 1:], torch.zeros_like(mask[:, :1])], dim=1)
        lam_real = (self.td_lambda * next_real).unbind(1)
        discount = (self.gamma * not_done).unbind(1)
        q_next, r = target_tot.unbind(1), reward.unbind(1)
        returns = [torch.zeros_like(q_next[0])] * len(r)
        next_return = returns[0]
        for t in reversed(range(len(r))):
            bootstrap = q_next[t] + lam_real[t] * (next_return - q_next[t])
            returns[t] = next_return = r[t] + discount[t] * bootstrap
        return torch.stack(returns, dim=1)

    def update_targets(self, episodes_seen: int) -> None:
        if self.tau > 0:
            with torch.no_grad():
                self.target_flat.weights.lerp_(self.flat.weights, self.tau)
        elif episodes_seen - self.episodes_at_last_target_update >= self.target_update_interval:
            self.hard_update_targets()
            self.episodes_at_last_target_update = episodes_seen

    def hard_update_targets(self) -> None:
        for online, target in self._pairs():
            target.load_state_dict(online.state_dict())

    def _pairs(self):
        pairs = [(self.agent, self.target_agent)]
        if self.mixer is not None:
            pairs.append((self.mixer, self.target_mixer))
        return pairs

    # -- checkpointing --------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "agent": self.agent.state_dict(),
            "target_agent": self.target_agent.state_dict(),
            "mixer": self.mixer.state_dict() if self.mixer is not None else {},
            "target_mixer": self.target_mixer.state_dict() if self.mixer is not None else {},
            "optimizer": self.optimizer.state_dict(),
            "episodes_at_last_target_update": self.episodes_at_last_target_update,
        }

    def load_state_dict(self, state: dict) -> None:
        self.agent.load_state_dict(state["agent"])
        self.target_agent.load_state_dict(state["target_agent"])
        if self.mixer is not None:
            self.mixer.load_state_dict(state["mixer"])
            self.target_mixer.load_state_dict(state["target_mixer"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.episodes_at_last_target_update = int(state["episodes_at_last_target_update"])


class FlatParameters:
    """Parameters rehoused as views into one flat tensor, with gradients likewise.

    The modules keep their own parameters (names, shapes, ``state_dict`` unchanged), but
    their storage becomes a slice of ``weights`` and their ``.grad`` a slice of ``grads``.
    Backward then accumulates straight into ``grads``, and one optimizer step on
    ``weights`` updates every parameter at once, with the same arithmetic, element by
    element, as a step on each parameter separately.

    >>> net = nn.Linear(3, 2)
    >>> flat = FlatParameters(list(net.parameters()))
    >>> flat.weights.shape, net.weight.data_ptr() == flat.weights.data_ptr()
    (torch.Size([8]), True)
    """

    def __init__(self, params: list[nn.Parameter]) -> None:
        if not params:
            raise ValueError("FlatParameters needs at least one parameter")
        first = params[0]
        if any(p.dtype != first.dtype or p.device != first.device for p in params):
            raise ValueError("all parameters must share one dtype and one device")
        self.params = params
        total = sum(p.numel() for p in params)
        self.weights = nn.Parameter(torch.empty(total, dtype=first.dtype, device=first.device))
        self.grads = torch.zeros_like(self.weights)
        self.weights.grad = self.grads
        self.grad_views: list[torch.Tensor] = []
        offset = 0
        with torch.no_grad():
            for p in params:
                n = p.numel()
                self.weights[offset : offset + n].copy_(p.reshape(-1))
                p.data = self.weights.data[offset : offset + n].view_as(p)
                self.grad_views.append(self.grads[offset : offset + n].view_as(p))
                offset += n
        self.zero_grad()

    def zero_grad(self) -> None:
        """Zero the gradients, re-attaching any ``.grad`` that something else replaced."""
        self.grads.zero_()
        self.weights.grad = self.grads
        for p, view in zip(self.params, self.grad_views, strict=True):
            if p.grad is not view:
                p.grad = view

    def clip_grad_norm_(self, max_norm: float) -> torch.Tensor:
        """``torch.nn.utils.clip_grad_norm_`` on the parameters, to the last bit.

        The norm is taken per parameter and then over those norms, as torch does it, so
        the result and the clipped gradients equal the per-parameter version exactly.
        """
        for p, view in zip(self.params, self.grad_views, strict=True):
            if p.grad is not view:  # autograd made a new tensor: bring it into the buffer
                view.copy_(p.grad if p.grad is not None else torch.zeros_like(view))
                p.grad = view
        norms = torch._foreach_norm(self.grad_views, 2.0)
        total = torch.linalg.vector_norm(torch.stack(norms), 2.0)
        self.grads.mul_(torch.clamp(max_norm / (total + 1e-6), max=1.0))
        return total


class FlatOptimizer:
    """RMSprop or Adam on a :class:`FlatParameters`, written out in a few tensor calls.

    The arithmetic is torch.optim's (``RMSprop(alpha, eps)``, ``Adam(betas=(0.9, 0.999),
    eps)``, no weight decay or momentum) in the same order, so the weights match it to the
    last bit (the tests check this); what is left out is torch.optim's per-step
    bookkeeping, which for networks this small costs more than the arithmetic.

    RMSprop: ``s = alpha s + (1 - alpha) g^2``, ``w -= lr g / (sqrt(s) + eps)``.
    Adam: ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 v + (1 - beta2) g^2``,
    ``w -= lr / (1 - beta1^k) * m / (sqrt(v) / sqrt(1 - beta2^k) + eps)`` at step ``k``.
    """

    BETAS = (0.9, 0.999)

    def __init__(
        self, flat: FlatParameters, kind: str, lr: float, alpha: float = 0.99, eps: float = 1e-5
    ) -> None:
        if kind not in ("rmsprop", "adam"):
            raise ValueError(f"optimizer must be 'rmsprop' or 'adam', got {kind!r}")
        self.flat, self.kind, self.lr, self.alpha, self.eps = flat, kind, lr, alpha, eps
        self.steps = 0
        names = ("square_avg",) if kind == "rmsprop" else ("exp_avg", "exp_avg_sq")
        self.state = {name: torch.zeros_like(flat.weights) for name in names}

    @torch.no_grad()
    def step(self) -> None:
        w, g, lr, eps = self.flat.weights, self.flat.grads, self.lr, self.eps
        self.steps += 1
        if self.kind == "rmsprop":
            square_avg = self.state["square_avg"]
            square_avg.mul_(self.alpha).addcmul_(g, g, value=1 - self.alpha)
            w.addcdiv_(g, square_avg.sqrt().add_(eps), value=-lr)
            return
        beta1, beta2 = self.BETAS
        exp_avg, exp_avg_sq = self.state["exp_avg"], self.state["exp_avg_sq"]
        exp_avg.lerp_(g, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        step_size = (lr / (1 - beta1 ** float(self.steps))) * -1
        denom = exp_avg_sq.sqrt().div_((1 - beta2 ** float(self.steps)) ** 0.5).add_(eps)
        w.addcdiv_(exp_avg, denom, value=step_size)

    def state_dict(self) -> dict:
        return {
            "kind": self.kind,
            "steps": self.steps,
            "state": {k: v.clone() for k, v in self.state.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind") != self.kind:
            raise ValueError(f"optimizer state is for {state.get('kind')!r}, not {self.kind!r}")
        self.steps = int(state["steps"])
        for key, value in state["state"].items():
            self.state[key].copy_(value)
