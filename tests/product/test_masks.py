"""Product masks: from alpha, from a file, and the masks that cannot work."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backends.errors import InvalidRequest
from studio.product.importing import decode_product_photo
from studio.product.masks import check_mask, load_mask, mask_from_alpha, product_mask
from tests.product.photos import product_photo, rgba_product


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_alpha_derived_mask_is_alpha_at_least_half() -> None:
    cutout, expected = rgba_product()
    photo = decode_product_photo(_png(cutout))
    mask, origin = product_mask(photo)
    assert origin == "alpha"
    assert np.array_equal(np.asarray(mask), np.asarray(expected))
    assert np.array_equal(np.asarray(mask_from_alpha(cutout.getchannel("A"))),
                          np.asarray(expected))
    assert set(np.unique(np.asarray(mask)).tolist()) == {0, 255}


def test_a_mask_file_is_read_white_as_product(tmp_path: Path) -> None:
    photo_image, truth = product_photo((64, 48))
    photo = decode_product_photo(_png(photo_image))
    path = tmp_path / "mask.png"
    truth.save(path)
    mask, origin = product_mask(photo, path)
    assert origin == "file" and np.array_equal(np.asarray(mask), np.asarray(truth))
    cutout = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    cutout.putalpha(truth)
    cutout.save(tmp_path / "cutout.png")
    assert np.array_equal(np.asarray(load_mask(tmp_path / "cutout.png", photo)),
                          np.asarray(truth))


def test_a_mask_of_another_size_is_refused(tmp_path: Path) -> None:
    photo = decode_product_photo(_png(product_photo((64, 48))[0]))
    Image.new("L", (48, 64), 255).save(tmp_path / "rotated.png")
    with pytest.raises(InvalidRequest, match="same size"):
        load_mask(tmp_path / "rotated.png", photo)


def test_an_empty_mask_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="empty"):
        check_mask(Image.new("L", (32, 32), 0))
    transparent = Image.new("RGBA", (32, 32), (9, 9, 9, 0))
    with pytest.raises(InvalidRequest, match="empty"):
        product_mask(decode_product_photo(_png(transparent)))


def test_an_all_product_mask_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="covers the whole photo"):
        check_mask(Image.new("L", (32, 32), 255))
    photo = decode_product_photo(_png(product_photo((64, 48))[0]))
    Image.new("L", (64, 48), 255).save(tmp_path / "all.png")
    with pytest.raises(InvalidRequest, match="swapped"):
        load_mask(tmp_path / "all.png", photo)


def test_a_corrupt_mask_file_is_a_clear_error(tmp_path: Path) -> None:
    photo = decode_product_photo(_png(product_photo((64, 48))[0]))
    (tmp_path / "mask.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(InvalidRequest, match="mask"):
        load_mask(tmp_path / "mask.png", photo)
