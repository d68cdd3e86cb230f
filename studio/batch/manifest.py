"""manifest.csv and manifest.json: one row per exported image, how it was made and its cost.

Each image says how many attempts it took and how many were (or may have been) billed: the
one that delivered, plus any lost one after which the backend may have made it anyway (a read
timeout, a reset after sending). manifest.json also itemises the items that failed, each with
its reason and attempts, under "failures" (the job's own summary is under "job"); manifest.csv
lists them after the images, with an empty `file`, `status` "failed" and the `reason`.

A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@` (or a tab or carriage return,
which some read past) as a formula, and SKUs and prompts come from outside. In the CSV such
a text cell is prefixed with `'`, which spreadsheets show as text; numbers stay numbers. The
JSON keeps every value exactly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from studio.atomic import write_bytes_atomic

FIELDS = ("sku", "variant", "prompt", "negative_prompt", "seed", "model", "backend",
          "latency_s", "cost_usd", "file", "sha256", "width", "height", "upscaled_by",
          "upscale_factor", "mask", "c2pa", "checks", "attempts", "billed_attempts",
          "status", "reason", "output_location")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


@dataclass(frozen=True)
class ManifestRow:
    sku: str
    variant: str
    prompt: str
    negative_prompt: str
    seed: int
    model: str
    backend: str
    latency_s: float
    cost_usd: float
    file: str
    sha256: str
    width: int
    height: int
    # The preset's rules on the exported file: "pass", or "fail: rule, rule"; "" without a
    # preset. manifest.json also has each rule's measurement (check_details).
    checks: str = ""
    check_details: tuple[dict[str, Any], ...] = ()
    attempts: int = 1
    billed_attempts: int = 1
    # How the scene reached the preset's size: "none", "lanczos" or "model:<name>", and the
    # factor it was enlarged by ("" and 0 without a preset).
    upscaled_by: str = ""
    upscale_factor: float = 0.0
    # How a product row's mask was made: grabcut, model:<name>, alpha, file, painted ("" for
    # an image made from text alone).
    mask: str = ""
    # Content Credentials: "signed" (a C2PA manifest with the user's certificate) or "unsigned".
    c2pa: str = "unsigned"
    # An async batch's result in S3 (the endpoint's output object); "" otherwise.
    output_location: str = ""


@dataclass(frozen=True)
class FailureRow:
    """An item that was not made, and why."""

    sku: str
    variant: str
    prompt: str
    seed: int
    file: str  # the name it would have had
    reason: str
    attempts: int
    billed_attempts: int  # tries that may have been paid for although nothing came back
    lost_usd: float  # their estimated cost, counted in the job's spending


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def failure_values(failure: FailureRow | dict[str, Any]) -> dict[str, Any]:
    """A failed item as a manifest.csv row: no file, status "failed", why; what it would have
    been (SKU, variant, prompt, seed) and the tries it cost."""
    values = asdict(failure) if isinstance(failure, FailureRow) else dict(failure)
    keep = ("sku", "variant", "prompt", "seed", "attempts", "billed_attempts")
    row = {name: values.get(name, "") for name in keep}
    return {**row, "file": "", "status": "failed", "reason": values.get("reason", "")}


def manifest_csv(rows: Sequence[ManifestRow],
                 failures: Sequence[FailureRow | dict[str, Any]] = ()) -> bytes:
    """One line per image (status "made"), then one per failed item (status "failed")."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for row in rows:
        values = {**asdict(row), "status": "made", "reason": ""}
        writer.writerow([neutralise(values[name]) for name in FIELDS])
    for failure in failures:
        values = failure_values(failure)
        writer.writerow([neutralise(values.get(name, "")) for name in FIELDS])
    # A BOM, so Excel opens the UTF-8 as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def manifest_json(rows: Sequence[ManifestRow], job: dict[str, Any]) -> bytes:
    """{"job": the job's summary, "images": one per row, "failures": `job["failures"]`}: the
    failures travel in `job` so that every writer of the manifest passes them on."""
    summary = {key: value for key, value in job.items() if key != "failures"}
    failures = [asdict(f) if isinstance(f, FailureRow) else f for f in job.get("failures", [])]
    payload = {"job": summary, "images": [asdict(row) for row in rows], "failures": failures}
    return json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")


def write_manifests(folder: Path, rows: Sequence[ManifestRow], job: dict[str, Any]) -> None:
    write_bytes_atomic(folder / "manifest.csv", manifest_csv(rows, job.get("failures", ())))
    write_bytes_atomic(folder / "manifest.json", manifest_json(rows, job))
