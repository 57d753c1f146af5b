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
        if optimizer == "rmsprop":
            self.optimizer = torch.optim.RMSprop(
                self.params, lr=lr, alpha=optim_alpha, eps=optim_eps, foreach=True
            )
        elif optimizer == "adam":
            self.optimizer = torch.optim.Adam(self.params, lr=lr, eps=optim_eps, foreach=True)
        else:
            raise ValueError(f"optimizer must be 'rmsprop' or 'adam', got {optimizer!r}")
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
            target_q = self.episode_q_values(self.target_agent, inputs)[:, 1:]
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
        weights = torch.ones_like(td)
        if self.weighting == "ow":
            weights = torch.where(td < 0, weights, torch.full_like(td, self.weighting_alpha))
        loss = (weights * td**2).sum() / m.sum()

        self.optimizer.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
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
        lam = self.td_lambda
        t_max = reward.shape[1]
        returns = torch.zeros_like(target_tot)
        next_return = torch.zeros_like(target_tot[:, 0])
        for t in reversed(range(t_max)):
            next_real = mask[:, t + 1] if t + 1 < t_max else torch.zeros_like(mask[:, t])
            bootstrap = target_tot[:, t] + lam * next_real * (next_return - target_tot[:, t])
            returns[:, t] = reward[:, t] + self.gamma * not_done[:, t] * bootstrap
            next_return = returns[:, t]
        return returns

    def update_targets(self, episodes_seen: int) -> None:
        if self.tau > 0:
            with torch.no_grad():
                for online, target in self._pairs():
                    for p, tp in zip(online.parameters(), target.parameters(), strict=True):
                        tp.lerp_(p, self.tau)
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
