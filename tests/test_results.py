"""results.py: the Result, its files, history CSVs and run configs; every save loads back."""

from __future__ import annotations

import math
import signal

import numpy as np
import pytest
import torch

from qmix_tut import Config, Result, load, train
from qmix_tut.results import (
    HISTORY_KEYS,
    RESULT_FORMAT,
    atomic_write_text,
    read_config_json,
    read_history_csv,
    safe_load,
    write_history_csv,
)

SMALL = dict(total_steps=200, eval_interval=100, buffer_size=64, eval_episodes=1)


@pytest.fixture(scope="module")
def result():
    return train(Config.preset("two_step_paper", **SMALL), progress=False)


def test_the_old_import_paths_still_work():
    import importlib

    train_module = importlib.import_module("qmix_tut.train")
    assert train_module.load is load and train_module.Result is Result
    assert train_module.read_history_csv is read_history_csv


def test_save_then_load_gives_the_same_result(tmp_path, result):
    again = load(result.save(tmp_path / "r.pt"))
    assert again.config == result.config and again.env_info == result.env_info
    assert again.history == result.history or all(
        (math.isnan(a) and math.isnan(b)) or a == b
        for x, y in zip(again.history, result.history, strict=True)
        for a, b in zip(x.values(), y.values(), strict=True)
    )
    for key, value in result.agent_state.items():
        torch.testing.assert_close(again.agent_state[key], value, rtol=0, atol=0)
    assert safe_load(tmp_path / "r.pt")["format"] == RESULT_FORMAT
    agent, mixer = again.build()
    assert not agent.training and mixer is not None


def test_a_result_with_numpy_values_saves_and_loads(tmp_path, result):
    """numpy values set on a config after it was made are turned into plain ones on save."""
    config = result.config.replace()
    config.lr = np.float64(2e-3)
    config.env_kwargs = {"scale": np.array([1.0, 2.0])}
    odd = Result(config, result.history, result.agent_state, result.mixer_state, result.env_info)
    again = load(odd.save(tmp_path / "r.pt"))
    assert again.config.lr == 2e-3 and again.config.env_kwargs == {"scale": [1.0, 2.0]}


def test_a_matrix_game_with_an_array_payoff_trains_saves_and_loads(tmp_path):
    payoff = np.array([[8.0, -12.0], [-12.0, 0.0]])
    config = Config.preset("matrix", env_kwargs={"payoff": payoff}, total_steps=100,
                           eval_interval=50)  # fmt: skip
    assert config.env_kwargs == {"payoff": payoff.tolist()}
    trained = train(config, progress=False, run_dir=tmp_path / "run")
    assert load(tmp_path / "run").config == trained.config == config
    assert read_config_json(tmp_path / "run") == config


@pytest.mark.parametrize(
    "interrupted, stop_signal, status",
    [(False, None, 0), (True, "SIGINT", 130), (True, "SIGTERM", 143), (True, "SIGHUP", 129)],
)
def test_exit_status(result, interrupted, stop_signal, status):
    stopped = Result(result.config, result.history, result.agent_state, result.mixer_state,
                     result.env_info, interrupted=interrupted, stop_signal=stop_signal)  # fmt: skip
    assert stopped.exit_status == status
    assert status == 0 or status == 128 + getattr(signal, stop_signal)


def test_column_and_its_errors(result):
    assert result.column("env_steps").tolist() == [0.0, 100.0, 200.0]
    with pytest.raises(ValueError, match="unknown history column 'nope'; columns: env_steps"):
        result.column("nope")


def test_history_csv_round_trip_with_the_diagnostics(tmp_path, result):
    write_history_csv(result.history, tmp_path / "h.csv")
    header = (tmp_path / "h.csv").read_text().splitlines()[0].split(",")
    assert header == list(HISTORY_KEYS)
    rows = read_history_csv(tmp_path / "h.csv")
    for row, original in zip(rows, result.history, strict=True):
        for key in HISTORY_KEYS:
            assert (math.isnan(row[key]) and math.isnan(original[key])) or math.isclose(
                row[key], original[key], rel_tol=1e-12
            ), key


def test_history_rows_missing_a_column_are_written_as_nan(tmp_path):
    write_history_csv([{"env_steps": 0, "loss": 1.0}, {"env_steps": 5, "extra": 2.0}],
                      tmp_path / "h.csv")  # fmt: skip
    rows = read_history_csv(tmp_path / "h.csv")
    assert list(rows[0]) == ["env_steps", "loss", "extra"]
    assert math.isnan(rows[0]["extra"]) and math.isnan(rows[1]["loss"])


def test_reading_a_missing_history_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such history file"):
        read_history_csv(tmp_path / "none.csv")


def test_load_picks_the_result_then_the_checkpoint(tmp_path):
    run = tmp_path / "run"
    trained = train(Config.preset("two_step_paper", **SMALL), progress=False, run_dir=run)
    assert load(run).meta.get("from_checkpoint") is None  # result.pt
    (run / "result.pt").unlink()
    from_checkpoint = load(run)
    assert from_checkpoint.meta["from_checkpoint"] and from_checkpoint.config == trained.config
    (run / "checkpoint.pt").unlink()
    with pytest.raises(FileNotFoundError, match="holds no result.pt or checkpoint.pt"):
        load(run)


def test_safe_load_refuses_directories_and_empty_files(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        safe_load(tmp_path)
    (tmp_path / "e.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        safe_load(tmp_path / "e.pt")
    atomic_write_text("{}", tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a readable qmix_tut file"):
        load(tmp_path / "x.pt")


def test_a_result_file_with_a_missing_entry(tmp_path, result):
    data = result.to_dict()
    del data["history"]
    torch.save(data, tmp_path / "r.pt")
    with pytest.raises(
        ValueError, match="r.pt is a damaged qmix_tut file: it lacks the entry 'history'"
    ):
        load(tmp_path / "r.pt")
