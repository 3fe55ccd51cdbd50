"""The fixture of the module tests that run a release's Django for real."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from release_project import EXAMPLE


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the example project."""
    copy = tmp_path / "guestbook"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    return copy
