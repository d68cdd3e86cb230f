"""Presets that put products on white (amazon-main): a row with a photo becomes one
packshot, made without a backend; a row without one is generated, then cut out onto white."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from backends.types import GenerationRequest
from studio.batch.catalog import load_catalog
from studio.batch.matrix import Axis
from studio.batch.plan import estimate_batch, packshot_skus, parse_templates, plan_items
from studio.batch.presets import get_preset
from studio.batch.products import ProductScenes
from studio.batch.store import BatchStore
from studio.cli.main import main
from studio.library import Library
from tests.batch.fakes import FakeBackend, make_runner
from tests.batch.test_products import TINY, grey_background_photo, write_catalog
from tests.library.xmp_reader import COMPOSITE, ENHANCED, TRAINED, read_disclosure

AMAZON = get_preset("amazon-main")


def _catalog(folder: Path, rows: list[tuple[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    grey_background_photo(folder / "bottle.jpg")
    return write_catalog(folder / "catalog.csv", rows)


def _plan(catalog_path: Path, preset, axes=(), seeds: int = 1):
    catalog = load_catalog(catalog_path)
    template, negative = parse_templates(catalog, list(axes), "a {title} on a {scene}", "")
    return plan_items(catalog, template, negative, list(axes), seeds, 5, preset,
                      packshot_skus(catalog, "image", preset))


def test_a_sku_with_a_photo_gets_one_packshot_whatever_the_axes(tmp_path: Path) -> None:
    path = _catalog(tmp_path, [("P-1", "bottle.jpg"), ("T-1", ""), ("P-1", "bottle.jpg")])
    axes = [Axis("scene", ("studio", "garden"))]
    items = _plan(path, AMAZON, axes, seeds=2)
    packshots = [i for i in items if i.packshot]
    assert [(i.sku, i.variant, i.file, i.prompt) for i in packshots] == [
        ("P-1", "main", "P-1/P-1_main.jpg", "")]
    assert len([i for i in items if i.sku == "T-1"]) == 4  # 2 scenes × 2 seeds, generated
    # Other presets and jobs without photos make scenes as before.
    assert not any(i.packshot for i in _plan(path, get_preset("shopify"), axes))
    catalog = load_catalog(path)
    assert packshot_skus(catalog, None, AMAZON) == frozenset()


def test_the_estimate_counts_only_what_is_generated(tmp_path: Path) -> None:
    path = _catalog(tmp_path, [("P-1", "bottle.jpg"), ("P-2", "bottle.jpg"), ("T-1", "")])
    items = _plan(path, AMAZON, [Axis("scene", ("studio",))])
    library = Library.open(tmp_path / "library")
    try:
        estimate = estimate_batch(FakeBackend(usd=0.1), GenerationRequest(prompt="x", seed=0),
                                  items, library, 1)
    finally:
        library.close()
    assert (estimate.images, estimate.packshots) == (1, 2)
    assert estimate.usd == pytest.approx(0.1)
    assert "and 2 packshots (the product photo on white: nothing generated, $0)" in \
        estimate.describe()


def _run(tmp_path: Path, rows, backend: FakeBackend):
    path = _catalog(tmp_path / "shop", rows)
    store, library = BatchStore(), Library.open(tmp_path / "library")
    items = _plan(path, AMAZON, [Axis("scene", ("studio",))])
    job_id = store.create_job(str(path), str(tmp_path / "out"), {}, items)
    runner = make_runner(store, job_id, tmp_path / "out", backend, library, preset=AMAZON)
    runner.products = ProductScenes(load_catalog(path), "image")
    summary = runner.run()
    library.close()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    return summary, {row["sku"]: row for row in manifest["images"]}, manifest


def test_an_unusable_photo_fails_only_its_packshot_and_calls_no_backend(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "broken.jpg").write_bytes(b"not a jpeg")
    backend = FakeBackend()
    summary, rows, manifest = _run(tmp_path, [("P-1", "bottle.jpg"), ("B-1", "broken.jpg")],
                                   backend)
    assert (summary.done, summary.failed, backend.calls) == (1, 1, [])
    assert rows["P-1"]["checks"] == "pass" and rows["P-1"]["cost_usd"] == 0
    (failure,) = manifest["failures"]
    assert failure["sku"] == "B-1" and "could not be read as an image" in failure["reason"]


class ProductOnGrey(FakeBackend):
    """Answers what a real model asked for "a seamless pure white background" tends to
    paint: the product on a light grey, never quite 255."""

    def generate(self, request, on_progress=None, cancel=None):
        result = super().generate(request, on_progress, cancel)
        images = []
        for generated in result.images:
            image = Image.new("RGB", generated.image.size, (236, 236, 232))
            w, h = image.size
            ImageDraw.Draw(image).rectangle((w * 3 // 8, h // 4, w * 5 // 8, h * 3 // 4),
                                            fill=(40, 90, 150))
            images.append(type(generated)(image, generated.seed))
        return type(result)(**{**result.__dict__, "images": tuple(images)})


def test_a_generated_product_is_cut_out_onto_pure_white(tmp_path: Path) -> None:
    backend = ProductOnGrey()
    summary, rows, _ = _run(tmp_path, [("P-1", "bottle.jpg"), ("T-1", "")], backend)
    assert (summary.done, len(backend.calls)) == (2, 1)
    made = rows["T-1"]
    assert made["checks"] == "pass", [c for c in made["check_details"] if not c["passed"]]
    on_white = {c["rule"]: c for c in made["check_details"]}["on_white"]
    assert on_white["method"] == "grabcut"
    exported = (tmp_path / "out" / made["file"]).read_bytes()
    assert read_disclosure(exported)["DigitalSourceType"] == TRAINED
    packshot = (tmp_path / "out" / rows["P-1"]["file"]).read_bytes()
    assert read_disclosure(packshot)["DigitalSourceType"] == ENHANCED != COMPOSITE
    with Image.open(tmp_path / "out" / made["file"]) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert (pixels[:40] == 255).all()  # the grey the model painted is gone from the border


@pytest.mark.slow
def test_issue_17_done_when_through_the_cli(tmp_path: Path, tiny_sd_path: Path,
                                            capsys) -> None:
    """A product photo on grey, through `studio batch` with amazon-main and shopify: every
    file passes its preset's checks, and each says how it was made in its XMP."""
    path = _catalog(tmp_path / "shop", [("BTL-1", "bottle.jpg")])
    for preset in ("amazon-main", "shopify"):
        out = tmp_path / preset
        assert main(["batch", str(path), "--template", "a {title} on a kitchen counter",
                     "--model", str(tiny_sd_path), *TINY, "--preset", preset,
                     "--out", str(out)]) == 0
        assert main(["check", str(out), "--preset", preset]) == 0
        (row,) = json.loads((out / "manifest.json").read_text())["images"]
        assert row["checks"] == "pass"
        disclosure = read_disclosure((out / row["file"]).read_bytes())
        assert disclosure["DigitalSourceType"] == (ENHANCED if preset == "amazon-main"
                                                   else COMPOSITE)
    err = capsys.readouterr().err
    assert "BTL-1 · main: the product photo on white (nothing generated)" in err
