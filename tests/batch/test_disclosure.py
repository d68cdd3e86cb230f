"""The AI disclosure (XMP) in every file a marketplace preset exports, and in a batch.

Read back with the independent reader of tests/library/xmp_reader.py (struct + ElementTree),
by Pillow's getxmp() where defusedxml is installed, and by exiftool where it is.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageCms

from backends.types import Backend, GenerationRequest
from studio import __version__
from studio.batch.presets import OutputPreset, get_preset
from studio.batch.store import BatchStore
from studio.library import Library
from studio.library.xmp import Disclosure
from tests.batch.fakes import FakeBackend, make_job, make_runner
from tests.library.xmp_reader import (
    COMPOSITE,
    HOSTILE_MODELS,
    TRAINED,
    exiftool_xmp,
    jpeg_xmp_packets,
    needs_exiftool,
    png_xmp_packets,
    read_disclosure,
    webp_chunks,
    webp_xmp_packets,
)

PNG_PRESET = OutputPreset(name="png-test", label="PNG", width=320, height=240, fit="pad",
                          format="png")
FORMATS = {"jpeg": get_preset("ebay"), "webp": get_preset("web-webp"), "png": PNG_PRESET}
EXTRACT = {"jpeg": jpeg_xmp_packets, "webp": webp_xmp_packets, "png": png_xmp_packets}


def scene(size: tuple[int, int] = (96, 64)) -> Image.Image:
    image = Image.new("RGB", size, (240, 240, 236))
    image.paste((30, 60, 200), (size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4))
    return image


def assert_srgb(data: bytes, fmt: str, size: tuple[int, int]) -> None:
    with Image.open(io.BytesIO(data)) as out:
        out.load()
        assert out.format == fmt.upper() and out.size == size
        profile = ImageCms.ImageCmsProfile(io.BytesIO(out.info["icc_profile"]))
        assert "sRGB" in ImageCms.getProfileDescription(profile)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("composite", [False, True], ids=["generation", "composite"])
def test_every_export_format_discloses_the_ai(fmt: str, composite: bool) -> None:
    preset = FORMATS[fmt]
    data = preset.encode(scene(), Disclosure(model="sd-turbo", backend="local",
                                             composite=composite))
    assert len(EXTRACT[fmt](data)) == 1  # in the place its format keeps XMP
    assert read_disclosure(data) == {
        "DigitalSourceType": COMPOSITE if composite else TRAINED,
        "AISystemUsed": "sd-turbo", "CreatorTool": f"Studio {__version__}",
        "Backend": "local", "ProductPixelsFrom": "photograph" if composite else None}
    assert_srgb(data, fmt, (preset.width, preset.height))  # the profile is untouched


def test_the_webp_container_stays_well_formed() -> None:
    data = FORMATS["webp"].encode(scene(), Disclosure(model="m", backend="b"))
    kinds = [fourcc for fourcc, _ in webp_chunks(data)]  # RIFF sizes and padding checked
    assert kinds[0] == b"VP8X" and b"ICCP" in kinds and b"XMP " in kinds
    assert kinds.index(b"ICCP") < kinds.index(b"XMP ")
    flags = webp_chunks(data)[0][1][0]
    assert flags & 0x20 and flags & 0x04  # ICC and XMP announced


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_encode_without_a_disclosure_still_discloses_a_generation(fmt: str) -> None:
    disclosure = read_disclosure(FORMATS[fmt].encode(scene()))
    assert disclosure["DigitalSourceType"] == TRAINED
    assert disclosure["AISystemUsed"] is None and disclosure["Backend"] is None


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("model", HOSTILE_MODELS)
def test_hostile_model_names_survive_every_format(fmt: str, model: str) -> None:
    data = FORMATS[fmt].encode(scene(), Disclosure(model=model, backend="bedrock"))
    disclosure = read_disclosure(data)
    assert disclosure["AISystemUsed"] == model
    assert disclosure["DigitalSourceType"] == TRAINED


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_pillow_reads_the_export_packet(fmt: str) -> None:
    pytest.importorskip("defusedxml", reason="Pillow's getxmp() needs defusedxml")
    data = FORMATS[fmt].encode(scene(), Disclosure(model="sd-turbo", backend="local",
                                                   composite=True))
    with Image.open(io.BytesIO(data)) as image:
        description = image.getxmp()["xmpmeta"]["RDF"]["Description"]
    assert description["DigitalSourceType"] == COMPOSITE
    assert description["AISystemUsed"] == "sd-turbo"


@needs_exiftool
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_exiftool_reads_the_export_packet(fmt: str, tmp_path: Path) -> None:
    preset = FORMATS[fmt]
    path = tmp_path / f"out.{preset.extension}"
    path.write_bytes(preset.encode(scene(), Disclosure(model="sd <&> turbo", backend="local",
                                                       composite=True)))
    tags = exiftool_xmp(path)
    assert tags["XMP-iptcExt:DigitalSourceType"] == COMPOSITE
    assert tags["XMP-xmp:CreatorTool"] == f"Studio {__version__}"
    assert tags.get("XMP-iptcExt:AISystemUsed") in (None, "sd <&> turbo")


# --- a batch ------------------------------------------------------------------------------


class PhotoRows:
    """Stands in for batch.products.ProductScenes: every row has a product photo (the
    runner's scenes are made around it and the photo's pixels composited back)."""

    def __init__(self, without: tuple[str, ...] = ()) -> None:
        self.skus: list[str] = []
        self.without = without  # rows with no photo: made from their text alone

    def has_photo(self, sku: str) -> bool:
        return sku not in self.without

    def prepare(self, backend: Backend, sku: str,
                request: GenerationRequest) -> tuple[Backend, GenerationRequest]:
        self.skus.append(sku)
        return backend, request

    def placed(self, sku: str, size: tuple[int, int]):
        """The row's product on a frame of `size`, as ProductScenes.placed gives it."""
        from studio.product.importing import ProductPhoto
        from studio.product.placement import place_product
        from tests.product.photos import product_photo

        photo, mask = product_photo()
        return place_product(ProductPhoto(photo, None, "0" * 64), mask, size)


