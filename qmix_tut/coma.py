"""COMA: counterfactual multi-agent policy gradients (Foerster et al. 2018, arXiv:1705.08926).

The actor-critic road beside QMIX. Each agent acts from its own history with the shared
agent network, now read as a *policy*: softmax over its available actions. One
centralised critic, used only in training, sees the global state and every agent's
action and answers, for agent a, "what would the team's return be for each action a
could have taken, the others' actions held fixed":

    Q(s, (u^{-a}, u'))          for every u' of agent a, in one forward pass
    A^a(s, u) = Q(s, u) - sum_u' pi^a(u' | tau^a) Q(s, (u^{-a}, u'))
    actor gradient:  sum_a A^a(s, u) grad log pi^a(u^a | tau^a)

The baseline depends on everything but agent a's own action, so it changes the variance
of the gradient estimate, not its mean; and it asks "was *my* action better than my
average?", which a shared team reward cannot answer on its own.

>>> import torch
>>> q = torch.tensor([[[1.0, 3.0], [0.0, 2.0]]])     # [B=1, n=2, A=2]
>>> pi = torch.tensor([[[0.5, 0.5], [0.25, 0.75]]])
>>> counterfactual_advantage(q, pi, torch.tensor([[1, 0]]))
tensor([[ 1.0000, -1.5000]])

Implementation details (where this differs from the paper or from the reference code
of the PyMARL framework, ``coma_learner``, and why):

1. The critic is a feed-forward network of three layers of 128 units, trained, as the
   reference does, one time step at a time from the last step back to the first
   (one gradient step per time step of the batch), against TD(lambda) targets that a
   target critic computes once per batch; its targets copy the critic every
   ``target_update_interval`` critic steps (or follow it with Polyak averaging when
   ``tau > 0``).
2. The critic's input for agent a: the state, agent a's observation, every agent's
   action one-hot with agent a's own block zeroed, every agent's previous action
   one-hot, and agent a's id (as the reference code builds it).
3. The softmax runs over the available actions only, and the epsilon floor is spread
   over them, so an unavailable action has probability exactly 0 (the reference's
   default configuration softmaxes over every action and masks when sampling).
4. A time-limit ending is not an end of the task: the critic's target bootstraps from
   the target critic's value of the actions the policy samples in the last observation
   (the reference samples those actions the same way).
5. Optimiser as the config says (``optimizer``; RMSprop in the reference), one for the
   actor at ``lr`` and one for the critic at ``critic_lr``; gradients clipped to
   ``grad_clip``. A non-finite loss or gradient stops training with ``NonFiniteError``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .agents import build_inputs
from .learner import NonFiniteError
from .runner import policy_probs

COMA_BATCH_FIELDS = ("obs", "state", "avail", "actions", "reward", "terminated", "mask")


def counterfactual_advantage(
    q_values: torch.Tensor, pi: torch.Tensor, actions: torch.Tensor
) -> torch.Tensor:
    """A^a = Q(s, u) - sum_u' pi^a(u') Q(s, (u^{-a}, u')) for every agent.

    q_values: ``[..., n, A]``, the critic's values of each of agent a's actions with the
    others' actions held fixed. pi: ``[..., n, A]``, each agent's policy. actions:
    ``[..., n]``, the actions taken. Returns ``[..., n]``.
    """
    if q_values.dim() < 2 or q_values.shape != pi.shape:
        raise ValueError(
            f"q_values and pi must share one shape [..., n, A], got {tuple(q_values.shape)} "
            f"and {tuple(pi.shape)}"
        )
    if tuple(actions.shape) != tuple(q_values.shape[:-1]):
        raise ValueError(
            f"actions must have shape {tuple(q_values.shape[:-1])} ([..., n]), "
            f"got {tuple(actions.shape)}"
        )
    q_taken = q_values.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
    baseline = (pi * q_values).sum(-1)
    return q_taken - baseline


# ------------------------------------------------------------------------------------------
# The centralised critic
# ------------------------------------------------------------------------------------------
def critic_input_dim(state_dim: int, obs_dim: int, n_agents: int, n_actions: int) -> int:
    """Width of the critic's input: state + own observation + 2 joint-action one-hots + id.

    >>> critic_input_dim(state_dim=18, obs_dim=18, n_agents=3, n_actions=5)
    69
    """
    return state_dim + obs_dim + 2 * n_agents * n_actions + n_agents


def build_critic_inputs(
    state: torch.Tensor,
    obs: torch.Tensor,
    actions: torch.Tensor,
    last_actions: torch.Tensor,
    n_actions: int,
) -> torch.Tensor:
    """The critic's input for every agent: ``[..., n, critic_input_dim]``.

    state: ``[..., state_dim]``; obs: ``[..., n, obs_dim]``; actions and last_actions:
    ``[..., n]`` integers, -1 in last_actions meaning "no previous action". For agent a
    the row is ``[state, obs_a, one_hot(u) with agent a's block zeroed,
    one_hot(u_previous), one_hot(a)]``.

    >>> x = build_critic_inputs(torch.zeros(4, 6), torch.zeros(4, 2, 3),
    ...                         torch.zeros(4, 2, dtype=torch.long),
    ...                         torch.full((4, 2), -1), n_actions=5)
    >>> x.shape
    torch.Size([4, 2, 31])
    """
    if obs.dim() < 2:
        raise ValueError(f"obs must be [..., n, obs_dim], got shape {tuple(obs.shape)}")
    lead, n = obs.shape[:-2], obs.shape[-2]
    if tuple(state.shape[:-1]) != tuple(lead):
        raise ValueError(
            f"state must be [{', '.join(map(str, lead))}, state_dim] to match obs "
            f"{tuple(obs.shape)}, got {tuple(state.shape)}"
        )
    for name, a in (("actions", actions), ("last_actions", last_actions)):
        if tuple(a.shape) != tuple(obs.shape[:-1]):
            raise ValueError(
                f"{name} must have shape {tuple(obs.shape[:-1])} ([..., n]), got {tuple(a.shape)}"
            )
    dtype = obs.dtype
    joint = F.one_hot(actions.long(), n_actions).to(dtype)  # [..., n, A]
    joint = joint.reshape(*lead, 1, n * n_actions).expand(*lead, n, n * n_actions)
    # agent a must not see its own action: the critic answers for each of them at once
    not_own = 1.0 - torch.eye(n, dtype=dtype, device=obs.device)
    not_own = not_own.repeat_interleave(n_actions, dim=-1)  # [n, n*A]
    previous = F.one_hot((last_actions + 1).long(), n_actions + 1)[..., 1:].to(dtype)
    previous = previous.reshape(*lead, 1, n * n_actions).expand(*lead, n, n * n_actions)
    ids = torch.eye(n, dtype=dtype, device=obs.device).expand(*lead, n, n)
    return torch.cat(
        [
            state.unsqueeze(-2).expand(*lead, n, state.shape[-1]),
            obs,
            joint * not_own,
            previous,
            ids,
        ],
        dim=-1,
    )


class COMACritic(nn.Module):
    """Q(s, u^{-a}, .): three fully connected layers to one value per action of agent a.

    ``forward(inputs[..., input_dim]) -> q[..., n_actions]``; inputs from
    :func:`build_critic_inputs`.

    >>> critic = COMACritic(input_dim=31, n_actions=5)
    >>> critic(torch.zeros(4, 2, 31)).shape
    torch.Size([4, 2, 5])
    """

    def __init__(self, input_dim: int, n_actions: int, hidden_dim: int = 128) -> None:
        super().__init__()
        self.input_dim, self.n_actions, self.hidden_dim = input_dim, n_actions, hidden_dim
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, hidden_dim)
        self.fc3 = nn.Linear(hidden_dim, n_actions)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.shape[-1] != self.input_dim:
            raise ValueError(
                f"critic inputs last dimension must be {self.input_dim}, got {tuple(inputs.shape)}"
            )
        x = F.relu(self.fc1(inputs))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def lambda_returns(
    reward: torch.Tensor,
    terminated: torch.Tensor,
    mask: torch.Tensor,
    next_values: torch.Tensor,
    gamma: float,
    td_lambda: float,
) -> torch.Tensor:
    """TD(lambda) targets over padded episodes, computed backwards; all ``[B, T, k]``.

    ``G_t = r_t + gamma (1 - d_t) [(1 - lambda) V_{t+1} + lambda G_{t+1}]``, where
    ``V_{t+1}`` is ``next_values[:, t]`` and ``G_{t+1}`` is used only if step t+1 is real
    (otherwise the target bootstraps from ``V_{t+1}`` alone, as at a time-limit ending).
    """
    if not (reward.shape == terminated.shape == mask.shape == next_values.shape):
        raise ValueError(
            "reward, terminated, mask and next_values must share one shape [B, T, k], got "
            f"{tuple(reward.shape)}, {tuple(terminated.shape)}, {tuple(mask.shape)}, "
            f"{tuple(next_values.shape)}"
        )
    next_real = torch.cat([mask[:, 1:], torch.zeros_like(mask[:, :1])], dim=1)
    discount = gamma * (1.0 - terminated)
    returns = torch.zeros_like(reward)
    g_next = torch.zeros_like(reward[:, 0])
    for t in reversed(range(reward.shape[1])):
        v = next_values[:, t]
        bootstrap = v + td_lambda * next_real[:, t] * (g_next - v)
        g_next = reward[:, t] + discount[:, t] * bootstrap
        returns[:, t] = g_next
    return returns


# ------------------------------------------------------------------------------------------
# The learner
# ------------------------------------------------------------------------------------------
def _unroll(agent: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Run the shared agent over whole episodes: [B, T, n, D] -> [B, T, n, A]."""
    b, t, n, d = inputs.shape
    if getattr(agent, "recurrent", False):
        out, _ = agent(inputs.permute(0, 2, 1, 3).reshape(b * n, t, d))
        return out.reshape(b, n, t, -1).permute(0, 2, 1, 3)
    out, _ = agent(inputs)
    return out


def _make_optimizer(params, kind: str, lr: float, alpha: float, eps: float):
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=alpha, eps=eps)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, eps=eps)
    raise ValueError(f"optimizer must be 'rmsprop' or 'adam', got {kind!r}")


