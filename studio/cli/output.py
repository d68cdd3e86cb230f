"""What the CLI prints: one line (or JSON object) per image, and progress on a terminal."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from backends.types import Progress
from studio.formatting import format_usd


def record_json(record: Any, path: Path | None = None) -> dict[str, Any]:
    return {
        "id": record.id,
        "path": str(path or record.path),
        "library_path": str(record.path),
        "prompt": record.prompt,
        "seed": record.seed,
        "model": record.model,
        "family": record.family or None,
        "licence": record.licence or None,
        "commercial_use": record.commercial_use,
        "mode": record.mode,
        "steps": record.request.get("steps"),
        "guidance": record.request.get("guidance"),
        "loras": record.request.get("loras", []),
        "speed": record.request.get("speed"),
        "accelerations": list(record.accelerations),
        "backend": record.backend,
        "device": record.device,
        "width": record.width,
        "height": record.height,
        "created_at": record.created_at.isoformat(),
        "timings": record.timings.to_dict(),
        "latency_s": round(record.latency_s, 4),
        "cost_usd": record.cost.usd,
        "cost_basis": record.cost.basis,
        "cost_estimated": record.cost.estimated,
        "estimate_usd": record.estimate.usd if record.estimate else None,
    }


def print_record(record: Any, as_json: bool, path: Path | None = None) -> None:
    if as_json:
        print(json.dumps(record_json(record, path)), flush=True)
        return
    t = record.timings
    family = f" · {record.family}, {record.licence}" if record.family else ""
    print(f"{path or record.path}\n  seed {record.seed} · {record.model}{family} on "
          f"{record.backend} ({record.device})\n  {t.total_s:.2f} s (load {t.load_s:.2f}, "
          f"queue {t.queue_s:.2f}, "
          f"network {t.network_s:.2f}, inference {t.inference_s:.2f}, decode {t.decode_s:.2f}) · "
          # Six decimals: the exact figure a script or a spreadsheet adds up.
          f"{format_usd(record.cost.usd)} — {record.cost.basis}", flush=True)
    if record.accelerations:
        print(f"  {'; '.join(record.accelerations)}", flush=True)


def print_records(records: list[Any], as_json: bool, out: Path | None) -> None:
    """Each record, after copying its PNG into `out` when one was given."""
    for record in records:
        path = record.path
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            path = Path(shutil.copy2(record.path, out / record.path.name))
        print_record(record, as_json, path=path)


def print_progress(event: Progress) -> None:
    if sys.stderr.isatty():
        print(f"\r{event.message:<60}", end="", file=sys.stderr, flush=True)
