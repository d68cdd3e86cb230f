"""Importing product photos: formats, EXIF orientation, colour profiles, bad files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from backends.errors import InvalidRequest
from studio.product.importing import decode_product_photo, load_product_photo
from tests.product.photos import linear_rgb_profile


def _bytes(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _marked() -> Image.Image:
    """40 wide × 20 high, red in the top-left corner, so any rotation shows."""
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 10, 5))
    return image


@pytest.mark.parametrize(("orientation", "size", "red_corner"), [
    (1, (40, 20), (2, 2)),
    (3, (40, 20), (37, 17)),  # rotated 180°
    (6, (20, 40), (17, 2)),  # rotated 90° clockwise for display
    (8, (20, 40), (2, 37)),  # rotated 90° counter-clockwise
])
def test_exif_orientation_is_applied(orientation, size, red_corner) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _bytes(_marked(), "JPEG", exif=exif.tobytes(), quality=95)
    photo = decode_product_photo(data, name="phone.jpg")
    assert photo.size == size
    red = photo.image.getpixel(red_corner)
    assert red[0] > 200 and red[2] < 60


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_png_jpeg_and_webp_load_as_rgb(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"product.{fmt.lower()}"
    _marked().save(path, format=fmt)
    photo = load_product_photo(path)
    assert photo.image.mode == "RGB" and photo.size == (40, 20) and photo.alpha is None
    assert len(photo.sha256) == 64 and photo.name == path.name


def test_transparency_becomes_the_alpha_and_opaque_alpha_is_ignored() -> None:
    rgba = Image.new("RGBA", (8, 8), (10, 20, 30, 0))
    rgba.paste((200, 100, 50, 255), (2, 2, 6, 6))
    photo = decode_product_photo(_bytes(rgba, "PNG"))
    assert photo.alpha is not None and photo.alpha.getpixel((3, 3)) == 255
    assert photo.alpha.getpixel((0, 0)) == 0 and photo.image.getpixel((3, 3)) == (200, 100, 50)
    opaque = decode_product_photo(_bytes(Image.new("RGBA", (8, 8), (1, 2, 3, 255)), "PNG"))
    assert opaque.alpha is None
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([0, 0, 0, 255, 255, 255])
    palette.paste(1, (0, 0, 4, 8))
    paletted = decode_product_photo(_bytes(palette, "PNG", transparency=0))
    assert paletted.alpha is not None and paletted.alpha.getpixel((6, 0)) == 0


def test_an_embedded_profile_converts_to_srgb() -> None:
    image = Image.new("RGB", (8, 8), (180, 60, 30))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    same = decode_product_photo(_bytes(image, "PNG", icc_profile=srgb))
    assert np.abs(np.asarray(same.image, int) - np.asarray(image, int)).max() <= 2
    # A profile of another colour space than the pixels' is not applied.
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    untouched = decode_product_photo(_bytes(image, "PNG", icc_profile=lab))
    assert untouched.image.getpixel((0, 0)) == (180, 60, 30)


def test_a_non_srgb_profile_is_converted_with_its_own_curves() -> None:
    image = Image.new("RGB", (8, 8), (128, 128, 128))
    converted = decode_product_photo(_bytes(image, "PNG", icc_profile=linear_rgb_profile()))
    # Linear-light 128 is sRGB 188: the profile was applied, not merely stripped.
    assert abs(converted.image.getpixel((0, 0))[1] - 188) <= 2
    as_jpeg = decode_product_photo(_bytes(image, "JPEG", icc_profile=linear_rgb_profile(),
                                          quality=100))
    assert abs(as_jpeg.image.getpixel((0, 0))[1] - 188) <= 3


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))
    photo = decode_product_photo(_bytes(cmyk, "JPEG"))
    assert photo.image.mode == "RGB"


def test_a_corrupt_file_is_a_clear_invalid_request(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(_bytes(_marked(), "JPEG")[:60])
    with pytest.raises(InvalidRequest, match="could not be read as an image"):
        load_product_photo(path)
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(InvalidRequest, match="PNG, JPEG or WebP"):
        load_product_photo(tmp_path / "notes.png")
    with pytest.raises(InvalidRequest, match="does not exist"):
        load_product_photo(tmp_path / "missing.png")


def test_other_formats_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="GIF"):
        decode_product_photo(_bytes(_marked(), "GIF"), name="anim.gif")


def test_a_huge_image_is_refused_before_decoding() -> None:
    data = bytearray(_bytes(Image.new("L", (16, 16)), "PNG"))
    # Rewrite the IHDR to claim 20000×20000: the header is all that should be read.
    ihdr = bytes(data[12:16]) + struct.pack(">II", 20000, 20000) + bytes(data[24:29])
    data[16:24] = struct.pack(">II", 20000, 20000)
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr) & 0xFFFFFFFF)
    with pytest.raises(InvalidRequest, match="megapixels"):
        decode_product_photo(bytes(data), name="huge.png")
