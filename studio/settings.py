"""User settings: one JSON file under STUDIO_HOME, written atomically, read with defaults."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.atomic import write_bytes_atomic
from studio.paths import library_dir, settings_path

BACKENDS = ("local",)


@dataclass(frozen=True)
class Settings:
    backend: str = "local"
    model: str = ""  # hub id, diffusers folder or .safetensors file
    device: str | None = None  # None: CUDA, then MPS, then CPU
    library_folder: str = ""  # "" means STUDIO_HOME/library
    electricity_usd_per_kwh: float | None = None  # None: the price book's default
    device_watts: float | None = None  # None: typical draw for the device
    hardware_usd_per_hour: float = 0.0
    default_steps: int = 30
    default_guidance: float = 7.0
    default_width: int = 1024
    default_height: int = 1024

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def library_path(self) -> Path:
        return Path(self.library_folder).expanduser() if self.library_folder else library_dir()


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; unknown keys are ignored and a damaged file falls back to defaults."""
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError):
        # A damaged file must not stop the app from starting; keep it for the user to inspect.
        path.replace(path.with_suffix(".damaged.json"))
        return Settings()
    known = {f.name for f in dataclasses.fields(Settings)}
    try:
        return Settings(**{k: v for k, v in data.items() if k in known})
    except TypeError:
        return Settings()


def save_settings(settings: Settings, path: Path | None = None) -> None:
    path = path or settings_path()
    payload = json.dumps(dataclasses.asdict(settings), indent=2, sort_keys=True)
    write_bytes_atomic(path, payload.encode("utf-8"))
