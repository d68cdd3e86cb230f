"""The price book: JSON files in resources/prices/, every price with its source and as-of date.

One file per kind of price (electricity.json, and one per cloud backend), so each backend's
prices can be refreshed or overridden without touching the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from studio.paths import resources_dir, studio_home


@dataclass(frozen=True)
class Price:
    value: float
    source: str
    as_of: str


def overrides_dir() -> Path:
    """Where `studio pricing refresh` (or the user) keeps prices that replace shipped ones."""
    return studio_home() / "prices"


def price_file(name: str) -> dict[str, Any]:
    """resources/prices/<name>.json, with STUDIO_HOME/prices/<name>.json merged over it.

    The shipped file is never rewritten at run time; an override file holds the same shape
    and only the entries it names replace the shipped ones (dictionaries merge key by key).
    """
    shipped = resources_dir() / "prices" / f"{name}.json"
    override = overrides_dir() / f"{name}.json"
    try:
        stamp = override.stat().st_mtime_ns
    except OSError:
        stamp = None
    return _merged(str(shipped), str(override), stamp)


def shipped_price_file(name: str) -> dict[str, Any]:
    return _read(str(resources_dir() / "prices" / f"{name}.json"))


@cache
def _read(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@lru_cache(maxsize=32)
def _merged(shipped: str, override: str, stamp: int | None) -> dict[str, Any]:
    data = _read(shipped)
    if stamp is None:
        return data
    try:
        extra = json.loads(Path(override).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return data  # a damaged override must not stop pricing; the shipped book stands
    return deep_merge(data, extra) if isinstance(extra, dict) else data


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def electricity_price() -> Price:
    entry = price_file("electricity")["electricity"]
    return Price(float(entry["usd_per_kwh"]), entry["source"], entry["as_of"])


def sagemaker_price(instance_type: str, region: str) -> Price | None:
    """One instance-hour of a real-time endpoint, or None when the price book has no entry."""
    entry = price_file("sagemaker").get("instances", {}).get(instance_type, {}).get(region)
    if entry is None:
        return None
    return Price(float(entry["usd_per_hour"]), entry["source"], entry["as_of"])


def sagemaker_price_for(costs: Any, instance_type: str, region: str) -> Price | None:
    """The hourly price Settings → Costs sets, else the price book's (None: unknown)."""
    override = getattr(costs, "sagemaker_usd_per_hour", None)
    if override is not None:
        return Price(float(override), "your price in Settings", "now")
    return sagemaker_price(instance_type, region)


def bedrock_prices(costs: Any, model_id: str) -> dict[str, Any]:
    """The Bedrock price file, with Settings' per-image price (if any) for `model_id`."""
    data = price_file("bedrock")
    override = getattr(costs, "bedrock_usd_per_image", None)
    if override is None:
        return data
    entry = dict(data.get("bedrock", {}).get(model_id) or {"label": model_id, "region": ""})
    entry.update(source="your price in Settings", as_of="now",
                 per_image=[{"usd_per_image": float(override)}])
    return {**data, "bedrock": {**data.get("bedrock", {}), model_id: entry}}
