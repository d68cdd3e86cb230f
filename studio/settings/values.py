"""User settings: one JSON file under STUDIO_HOME, written atomically, read with defaults.

Each backend has its own section, so adding a backend adds a section and touches nothing
else. Credentials are never part of settings: boto3's own chain (profiles, SSO, environment)
provides them; a profile *name* is all Studio keeps.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.types import SPEEDS
from studio.atomic import write_bytes_atomic
from studio.paths import library_dir, settings_path

# The kinds studio.backend_kinds describes; each has a section below with its own options.
BACKENDS = ("local", "sagemaker", "bedrock")


@dataclass(frozen=True)
class LocalSettings:
    model: str = ""  # hub id, diffusers folder or .safetensors file
    device: str | None = None  # None: CUDA, then MPS, then CPU
    device_watts: float | None = None  # None: typical draw for the device
    hardware_usd_per_hour: float = 0.0


@dataclass(frozen=True)
class SageMakerSettings:
    endpoint_name: str = ""
    region: str = ""  # "" means the profile's or environment's default region
    profile: str = ""
    endpoint_url: str = ""  # a VPC endpoint, a proxy, or `studio endpoint serve`
    instance_type: str = "ml.g5.xlarge"
    instance_count: int = 1
    payload_format: str = "studio"  # "studio" (our handler) or "jumpstart"


@dataclass(frozen=True)
class BedrockSettings:
    # Stable Diffusion 3.5 Large is served on demand in us-west-2, which also reaches every
    # Stability image service through the US cross-region profile.
    model: str = "stability.sd3-5-large-v1:0"
    region: str = "us-west-2"
    profile: str = ""
    endpoint_url: str = ""


@dataclass(frozen=True)
class CostSettings:
    """Price overrides and the spending cap; None means "use the price book" / "no cap"."""

    budget_usd_per_day: float | None = None  # refuse new work that would pass it today
    sagemaker_usd_per_hour: float | None = None  # one instance-hour of the endpoint in use
    bedrock_usd_per_image: float | None = None  # every image of the chosen Bedrock model


@dataclass(frozen=True)
class ContentCredentialsSettings:
    """The user's own C2PA certificate chain and private key, as PEM file paths, to sign batch
    exports with ("" and "": exports are not signed). Only the paths are kept: the key stays
    in the user's file, and Studio never ships or makes one."""

    cert_path: str = ""
    key_path: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.cert_path.strip() and self.key_path.strip())


SETTINGS_FORMAT = 2


@dataclass(frozen=True)
class Settings:
    backend: str = "local"
    library_folder: str = ""  # "" means STUDIO_HOME/library
    electricity_usd_per_kwh: float | None = None  # None: the price book's default
    # None: each model's own default (its family profile), which is what most users want:
    # FLUX.1 schnell takes 4 steps, SDXL 30, Qwen-Image 50.
    default_steps: int | None = None
    default_guidance: float | None = None
    # How much acceleration local and endpoint runs get (exact, fast, fastest).
    speed: str = "fast"
    default_width: int = 1024
    default_height: int = 1024
    local: LocalSettings = field(default_factory=LocalSettings)
    sagemaker: SageMakerSettings = field(default_factory=SageMakerSettings)
    bedrock: BedrockSettings = field(default_factory=BedrockSettings)
    costs: CostSettings = field(default_factory=CostSettings)
    content_credentials: ContentCredentialsSettings = field(
        default_factory=ContentCredentialsSettings)
    format: int = SETTINGS_FORMAT

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
    return settings_from_dict(data) if isinstance(data, dict) else Settings()


def save_settings(settings: Settings, path: Path | None = None) -> None:
    path = path or settings_path()
    payload = json.dumps(dataclasses.asdict(settings), indent=2, sort_keys=True)
    write_bytes_atomic(path, payload.encode("utf-8"))


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """Settings from saved JSON (a settings file, a batch job's spec), keeping defaults for
    missing, unknown or mistyped values."""
    if data.get("format", 1) < 2:
        # Format 1 saved 30 steps and CFG 7 whether or not the user chose them; they were
        # the app's defaults, not a choice, so they give way to each model's own.
        data = {k: v for k, v in data.items()
                if (k, v) not in (("default_steps", 30), ("default_guidance", 7.0))}
    if data.get("speed") not in SPEEDS:
        data = {k: v for k, v in data.items() if k != "speed"}
    return _from_dict(Settings, {**data, "format": SETTINGS_FORMAT})


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build a settings dataclass, keeping defaults for missing, unknown or mistyped values."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if item.name not in data:
            continue
        value, hint = data[item.name], hints[item.name]
        if dataclasses.is_dataclass(hint):
            if isinstance(value, dict):
                values[item.name] = _from_dict(hint, value)
        elif _fits(value, hint):
            values[item.name] = value
    return cls(**values)


def _fits(value: Any, hint: Any) -> bool:
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if isinstance(value, bool):
        return bool in allowed
    if isinstance(value, int) and float in allowed:
        return True
    return any(isinstance(value, t) for t in allowed if isinstance(t, type))
