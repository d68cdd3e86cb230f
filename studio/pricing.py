"""The price book in resources/: every price with its source and as-of date."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from studio.paths import resources_dir


@dataclass(frozen=True)
class Price:
    value: float
    source: str
    as_of: str


@lru_cache(maxsize=1)
def price_book() -> dict[str, Any]:
    return json.loads((resources_dir() / "price_book.json").read_text(encoding="utf-8"))


def electricity_price() -> Price:
    entry = price_book()["electricity"]
    return Price(float(entry["usd_per_kwh"]), entry["source"], entry["as_of"])
