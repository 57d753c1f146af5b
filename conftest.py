"""Marks every notebook cell that nbval collects as ``slow``, so ``pytest -m "not slow"``
is the fast inner loop (package and tests only) while a plain ``pytest`` runs everything."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.split("::", 1)[0].endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
