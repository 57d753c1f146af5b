"""Watching a team play (qmix_tut.render) and the cost split of a run (qmix_tut.course)."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from qmix_tut import Config
from qmix_tut.course import cost_split
from qmix_tut.envs import make
from qmix_tut.render import (
    Episode,
    frame_strip,
    load_weights,
    main,
    play_team,
    save_gif,
    save_weights,
)
from qmix_tut.results import Result
from qmix_tut.train import build_networks, env_info_of

ENV = "mpe:simple_spread"


def _fresh_result(seed: int = 0) -> Result:
    """A Result holding freshly initialised networks (no training needed)."""
    config = Config.preset("simple_spread")
    env_info = env_info_of(make(ENV))
    torch.manual_seed(seed)
    agent, mixer = build_networks(config, env_info)
    return Result(config, [], agent.state_dict(), mixer.state_dict(), env_info)


def _greedy_returns_by_hand(result: Result, seed: int) -> tuple[float, list[int]]:
    """The same greedy play written without the package's helpers."""
    agent, _ = result.build()
    env = make(ENV)
    obs, _, avail = env.reset(seed=seed)
    n, a = env.n_agents, env.n_actions
    last = np.full(n, -1)
    total, done, first = 0.0, False, None
    while not done:
        one_hot = np.zeros((n, a), np.float32)
        for i, u in enumerate(last):
            if u >= 0:
                one_hot[i, u] = 1.0
        x = np.concatenate([obs, one_hot, np.eye(n, dtype=np.float32)], axis=1)
        with torch.no_grad():
            q = agent(torch.as_tensor(x).reshape(n, 1, -1))[0].reshape(n, a).numpy()
        q[avail == 0] = -np.inf
        last = q.argmax(1)
        first = list(last) if first is None else first
        obs, _, avail, reward, terminated, truncated, _ = env.step(last)
        total += reward
        done = terminated or truncated
    return total, first


def test_greedy_team_equals_a_hand_written_rollout():
    result = _fresh_result(3)
    episodes = play_team(result, seeds=[5, 6], render=False)
    for ep in episodes:
        expected, _ = _greedy_returns_by_hand(result, ep.seed)
        assert ep.team_return == pytest.approx(expected)
        assert ep.length == 25 and not ep.terminated and ep.frames == []
        assert ep.return_after(ep.length) == pytest.approx(ep.team_return)


def test_random_team_is_seeded_and_frames_are_rgb():
    a = play_team(None, seeds=[1, 2], env=ENV, render=True)
    b = play_team(None, seeds=[1, 2], env=ENV, render=False)
    assert [e.team_return for e in a] == [e.team_return for e in b]
    assert a[0].team_return != a[1].team_return
    assert len(a[0].frames) == a[0].length + 1
    frame = a[0].frames[0]
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
    # the first frame of two seeds differ: the landmarks and agents start elsewhere
    assert not np.array_equal(a[0].frames[0], a[1].frames[0])


def test_strip_and_gif(tmp_path):
    trained = play_team(_fresh_result(), seeds=[4], render=True)
    random_team = play_team(None, seeds=[4], env=ENV, render=True)
    teams = {"random": random_team, "trained": trained}
    fig = frame_strip(teams, steps=[0, 10, 30])
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    assert "return" in fig.axes[0].get_ylabel()
    path = save_gif(teams, tmp_path / "team.gif", size=64, fps=5)
    with Image.open(path) as gif:
        assert gif.size == (128, 64 + 30)
        assert gif.n_frames == 26
        gif.seek(25)
        assert gif.info["duration"] == 1500


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="needs env"):
        play_team(None, seeds=[0])
    with pytest.raises(ValueError, match="seeds"):
        play_team(None, seeds=[], env=ENV)
    with pytest.raises(ValueError, match="seeds must be ints"):
        play_team(None, seeds=[-1], env=ENV)
    with pytest.raises(TypeError, match="Result"):
        play_team({"agent": 1}, seeds=[0])
    with pytest.raises(ValueError, match="n_agents 3"):
        play_team(_fresh_result(), seeds=[0], env_kwargs={"N": 2}, render=False)
    ep = Episode(0, 0.0, 1, False)
    with pytest.raises(ValueError, match="no frames"):
        frame_strip({"a": [ep]})
    with pytest.raises(ValueError, match="same, non-zero number"):
        frame_strip({"a": [ep], "b": []})
    frames = [np.zeros((8, 8, 3), np.uint8)] * 2
    good = Episode(0, 0.0, 1, False, [0.0], frames)
    with pytest.raises(ValueError, match="size"):
        save_gif({"a": [good]}, "x.gif", size=8)
    with pytest.raises(ValueError, match="episode must be"):
        frame_strip({"a": [good]}, episode=1)