def exported_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.suffix in (".jpg", ".png", ".webp"))


@pytest.mark.parametrize("preset_name", ["ebay", "web-webp"])
@pytest.mark.parametrize("products", [None, PhotoRows], ids=["generation", "product-photos"])
def test_a_batch_exports_discloses_composites_and_plain_generations(
        tmp_path: Path, store: BatchStore, library: Library, preset_name: str,
        products: Any) -> None:
    preset = get_preset(preset_name)
    job_id, out = make_job(tmp_path, store, products=2, seeds=1, preset=preset)
    runner = make_runner(store, job_id, out, FakeBackend(), library, preset=preset)
    runner.products = products() if products else None
    summary = runner.run()
    assert (summary.state, summary.done) == ("finished", 4)
    files = exported_files(out)
    assert len(files) == 4 and {f.suffix for f in files} == {f".{preset.extension}"}
    composite = products is not None
    for path in files:
        assert read_disclosure(path.read_bytes()) == {
            "DigitalSourceType": COMPOSITE if composite else TRAINED,
            "AISystemUsed": "fake-model", "CreatorTool": f"Studio {__version__}",
            "Backend": "fake", "ProductPixelsFrom": "photograph" if composite else None}
    # The library keeps its own PNGs, each disclosed as a generation.
    records = library.search(limit=10)
    assert len(records) == 4
    for record in records:
        assert read_disclosure(record.path.read_bytes())["DigitalSourceType"] == TRAINED


def test_a_row_without_a_photo_in_a_photo_batch_is_a_plain_generation(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    preset = get_preset("ebay")
    job_id, out = make_job(tmp_path, store, products=2, seeds=1, preset=preset)
    first = store.items(job_id)[0].sku
    runner = make_runner(store, job_id, out, FakeBackend(), library, preset=preset)
    runner.products = PhotoRows(without=(first,))
    assert runner.run().done == 4
    kinds = {path.parent.name: read_disclosure(path.read_bytes())["DigitalSourceType"]
             for path in exported_files(out)}
    assert kinds[first] == TRAINED
    assert set(kinds.values()) == {TRAINED, COMPOSITE}


class Killed(BaseException):
    pass


def test_a_resumed_export_from_the_library_png_is_disclosed_too(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    """`generated` items exported on resume are re-encoded from the library PNG, whose own
    XMP must not leak through in place of the export's."""
    preset = get_preset("ebay")
    job_id, out = make_job(tmp_path, store, products=1, seeds=1, preset=preset)
    runner = make_runner(store, job_id, out, FakeBackend(), library, preset=preset)
    runner.products = PhotoRows()
    exports: list[int] = []

    def crash_before_export(item: Any, image: Any) -> None:
        exports.append(item.idx)
        raise Killed  # the kill between `generated` and the export

    runner._export = crash_before_export  # type: ignore[method-assign]
    with pytest.raises(Killed):
        runner.run()
    assert exports and store.items(job_id, "generated")
    resumed = make_runner(store, job_id, out, FakeBackend(), library, preset=preset)
    resumed.products = PhotoRows()
    resumed.run()
    (path, *_) = exported_files(out)
    assert read_disclosure(path.read_bytes())["DigitalSourceType"] == COMPOSITE


def test_a_batch_without_a_preset_copies_the_disclosed_library_png(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    job_id, out = make_job(tmp_path, store, products=1, seeds=1)
    make_runner(store, job_id, out, FakeBackend(), library).run()
    files = exported_files(out)
    assert len(files) == 2
    for path in files:
        disclosure = read_disclosure(path.read_bytes())
        assert (disclosure["DigitalSourceType"], disclosure["AISystemUsed"]) == \
            (TRAINED, "fake-model")
