"""Every path Studio writes to comes from here, so STUDIO_HOME can move them all at once."""

from __future__ import annotations

import os
from pathlib import Path

from backends.resources import resources_dir as backends_resources_dir

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
    """Bundled data; one definition for the app and the backends (backends/resources.py)."""
    return backends_resources_dir()
