"""A real StudioContext and MainWindow on a tiny local model, offscreen; an empty Library;
a FLUX.1 [dev]-like model folder for what the window shows about a model's family."""

from __future__ import annotations

import json
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
def open_window(qtbot, studio_home):
    """Opens the main window on whatever settings STUDIO_HOME holds (none: a new user's
    first start); each window's context is closed after the test."""
    from studio.context import StudioContext
    from studio.ui.window.main_window import MainWindow

    contexts = []

    def opened():
        context = StudioContext.create()
        contexts.append(context)
        window = MainWindow(context)
        qtbot.addWidget(window)
        window.show()
        return window

    yield opened
    for context in contexts:
        context.close()


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    library = Library.open(tmp_path / "library")
    yield library
    library.close()


@pytest.fixture
def flux_dev_folder(tmp_path: Path) -> Path:
    """A folder that reads as FLUX.1 [dev] (non-commercial licence, no negative prompt, one
    sampler): family detection reads only these two config files; there are no weights."""
    folder = tmp_path / "fake-flux1-dev"
    (folder / "transformer").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    (folder / "transformer" / "config.json").write_text(json.dumps({"guidance_embeds": True}))
    return folder


@pytest.fixture
def flux_settings(flux_dev_folder: Path) -> Settings:
    """Saved settings that choose the FLUX.1 [dev]-like folder on the local backend."""
    settings = Settings(backend="local", default_width=64, default_height=64,
                        local=LocalSettings(model=str(flux_dev_folder), device="cpu"))
    save_settings(settings)
    return settings


@pytest.fixture
def flux_context(flux_settings):
    from studio.context import StudioContext

    context = StudioContext.create()
    yield context
    context.close()


@pytest.fixture
def flux_window(qtbot, flux_context):
    """The window on the FLUX.1 [dev]-like folder (nothing is generated with it)."""
    from studio.ui.window.main_window import MainWindow

    window = MainWindow(flux_context)
    qtbot.addWidget(window)
    window.show()
    return window
