"""Compositing the product back: bit-exact inside the mask, blended only outside it."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from studio.product.compositing import composite_product
from studio.product.importing import decode_product_photo
from studio.product.placement import Placement, place_product
from tests.product.photos import product_photo, rgba_product


def _placed(cutout: bool, **placement):
    image, truth = rgba_product((96, 80)) if cutout else product_photo((160, 128))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return place_product(decode_product_photo(buffer.getvalue()), truth, (128, 96),
                         Placement(**placement))


def _noise(size, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def assert_product_exact(output: Image.Image, placed) -> None:
    inside = np.asarray(placed.mask) == 255
    assert np.array_equal(np.asarray(output.convert("RGB"))[inside],
                          np.asarray(placed.source)[inside])


def test_inside_the_mask_the_source_is_kept_bit_for_bit() -> None:
    for cutout in (False, True):
        for shadow in (False, True):
            placed = _placed(cutout, shadow=shadow)
            output = composite_product(_noise(placed.size), placed)
            assert_product_exact(output, placed)


def test_far_from_the_product_the_scene_is_untouched() -> None:
    placed = _placed(False, feather=2)
    scene = _noise(placed.size, 1)
    output = np.asarray(composite_product(scene, placed))
    untouched = np.asarray(placed.edge) == 0
    assert np.array_equal(output[untouched], np.asarray(scene)[untouched])
    blended = (np.asarray(placed.edge) > 0) & (np.asarray(placed.mask) == 0)
    assert blended.any()  # the feather exists, and only outside the mask


def test_a_scene_of_another_size_is_fitted_to_the_frame() -> None:
    placed = _placed(True)
    output = composite_product(_noise((256, 192)), placed)
    assert output.size == placed.size
    assert_product_exact(output, placed)


def test_an_erased_part_of_a_cutout_is_not_pasted_back() -> None:
    cutout, expected = rgba_product((96, 80))
    buffer = io.BytesIO()
    cutout.save(buffer, format="PNG")
    mask = expected.copy()
    mask.paste(0, (40, 30, 60, 50))  # the designer erased a sticker to regenerate it
    placed = place_product(decode_product_photo(buffer.getvalue()), mask, (96, 80),
                           Placement(fill=None))
    scene = _noise(placed.size, 2)
    output = np.asarray(composite_product(scene, placed))
    x0, y0 = mask.getbbox()[:2]
    shifted = Image.new("L", placed.size, 0)
    shifted.paste(expected, (placed.box.x - x0, placed.box.y - y0))
    erased = (np.asarray(shifted) == 255) & (np.asarray(placed.mask) == 0)
    assert erased.any()
    assert np.array_equal(output[erased], np.asarray(scene)[erased])
    assert_product_exact(Image.fromarray(output), placed)
