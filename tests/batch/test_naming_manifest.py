"""Safe, unique export names and manifests that a spreadsheet cannot execute."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from studio.batch.manifest import ManifestRow, manifest_csv, manifest_json, write_manifests
from studio.batch.naming import export_paths, safe_component


@pytest.mark.parametrize("sku,expected", [
    ("../../etc/passwd", "etc-passwd"),
    ("..", "item"),
    ("/abs/path", "abs-path"),
    ("C:\\Windows\\system32", "C-Windows-system32"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    ("com1", "_com1"),
    ("LPT9 ", "_LPT9"),
    ("a\x00b\nc", "a-b-c"),
    ("  trailing dots... ", "trailing dots"),
    ("ＡＢＣ－１", "ABC-1"),
    ("", "item"),
])
def test_safe_component(sku: str, expected: str) -> None:
    assert safe_component(sku) == expected


def test_export_paths_never_escape_and_never_collide(tmp_path: Path) -> None:
    pairs = [("../x", "s1"), ("A/B", "s1"), ("A-B", "s1"), ("a-b", "s1"), ("A/B", "s1"),
             ("CON", "white_s1"), ("x" * 300, "s1")]
    paths = export_paths(pairs, "jpg")
    assert paths[:5] == ["x/x_s1.jpg", "A-B/A-B_s1.jpg", "A-B-2/A-B-2_s1.jpg",
                         "a-b-3/a-b-3_s1.jpg", "A-B/A-B_s1-2.jpg"]
    assert paths[5] == "_CON/_CON_white_s1.jpg"
    assert len({p.casefold() for p in paths}) == len(paths)
    for rel in paths:
        target = (tmp_path / rel).resolve()
        assert target.is_relative_to(tmp_path.resolve())
        assert all(len(part) <= 100 for part in Path(rel).parts)


def row(**changes: object) -> ManifestRow:
    values = dict(sku="A1", variant="s1", prompt="a tote", negative_prompt="", seed=5,
                  model="m", backend="local", latency_s=1.5, cost_usd=0.01, file="A1/A1_s1.png",
                  sha256="ab", width=64, height=64)
    values.update(changes)
    return ManifestRow(**values)  # type: ignore[arg-type]


def test_formula_injection_is_neutralised_in_csv_not_json() -> None:
    evil = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "＝1"]
    rows = [row(sku=e, prompt=e) for e in evil] + [row(sku="ok", cost_usd=0.25)]
    data = manifest_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    for line, text in zip(parsed, evil, strict=False):
        assert line["sku"] == "'" + text and line["prompt"] == "'" + text
    assert parsed[-1]["sku"] == "ok" and parsed[-1]["cost_usd"] == "0.25"
    payload = json.loads(manifest_json(rows, {"id": 1}))
    assert payload["images"][0]["sku"] == evil[0]
    assert set(payload["images"][0]) >= {"sku", "variant", "prompt", "seed", "model", "backend",
                                         "latency_s", "cost_usd", "file", "sha256"}


def test_write_manifests(tmp_path: Path) -> None:
    write_manifests(tmp_path, [row()], {"id": 3})
    assert (tmp_path / "manifest.csv").is_file()
    assert json.loads((tmp_path / "manifest.json").read_text())["job"] == {"id": 3}


def test_attempts_are_columns_and_failures_are_itemised_in_the_json() -> None:
    from studio.batch.manifest import FailureRow

    images = [row(attempts=3, billed_attempts=2)]
    failure = FailureRow("B2", "s1", "a cup", 6, "B2/B2_s1.png", "Read timeout after the "
                         "request was sent; not retried", 1, 1, 0.0123)
    header, line = manifest_csv(images).decode("utf-8-sig").splitlines()
    assert ",checks,attempts,billed_attempts,status,reason" in header
    values = dict(zip(header.split(","), line.split(","), strict=True))
    assert (values["checks"], values["attempts"], values["billed_attempts"],
            values["status"], values["reason"]) == ("", "3", "2", "made", "")
    data = json.loads(manifest_json(images, {"id": 1, "failed": 1, "failures": [failure]}))
    assert data["job"] == {"id": 1, "failed": 1}
    assert data["images"][0]["billed_attempts"] == 2
    assert data["failures"] == [{"sku": "B2", "variant": "s1", "prompt": "a cup", "seed": 6,
                                 "file": "B2/B2_s1.png", "reason": "Read timeout after the "
                                 "request was sent; not retried", "attempts": 1,
                                 "billed_attempts": 1, "lost_usd": 0.0123}]
    assert json.loads(manifest_json(images, {"id": 2}))["failures"] == []


def test_failed_items_are_lines_of_the_csv_with_their_reason() -> None:
    from studio.batch.manifest import FIELDS, FailureRow

    failure = FailureRow("B2", "s1", "=a cup", 6, "B2/B2_s1.png", "The model on endpoint e "
                         "failed: CUDA out of memory", 2, 1, 0.0123)
    as_stored = {"sku": "C3", "variant": "s2", "prompt": "a jug", "seed": 7,
                 "file": "C3/C3_s2.png", "reason": "Refused C3.", "attempts": 1,
                 "billed_attempts": 0, "lost_usd": 0.0}
    data = manifest_csv([row()], [failure, as_stored])
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].split(",") == list(FIELDS)
    made, failed, refused = csv.DictReader(io.StringIO(text))
    assert (made["status"], made["reason"], made["file"]) == ("made", "", "A1/A1_s1.png")
    assert failed == {**{name: "" for name in FIELDS}, "sku": "B2", "variant": "s1",
                      "prompt": "'=a cup", "seed": "6", "attempts": "2",
                      "billed_attempts": "1", "status": "failed",
                      "reason": "The model on endpoint e failed: CUDA out of memory"}
    assert (refused["sku"], refused["file"], refused["status"], refused["reason"]) == (
        "C3", "", "failed", "Refused C3.")


def test_write_manifests_lists_the_failures_in_both_files(tmp_path: Path) -> None:
    from studio.batch.manifest import FailureRow

    failure = FailureRow("B2", "s1", "a cup", 6, "B2/B2_s1.png", "Refused.", 1, 0, 0.0)
    write_manifests(tmp_path, [row()], {"id": 3, "failures": [failure]})
    lines = list(csv.DictReader(io.StringIO(
        (tmp_path / "manifest.csv").read_text(encoding="utf-8-sig"))))
    assert [(line["sku"], line["status"]) for line in lines] == [("A1", "made"),
                                                                 ("B2", "failed")]
    assert json.loads((tmp_path / "manifest.json").read_text())["failures"][0]["sku"] == "B2"
