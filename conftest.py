"""Marks the tests that ``pytest -m "not slow"`` leaves out, so that the fast inner loop
(package and tests, about 40 s on 2 cores) stays fast while a plain ``pytest`` runs
everything:

* every notebook cell that nbval collects;
* the tests below, each a second or more on a 2-core CPU (most start a subprocess or
  train for a few thousand steps); they are listed here rather than decorated one by one
  so that the fast subset is defined in one place. Tests marked ``@pytest.mark.slow`` in
  their own files are left out as well.
"""

import pytest

SLOW_TESTS = frozenset(
    {
        "qmix_tut/analysis.py::qmix_tut.analysis",
        "tests/test_cli.py::test_figures_help_lists_the_figure_names",
        "tests/test_cli.py::test_help_is_clear",
        "tests/test_cli.py::test_resume_says_where_it_goes_and_steps_extend_it",
        "tests/test_cli.py::test_train_prints_the_resolved_config_unless_quiet",
        "tests/test_coma.py::test_policy_gradient_estimate_matches_the_exact_gradient_of_the_expected_return",
        "tests/test_compare.py::test_one_run_gets_no_interval",
        "tests/test_compare.py::test_tasks_are_reported_separately_and_pooled_only_when_asked",
        "tests/test_faults_cli.py::test_bad_command_line",
        "tests/test_faults_run.py::test_disk_full_mid_run_keeps_the_last_checkpoint_which_resumes_exactly",
        "tests/test_faults_run.py::test_each_stop_signal_checkpoints_and_resumes_exactly",
        "tests/test_faults_run.py::test_overwrite_clears_the_old_run_before_the_new_one_writes",
        "tests/test_figures.py::test_each_figure_regenerates_into_a_temporary_folder",
        "tests/test_figures.py::test_regenerating_a_diagram_is_deterministic",
        "tests/test_packaging.py::test_training_imports_no_plotting_or_widgets",
        "tests/test_pettingzoo.py::test_a_real_env_whose_agents_die",
        "tests/test_render.py::test_command_line",
        "tests/test_train.py::test_history_rows_and_result_roundtrip",
        "tests/test_train.py::test_interrupted_and_resumed_equals_uninterrupted",
        "tests/test_train.py::test_resume_refuses_a_changed_config",
        "tests/test_train.py::test_same_seed_same_history_different_seed_differs",
        "tests/test_widgets_basics.py::test_iql_matrix_widget_trains_on_click",
        "tests/test_widgets_drqn.py::test_td_target_figure_and_explorer",
        "tests/test_widgets_lab.py::test_mixer_explorer_widget_follows_the_slider",
        "tests/test_widgets_lab.py::test_payoff_lab_widget_fills_resizes_and_trains",
        "tests/test_widgets_lab.py::test_payoff_lab_widget_label_initial_result_and_stale_results",
        "tests/test_widgets_lab.py::test_train_on_payoff_reads_tables_and_greedy_actions",
        "tests/test_widgets_mixing.py::test_ablation_runs_curves_and_widget",
        "tests/test_widgets_mixing.py::test_tiny_mixer_figure_and_widget",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path, _, name = item.nodeid.partition("::")
        if path.endswith(".ipynb") or f"{path}::{name.split('[', 1)[0]}" in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
