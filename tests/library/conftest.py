"""A Library in a temporary folder, empty or filled with a few runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from studio.library import Library
from tests.library.results import T0, make_result


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    library = Library(tmp_path / "library", tmp_path / "studio.db")
    yield library
    library.close()


@pytest.fixture
def filled(lib: Library) -> Library:
    lib.record(make_result("red leather handbag", negative="blurry", count=1,
                           created_at=T0, usd=0.01, total_s=2.0))
    lib.record(make_result("blue running shoes, studio light", count=2,
                           created_at=T0 + timedelta(hours=1), backend="sagemaker",
                           model="sdxl", usd=0.10, total_s=5.0))
    lib.record(make_result("green ceramic mug", negative="text, watermark", count=1,
                           created_at=T0 + timedelta(days=1), usd=0.0, total_s=1.5))
    return lib
