"""Collect episodes over available actions only, many environments at once.

All environments play one episode each in lock step ("a round"); at every step one
batched forward pass of the shared agent network chooses the actions of every agent in
every environment. Episodes are written straight into preallocated arrays laid out like
the replay buffer.

The environments are either a list of :class:`~qmix_tut.envs.MultiAgentEnv`, stepped one
after another (the reference, and what every task has), or one
:class:`~qmix_tut.envs.batched.BatchedEnv`, which steps all of them in one call (a fast
path that some tasks have, e.g. ``make_batched("mpe:simple_spread", 8)``). Both fill the
same arrays with the same episodes.

Two ways of choosing actions, picked once when the runner is built:

- ``"epsilon_greedy"`` (the value methods): the agent's outputs are Q-values; each agent
  takes the best available action, or with probability epsilon a uniformly random one
  (:func:`choose_actions`).
- ``"policy"`` (COMA): the agent's outputs are logits of a policy; each agent samples from
  the softmax over its available actions mixed with an epsilon floor (:func:`policy_probs`,
  :func:`sample_actions`). Such episodes carry two more fields for the actor-critic: the
  ``epsilon`` each was collected with, and ``final_actions``, the actions the policy would
  take in each episode's last observation (a time-limit ending bootstraps from them).

>>> from qmix_tut.envs import make
>>> from qmix_tut.agents import MLPAgent, agent_input_dim
>>> envs = [make("two_step") for _ in range(4)]
>>> e = envs[0]
>>> agent = MLPAgent(agent_input_dim(e.obs_dim, e.n_actions, e.n_agents), e.n_actions)
>>> runner = EpisodeRunner(envs, agent)
>>> episodes, stats = runner.run(epsilon=1.0, seeds=[0, 1, 2, 3])
>>> episodes["mask"].shape, stats["steps"]
(torch.Size([4, 2]), 8)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .agents import AgentNetwork, build_inputs
from .envs.batched import BatchedEnv


def epsilon_at(step: int, start: float, finish: float, anneal_steps: int) -> float:
    """Linear annealing from ``start`` to ``finish`` over ``anneal_steps`` env steps."""
    frac = min(max(step, 0) / anneal_steps, 1.0)
    return start + frac * (finish - start)


def categorical(weights: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One index per row of ``weights[..., A]`` (non-negative, not all zero), drawn with
    probability proportional to its weight.

    An exponential race: with ``E_a ~ Exp(1)`` drawn independently, ``argmax_a w_a / E_a``
    is a with probability ``w_a / sum(w)``. This is also how ``torch.multinomial(w, 1)``
    draws one sample, so both give the same indices from the same generator; written out,
    it skips multinomial's input checks, which cost more than the draw for a few agents.

    >>> g = torch.Generator().manual_seed(0)
    >>> draws = categorical(torch.tensor([1.0, 0.0, 3.0]).expand(4000, 3), g)
    >>> (draws == 1).any().item(), abs((draws == 2).float().mean().item() - 0.75) < 0.03
    (False, True)
    """
    race = torch.empty_like(weights).exponential_(1.0, generator=generator)
    return (weights / race).argmax(-1)