class COMALearner:
    """Trains the shared actor and the centralised critic on batches of whole episodes.

    ``update(batch)`` takes the episodes just collected by an
    ``EpisodeRunner(action_selection="policy")``: the usual episode fields plus
    ``final_actions[B, n]`` and ``epsilon[B]``. It is on-policy: never feed it old
    episodes from a replay buffer. See the module docstring for the maths and for how
    this differs from the paper and the reference code.

    >>> from qmix_tut.agents import MLPAgent
    >>> learner = COMALearner(MLPAgent(5, 2), COMACritic(20, 2), n_agents=2, n_actions=2)
    """

    def __init__(
        self,
        agent: nn.Module,
        critic: COMACritic,
        *,
        n_agents: int,
        n_actions: int,
        gamma: float = 0.99,
        lr: float = 5e-4,
        critic_lr: float = 5e-4,
        optimizer: str = "rmsprop",
        optim_alpha: float = 0.99,
        optim_eps: float = 1e-5,
        grad_clip: float = 10.0,
        target_update_interval: int = 200,
        tau: float = 0.0,
        td_lambda: float = 0.8,
        last_action_input: bool = True,
        agent_id_input: bool = True,
    ) -> None:
        self.agent, self.critic = agent, critic
        self.target_critic = copy.deepcopy(critic)
        self.mixer = None  # COMA mixes nothing; the trainer's Result reads this
        self.n_agents, self.n_actions = n_agents, n_actions
        self.gamma, self.td_lambda, self.grad_clip = gamma, td_lambda, grad_clip
        self.target_update_interval, self.tau = target_update_interval, tau
        self.last_action_input, self.agent_id_input = last_action_input, agent_id_input
        self.actor_params = list(agent.parameters())
        self.critic_params = list(critic.parameters())
        self.actor_optimizer = _make_optimizer(
            self.actor_params, optimizer, lr, optim_alpha, optim_eps
        )
        self.critic_optimizer = _make_optimizer(
            self.critic_params, optimizer, critic_lr, optim_alpha, optim_eps
        )
        self.critic_steps = 0
        self.critic_steps_at_last_target_update = 0
        self.updates = 0

    @classmethod
    def from_config(
        cls, agent: nn.Module, critic: COMACritic, n_agents: int, n_actions: int, config: Any
    ) -> COMALearner:
        """The learner a :class:`qmix_tut.config.Config` asks for."""
        c = config
        return cls(
            agent, critic, n_agents=n_agents, n_actions=n_actions, gamma=c.gamma, lr=c.lr,
            critic_lr=c.critic_lr, optimizer=c.optimizer, optim_alpha=c.optim_alpha,
            optim_eps=c.optim_eps, grad_clip=c.grad_clip,
            target_update_interval=c.target_update_interval, tau=c.tau, td_lambda=c.td_lambda,
            last_action_input=c.last_action_input, agent_id_input=c.agent_id_input,
        )  # fmt: skip

    # -- the pieces of an update, each public so a notebook can show it ----------------------
    def check_batch(self, batch: Mapping[str, torch.Tensor]) -> None:
        """Raise ValueError naming a missing field or a shape that does not fit."""
        missing = [k for k in (*COMA_BATCH_FIELDS, "final_actions", "epsilon") if k not in batch]
        if missing:
            raise ValueError(
                f"a COMA batch needs field(s) {', '.join(missing)}: collect it with "
                "EpisodeRunner(..., action_selection='policy') (not from a replay buffer)"
            )
        b, t = batch["mask"].shape
        n = self.n_agents
        expected = {
            "actions": (b, t, n),
            "reward": (b, t),
            "terminated": (b, t),
            "final_actions": (b, n),
            "epsilon": (b,),
        }
        for key, shape in expected.items():
            if tuple(batch[key].shape) != shape:
                raise ValueError(
                    f"batch[{key!r}] must have shape {shape}, got {tuple(batch[key].shape)}"
                )
        for key in ("obs", "state", "avail"):
            if tuple(batch[key].shape[:2]) != (b, t + 1):
                raise ValueError(
                    f"batch[{key!r}] must start with [B={b}, T+1={t + 1}], got {tuple(batch[key].shape)}"
                )
        if batch["avail"].shape[2:] != (n, self.n_actions):
            raise ValueError(
                f"batch['avail'] must be [B, T+1, {n}, {self.n_actions}], got "
                f"{tuple(batch['avail'].shape)}"
            )

    @staticmethod
    def trim(batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Cut the padding after the longest episode of the batch."""
        t = int(batch["mask"].sum(1).max())
        cut = {}
        for key, value in batch.items():
            if key in ("obs", "state", "avail"):
                cut[key] = value[:, : t + 1]
            elif key in ("actions", "reward", "terminated", "mask"):
                cut[key] = value[:, :t]
            else:
                cut[key] = value
        return cut

    def joint_actions(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Actions at every step and one more, ``[B, T+1, n]``: the actions taken, then
        each episode's ``final_actions`` right after its last real step."""
        actions, mask = batch["actions"], batch["mask"]
        b = actions.shape[0]
        extended = torch.cat([actions, torch.zeros_like(actions[:, :1])], dim=1)
        lengths = mask.sum(1).long()
        extended[torch.arange(b), lengths] = batch["final_actions"].to(actions.dtype)
        return extended

    def critic_inputs(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Critic inputs at every step and the one after: ``[B, T+1, n, critic_input_dim]``."""
        actions = self.joint_actions(batch)
        previous = torch.cat([torch.full_like(actions[:, :1], -1), actions[:, :-1]], dim=1)
        return build_critic_inputs(batch["state"], batch["obs"], actions, previous, self.n_actions)

    def critic_targets(
        self, batch: Mapping[str, torch.Tensor], inputs: torch.Tensor
    ) -> torch.Tensor:
        """TD(lambda) targets from the target critic's values of the actions taken next."""
        with torch.no_grad():
            q_next = self.target_critic(inputs[:, 1:])  # [B, T, n, A]
            next_actions = self.joint_actions(batch)[:, 1:]
            v_next = q_next.gather(-1, next_actions.unsqueeze(-1)).squeeze(-1)  # [B, T, n]
            n = self.n_agents
            expand = lambda x: x.unsqueeze(-1).expand(*x.shape, n)  # noqa: E731
            return lambda_returns(
                expand(batch["reward"]),
                expand(batch["terminated"]),
                expand(batch["mask"]),
                v_next,
                self.gamma,
                self.td_lambda,
            )

    def policy(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The exploring policy at every real step, with gradients: ``[B, T, n, A]``."""
        obs, actions = batch["obs"][:, :-1], batch["actions"]
        last = None
        if self.last_action_input:
            last = torch.cat([torch.full_like(actions[:, :1], -1), actions[:, :-1]], dim=1)
        inputs = build_inputs(obs, last, self.n_actions, self.agent_id_input)
        logits = _unroll(self.agent, inputs)
        eps = batch["epsilon"].to(logits.dtype).view(-1, 1, 1)
        return policy_probs(logits, batch["avail"][:, :-1], eps)

    # -- one update ----------------------------------------------------------------------
    def update(self, batch: Mapping[str, torch.Tensor], episodes_seen: int = 0) -> dict[str, float]:
        """Train the critic (one step per time step, last to first), then the actor.

        Returns ``loss``, ``grad_norm``, ``q_taken``, ``target`` and ``td_error`` for the
        critic (means over the real steps) and ``actor_loss``, ``actor_grad_norm``,
        ``advantage`` (mean ``|A|``) and ``entropy`` (of the exploring policy) for the actor.
        Raises ``NonFiniteError`` before a step that would write a NaN or inf into a weight.
        """
        self.check_batch(batch)
        device = next(self.critic.parameters()).device
        batch = {k: v.to(device) for k, v in self.trim(batch).items()}
        mask = batch["mask"]
        # an agent with no available action (one that has left the episode) is not trained
        agent_mask = mask.unsqueeze(-1) * (batch["avail"][:, :-1].sum(-1) > 0)  # [B, T, n]
        actions = batch["actions"]
        inputs = self.critic_inputs(batch)
        targets = self.critic_targets(batch, inputs)  # [B, T, n]

        # critic: one step per time step, from the last to the first
        q_values = inputs.new_zeros(*actions.shape, self.n_actions)
        sums = dict(loss=0.0, grad_norm=0.0, q_taken=0.0, target=0.0, td_error=0.0)
        steps = 0
        for t in reversed(range(actions.shape[1])):
            m = agent_mask[:, t]
            n_real = m.sum()
            if n_real == 0:
                continue
            q_t = self.critic(inputs[:, t])  # [B, n, A]
            q_values[:, t] = q_t.detach()
            q_taken = q_t.gather(-1, actions[:, t].unsqueeze(-1)).squeeze(-1)
            td = (q_taken - targets[:, t]) * m
            loss = (td**2).sum() / n_real
            self.critic_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = nn.utils.clip_grad_norm_(self.critic_params, self.grad_clip)
            loss_value, grad_norm_value = float(loss.detach()), float(grad_norm)
            self._check_finite(critic_loss=loss_value, critic_grad_norm=grad_norm_value)
            self.critic_optimizer.step()
            self.critic_steps += 1
            self._update_target()
            steps += 1
            with torch.no_grad():
                sums["loss"] += loss_value
                sums["grad_norm"] += grad_norm_value
                sums["q_taken"] += float((q_taken * m).sum() / n_real)
                sums["target"] += float((targets[:, t] * m).sum() / n_real)
                sums["td_error"] += float(td.abs().sum() / n_real)
        stats = {k: v / max(steps, 1) for k, v in sums.items()}

        # actor: the counterfactual advantage weights each agent's log-probability
        pi = self.policy(batch)  # [B, T, n, A]
        advantage = counterfactual_advantage(q_values, pi.detach(), actions)
        pi_taken = pi.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        pi_taken = torch.where(agent_mask > 0, pi_taken, torch.ones_like(pi_taken))
        n_real = agent_mask.sum()
        actor_loss = -(advantage * torch.log(pi_taken) * agent_mask).sum() / n_real
        self.actor_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        actor_grad_norm = nn.utils.clip_grad_norm_(self.actor_params, self.grad_clip)
        actor_loss_value = float(actor_loss.detach())
        self._check_finite(actor_loss=actor_loss_value, actor_grad_norm=float(actor_grad_norm))
        self.actor_optimizer.step()
        self.updates += 1
        with torch.no_grad():
            p = pi.detach()
            entropy = -(torch.where(p > 0, p * p.log(), torch.zeros_like(p))).sum(-1)
            stats.update(
                actor_loss=actor_loss_value,
                actor_grad_norm=float(actor_grad_norm),
                advantage=float((advantage.abs() * agent_mask).sum() / n_real),
                entropy=float((entropy * agent_mask).sum() / n_real),
            )
        return stats

    def _check_finite(self, **values: float) -> None:
        for name, value in values.items():
            if value != value or value in (float("inf"), float("-inf")):
                raise NonFiniteError(
                    f"the COMA {name.replace('_', ' ')} is {value} at update {self.updates + 1}; "
                    "that step was not taken. Try a smaller lr or critic_lr, a smaller "
                    "grad_clip, or check the rewards."
                )

    def _update_target(self) -> None:
        if self.tau > 0:
            with torch.no_grad():
                for target, online in zip(
                    self.target_critic.parameters(), self.critic.parameters(), strict=True
                ):
                    target.lerp_(online, self.tau)
        elif (
            self.critic_steps - self.critic_steps_at_last_target_update
            >= self.target_update_interval
        ):
            self.target_critic.load_state_dict(self.critic.state_dict())
            self.critic_steps_at_last_target_update = self.critic_steps

    # -- checkpointing ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to continue exactly: networks, target, optimisers, counters."""
        return {
            "agent": self.agent.state_dict(),
            "critic": self.critic.state_dict(),
            "target_critic": self.target_critic.state_dict(),
            "mixer": {},
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "critic_steps": self.critic_steps,
            "critic_steps_at_last_target_update": self.critic_steps_at_last_target_update,
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.agent.load_state_dict(state["agent"])
        self.critic.load_state_dict(state["critic"])
        self.target_critic.load_state_dict(state["target_critic"])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.critic_steps = int(state["critic_steps"])
        self.critic_steps_at_last_target_update = int(state["critic_steps_at_last_target_update"])
        self.updates = int(state["updates"])


def make_critic(env_info: Mapping[str, int], hidden_dim: int = 128) -> COMACritic:
    """The critic for an environment's dimensions (``n_agents``, ``n_actions``,
    ``obs_dim``, ``state_dim``, as in a run's ``env_info``)."""
    n, a = env_info["n_agents"], env_info["n_actions"]
    return COMACritic(
        critic_input_dim(env_info["state_dim"], env_info["obs_dim"], n, a), a, hidden_dim
    )
