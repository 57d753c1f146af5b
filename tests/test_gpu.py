"""On a GPU, when torch sees one (skipped otherwise): the buffer on the device, a learner
moved there, training for every algorithm, and resuming across the CPU and the GPU."""

import pytest
import torch

from qmix_tut import Config, train
from qmix_tut.agents import MLPAgent, RNNAgent, agent_input_dim
from qmix_tut.algorithms import ALGOS
from qmix_tut.buffer import EpisodeBuffer
from qmix_tut.learner import QLearner
from qmix_tut.mixers import QMixer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no GPU")

N, A, OBS, STATE, T = 2, 3, 4, 5, 6
SHORT = dict(total_steps=400, eval_interval=200, eval_episodes=2, buffer_size=64, batch_size=8)


def _episodes(e, seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(e, T)
    mask[0, 4:] = 0
    return {
        "obs": torch.randn(e, T + 1, N, OBS, generator=g),
        "state": torch.randn(e, T + 1, STATE, generator=g),
        "avail": torch.ones(e, T + 1, N, A),
        "actions": torch.randint(A, (e, T, N), generator=g),
        "reward": torch.randn(e, T, generator=g),
        "terminated": torch.zeros(e, T),
        "mask": mask,
    }


@pytest.mark.parametrize("generator_on", ["cuda", "cpu", None])
def test_buffer_samples_on_the_device(generator_on):
    buf = EpisodeBuffer(10, T, N, OBS, STATE, A, device="cuda")
    buf.insert(_episodes(7))
    buf.insert(_episodes(7, seed=1))  # wraps around
    gen = None if generator_on is None else torch.Generator(device=generator_on).manual_seed(0)
    batch = buf.sample(5, gen)
    assert all(v.device.type == "cuda" for v in batch.values())
    assert batch["obs"].shape[0] == 5
    state = buf.state_dict()
    on_cpu = EpisodeBuffer(10, T, N, OBS, STATE, A)
    on_cpu.load_state_dict(state)
    assert torch.equal(on_cpu.data["obs"], buf.data["obs"].cpu())


@pytest.mark.parametrize("agent_kind", ["mlp", "rnn"])
def test_a_learner_moved_to_the_gpu_still_learns(agent_kind):
    torch.manual_seed(0)
    in_dim = agent_input_dim(OBS, A, N)
    agent = MLPAgent(in_dim, A) if agent_kind == "mlp" else RNNAgent(in_dim, A)
    learner = QLearner(agent, QMixer(N, STATE, 8), n_actions=A, optimizer="adam", tau=0.01)
    buf = EpisodeBuffer(16, T, N, OBS, STATE, A)
    buf.insert(_episodes(16))
    learner.update(buf.sample(8))  # a step on the CPU first: optimizer state exists
    for module in (learner.agent, learner.mixer, learner.target_agent, learner.target_mixer):
        module.to("cuda")
    batch = {k: v.cuda() for k, v in buf.sample(8).items()}
    before = [p.detach().clone() for p in learner.params]
    stats = learner.update(batch)
    assert all(not torch.equal(b, p) for b, p in zip(before, learner.params, strict=True))
    assert all(p.device.type == "cuda" for p in learner.params)
    assert stats["loss"] == stats["loss"]  # finite, not NaN


@pytest.mark.parametrize("algo", ALGOS)
def test_train_every_algorithm_on_the_gpu(algo):
    result = train(
        Config.preset("two_step_paper", algo=algo, device="cuda", **SHORT), progress=False
    )
    assert [int(r["env_steps"]) for r in result.history] == [0, 200, 400]
    assert all(v.device.type == "cpu" for v in result.agent_state.values())


def test_auto_device_trains_a_recurrent_agent_on_the_gpu():
    result = train(Config.preset("memory", device="auto", **SHORT), progress=False)
    assert int(result.history[-1]["env_steps"]) == 400


@pytest.mark.parametrize("first, then", [("cpu", "cuda"), ("cuda", "cpu")])
def test_resume_across_cpu_and_gpu(tmp_path, first, then):
    cfg = Config.preset("memory", device=first, checkpoint_interval=200, **SHORT)
    train(cfg, progress=False, run_dir=tmp_path)
    longer = cfg.replace(device=then, total_steps=800)
    resumed = train(longer, resume_from=tmp_path, progress=False)
    steps = [int(r["env_steps"]) for r in resumed.history]
    assert steps[-1] == 800 and steps[:3] == [0, 200, 400]
    assert all(row["loss"] == row["loss"] for row in resumed.history[1:])
