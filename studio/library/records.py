"""What the library hands out: one image with how it was made, and totals over a period."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backends.types import Cost, GenerationResult, Timings

TIMING_COLUMNS = ("load_s", "queue_s", "network_s", "inference_s", "decode_s", "total_s")

# The columns `image_record` reads, for a query over `images i JOIN runs r`.
SELECT_IMAGES = """
    SELECT i.id, i.run_id, i.path, i.seed, i.width, i.height, i.sha256, i.favourite,
           i.created_at, r.prompt, r.negative_prompt, r.model, r.backend, r.device, r.mode,
           r.load_s, r.queue_s, r.network_s, r.inference_s, r.decode_s, r.total_s, r.count,
           r.cost_usd, r.cost_basis, r.cost_estimated, r.estimate_usd, r.estimate_basis,
           r.request_json, r.family, r.licence, r.commercial_use, r.accelerations, r.live
"""


@dataclass(frozen=True)
class ImageRecord:
    """One image of the history, with what its run says about how it was made."""

    id: int
    run_id: str
    path: Path
    seed: int
    width: int
    height: int
    sha256: str
    favourite: bool
    created_at: datetime
    prompt: str
    negative_prompt: str
    model: str
    backend: str
    device: str
    mode: str
    timings: Timings
    cost: Cost
    estimate: Cost | None
    request: dict[str, Any] = field(repr=False, hash=False)
    family: str = ""  # "" where the backend did not say (cloud models, older rows)
    licence: str = ""
    commercial_use: bool | None = None
    accelerations: tuple[str, ...] = ()
    live: bool = False  # made by live mode, as the designer typed

    @property
    def latency_s(self) -> float:
        return self.timings.total_s


@dataclass(frozen=True)
class Totals:
    images: int
    seconds: float
    usd: float


def iso(moment: datetime) -> str:
    """One fixed format in UTC, so comparing the stored text compares the moments."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def image_record(row: sqlite3.Row, root: Path) -> ImageRecord:
    """A row of SELECT_IMAGES as a record; a run's cost and estimate are shared per image."""
    share = max(1, row["count"])
    estimate = None
    if row["estimate_usd"] is not None:
        estimate = Cost(row["estimate_usd"] / share, row["estimate_basis"] or "", True)
    return ImageRecord(
        id=row["id"], run_id=row["run_id"], path=root / row["path"], seed=row["seed"],
        width=row["width"], height=row["height"], sha256=row["sha256"],
        favourite=bool(row["favourite"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        prompt=row["prompt"], negative_prompt=row["negative_prompt"], model=row["model"],
        backend=row["backend"], device=row["device"], mode=row["mode"],
        timings=Timings(**{name: row[name] for name in TIMING_COLUMNS}),
        cost=Cost(row["cost_usd"] / share, row["cost_basis"], bool(row["cost_estimated"])),
        estimate=estimate,
        request=json.loads(row["request_json"]),
        family=row["family"], licence=row["licence"],
        commercial_use=None if row["commercial_use"] is None else bool(row["commercial_use"]),
        accelerations=tuple(json.loads(row["accelerations"] or "[]")),
        live=bool(row["live"]),
    )


def run_row(run_id: str, result: GenerationResult, estimate: Cost | None,
            init_rel: str | None, *, live: bool = False) -> dict[str, Any]:
    """The `runs` row of a result. The request is stored with the seed the run really used;
    `live`: live mode made it."""
    request = result.request
    run_seed = request.seed if request.seed is not None else result.images[0].seed
    return {
        "id": run_id, "created_at": iso(result.created_at), "backend": result.backend,
        "model": result.model, "device": result.device, "mode": request.mode,
        "prompt": request.prompt, "negative_prompt": request.negative_prompt,
        "request_json": json.dumps(request.replace(seed=run_seed).to_dict(), ensure_ascii=False),
        # 0 where the backend takes no steps or guidance (Bedrock); request_json keeps None.
        "seed": run_seed, "steps": request.steps or 0, "guidance": float(request.guidance or 0),
        "width": request.width, "height": request.height, "count": len(result.images),
        **result.timings.to_dict(),
        "cost_usd": result.cost.usd, "cost_basis": result.cost.basis,
        "cost_estimated": int(result.cost.estimated),
        "estimate_usd": estimate.usd if estimate else None,
        "estimate_basis": estimate.basis if estimate else None,
        "init_image_path": init_rel,
        "family": result.family, "licence": result.licence,
        "commercial_use": None if result.commercial_use is None else int(result.commercial_use),
        "accelerations": json.dumps(list(result.accelerations), ensure_ascii=False),
        "live": int(live),
    }