def test_command_line(tmp_path, capsys):
    run = _fresh_result()
    run.save(tmp_path / "result.pt")
    png, gif = tmp_path / "strip.png", tmp_path / "team.gif"
    status = main(
        [
            str(tmp_path / "result.pt"),
            "--seeds",
            "7",
            "--png",
            str(png),
            "--gif",
            str(gif),
            "--size",
            "48",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0 and png.exists() and gif.exists()
    assert "random team" in out and "trained QMIX" in out
    assert main([str(tmp_path / "missing.pt")]) == 2
    assert "error:" in capsys.readouterr().err


def test_cost_split_parts_add_up():
    config = Config.preset("simple_spread")
    config.total_steps, config.eval_interval, config.eval_episodes = 400, 400, 2
    config.batch_size = 8  # 16 episodes are collected: enough for a few updates
    config.device = "cpu"
    parts = cost_split(config)
    assert all(v >= 0 for v in parts.values())
    assert parts["env"] > 0 and parts["learning"] > 0
    assert sum(v for k, v in parts.items() if k != "total") == pytest.approx(parts["total"])
    # the timers are removed afterwards
    from qmix_tut.envs.core import MultiAgentEnv

    assert MultiAgentEnv.step.__name__ == "step"
    with pytest.raises(TypeError, match="Config"):
        cost_split({"env": ENV})


def test_weights_file_round_trip(tmp_path):
    run = _fresh_result(1)
    run.history = [
        {"env_steps": 0.0, "eval_return": float("nan")},
        {"env_steps": 5.0, "eval_return": -3.5},
    ]
    path = save_weights(run, tmp_path / "team.npz")
    back = load_weights(path)
    assert back.config == run.config and back.env_info == run.env_info
    assert back.history[1] == run.history[1] and np.isnan(back.history[0]["eval_return"])
    for mine, theirs in ((run.agent_state, back.agent_state), (run.mixer_state, back.mixer_state)):
        assert mine.keys() == theirs.keys()
        for key in mine:
            torch.testing.assert_close(theirs[key], mine[key], rtol=0, atol=0)
    # the loaded team plays exactly as the original
    a = play_team(run, seeds=[3], render=False)[0]
    b = play_team(back, seeds=[3], render=False)[0]
    assert a.team_return == b.team_return
    assert main([str(path), "--seeds", "3"]) == 0


def test_weights_file_refuses_other_files(tmp_path):
    with pytest.raises(ValueError, match=r"\.npz"):
        save_weights(_fresh_result(), tmp_path / "team.pt")
    with pytest.raises(TypeError, match="Result"):
        save_weights({"agent": 1}, tmp_path / "team.npz")
    with pytest.raises(FileNotFoundError):
        load_weights(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a team weights file"):
        load_weights(junk)
    other = tmp_path / "other.npz"
    np.savez(other, meta=np.array('{"format": "something else"}'))
    with pytest.raises(ValueError, match="format"):
        load_weights(other)
    assert main([str(junk)]) == 2
