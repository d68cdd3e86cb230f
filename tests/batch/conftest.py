"""A batch store in this test's STUDIO_HOME and a library of its own, for the runner tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.batch.store import BatchStore
from studio.library import Library


@pytest.fixture
def store(studio_home: Path) -> BatchStore:
    return BatchStore()


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return Library.open(tmp_path / "library")
