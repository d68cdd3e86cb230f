"""The price book: JSON files in resources/prices/, every price with its source and as-of date.

One file per kind of price (electricity.json, and one per cloud backend), so each backend's
prices can be refreshed or overridden without touching the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from studio.paths import resources_dir


@dataclass(frozen=True)
class Price:
    value: float
    source: str
    as_of: str


@cache
def price_file(name: str) -> dict[str, Any]:
    """The parsed resources/prices/<name>.json."""
    path = resources_dir() / "prices" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def electricity_price() -> Price:
    entry = price_file("electricity")["electricity"]
    return Price(float(entry["usd_per_kwh"]), entry["source"], entry["as_of"])


def sagemaker_price(instance_type: str, region: str) -> Price | None:
    """One instance-hour of a real-time endpoint, or None when the price book has no entry."""
    entry = price_file("sagemaker").get("instances", {}).get(instance_type, {}).get(region)
    if entry is None:
        return None
    return Price(float(entry["usd_per_hour"]), entry["source"], entry["as_of"])
