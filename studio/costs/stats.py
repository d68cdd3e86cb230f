"""Latency and cost statistics over history: what `studio stats` and `studio compare` print.

Latency is per run (what a designer waited for one click, however many images it made);
cost is per image (a run's cost shared evenly by its images). Percentiles interpolate
linearly between the nearest ranks, as numpy's default does.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from studio.library.store import DATABASE_NAME

PARTS = ("load_s", "queue_s", "network_s", "inference_s", "decode_s")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class LatencyCost:
    """One group of runs (a backend, a model, or everything) summarised."""

    key: str
    runs: int
    images: int
    p50_s: float
    p95_s: float
    mean_parts: dict[str, float] = field(default_factory=dict)
    usd: float = 0.0
    estimate_usd: float | None = None  # the estimates of runs that had one

    @property
    def usd_per_image(self) -> float:
        return self.usd / self.images if self.images else 0.0

    @property
    def images_per_usd(self) -> float | None:
        """Images a dollar buys; None when they cost nothing (or nothing was priced)."""
        return self.images / self.usd if self.usd > 0 else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(p50_s=round(self.p50_s, 4), p95_s=round(self.p95_s, 4),
                    mean_parts={k: round(v, 4) for k, v in self.mean_parts.items()},
                    usd_per_image=self.usd_per_image, images_per_usd=self.images_per_usd)
        return data


def summarize(key: str, runs: Sequence[dict[str, Any]]) -> LatencyCost:
    """`runs` are Library.run_rows() dicts (or anything with the same keys)."""
    totals = [float(r["total_s"]) for r in runs]
    means = {part: (sum(float(r[part]) for r in runs) / len(runs) if runs else 0.0)
             for part in PARTS}
    estimates = [r["estimate_usd"] for r in runs if r.get("estimate_usd") is not None]
    return LatencyCost(
        key=key, runs=len(runs), images=sum(int(r["count"]) for r in runs),
        p50_s=percentile(totals, 50), p95_s=percentile(totals, 95), mean_parts=means,
        usd=sum(float(r["cost_usd"]) for r in runs),
        estimate_usd=sum(float(e) for e in estimates) if estimates else None)


def group_runs(runs: Iterable[dict[str, Any]], by: str | None) -> list[LatencyCost]:
    """One summary per backend or model (`by`), or one for everything (None)."""
    runs = list(runs)
    if by is None:
        return [summarize("all", runs)] if runs else []
    if by not in ("backend", "model"):
        raise ValueError(f"stats are grouped by backend or model, not {by!r}")
    groups: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault(str(run[by]) or "—", []).append(run)
    return [summarize(key, members) for key, members in sorted(groups.items())]


@dataclass(frozen=True)
class DayTotal:
    day: str  # YYYY-MM-DD, local time
    images: int
    usd: float


def daily_totals(runs: Iterable[dict[str, Any]]) -> list[DayTotal]:
    """Images and dollars per local calendar day, oldest first."""
    days: dict[str, tuple[int, float]] = {}
    for run in runs:
        day = datetime.fromisoformat(run["created_at"]).astimezone().strftime("%Y-%m-%d")
        images, usd = days.get(day, (0, 0.0))
        days[day] = (images + int(run["count"]), usd + float(run["cost_usd"]))
    return [DayTotal(day, images, usd) for day, (images, usd) in sorted(days.items())]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, columns padded to their widest cell; numbers align right."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows,
                                                                        strict=False)]
    lines = []
    for row in (headers, *rows):
        cells = []
        for index, (cell, width) in enumerate(zip(row, widths, strict=False)):
            cells.append(str(cell).ljust(width) if index == 0 else str(cell).rjust(width))
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


# Enough recent runs to learn every model in use; older ones describe older drivers.
HISTORY_RUNS = 500


def local_run_history(library_root: Path, limit: int = HISTORY_RUNS) -> list[dict[str, Any]]:
    """The library's latest local runs, oldest first, with what throughput is learned from
    (model, device, steps, size, count, mode, strength, load, inference and decode seconds).

    Read-only and forgiving: a library that is missing, locked or damaged gives no history
    (estimates then say no run was measured) rather than an error in the Generate button.
    """
    database = Path(library_root) / DATABASE_NAME
    if not database.is_file():
        return []
    try:
        conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        return []
    try:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT model, device, mode, steps, width, height, count, load_s, inference_s, "
            "decode_s, request_json FROM runs WHERE backend = 'local' "
            "ORDER BY created_at DESC LIMIT ?", [limit]).fetchall()
    except sqlite3.Error:
        return []
    finally:
        conn.close()
    history = []
    for row in reversed(rows):
        run = {key: row[key] for key in row.keys() if key != "request_json"}
        run["strength"] = _strength(row["request_json"])
        history.append(run)
    return history


def _strength(request_json: str | None) -> float:
    try:
        value = json.loads(request_json or "{}").get("strength", 1.0)
        return float(value) if value is not None else 1.0
    except (ValueError, TypeError, AttributeError):
        return 1.0
