"""What kind of Studio this is: run from source, or a packaged bundle of one flavour."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

BUILD_FILE = "studio_build.json"  # written into the bundle's root by packaging/spec_common.py


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


@cache
def build_flavour() -> str:
    """'cloud' or 'full' inside a bundle, 'source' for an installed or checked-out Studio."""
    bundle = getattr(sys, "_MEIPASS", None)
    if not bundle:
        return "source"
    try:
        return str(json.loads((Path(bundle) / BUILD_FILE).read_text("utf-8"))["flavour"])
    except (OSError, ValueError, KeyError):
        return "bundle"
