"""``check_env`` and ``qmix-tut check-env``: a report before a run, with clear reasons."""

import subprocess
import sys
from pathlib import Path

import pytest

from qmix_tut.envs import EnvReport, check_env, make

HERE = Path(__file__).parent


def test_report_of_a_usable_heterogeneous_env(capsys):
    report = check_env("mpe:simple_speaker_listener", episodes=2, max_cycles=10)
    assert isinstance(report, EnvReport) and report.ok
    assert report.agents == [("speaker_0", 3, 3), ("listener_0", 11, 5)]
    assert (report.obs_dim, report.n_actions, report.state_dim) == (11, 5, 14)
    assert report.state_source == "env.state()" and report.api_test == "passed"
    assert report.episode_limit == 10 and "max_cycles" in report.limit_source
    assert report.random_lengths == [10, 10] and report.truncated == 2
    assert report.masks.startswith("none found")
    printed = capsys.readouterr().out
    for text in ("speaker_0", "heterogeneous team", "state: 14 numbers", "usable: yes"):
        assert text in printed


def test_report_finds_masks_state_source_and_departures():
    masked = check_env("envs_fixture:masked_choice", episodes=3, verbose=False)
    assert masked.ok and masked.masks == 'observation["action_mask"]'
    assert masked.state_source == "observations" and masked.state_dim == 18
    leaving = check_env("envs_fixture:leaving_team", episodes=3, verbose=False)
    assert leaving.ok and leaving.agents_left_early and leaving.terminated == 3
    assert leaving.random_lengths == [4, 4, 4]
    assert not check_env("memory", episodes=2, verbose=False).agents_left_early


@pytest.mark.parametrize(
    "name, kwargs, problem",
    [
        ("envs_fixture:continuous_actions", {}, "is continuous"),
        ("envs_fixture:endless", {}, "pass episode_limit"),
        ("envs_fixture:growing_observations", {}, "has 4 numbers at step 1"),
        ("envs_fixture:tictactoe", {}, "no time limit"),
    ],
)
def test_what_will_not_work_is_a_problem_with_its_reason(name, kwargs, problem):
    report = check_env(name, episodes=2, verbose=False, **kwargs)
    assert not report.ok and any(problem in p for p in report.problems), report.problems
    assert "usable: no" in report.summary()


def test_an_env_object_and_an_episode_limit_given_by_hand():
    from envs_fixture import endless

    report = check_env(endless(), episodes=2, verbose=False, episode_limit=4)
    assert report.ok and report.limit_source == "given" and report.random_lengths == [4, 4]
    assert any("this package truncated them" in w for w in report.warnings)
    assert check_env(make("two_step"), episodes=1, verbose=False).ok


def test_a_failing_api_test_is_reported():
    from envs_fixture import LeavingTeam

    class Forgetful(LeavingTeam):
        def observation_space(self, agent):  # a new object on every call
            return type(self._obs_space)(0.0, 1.0, self._obs_space.shape)

    report = check_env(Forgetful(), episodes=1, verbose=False)
    assert report.api_test.startswith("FAILED") and not report.ok
    assert any("exact same space object" in p for p in report.problems)


def test_bad_arguments_and_names_raise():
    with pytest.raises(ValueError, match="unknown environment"):
        check_env("no_such_env", verbose=False)
    with pytest.raises(ValueError, match="episodes must be a positive integer"):
        check_env("two_step", episodes=0, verbose=False)
    with pytest.raises(ValueError, match="only episode_limit and reward"):
        check_env(make("two_step").env, verbose=False, speed=1)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "qmix_tut", "check-env", *args],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_command_line_exit_status_0_1_2():
    usable = _cli("envs_fixture:leaving_team", "--episodes", "2", "--set", "limit=6")
    assert usable.returncode == 0, usable.stderr
    assert "agents left early" in usable.stdout and "usable: yes" in usable.stdout
    broken = _cli("envs_fixture:continuous_actions")
    assert broken.returncode == 1 and "PROBLEM" in broken.stdout and "continuous" in broken.stdout
    unknown = _cli("mpe:simple_tag")
    assert unknown.returncode == 2 and "not cooperative" in unknown.stderr
    assert "Traceback" not in unknown.stderr + broken.stderr
