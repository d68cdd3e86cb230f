"""A real StudioContext and MainWindow on a tiny local model, offscreen."""

from __future__ import annotations

import pytest

from studio.settings import LocalSettings, Settings, save_settings


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
    from studio.ui.main_window import MainWindow

    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    return window
