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