def choose_actions(
    q: torch.Tensor | None,
    avail: torch.Tensor,
    epsilon: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Epsilon-greedy over available actions only. q, avail: [..., A] -> actions [...].

    With probability epsilon an agent picks uniformly among its available actions,
    otherwise the available action with the highest Q-value. With ``epsilon >= 1`` the
    Q-values are never looked at, and ``q`` may be None.
    """
    if q is None and epsilon < 1.0:
        raise ValueError(f"q (Q-values [..., A]) is needed when epsilon < 1, got epsilon {epsilon}")
    if epsilon <= 0.0:
        assert q is not None
        return q.masked_fill(avail == 0, -torch.inf).argmax(-1)
    shape = avail.shape[:-1]
    random_actions = categorical(avail, generator)  # uniform over the available ones
    explore = torch.rand(shape, generator=generator) < epsilon
    if epsilon >= 1.0:  # every agent explores (the draw above keeps the random stream)
        return random_actions
    assert q is not None
    greedy = q.masked_fill(avail == 0, -torch.inf).argmax(-1)
    return torch.where(explore, random_actions, greedy)


def policy_probs(logits: torch.Tensor, avail: torch.Tensor, epsilon: float | torch.Tensor):
    """The exploring policy: softmax over available actions mixed with an epsilon floor.

    ``pi = (1 - epsilon) * softmax(logits over available actions) + epsilon / n_available``
    on available actions and exactly 0 on unavailable ones (Foerster et al. 2018, sec. 6).
    logits, avail: ``[..., A]``; epsilon: a number or a tensor broadcasting against
    ``[...]``. A row with no available action at all (an agent that has left) gets all
    zeros. Returns ``pi`` shaped ``[..., A]``.

    >>> pi = policy_probs(torch.tensor([0.0, 5.0, 1.0]), torch.tensor([1.0, 0.0, 1.0]), 0.2)
    >>> pi[1].item(), round(pi.sum().item(), 6)
    (0.0, 1.0)
    """
    if logits.shape != avail.shape:
        raise ValueError(
            f"logits and avail must have one shape [..., A], got {tuple(logits.shape)} "
            f"and {tuple(avail.shape)}"
        )
    available = avail > 0
    n_avail = available.sum(-1, keepdim=True)
    any_avail = n_avail > 0
    # an all-unavailable row would give 0/0; let it see every logit, then zero it below
    masked = logits.masked_fill(~available & any_avail, -torch.inf)
    soft = torch.softmax(masked, dim=-1)
    eps = torch.as_tensor(epsilon, dtype=logits.dtype, device=logits.device)
    if eps.dim() > 0:
        eps = eps.unsqueeze(-1)
    pi = (1.0 - eps) * soft + eps / n_avail.clamp(min=1)
    return torch.where(available, pi, torch.zeros_like(pi))


def sample_actions(pi: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One action per row of ``pi[..., A]``, drawn from it; a row of zeros gives action 0."""
    empty = pi.sum(-1, keepdim=True) <= 0
    if bool(empty.any()):  # an agent with nothing available takes action 0 (it is ignored)
        pi = pi.clone()
        pi[..., :1][empty] = 1.0
    return categorical(pi, generator)


ACTION_SELECTIONS = ("epsilon_greedy", "policy")


class EpisodeRunner:
    """Plays one episode in each of its environments per call to :meth:`run`.

    ``envs`` is a list of environments or one batched environment (see the module's
    docstring). ``action_selection`` is ``"epsilon_greedy"`` (the agent outputs Q-values) or
    ``"policy"`` (the agent outputs policy logits, sampled with an epsilon floor).
    """

    def __init__(
        self,
        envs: Sequence | BatchedEnv,
        agent: AgentNetwork,
        last_action_input: bool = True,
        agent_id_input: bool = True,
        generator: torch.Generator | None = None,
        action_selection: str = "epsilon_greedy",
    ) -> None:
        if len(envs) == 0:
            raise ValueError("EpisodeRunner needs at least one environment")
        if action_selection not in ACTION_SELECTIONS:
            raise ValueError(
                f"action_selection must be one of {list(ACTION_SELECTIONS)}, got {action_selection!r}"
            )
        self.action_selection = action_selection
        self.agent = agent
        self.batched: BatchedEnv | None = None
        self.envs: list = []
        if isinstance(envs, BatchedEnv):
            self.batched = envs
        else:
            self.envs = list(envs)
        self.n_envs = len(envs)
        e = self.batched if self.batched is not None else self.envs[0]
        self.n_agents, self.n_actions = e.n_agents, e.n_actions
        self.obs_dim, self.state_dim, self.limit = e.obs_dim, e.state_dim, e.episode_limit
        self.last_action_input, self.agent_id_input = last_action_input, agent_id_input
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)

    def _empty(self, n_envs: int) -> dict[str, np.ndarray]:
        t, n, a = self.limit, self.n_agents, self.n_actions
        return {
            "obs": np.zeros((n_envs, t + 1, n, self.obs_dim), np.float32),
            "state": np.zeros((n_envs, t + 1, self.state_dim), np.float32),
            "avail": np.ones((n_envs, t + 1, n, a), np.float32),
            "actions": np.zeros((n_envs, t, n), np.int64),
            "reward": np.zeros((n_envs, t), np.float32),
            "terminated": np.zeros((n_envs, t), np.float32),
            "mask": np.zeros((n_envs, t), np.float32),
        }

    def _step_each(
        self,
        envs: list,
        running: list[int],
        actions: np.ndarray,
        t: int,
        ep: dict[str, np.ndarray],
        returns: np.ndarray,
        lengths: np.ndarray,
    ) -> list[int]:
        """Step each running environment with its row of ``actions [E, n]`` and write step
        ``t`` into ``ep``; returns the environments whose episode goes on."""
        still_running = []
        for i in running:
            obs_i, state_i, avail_i, reward, terminated, truncated, _ = envs[i].step(actions[i])
            ep["actions"][i, t] = actions[i]
            ep["reward"][i, t] = reward
            ep["terminated"][i, t] = float(terminated)
            ep["mask"][i, t] = 1.0
            ep["obs"][i, t + 1], ep["state"][i, t + 1], ep["avail"][i, t + 1] = (
                obs_i,
                state_i,
                avail_i,
            )
            returns[i] += reward
            lengths[i] += 1
            if not (terminated or truncated):
                if t + 1 >= self.limit:
                    raise RuntimeError(
                        f"environment {envs[i].name} ran past its episode_limit {self.limit}"
                    )
                still_running.append(i)
        return still_running

    def _step_batched(
        self,
        actions: np.ndarray,
        t: int,
        ep: dict[str, np.ndarray],
        returns: np.ndarray,
        lengths: np.ndarray,
    ) -> list[int]:
        """:meth:`_step_each` for a batched environment: all ``E`` step in one call, and
        their episodes end together."""
        assert self.batched is not None
        obs, state, avail, reward, terminated, truncated = self.batched.step(actions)
        ep["actions"][:, t] = actions
        ep["reward"][:, t] = reward
        ep["terminated"][:, t] = terminated
        ep["mask"][:, t] = 1.0
        ep["obs"][:, t + 1], ep["state"][:, t + 1], ep["avail"][:, t + 1] = obs, state, avail
        returns += reward
        lengths += 1
        ended = terminated | truncated
        if ended.all():
            return []
        if ended.any():
            raise RuntimeError(
                f"{self.batched.name}: the batched env ended {int(ended.sum())} of "
                f"{len(ended)} episodes at step {t + 1}; its episodes must end together"
            )
        if t + 1 >= self.limit:
            raise RuntimeError(
                f"environment {self.batched.name} ran past its episode_limit {self.limit}"
            )
        return list(range(len(ended)))

    @torch.no_grad()
    def run(
        self, epsilon: float, seeds: Sequence[int | None], n_envs: int | None = None
    ) -> tuple[dict[str, torch.Tensor], dict]:
        """Play one episode per environment (the first ``n_envs`` of them).

        Returns the episodes as tensors shaped for ``EpisodeBuffer.insert`` and statistics:
        ``returns`` and ``lengths`` per episode and ``steps``, the env steps taken. With
        ``action_selection="policy"`` epsilon is the policy's floor, and the episodes also
        hold ``final_actions[E, n]`` (sampled in each episode's last observation) and
        ``epsilon[E]``.
        """
        n_envs = self.n_envs if n_envs is None else n_envs
        if len(seeds) != n_envs:
            raise ValueError(f"need one seed per environment ({n_envs}), got {len(seeds)}")
        envs = self.envs[:n_envs]
        ep = self._empty(n_envs)
        if self.batched is not None:
            ep["obs"][:, 0], ep["state"][:, 0], ep["avail"][:, 0] = self.batched.reset(seeds)
        for i, env in enumerate(envs):
            ep["obs"][i, 0], ep["state"][i, 0], ep["avail"][i, 0] = env.reset(seed=seeds[i])
        policy = self.action_selection == "policy"
        # with uniform epsilon-greedy exploration (epsilon 1) the agent is never asked:
        # skip its set-up; a policy is always asked
        asks_agent = policy or epsilon < 1.0
        if asks_agent:
            device = next(self.agent.parameters()).device
            hidden = self.agent.init_hidden(n_envs * self.n_agents)
            last_actions = torch.full((n_envs, self.n_agents), -1, dtype=torch.int64)

        def agent_outputs(t: int) -> torch.Tensor:
            nonlocal hidden
            obs = torch.from_numpy(ep["obs"][:, t])
            inputs = build_inputs(
                obs,
                last_actions if self.last_action_input else None,
                self.n_actions,
                self.agent_id_input,
            )
            # every agent of every environment in one forward pass, one step long
            flat = inputs.reshape(n_envs * self.n_agents, 1, -1).to(device)
            out, hidden = self.agent(flat, hidden)
            return out.reshape(n_envs, self.n_agents, self.n_actions).cpu()

        def policy_actions(t: int) -> torch.Tensor:
            pi = policy_probs(agent_outputs(t), torch.from_numpy(ep["avail"][:, t]), epsilon)
            return sample_actions(pi, self.generator)

        running = list(range(n_envs))  # the envs whose episode goes on
        returns = np.zeros(n_envs, np.float64)
        lengths = np.zeros(n_envs, np.int64)
        final_actions = np.zeros((n_envs, self.n_agents), np.int64)
        t = 0
        while running:
            if policy:
                actions = policy_actions(t)
                # an episode that ended at the last step: its final actions are these
                ended_last_step = lengths == t
                ended_last_step[running] = False
                final_actions[ended_last_step] = actions.numpy()[ended_last_step]
            else:
                q = agent_outputs(t) if asks_agent else None
                avail = torch.from_numpy(ep["avail"][:, t])
                actions = choose_actions(q, avail, epsilon, self.generator)
            actions_np = actions.numpy()
            if self.batched is not None:  # every environment in one call
                running = self._step_batched(actions_np, t, ep, returns, lengths)
            else:
                running = self._step_each(envs, running, actions_np, t, ep, returns, lengths)
            if asks_agent:
                last_actions = actions
            t += 1
        episodes = {k: torch.from_numpy(v) for k, v in ep.items()}
        if policy:  # the episodes that ended last still need their final actions
            last = lengths == t
            final_actions[last] = policy_actions(t).numpy()[last]
            episodes["final_actions"] = torch.from_numpy(final_actions)
            episodes["epsilon"] = torch.full((n_envs,), float(epsilon), dtype=torch.float64)
        stats = {"returns": returns, "lengths": lengths, "steps": int(lengths.sum())}
        return episodes, stats
