"""`studio generate --product-image`: a JPEG and a transparent PNG, each in several scenes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backends.errors import InvalidRequest
from studio.cli.main import main
from studio.cli.product import frame_size
from studio.product import Placement, place_product
from studio.product.importing import load_product_photo
from studio.product.project import find_project
from studio.settings.values import Settings
from tests.backends.bedrock.conftest import aws_home, fake_bedrock  # noqa: F401 - fixtures
from tests.product.photos import product_photo, rgba_product

TINY = ["--width", "64", "--height", "64", "--steps", "1", "--device", "cpu"]


def _run(capsys, *args: str) -> tuple[int, list[dict], str]:
    code = main(["generate", *args])
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
    return code, lines, captured.err


def _assert_product_kept(png: str, photo_path: Path, mask: Image.Image, size=(64, 64),
                         **placement) -> None:
    placed = place_product(load_product_photo(photo_path), mask, size, Placement(**placement))
    inside = np.asarray(placed.mask) == 255
    with Image.open(png) as image:
        assert np.array_equal(np.asarray(image.convert("RGB"))[inside],
                              np.asarray(placed.source)[inside])


def test_a_jpeg_comes_out_in_three_scenes_with_the_product_untouched(
        tiny_sd_path, tmp_path, capsys) -> None:
    photo, _ = product_photo((160, 128))
    path = tmp_path / "bottle.jpg"
    photo.save(path, quality=92)
    code, lines, err = _run(capsys, "--model", str(tiny_sd_path), "--product-image", str(path),
                            "--prompt", "on a marble counter", "--scene", "in a café",
                            "--scene", "on a pure white sweep", "--fill", "0.8", "--seed", "9",
                            "--json", *TINY)
    assert code == 0, err
    assert [line["prompt"] for line in lines] == ["on a marble counter", "in a café",
                                                  "on a pure white sweep"]
    project = find_project(load_product_photo(path))
    assert project is not None and project.mask_origin == "grabcut"
    for line in lines:
        assert line["latency_s"] > 0 and line["cost_usd"] > 0 and line["seed"] == 9
        _assert_product_kept(line["library_path"], path, project.mask, fill=0.8)


def test_a_transparent_png_uses_its_alpha_and_a_saved_mask(tiny_sd_path, tmp_path,
                                                           capsys) -> None:
    cutout, expected = rgba_product((96, 80))
    path = tmp_path / "mug.png"
    cutout.save(path)
    mask_out = tmp_path / "mask.png"
    code, lines, err = _run(capsys, "--model", str(tiny_sd_path), "--product-image", str(path),
                            "--prompt", "on linen", "--shadow", "--position", "bottom",
                            "--padding", "4", "--save-mask", str(mask_out), "--harmonise",
                            "0.3", "--json", *TINY, "--steps", "4")
    assert code == 0, err
    assert len(lines) == 1
    assert "harmonising pass at strength 0.3" in lines[0]["cost_basis"]
    with Image.open(mask_out) as saved:
        assert np.array_equal(np.asarray(saved), np.asarray(expected))
    _assert_product_kept(lines[0]["library_path"], path, expected, shadow=True,
                         position="bottom", padding=4)


@pytest.mark.parametrize(("args", "message"), [
    (["--fill", "0.5"], "only apply with --product-image"),
    (["--product-image", "MISSING"], "does not exist"),
    (["--product-image", "CORRUPT"], "could not be read"),
    (["--product-image", "PHOTO", "--mask", "ALL"], "covers the whole photo"),
    (["--product-image", "PHOTO", "--mask", "EMPTY"], "empty"),
    (["--product-image", "PHOTO", "--preset", "square"], "matches several presets"),
    (["--product-image", "PHOTO", "--init-image", "PHOTO"], "not both"),
    (["--product-image", "PHOTO", "--harmonise", "0.9"], "harmonising strength"),
    (["--harmonise", "0.3"], "only apply with --product-image"),
])
def test_bad_product_inputs_exit_2_with_a_clear_message(tmp_path, capsys, args,
                                                        message) -> None:
    files = {"MISSING": tmp_path / "nope.jpg", "CORRUPT": tmp_path / "corrupt.jpg",
             "PHOTO": tmp_path / "photo.png", "ALL": tmp_path / "all.png",
             "EMPTY": tmp_path / "empty.png"}
    files["CORRUPT"].write_bytes(b"\xff\xd8\xff\xe0 truncated")
    product_photo((64, 48))[0].save(files["PHOTO"])
    Image.new("L", (64, 48), 255).save(files["ALL"])
    Image.new("L", (64, 48), 0).save(files["EMPTY"])
    argv = [str(files.get(a, a)) for a in args]
    code, _, err = _run(capsys, "--prompt", "on marble", *argv)
    assert code == 2 and message in err


def test_presets_are_found_by_name_or_a_unique_part() -> None:
    def size(preset, width=None, height=None):
        return frame_size(argparse.Namespace(preset=preset, width=width, height=height),
                          Settings())

    assert size("amazon") == (2000, 2000)
    assert size("Banner 1536×640") == (1536, 640)
    assert size(None, 512) == (512, 1024)
    with pytest.raises(InvalidRequest, match="no preset"):
        size("billboard")
    with pytest.raises(InvalidRequest, match="not both"):
        size("amazon", 512)


def test_bedrock_inpaints_each_scene_and_bills_each_image(fake_bedrock, tmp_path,  # noqa: F811
                                                           capsys) -> None:
    cutout, expected = rgba_product((96, 80))
    path = tmp_path / "mug.png"
    cutout.save(path)
    code, lines, err = _run(capsys, "--backend", "bedrock", "--endpoint-url", fake_bedrock.url,
                            "--region", "us-east-1", "--product-image", str(path),
                            "--prompt", "on marble", "--scene", "in a café", "--scene",
                            "white sweep", "--width", "320", "--height", "320",
                            "--guidance", "6", "--seed", "1", "--json")
    assert code == 0, err
    assert len(lines) == 3
    for line in lines:
        assert line["backend"] == "bedrock" and line["cost_usd"] == pytest.approx(0.07)
        _assert_product_kept(line["library_path"], path, expected, size=(320, 320))


def test_an_edit_model_makes_the_scene_and_the_product_stays_exact(
        tiny_family_path, tmp_path, capsys) -> None:
    photo, _ = product_photo((160, 128))
    path = tmp_path / "bottle.png"
    photo.save(path)
    code, lines, err = _run(capsys, "--model", str(tiny_family_path("flux1-kontext")),
                            "--product-image", str(path), "--prompt", "on a marble counter",
                            "--fill", "0.8", "--seed", "9", "--json", "--steps", "2",
                            "--width", "64", "--height", "64", "--device", "cpu")
    assert code == 0, err
    (line,) = lines
    assert line["mode"] == "edit" and line["family"] == "flux1-kontext"
    assert line["prompt"].endswith("on a marble counter")
    project = find_project(load_product_photo(path))
    _assert_product_kept(line["library_path"], path, project.mask, fill=0.8)


def test_product_scenes_are_disclosed_as_composites_with_a_photograph(
        tiny_sd_path, tmp_path, capsys) -> None:
    from tests.library.xmp_reader import COMPOSITE, read_disclosure

    photo, _ = product_photo((96, 96))
    path = tmp_path / "mug.png"
    photo.save(path)
    code, lines, err = _run(capsys, "--model", str(tiny_sd_path), "--product-image", str(path),
                            "--prompt", "on oak", "--json", *TINY)
    assert code == 0, err
    disclosed = read_disclosure(Path(lines[0]["library_path"]).read_bytes())
    assert disclosed["DigitalSourceType"] == COMPOSITE
    assert disclosed["ProductPixelsFrom"] == "photograph"
