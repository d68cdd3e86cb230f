"""Where the shipped data (resources/) lives, for backends and the app alike."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    """Bundled data (price book, presets, model families); STUDIO_RESOURCES overrides it."""
    override = os.environ.get("STUDIO_RESOURCES")
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)  # set by PyInstaller: the unpacked bundle's folder
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"
