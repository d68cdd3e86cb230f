"""A real StudioContext and MainWindow on a tiny local model, offscreen; an empty Library."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.library import Library
from studio.settings.values import LocalSettings, Settings, save_settings


@pytest.fixture
def tiny_settings(tiny_sd_path) -> Settings:
    settings = Settings(backend="local", default_steps=3, default_width=64, default_height=64,
                        local=LocalSettings(model=str(tiny_sd_path), device="cpu"))
    save_settings(settings)
    return settings


@pytest.fixture
def context(tiny_settings):
    from studio.context import StudioContext

    context = StudioContext.create()
    yield context
    context.close()


@pytest.fixture
def window(qtbot, context):
    from studio.ui.window.main_window import MainWindow

    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    library = Library.open(tmp_path / "library")
    yield library
    library.close()
