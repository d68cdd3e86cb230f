"""Every path Studio writes to comes from here, so STUDIO_HOME can move them all at once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "Studio"


def studio_home() -> Path:
    """The data folder: $STUDIO_HOME when set, else the platform's user data directory."""
    override = os.environ.get("STUDIO_HOME")
    if override:
        home = Path(override).expanduser()
    else:
        from platformdirs import user_data_path

        home = user_data_path(APP_NAME, appauthor=False)
    home.mkdir(parents=True, exist_ok=True)
    return home


def library_dir() -> Path:
    path = studio_home() / "library"
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings_path() -> Path:
    return studio_home() / "settings.json"


def resources_dir() -> Path:
    """Bundled data (price book, presets, icons); STUDIO_RESOURCES overrides it when packaged."""
    override = os.environ.get("STUDIO_RESOURCES")
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)  # set by PyInstaller: the unpacked bundle's folder
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"
