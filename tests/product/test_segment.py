"""Automatic product masks, offline: GrabCut seeded from the photo's border."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from backends.errors import InvalidRequest
from studio.product.importing import decode_product_photo
from studio.product.masks import product_mask
from studio.product.segment import auto_mask
from tests.product.photos import iou, product_photo


@pytest.mark.parametrize("size", [(320, 256), (900, 700)])
def test_a_shape_on_a_textured_background_is_found(size) -> None:
    photo, truth = product_photo(size)
    assert iou(auto_mask(photo), truth) >= 0.9


def test_a_jpeg_without_transparency_is_segmented_on_import() -> None:
    photo, truth = product_photo((240, 200), seed=4)
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=90)
    mask, origin = product_mask(decode_product_photo(buffer.getvalue()))
    assert origin == "grabcut" and iou(mask, truth) >= 0.9


def test_the_same_photo_gives_the_same_mask() -> None:
    photo, _ = product_photo((200, 160), seed=2)
    assert np.array_equal(np.asarray(auto_mask(photo)), np.asarray(auto_mask(photo)))


def test_a_product_on_white_with_a_hole_keeps_the_hole() -> None:
    image = Image.new("RGB", (200, 200), (250, 250, 250))
    truth = Image.new("L", (200, 200), 0)
    for target, colour in ((image, (200, 40, 40)), (truth, 255)):
        ImageDraw.Draw(target).ellipse((40, 40, 160, 160), fill=colour)
        ImageDraw.Draw(target).ellipse((80, 80, 120, 120),
                                       fill=(250, 250, 250) if target is image else 0)
    mask = auto_mask(image)
    assert iou(mask, truth) >= 0.9
    assert mask.getpixel((100, 100)) == 0


def test_a_blank_photo_has_no_product_to_find() -> None:
    with pytest.raises(InvalidRequest, match="product"):
        product_mask(decode_product_photo(_png(Image.new("RGB", (64, 64), (200, 200, 200)))))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _bottle_with_shadow(size: int = 256) -> tuple[Image.Image, Image.Image]:
    """The benchmark's bottle on a plain light sweep with a soft contact shadow, plus a cream
    label across it: as light as the background, but product."""
    from benchmarks.segmentation import make_photo

    photo = make_photo("bottle", "plain", size, seed=3, colour="blue")
    image = photo.image.copy()
    draw = ImageDraw.Draw(image)
    s = size
    draw.rectangle((s * .36, s * .55, s * .64, s * .68), fill=(240, 236, 226))
    return image, photo.truth


def test_a_soft_contact_shadow_is_peeled_off_and_a_light_label_is_kept() -> None:
    image, truth = _bottle_with_shadow()
    peeled, unpeeled = auto_mask(image), auto_mask(image, peel=False)
    assert iou(unpeeled, truth) < 0.85  # GrabCut alone takes the shadow in
    assert iou(peeled, truth) > 0.97
    s = 256
    label = np.asarray(peeled)[round(s * .56):round(s * .67), round(s * .37):round(s * .63)]
    assert (label == 255).all()


def test_a_grey_product_on_a_grey_sweep_is_left_as_grabcut_found_it() -> None:
    from benchmarks.segmentation import make_photo

    silver = make_photo("mug", "plain", 256, seed=4, colour="silver").image
    assert np.array_equal(np.asarray(auto_mask(silver)),
                          np.asarray(auto_mask(silver, peel=False)))
