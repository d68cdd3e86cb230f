"""Size presets from resources/presets/sizes.json (data, so marketplaces can be added freely)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from studio.paths import resources_dir


@dataclass(frozen=True)
class SizePreset:
    name: str
    width: int
    height: int


@cache
def size_presets() -> tuple[SizePreset, ...]:
    data = json.loads((resources_dir() / "presets" / "sizes.json").read_text(encoding="utf-8"))
    return tuple(SizePreset(p["name"], int(p["width"]), int(p["height"])) for p in data["sizes"])
