"""Fixtures of this project: none, the plugin's are enough.

This project lives inside the SDK's repository, whose own test run must leave it alone:
tests/e2e/test_testing_plugin.py runs it with its own configuration, in a subprocess.
A project of your own needs none of this.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    return True if config.rootpath != HERE else None
