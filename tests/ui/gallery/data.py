"""Library rows in bulk for gallery tests: real rows and real (tiny) PNGs, no record() cost."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from PIL import Image

from studio.library import Library

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def tiny_png(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class Row:
    prompt: str = "a red sneaker on white"
    backend: str = "local"
    model: str = "sd-turbo"
    total_s: float = 3.2
    cost_usd: float = 0.0031
    estimated: bool = False
    favourite: bool = False


def insert_rows(library: Library, rows: list[Row], *, start: datetime = T0,
                png: bytes | None = None) -> None:
    """One run and one image per row, each a minute newer than the one before."""
    data = png or tiny_png()
    runs, images = [], []
    for n, row in enumerate(rows):
        run_id = str(uuid.uuid4())
        created = (start + timedelta(minutes=n)).astimezone(UTC).isoformat(
            timespec="microseconds")
        rel = f"bulk/{run_id}.png"
        (library.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (library.root / rel).write_bytes(data)
        request = {"prompt": row.prompt, "model": row.model, "seed": n}
        runs.append((run_id, created, row.backend, row.model, "cpu", "txt2img", row.prompt,
                     json.dumps(request), n, 4, 1.0, 8, 8, 1, row.total_s, row.cost_usd,
                     "test", int(row.estimated)))
        # Distinct hashes, so every tile has its own thumbnail as in real use.
        sha = hashlib.sha256(run_id.encode()).hexdigest()
        images.append((run_id, rel, n, 8, 8, sha, int(row.favourite), created))
    with sqlite3.connect(library.db_path) as conn:
        conn.executemany(
            "INSERT INTO runs (id, created_at, backend, model, device, mode, prompt, "
            "request_json, seed, steps, guidance, width, height, count, total_s, cost_usd, "
            "cost_basis, cost_estimated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", runs)
        conn.executemany(
            "INSERT INTO images (run_id, path, seed, width, height, sha256, favourite, "
            "created_at) VALUES (?,?,?,?,?,?,?,?)", images)
    conn.close()
