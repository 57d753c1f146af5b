"""Episode replay: whole episodes in preallocated tensors, padded to the time limit.

A recurrent agent must see an episode from its start to rebuild its hidden state, so the
buffer stores and samples whole episodes. Shorter episodes are padded; ``mask`` marks the
real transitions.

Layout for capacity C, time limit T, n agents, A actions (step t runs from 0 to T-1; the
observation arrays have one more entry, the observation after the last action):

==========  ====================  =======================================
field       shape                 meaning
==========  ====================  =======================================
obs         [C, T+1, n, obs_dim]  each agent's observation
state       [C, T+1, state_dim]   global state (for the mixer only)
avail       [C, T+1, n, A]        1 where an action is available
actions     [C, T, n]             actions taken (int64)
reward      [C, T]                team reward
terminated  [C, T]                1 on a step that truly ended the task
mask        [C, T]                1 on a real (not padded) step
==========  ====================  =======================================

>>> buf = EpisodeBuffer(100, episode_limit=2, n_agents=2, obs_dim=3, state_dim=3, n_actions=2)
>>> buf.memory_bytes() > 0, len(buf)
(True, 0)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import torch


class EpisodeBatch(TypedDict):
    """A batch of B padded episodes of at most T steps, as :meth:`EpisodeBuffer.sample` gives.

    obs ``[B, T+1, n, obs_dim]``, state ``[B, T+1, state_dim]``, avail ``[B, T+1, n, A]``
    (float, 1 where available), actions ``[B, T, n]`` (int64), reward, terminated and mask
    ``[B, T]`` (float). The observation arrays hold one more entry: the one after the last
    action, which the targets bootstrap from.
    """

    obs: torch.Tensor
    state: torch.Tensor
    avail: torch.Tensor
    actions: torch.Tensor
    reward: torch.Tensor
    terminated: torch.Tensor
    mask: torch.Tensor


FIELDS: tuple[str, ...] = tuple(EpisodeBatch.__annotations__)
"""The fields of a batch (and of the buffer), in order."""


def check_batch(batch: Mapping[str, object]) -> None:
    """Raise ValueError naming the missing fields, or the field whose shape is off.

    >>> check_batch({"obs": None})
    Traceback (most recent call last):
    ...
    ValueError: batch is missing field(s): state, avail, actions, reward, terminated, mask
    """
    if not isinstance(batch, Mapping):
        raise TypeError(f"batch must be a mapping of tensors, got {type(batch).__name__}")
    missing = [k for k in FIELDS if k not in batch]
    if missing:
        raise ValueError(f"batch is missing field(s): {', '.join(missing)}")
    mask = batch["mask"]
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2:
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"batch['mask'] must be a tensor [B, T], got {shape}")
    b, t = mask.shape
    leading = {"obs": (b, t + 1), "state": (b, t + 1), "avail": (b, t + 1)}
    for key in FIELDS:
        value = batch[key]
        want = leading.get(key, (b, t))
        if not isinstance(value, torch.Tensor) or tuple(value.shape[:2]) != want:
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(
                f"batch[{key!r}] must start with [B, {'T+1' if key in leading else 'T'}] = "
                f"{list(want)} (B, T from batch['mask']), got {got}"
            )


class EpisodeBuffer:
    """A ring buffer of whole episodes with uniform sampling."""

    def __init__(
        self,
        capacity: int,
        episode_limit: int,
        n_agents: int,
        obs_dim: int,
        state_dim: int,
        n_actions: int,
        device: str | torch.device = "cpu",
    ) -> None:
        if capacity < 1 or episode_limit < 1:
            raise ValueError(
                f"capacity and episode_limit must be >= 1, got {capacity}, {episode_limit}"
            )
        self.capacity, self.episode_limit = capacity, episode_limit
        c, t, n = capacity, episode_limit, n_agents
        f32, i64 = torch.float32, torch.int64
        self.data: dict[str, torch.Tensor] = {
            "obs": torch.zeros(c, t + 1, n, obs_dim, dtype=f32, device=device),
            "state": torch.zeros(c, t + 1, state_dim, dtype=f32, device=device),
            "avail": torch.ones(c, t + 1, n, n_actions, dtype=f32, device=device),
            "actions": torch.zeros(c, t, n, dtype=i64, device=device),
            "reward": torch.zeros(c, t, dtype=f32, device=device),
            "terminated": torch.zeros(c, t, dtype=f32, device=device),
            "mask": torch.zeros(c, t, dtype=f32, device=device),
        }
        self.lengths = torch.zeros(c, dtype=torch.int64, device=device)
        self.position = 0  # next slot to write
        self.size = 0  # slots filled so far

    def __len__(self) -> int:
        return self.size

    def insert(self, episodes: Mapping[str, torch.Tensor]) -> None:
        """Add a batch of E episodes, each field shaped like the buffer's with C -> E."""
        missing = [k for k in FIELDS if k not in episodes]
        if missing:
            raise ValueError(f"episodes are missing field(s): {', '.join(missing)}")
        e = episodes["mask"].shape[0]
        for key in FIELDS:
            expected = (e, *self.data[key].shape[1:])
            if tuple(episodes[key].shape) != expected:
                raise ValueError(
                    f"episodes[{key!r}] must have shape {expected}, got {tuple(episodes[key].shape)}"
                )
        slots: slice | torch.Tensor
        if self.position + e <= self.capacity:  # no wrap-around: a plain slice copies faster
            slots = slice(self.position, self.position + e)
        else:
            slots = (self.position + torch.arange(e, device=self.device)) % self.capacity
        for key in FIELDS:
            self.data[key][slots] = episodes[key].to(self.data[key].device, self.data[key].dtype)
        self.lengths[slots] = episodes["mask"].sum(1).long().to(self.lengths.device)
        self.position = (self.position + e) % self.capacity
        self.size = min(self.size + e, self.capacity)

    @property
    def device(self) -> torch.device:
        """Where the buffer's tensors (and the batches it samples) live."""
        return self.lengths.device

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> EpisodeBatch:
        """Uniformly sample episodes, cut to the longest one in the sample.

        ``generator`` may live on the CPU or on the buffer's device; the indices are drawn
        where it lives and moved to the buffer's device.
        """
        if self.size < batch_size:
            raise ValueError(
                f"cannot sample {batch_size} episodes from a buffer holding {self.size}"
            )
        draw_on = generator.device if generator is not None else torch.device("cpu")
        idx = torch.randint(self.size, (batch_size,), generator=generator, device=draw_on)
        idx = idx.to(self.device)
        t = int(self.lengths[idx].max())

        def rows(key: str, steps: int) -> torch.Tensor:
            # the first `steps` steps of the sampled episodes; index_select gathers them
            # in one call, faster than indexing with idx (the same values)
            return self.data[key][:, :steps].index_select(0, idx)

        return EpisodeBatch(
            obs=rows("obs", t + 1),
            state=rows("state", t + 1),
            avail=rows("avail", t + 1),
            actions=rows("actions", t),
            reward=rows("reward", t),
            terminated=rows("terminated", t),
            mask=rows("mask", t),
        )

    def memory_bytes(self) -> int:
        """Bytes held by the preallocated tensors."""
        total = sum(v.element_size() * v.nelement() for v in self.data.values())
        return total + self.lengths.element_size() * self.lengths.nelement()

    def state_dict(self) -> dict[str, Any]:
        """The filled part of the buffer (on its device), its write position and size."""
        n = self.size
        return {
            "data": {k: v[:n].clone() for k, v in self.data.items()},
            "lengths": self.lengths[:n].clone(),
            "position": self.position,
            "size": self.size,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output, from any device, into this buffer."""
        n = int(state["size"])
        if n > self.capacity:
            raise ValueError(f"buffer state holds {n} episodes but capacity is {self.capacity}")
        for key, value in state["data"].items():
            if tuple(value.shape[1:]) != tuple(self.data[key].shape[1:]):
                raise ValueError(
                    f"buffer field {key!r} has shape {tuple(value.shape)}, expected "
                    f"[{n}, {', '.join(map(str, self.data[key].shape[1:]))}]"
                )
            self.data[key][:n] = value.to(self.device)
        self.lengths[:n] = state["lengths"].to(self.device)
        self.position, self.size = int(state["position"]), n
