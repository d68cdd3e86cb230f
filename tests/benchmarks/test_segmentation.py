"""benchmarks/segmentation.py on tiny photos: GrabCut is measured, a fetched model is measured
beside it, and models that are not fetched say so. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def test_photos_have_shadows_outside_their_known_masks() -> None:
    from benchmarks.segmentation import BACKGROUNDS, PRODUCTS, make_photos

    photos = make_photos(64)
    assert len(photos) == len(BACKGROUNDS) * len(PRODUCTS)
    for photo in photos:
        truth = np.asarray(photo.truth) >= 128
        assert 0.05 < truth.mean() < 0.5 and photo.image.size == (64, 64)
    plain = next(p for p in photos if p.background == "plain")
    pixels = np.asarray(plain.image.convert("L"), np.float32)
    below = pixels[int(64 * .9), 20:44]  # the shadow under the product
    assert below.min() < pixels[2, 2] - 30


@pytest.mark.slow  # GrabCut on fifteen photos, twice: a few seconds on a loaded 2-core CPU
def test_a_tiny_run_reports_grabcut_and_every_table_model(capsys, tmp_path: Path,
                                                           monkeypatch) -> None:
    pytest.importorskip("onnxruntime")
    from benchmarks.segmentation import main
    from studio import onnx_models
    from tests.tiny_onnx import cutout_row, save_cutout_model, use_table

    use_table(monkeypatch, tmp_path, "cutout", [cutout_row("tiny-a"), cutout_row("tiny-b")])
    save_cutout_model(onnx_models.find_model("cutout", "tiny-a").path, side=32)
    report = main(["--size", "64", "--plain", "--json", str(tmp_path / "seg.json")])
    text = capsys.readouterr().out
    by_method = {r["method"]: r for r in report["results"]}
    assert list(by_method) == ["grabcut", "grabcut-no-peel", "model:tiny-a", "model:tiny-b"]
    for method in ("grabcut", "grabcut-no-peel", "model:tiny-a"):
        result = by_method[method]
        assert result["status"] == "ok" and result["seconds_per_photo"] > 0
        assert set(result["iou"]) == {"plain", "gradient", "textured"}
        assert all(0 <= v <= 1 for v in result["iou"].values())
    assert by_method["model:tiny-b"]["status"] == "not fetched"
    assert "| model:tiny-b" in text and "not fetched" in text and "s per 64² photo" in text
    assert json.loads((tmp_path / "seg.json").read_text())["results"] == report["results"]
