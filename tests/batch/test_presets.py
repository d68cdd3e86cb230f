"""Marketplace presets: exact sizes, formats, colour profile and backgrounds."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from studio.batch.presets import get_preset, marketplace_presets, snap_to_white


def product_shot(size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size, (250, 251, 249))  # an almost-white studio backdrop
    image.paste((30, 60, 200), (size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4))
    return image


@pytest.mark.parametrize("name", sorted(marketplace_presets()))
def test_every_preset_makes_its_exact_size_and_format(name: str) -> None:
    preset = get_preset(name)
    for source in [(64, 64), (96, 64), (64, 120)]:
        data = preset.encode(product_shot(source))
        with Image.open(io.BytesIO(data)) as out:
            assert out.size == (preset.width, preset.height)
            assert out.format == {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[preset.format]
            assert out.mode == "RGB"
            profile = ImageCms.ImageCmsProfile(io.BytesIO(out.info["icc_profile"]))
            assert "sRGB" in ImageCms.getProfileDescription(profile)


def test_amazon_main_is_on_pure_white() -> None:
    preset = get_preset("amazon-main")
    assert (preset.width, preset.height, preset.format) == (2000, 2000, "jpeg")
    out = preset.apply(product_shot((128, 64)))  # letterboxed top and bottom
    assert out.size == (2000, 2000)
    for xy in [(0, 0), (1999, 1999), (1000, 10), (10, 1000)]:
        assert out.getpixel(xy) == (255, 255, 255)  # padding and the snapped backdrop
    assert out.getpixel((1000, 1000)) == (30, 60, 200)  # the product is untouched
    assert "white background" in preset.prompt_suffix


def test_shopify_is_square_2048_cropped() -> None:
    preset = get_preset("shopify")
    out = preset.apply(product_shot((128, 64)))
    assert out.size == (2048, 2048)
    assert out.getpixel((0, 0)) != (255, 255, 255)  # cropped, not padded, and not snapped


def test_transparent_images_are_flattened_on_the_background() -> None:
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    out = get_preset("ebay").apply(image)
    assert out.getpixel((800, 800)) == (255, 255, 255)


def test_snap_to_white_only_touches_near_white() -> None:
    image = Image.new("RGB", (3, 1))
    for x, colour in enumerate([(246, 250, 255), (244, 255, 255), (0, 0, 0)]):
        image.putpixel((x, 0), colour)
    snapped = snap_to_white(image, 245)
    assert [snapped.getpixel((x, 0)) for x in range(3)] == \
        [(255, 255, 255), (244, 255, 255), (0, 0, 0)]


def test_generation_size_keeps_the_aspect() -> None:
    assert get_preset("etsy").generation_size(1024) == (1024, 816)
    assert get_preset("instagram-portrait").generation_size(1024) == (816, 1024)
    with pytest.raises(ValueError, match="No output preset 'nope'"):
        get_preset("nope")
