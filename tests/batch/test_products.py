"""`studio batch` with a product photo column: scenes around each product, pixels kept."""

from __future__ import annotations

import csv
import http.server
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.batch.catalog import load_catalog
from studio.batch.products import IMAGE_COLUMNS, find_image_column, image_value
from studio.cli.main import main
from studio.product import Placement, prepare_product
from tests.product.photos import product_photo, rgba_product

TINY = ["--width", "64", "--height", "64", "--steps", "2", "--device", "cpu", "--seed", "7"]


def photos(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    cutout, _ = rgba_product((48, 40))
    png = folder / "bottle.png"
    cutout.save(png)
    photo, _ = product_photo((96, 80))
    jpeg = folder / "mug.jpg"
    photo.save(jpeg, quality=95)
    return png, jpeg


def write_catalog(path: Path, rows: list[tuple[str, str]], column: str = "image") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", column])
        writer.writerows([sku, f"item {sku}", image] for sku, image in rows)
    return path


def run_batch(catalog: Path, out: Path, model: Path, *extra: str) -> int:
    return main(["batch", str(catalog), "--template", "{title} on a {scene}",
                 "--model", str(model), *TINY, "--out", str(out), *extra])


def assert_product_kept(exported: Path, photo: Path) -> None:
    placed, _ = prepare_product(photo, (64, 64), Placement())
    with Image.open(exported) as image:
        pixels = np.asarray(image.convert("RGB"))
    inside = np.asarray(placed.mask) >= 128
    assert inside.sum() > 50
    assert np.array_equal(pixels[inside], np.asarray(placed.source)[inside])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_image_column_is_found_by_its_usual_names(tmp_path: Path) -> None:
    for header, key in [("Image Src", "image_src"), ("Images", "images"),
                        ("product_image", "product_image"), ("image_path", "image_path")]:
        path = write_catalog(tmp_path / "c.csv", [("A-1", "a.png")], header)
        assert find_image_column(load_catalog(path)) == key
        assert key in IMAGE_COLUMNS
    assert find_image_column(load_catalog(path), "Image Path") == "image_path"
    assert image_value("images", " a.jpg, b.jpg") == "a.jpg"


def test_rows_with_photos_make_scenes_around_the_exact_product(
        tmp_path: Path, studio_home: Path, tiny_sd_path: Path, capsys) -> None:
    png, jpeg = photos(tmp_path / "shop" / "photos")
    catalog = write_catalog(tmp_path / "shop" / "catalog.csv",
                            [("P-1", "photos/bottle.png"), ("P-2", str(jpeg))])
    out = tmp_path / "export"
    assert run_batch(catalog, out, tiny_sd_path, "--axis", "scene=beach|kitchen") == 0
    images = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert images == ["P-1/P-1_beach_s1.png", "P-1/P-1_kitchen_s1.png",
                      "P-2/P-2_beach_s1.png", "P-2/P-2_kitchen_s1.png"]
    for name in images:
        assert_product_kept(out / name, png if name.startswith("P-1") else jpeg)
    with (out / "manifest.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["file"] for r in rows) == images
    assert {r["prompt"] for r in rows if r["sku"] == "P-1"} == {"item P-1 on a beach",
                                                                "item P-1 on a kitchen"}
    # Each product row says how its mask was made: the PNG's alpha, GrabCut on the JPEG.
    assert {(r["sku"], r["mask"]) for r in rows} == {("P-1", "alpha"), ("P-2", "grabcut")}


def test_urls_download_and_a_missing_photo_fails_only_its_item(
        tmp_path: Path, studio_home: Path, tiny_sd_path: Path, server: str, capsys) -> None:
    png, _ = photos(tmp_path / "served")
    catalog = write_catalog(tmp_path / "catalog.csv", [
        ("U-1", f"{server}/bottle.png"), ("M-1", "nowhere.png"),
        ("N-1", f"{server}/gone.png")], column="Image Src")
    out = tmp_path / "export"
    assert run_batch(catalog, out, tiny_sd_path, "--axis", "scene=beach", "--json") == 1
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (summary["done"], summary["failed"]) == (1, 2)
    reasons = {f["sku"]: f["reason"] for f in summary["failures"]}
    assert "not found" in reasons["M-1"] and "nowhere.png" in reasons["M-1"]
    assert "404" in reasons["N-1"]
    assert_product_kept(out / "U-1" / "U-1_beach_s1.png", png)
    cached = list((studio_home / "cache" / "product-images").iterdir())
    assert len(cached) == 1 and cached[0].read_bytes() == png.read_bytes()


def test_a_marketplace_export_is_built_at_its_final_size_around_the_exact_product(
        tmp_path: Path, studio_home: Path, tiny_sd_path: Path, capsys) -> None:
    png, _ = photos(tmp_path / "shop" / "photos")
    catalog = write_catalog(tmp_path / "shop" / "catalog.csv", [("P-1", "photos/bottle.png")])
    out = tmp_path / "export"
    assert run_batch(catalog, out, tiny_sd_path, "--axis", "scene=studio",
                     "--preset", "amazon-main") == 0
    (row,) = json.loads((out / "manifest.json").read_text())["images"]
    (check,) = [c for c in row["check_details"] if c["rule"] == "product_pixels"]
    assert "largest error" in check["detail"] and "JPEG quality ≥ 95, 4:4:4" in check["detail"]
    placed, _ = prepare_product(png, (2000, 2000), Placement())
    inside = np.asarray(placed.mask) >= 128
    with Image.open(out / row["file"]) as image:
        assert image.size == (2000, 2000)
        error = np.abs(np.asarray(image.convert("RGB"), dtype=np.int16)
                       - np.asarray(placed.source, dtype=np.int16))[inside]
    largest = int(check["detail"].split("largest error ")[1].split(",")[0])
    assert int(error.max()) == largest  # the manifest's figure is the file's


def test_a_lossless_export_keeps_every_product_pixel_through_resize_and_white_snap(
        tmp_path: Path) -> None:
    from studio.batch.presets import OutputPreset
    from studio.batch.runner import product_pixels_check

    png, _ = photos(tmp_path)
    preset = OutputPreset("png-main", "PNG main", 640, 640, fit="pad", format="png",
                          pure_white=True)
    placed, _ = prepare_product(png, (640, 640), Placement())
    scene = Image.new("RGB", (64, 64), (250, 250, 250))  # near white: the snap takes it
    final = preset.final_with_product(scene, placed)
    data = preset.encode(final, final=True)
    inside = np.asarray(placed.mask) >= 128
    with Image.open(io.BytesIO(data)) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert np.array_equal(pixels[inside], np.asarray(placed.source)[inside])
    assert (pixels[~inside] == 255).mean() > 0.5  # the scene around it was snapped
    check = product_pixels_check(data, final, placed, "png")
    assert check.passed and check.detail.startswith("product region: largest error 0")


SHOPIFY_TEMPLATE = Path(__file__).parent / "data" / "shopify_product_template.csv"


def shopify_with_local_photos(folder: Path) -> tuple[Path, Path, Path]:
    """Shopify's template trimmed to Green S, Blue M, an image-only row and the beanie, its
    photo URLs swapped for local files (tests download nothing); the beanie has no photo."""
    png, jpeg = photos(folder / "photos")
    local = {"cobalt-blue-t-shirt.jpg": "photos/bottle.png", "grey-t-shirt.jpg": "photos/mug.jpg",
             "green-t-shirt.jpg": "photos/mug.jpg", "tshirts.jpg": "photos/mug.jpg"}
    with SHOPIFY_TEMPLATE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kept = [r for r in rows if r["Variant SKU"] in ("SRT_COT_111", "SRT_COT_222", "HAT_GRY_275")
            or (r["Handle"] == "example-pants" and not r["Variant SKU"])]
    kept.insert(0, next(r for r in rows if r["Variant SKU"] == "PNT_DEN_285"))
    for row in kept:
        for column in ("Image Src", "Variant Image"):
            name = row[column].split("/")[-1].split("?")[0]
            row[column] = local.get(name, "")
    path = folder / "products_export.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    return path, png, jpeg


@pytest.mark.slow
def test_shopify_variants_use_their_variant_image_and_a_product_without_one_is_made_from_text(
        tmp_path: Path, studio_home: Path, tiny_sd_path: Path, capsys) -> None:
    catalog, png, jpeg = shopify_with_local_photos(tmp_path / "shop")
    out = tmp_path / "export"
    code = main(["batch", str(catalog), "--template", "{title} in {color}, size {size}",
                 "--model", str(tiny_sd_path), *TINY, "--out", str(out), "--json"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Catalog products_export.csv: shopify, 4 products" in err
    assert ("Product photos from column 'product_photo': each scene is made around the "
            "product; 2 of 4 products have no photo and are made from their text.") in err
    assert_product_kept(out / "SRT_COT_222" / "SRT_COT_222_s1.png", png)  # blue, not grey
    assert_product_kept(out / "SRT_COT_111" / "SRT_COT_111_s1.png", jpeg)
    with (out / "manifest.csv").open(encoding="utf-8-sig") as handle:
        rows = {r["sku"]: r for r in csv.DictReader(handle)}
    assert set(rows) == {"PNT_DEN_285", "SRT_COT_111", "SRT_COT_222", "HAT_GRY_275"}
    assert rows["HAT_GRY_275"]["prompt"] == "Example Beanie"
    assert rows["PNT_DEN_285"]["prompt"] == "Example Jeans, size 28"
    with Image.open(out / "HAT_GRY_275" / "HAT_GRY_275_s1.png") as made:
        assert made.size == (64, 64)


def test_product_images_off_makes_every_item_from_text(
        tmp_path: Path, studio_home: Path, tiny_sd_path: Path, capsys) -> None:
    png, _ = photos(tmp_path / "shop" / "photos")
    catalog = write_catalog(tmp_path / "shop" / "catalog.csv", [("P-1", "photos/bottle.png")])
    assert main(["batch", str(catalog), "--template", "{title}", "--product-images", "off",
                 "--model", str(tiny_sd_path), *TINY, "--dry-run"]) == 0
    assert "Product photos off: every product is made from its text." in capsys.readouterr().err
    assert main(["batch", str(catalog), "--template", "{title}", "--image-column", "image",
                 "--model", str(tiny_sd_path), *TINY, "--dry-run"]) == 0
    assert "from column 'image'" in capsys.readouterr().err
    assert main(["batch", str(catalog), "--template", "{title}", "--product-images", "photo",
                 "--model", str(tiny_sd_path), *TINY, "--dry-run"]) == 2
    assert "no column 'photo' for --product-images" in capsys.readouterr().err
    assert main(["batch", str(catalog), "--template", "{title}", "--product-images", "off",
                 "--fill", "0.5", "--model", str(tiny_sd_path), *TINY, "--dry-run"]) == 2
    assert "--product-images COLUMN" in capsys.readouterr().err


def test_scenes_for_a_row_without_a_photo_are_the_plain_request(tmp_path: Path) -> None:
    from backends.types import GenerationRequest
    from studio.batch.products import ProductScenes
    from tests.batch.fakes import FakeBackend

    photos(tmp_path / "photos")
    catalog = load_catalog(write_catalog(tmp_path / "c.csv", [("A-1", "photos/bottle.png"),
                                                               ("B-2", "")]))
    scenes = ProductScenes(catalog, "image")
    request = GenerationRequest(prompt="a mug", seed=1, width=64, height=64)
    backend = FakeBackend()
    assert (scenes.has_photo("A-1"), scenes.has_photo("B-2")) == (True, False)
    assert scenes.prepare(backend, "B-2", request) == (backend, request)
    made_backend, made_request = scenes.prepare(backend, "A-1", request)
    assert made_backend is not backend and made_request.init_image is not None


def test_harmonise_runs_a_second_pass_keeps_the_product_and_is_stored_for_resume(
        tmp_path: Path, studio_home: Path, tiny_sd_path: Path, capsys) -> None:
    from studio.batch.plan import BatchSpec
    from studio.batch.store import BatchStore
    from studio.library import Library

    png, _ = photos(tmp_path / "shop" / "photos")
    catalog = write_catalog(tmp_path / "shop" / "catalog.csv", [("P-1", "photos/bottle.png")])
    out = tmp_path / "export"
    assert run_batch(catalog, out, tiny_sd_path, "--axis", "scene=beach",
                     "--harmonise", "0.3", "--steps", "4") == 0  # 0.3 × 4: one step
    assert_product_kept(out / "P-1" / "P-1_beach_s1.png", png)
    (job,) = BatchStore().jobs()
    assert BatchSpec.from_dict(job.spec).harmonise == 0.3
    (record,) = Library.open(studio_home / "library").search("", limit=5)
    assert "harmonising pass at strength 0.3" in record.cost.basis


def test_harmonise_is_refused_out_of_range_or_without_photos(
        tmp_path: Path, studio_home: Path, capsys) -> None:
    png, _ = photos(tmp_path / "photos")
    with_photo = write_catalog(tmp_path / "a.csv", [("P-1", str(png))])
    assert run_batch(with_photo, tmp_path / "o1", Path("unused"), "--harmonise", "0.9") == 2
    assert "from 0.05 to 0.6" in capsys.readouterr().err
    without = write_catalog(tmp_path / "b.csv", [("P-1", "")])
    assert run_batch(without, tmp_path / "o2", Path("unused"), "--harmonise", "0.3") == 2
    assert "--harmonise settles scenes around product photos" in capsys.readouterr().err
    # TINY's 2 steps × 0.3 is no step at all: refused before the first pass is paid for
    assert run_batch(with_photo, tmp_path / "o3", Path("unused"), "--harmonise", "0.3") == 2
    assert "runs 0.6 of a step, so none: use --steps 4" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in ("o1", "o2", "o3"))


def test_one_mask_per_product_serves_every_size_and_names_its_method(tmp_path: Path) -> None:
    from studio.batch.products import ProductScenes, mask_entry, mask_fields

    png, jpeg = photos(tmp_path)
    catalog = load_catalog(write_catalog(tmp_path / "c.csv", [("A", str(png)), ("B", str(jpeg)),
                                                             ("C", "")]))
    scenes = ProductScenes(catalog, "image", harmonise=0.2)
    small, large = scenes.placed("B", (64, 64)), scenes.placed("B", (640, 640))
    assert small.placement.harmonise == 0.2
    assert (scenes.mask_method("A"), scenes.mask_method("B"), scenes.mask_method("C")) == (
        "alpha", "grabcut", "")
    # the same outline, at both sizes
    ratio = (np.asarray(large.mask) >= 128).sum() / (np.asarray(small.mask) >= 128).sum()
    assert 90 < ratio < 110
    assert mask_fields(json.dumps([mask_entry("model:birefnet-lite")])) == {
        "mask": "model:birefnet-lite"}
    assert mask_fields("") == {"mask": ""} and mask_fields("not json") == {"mask": ""}


def grey_background_photo(path: Path) -> Path:
    """A red bottle with a black cap and a yellow label on a plain (128, 128, 128) grey."""
    from PIL import ImageDraw

    image = Image.new("RGB", (320, 240), (128, 128, 128))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((110, 45, 210, 200), radius=15, fill=(200, 40, 40))
    draw.rectangle((145, 25, 175, 47), fill=(30, 30, 30))
    draw.ellipse((130, 90, 190, 150), fill=(240, 220, 60))
    image.save(path, quality=95)
    return path


@pytest.mark.parametrize("preset_name", ["amazon-main", "shopify", None])
def test_a_grey_background_photo_passes_each_presets_checks(
        tmp_path: Path, studio_home: Path, preset_name: str | None) -> None:
    """Issue 17's "done when", without a real model: amazon-main makes a packshot (the photo's
    product on pure white, no backend call); the others a scene from a backend that answers
    near-white. The checks, the exact product and the disclosure are real."""
    from studio.batch.plan import packshot_skus, parse_templates, plan_items
    from studio.batch.presets import get_preset
    from studio.batch.products import ProductScenes
    from studio.batch.store import BatchStore
    from studio.library import Library
    from tests.batch.fakes import FakeBackend, make_runner
    from tests.library.xmp_reader import COMPOSITE, ENHANCED, read_disclosure

    class WhiteScenes(FakeBackend):
        def generate(self, request, on_progress=None, cancel=None):
            result = super().generate(request, on_progress, cancel)
            white = tuple(type(g)(Image.new("RGB", g.image.size, (250, 250, 250)), g.seed)
                          for g in result.images)
            return type(result)(**{**result.__dict__, "images": white})

    grey_background_photo(tmp_path / "bottle.jpg")
    catalog_path = write_catalog(tmp_path / "catalog.csv", [("BTL-1", "bottle.jpg")])
    catalog = load_catalog(catalog_path)
    preset = get_preset(preset_name) if preset_name else None
    template, negative = parse_templates(catalog, [], "a {title}", "")
    store, library = BatchStore(), Library.open(tmp_path / "library")
    items = plan_items(catalog, template, negative, [], 1, 3, preset,
                       packshot_skus(catalog, "image", preset))
    job_id = store.create_job(str(catalog_path), str(tmp_path / "out"), {}, items)
    backend = WhiteScenes()
    runner = make_runner(store, job_id, tmp_path / "out", backend, library, preset=preset)
    runner.products = ProductScenes(catalog, "image")
    assert runner.run().state == "finished"
    (row,) = json.loads((tmp_path / "out" / "manifest.json").read_text())["images"]
    exported = (tmp_path / "out" / row["file"]).read_bytes()
    assert row["mask"] == "grabcut"
    packshot = preset_name == "amazon-main"
    assert read_disclosure(exported)["DigitalSourceType"] == (ENHANCED if packshot
                                                              else COMPOSITE)
    assert (len(backend.calls), row["file"] == "BTL-1/BTL-1_main.jpg") == (0, True) \
        if packshot else len(backend.calls) == 1
    if preset is None:  # the PNG: the product region is the placed photo's, bit for bit
        assert row["checks"] == "" and row["file"].endswith(".png")
        placed = runner.products.placed("BTL-1", (64, 64))
        inside = np.asarray(placed.mask) >= 128
        pixels = np.asarray(Image.open(io.BytesIO(exported)).convert("RGB"))
        assert np.array_equal(pixels[inside], np.asarray(placed.source)[inside])
        return
    assert row["checks"] == "pass", [c for c in row["check_details"] if not c["passed"]]
    rules = {check["rule"] for check in row["check_details"]}
    assert {"size", "format", "colour_profile", "product_pixels"} <= rules
    if packshot:
        assert {"pure_white_border", "min_fill", "min_long_side", "packshot"} <= rules
        assert row["cost_usd"] == 0


def test_the_small_product_is_painted_out_of_the_scene_before_it_is_enlarged(
        tmp_path: Path) -> None:
    from studio.batch.products import ProductScenes
    from studio.product.compositing import composite_product

    grey_background_photo(tmp_path / "bottle.jpg")
    catalog = load_catalog(write_catalog(tmp_path / "c.csv", [("B", "bottle.jpg"), ("T", "")]))
    scenes = ProductScenes(catalog, "image")
    white = Image.new("RGB", (96, 96), (250, 250, 250))
    made = composite_product(white, scenes.placed("B", (96, 96)))
    cleared = np.asarray(scenes.scene_without_product("B", made)).astype(int)
    assert cleared.min() >= 240  # no product colour (red, black, yellow) left to enlarge
    assert scenes.scene_without_product("T", made) is made  # a row without a photo
