"""Content Credentials on batch exports: signed with the user's (test) certificate, verified by
c2pa-python's own Reader, with the product's pixels and the XMP disclosure intact."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.batch.presets import get_preset
from studio.batch.store import BatchStore
from studio.cli.main import main
from studio.library import Library
from studio.library.c2pa_signing import C2paCredentials
from studio.product import Placement, prepare_product
from tests.batch.fakes import FakeBackend, make_job, make_runner
from tests.batch.test_products import TINY, photos, write_catalog
from tests.library.test_c2pa_signing import make_credentials
from tests.library.xmp_reader import COMPOSITE, TRAINED, read_disclosure

c2pa = pytest.importorskip("c2pa")

MIME = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}


def c2pa_store(path: Path) -> dict:
    with c2pa.Reader(MIME[path.suffix], io.BytesIO(path.read_bytes())) as reader:
        return json.loads(reader.json())


def problems(store: dict) -> set[str]:
    """Validation codes other than the test CA being in no trust list."""
    return {s["code"] for s in store.get("validation_status", [])} - {
        "signingCredential.untrusted"}


def created_action(store: dict) -> dict:
    manifest = store["manifests"][store["active_manifest"]]
    assertion = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))
    return assertion["data"]["actions"][0]


def manifest_rows(out: Path) -> list[dict[str, str]]:
    with (out / "manifest.csv").open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def pem_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_credentials(tmp_path_factory.mktemp("c2pa"))


def test_a_product_batch_signs_every_png_and_keeps_product_pixels_and_xmp(
        tmp_path: Path, studio_home: Path, tiny_sd_path: Path, pem_files: tuple[Path, Path],
        capsys) -> None:
    png, _ = photos(tmp_path / "shop" / "photos")
    catalog = write_catalog(tmp_path / "shop" / "catalog.csv", [("P-1", "photos/bottle.png")])
    out = tmp_path / "export"
    cert, key = pem_files
    assert main(["batch", str(catalog), "--template", "{title} on a {scene}", "--model",
                 str(tiny_sd_path), *TINY, "--out", str(out), "--axis", "scene=beach|desk",
                 "--c2pa-cert", str(cert), "--c2pa-key", str(key)]) == 0
    assert f"signed with {cert}" in capsys.readouterr().err
    files = sorted(out.rglob("*.png"))
    assert len(files) == 2
    placed, _ = prepare_product(png, (64, 64), Placement())
    inside = np.asarray(placed.mask) >= 128
    for path in files:
        store = c2pa_store(path)
        assert problems(store) == set()
        assert created_action(store)["digitalSourceType"] == COMPOSITE
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
            assert "parameters" in image.info  # the PNG is the library's, with its metadata
        assert np.array_equal(pixels[inside], np.asarray(placed.source)[inside])
        assert read_disclosure(path.read_bytes())["DigitalSourceType"] == COMPOSITE
    rows = manifest_rows(out)
    assert {(r["c2pa"], r["mask"], r["checks"]) for r in rows} == {("signed", "alpha", "pass")}
    job = BatchStore().jobs()[0]
    settings = BatchStore().job(job.id).spec["settings"]["content_credentials"]
    assert settings == {"cert_path": str(cert.resolve()), "key_path": str(key.resolve())}
    assert "BEGIN" not in json.dumps(BatchStore().job(job.id).spec)  # paths, never contents


@pytest.mark.parametrize("preset_name", ["web-webp", "ebay"])
def test_preset_exports_are_signed_after_encoding_and_checked_as_delivered(
        tmp_path: Path, studio_home: Path, pem_files: tuple[Path, Path],
        preset_name: str) -> None:
    store, library = BatchStore(), Library.open(tmp_path / "library")
    preset = get_preset(preset_name)
    job_id, out = make_job(tmp_path, store, products=1, seeds=1, preset=preset)
    credentials = C2paCredentials.from_files(*pem_files)
    summary = make_runner(store, job_id, out, FakeBackend(), library, preset=preset,
                          c2pa=credentials).run()
    assert summary.state == "finished"
    rows = json.loads((out / "manifest.json").read_text())["images"]
    assert rows and all(r["c2pa"] == "signed" and r["mask"] == "" for r in rows)
    for row in rows:
        path = out / row["file"]
        assert problems(c2pa_store(path)) == set()
        assert created_action(c2pa_store(path))["digitalSourceType"] == TRAINED
        assert read_disclosure(path.read_bytes())["DigitalSourceType"] == TRAINED
        rules = {c["rule"]: c["passed"] for c in row["check_details"]}
        assert rules["c2pa"] and rules["size"] and rules["format"] and rules["colour_profile"]
        assert row["checks"] == "pass"


def test_without_credentials_every_row_says_unsigned(tmp_path: Path, studio_home: Path) -> None:
    store, library = BatchStore(), Library.open(tmp_path / "library")
    job_id, out = make_job(tmp_path, store, products=1, seeds=1)
    assert make_runner(store, job_id, out, FakeBackend(), library).run().state == "finished"
    rows = manifest_rows(out)
    assert rows and {(r["c2pa"], r["checks"]) for r in rows} == {("unsigned", "")}
    with pytest.raises(c2pa.C2paError):
        c2pa_store(out / rows[0]["file"])  # no manifest at all


def test_a_key_that_does_not_match_is_refused_before_anything_is_made(
        tmp_path: Path, studio_home: Path, capsys) -> None:
    cert, key = make_credentials(tmp_path, other_key=True)
    catalog = write_catalog(tmp_path / "catalog.csv", [("P-1", "")])
    base = ["batch", str(catalog), "--template", "{title}", "--model", "unused/model", *TINY,
            "--out", str(tmp_path / "out")]
    assert main([*base, "--c2pa-cert", str(cert), "--c2pa-key", str(key)]) == 2
    assert "C2PA signing failed" in capsys.readouterr().err
    assert main([*base, "--c2pa-cert", str(cert)]) == 2
    assert "--c2pa-cert needs --c2pa-key" in capsys.readouterr().err
    assert main([*base, "--c2pa-key", str(key), "--no-c2pa"]) == 2
    assert not (tmp_path / "out").exists()
    assert BatchStore().jobs() == []
    assert not (studio_home / "library").exists() or not any((studio_home / "library").rglob(
        "*.png"))


def test_a_signature_adds_kilobytes_not_a_thumbnail(pem_files: tuple[Path, Path]) -> None:
    from studio.batch.signing import sign_export
    from studio.library.xmp import Disclosure

    noise = np.random.default_rng(0).integers(0, 256, (512, 512, 3), np.uint8)
    data = get_preset("shopify").encode(Image.fromarray(noise, "RGB"))
    signed, rule = sign_export(C2paCredentials.from_files(*pem_files), data, "jpeg",
                               Disclosure(model="m", backend="local"), "a.jpg")
    assert rule.passed and "verifies" in rule.detail
    assert len(signed) - len(data) < 16 * 1024  # c2pa's default thumbnail would add ~250 KB
    with c2pa.Reader("image/jpeg", io.BytesIO(signed)) as reader:
        store = json.loads(reader.json())
    assert "thumbnail" not in store["manifests"][store["active_manifest"]]
