"""Collect episodes: epsilon-greedy over available actions, many environments at once.

All environments play one episode each in lock step ("a round"); at every step one
batched forward pass of the shared agent network chooses the actions of every agent in
every environment. Episodes are written straight into preallocated arrays laid out like
the replay buffer.

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
from torch import nn

from .agents import build_inputs


def epsilon_at(step: int, start: float, finish: float, anneal_steps: int) -> float:
    """Linear annealing from ``start`` to ``finish`` over ``anneal_steps`` env steps."""
    frac = min(max(step, 0) / anneal_steps, 1.0)
    return start + frac * (finish - start)


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
    if epsilon <= 0.0:
        return q.masked_fill(avail == 0, -torch.inf).argmax(-1)
    shape = avail.shape[:-1]
    flat = avail.reshape(-1, avail.shape[-1])
    random_actions = torch.multinomial(flat, 1, generator=generator).view(shape)
    explore = torch.rand(shape, generator=generator) < epsilon
    if epsilon >= 1.0:  # every agent explores (the draw above keeps the random stream)
        return random_actions
    greedy = q.masked_fill(avail == 0, -torch.inf).argmax(-1)
    return torch.where(explore, random_actions, greedy)


class EpisodeRunner:
    """Plays one episode in each of its environments per call to :meth:`run`."""

    def __init__(
        self,
        envs: Sequence,
        agent: nn.Module,
        last_action_input: bool = True,
        agent_id_input: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        if len(envs) == 0:
            raise ValueError("EpisodeRunner needs at least one environment")
        self.envs, self.agent = list(envs), agent
        e = self.envs[0]
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

    @torch.no_grad()
    def run(
        self, epsilon: float, seeds: Sequence[int | None], n_envs: int | None = None
    ) -> tuple[dict[str, torch.Tensor], dict]:
        """Play one episode per environment (the first ``n_envs`` of them).

        Returns the episodes as tensors shaped for ``EpisodeBuffer.insert`` and statistics:
        ``returns`` and ``lengths`` per episode and ``steps``, the env steps taken.
        """
        n_envs = len(self.envs) if n_envs is None else n_envs
        if len(seeds) != n_envs:
            raise ValueError(f"need one seed per environment ({n_envs}), got {len(seeds)}")
        envs = self.envs[:n_envs]
        ep = self._empty(n_envs)
        for i, env in enumerate(envs):
            ep["obs"][i, 0], ep["state"][i, 0], ep["avail"][i, 0] = env.reset(seed=seeds[i])
        # with uniform exploration (epsilon 1) the agent is never asked: skip its set-up
        greedy_part = epsilon < 1.0
        if greedy_part:
            device = next(self.agent.parameters()).device
            hidden = self.agent.init_hidden(n_envs * self.n_agents)
            last_actions = torch.full((n_envs, self.n_agents), -1, dtype=torch.int64)
        running = list(range(n_envs))  # the envs whose episode goes on
        returns = np.zeros(n_envs, np.float64)
        lengths = np.zeros(n_envs, np.int64)
        t = 0
        while running:
            q = None
            if greedy_part:
                obs = torch.from_numpy(ep["obs"][:, t])
                inputs = build_inputs(
                    obs,
                    last_actions if self.last_action_input else None,
                    self.n_actions,
                    self.agent_id_input,
                )
                # every agent of every environment in one forward pass, one step long
                flat = inputs.reshape(n_envs * self.n_agents, 1, -1).to(device)
                q, hidden = self.agent(flat, hidden)
                q = q.reshape(n_envs, self.n_agents, self.n_actions).cpu()
            avail = torch.from_numpy(ep["avail"][:, t])
            actions = choose_actions(q, avail, epsilon, self.generator)
            actions_np = actions.numpy()
            still_running = []
            for i in running:
                obs_i, state_i, avail_i, reward, terminated, truncated, _ = envs[i].step(
                    actions_np[i]
                )
                ep["actions"][i, t] = actions_np[i]
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
            running = still_running
            if greedy_part:
                last_actions = actions
            t += 1
        episodes = {k: torch.from_numpy(v) for k, v in ep.items()}
        stats = {"returns": returns, "lengths": lengths, "steps": int(lengths.sum())}
        return episodes, stats
