"""What an interrupted save leaves in the library folder, put right when the library opens.

`Library.record()` renames each PNG into place before its rows commit, so a kill in between
leaves a complete PNG that no row refers to. On open, files Studio itself laid out
(`YYYY-MM-DD/STAMP_RUN_INDEX_SEED.png`, `inputs/SHA256.png`) that have had no row for a
minute are dealt with:

- a generated PNG that carries Studio's metadata (the `studio` chunk, written into every
  image) is re-imported: its run and image rows are rebuilt from that chunk as `record()`
  would have written them, so the paid-for image is back in the history with its prompt,
  cost and latency, and nothing is generated again;
- anything else of Studio's (an image whose metadata cannot be read, an init image whose run
  never committed) is moved to `orphans/`, never deleted, and counted.

Files that are not in Studio's layout (the library folder may be one the user also keeps
other pictures in) are only counted, never moved. The minute's grace is for another process
(the window next to the CLI) that may be between rename and commit at this very moment.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image

from backends.errors import InvalidRequest
from backends.types import Cost, GeneratedImage, GenerationResult, Timings
from studio.library.files import ORPHANS_DIR
from studio.library.png_metadata import read_png_metadata, request_from_studio_json
from studio.library.records import iso, run_row

_GENERATED = re.compile(r"\d{4}-\d{2}-\d{2}/(\d{8}-\d{6}_[0-9a-f]{8})_\d+_\d+\.png")
_INPUT = re.compile(r"inputs/[0-9a-f]{64}\.png")


@dataclass(frozen=True)
class OrphanSweep:
    """What opening the library found and did; `summary()` is the sentence to show."""

    reimported: tuple[str, ...] = ()  # relative paths whose rows were rebuilt
    moved: tuple[str, ...] = ()  # relative paths now under orphans/ (same relative path)
    foreign: tuple[str, ...] = ()  # PNGs not in Studio's layout, left where they are
    temp_removed: int = 0  # half-written temp files of a killed save, removed
    failed: str = ""  # why the sweep stopped, when it did (the library still opens)

    @property
    def count(self) -> int:
        return len(self.reimported) + len(self.moved) + len(self.foreign)

    def summary(self) -> str:
        parts = []
        if self.reimported:
            parts.append(f"{len(self.reimported)} image(s) an interrupted save left without "
                         "a history row were put back in the history from their metadata")
        if self.moved:
            parts.append(f"{len(self.moved)} file(s) without a row or readable metadata were "
                         f"moved to the {ORPHANS_DIR}/ folder")
        if self.foreign:
            parts.append(f"{len(self.foreign)} PNG(s) Studio did not make are in the library "
                         "folder; they were left alone")
        if self.temp_removed:
            parts.append(f"{self.temp_removed} half-written temp file(s) were removed")
        if self.failed:
            parts.append(f"looking for files without a row stopped: {self.failed}")
        return "; ".join(parts) + "." if parts else ""


@dataclass
class RebuiltRun:
    """The rows record() would have written for some PNGs of one run."""

    run: dict[str, Any]
    images: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def sort_orphans(rels: list[str]) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """Studio's generated PNGs grouped by run, Studio's other files, and foreign PNGs."""
    runs: dict[str, list[str]] = defaultdict(list)
    others: list[str] = []
    foreign: list[str] = []
    for rel in sorted(rels):
        generated = _GENERATED.fullmatch(rel)
        if generated:
            runs[rel.split("/", 1)[0] + "/" + generated[1]].append(rel)
        elif _INPUT.fullmatch(rel):
            others.append(rel)
        else:
            foreign.append(rel)
    return runs, others, foreign


def rebuild_run(root: Path, rels: list[str]) -> tuple[RebuiltRun | None, list[str]]:
    """The rows for the PNGs of one run that carry Studio's metadata, and the rels that
    do not (to be moved aside)."""
    readable: list[tuple[str, dict[str, Any], tuple[int, int], str]] = []
    unreadable: list[str] = []
    for rel in rels:
        found = _studio_facts(root / rel)
        if found is None:
            unreadable.append(rel)
        else:
            readable.append((rel, *found))
    if not readable:
        return None, unreadable
    try:
        result, estimate = _result_of(readable)
    except (InvalidRequest, AttributeError, KeyError, TypeError, ValueError):
        return None, unreadable + [rel for rel, *_ in readable]
    run_id = str(uuid.uuid4())
    rebuilt = RebuiltRun(run_row(run_id, result, estimate, None))
    for rel, studio, (width, height), sha256 in readable:
        rebuilt.images.append({
            "run_id": run_id, "path": rel, "seed": int(studio["seed"]), "width": width,
            "height": height, "sha256": sha256, "favourite": 0,
            "created_at": iso(result.created_at),
        })
        rebuilt.paths.append(rel)
    return rebuilt, unreadable


def move_aside(root: Path, rel: str) -> str:
    """Move `rel` to orphans/ under the same relative path (a number added on a clash)."""
    target = root / ORPHANS_DIR / rel
    number = 1
    while target.exists():
        target = target.with_name(f"{Path(rel).stem}-{number}{Path(rel).suffix}")
        number += 1
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(root / rel, target)
    return target.relative_to(root).as_posix()


def _studio_facts(path: Path) -> tuple[dict[str, Any], tuple[int, int], str] | None:
    """The Studio chunk, size and sha256 of a PNG; None when it has no usable chunk."""
    metadata = read_png_metadata(path)
    if metadata is None or metadata.studio is None or "seed" not in metadata.studio:
        return None
    try:
        with Image.open(path) as image:
            size = image.size
        data = path.read_bytes()
    except OSError:
        return None
    return metadata.studio, size, hashlib.sha256(data).hexdigest()


def _result_of(readable: list[tuple[str, dict[str, Any], tuple[int, int], str]]
               ) -> tuple[GenerationResult, Cost | None]:
    """The run as a GenerationResult (sizes only, no pixels), and its estimate: the Studio
    chunk holds per-image money, so the run's is that times its images."""
    first = readable[0][1]
    count = len(readable)
    request = request_from_studio_json(first)
    per_image = Cost.from_dict(first["cost"])
    estimate = first.get("estimate")
    images = tuple(GeneratedImage(Image.new("RGB", (1, 1)), int(studio["seed"]))
                   for _, studio, _, _ in readable)
    result = GenerationResult(
        request=request, images=images, timings=Timings.from_dict(first.get("timings") or {}),
        cost=Cost(per_image.usd * count, per_image.basis, per_image.estimated),
        backend=str(first["backend"]), model=str(first["model"]),
        device=str(first.get("device") or ""),
        created_at=datetime.fromisoformat(str(first["created_at"])),
        family=str(first.get("family") or ""), licence=str(first.get("licence") or ""),
        commercial_use=first.get("commercial_use"),
        accelerations=tuple(str(a) for a in first.get("accelerations") or ()),
    )
    total = None
    if isinstance(estimate, dict):
        each = Cost.from_dict(estimate)
        total = Cost(each.usd * count, each.basis, each.estimated)
    return result, total
