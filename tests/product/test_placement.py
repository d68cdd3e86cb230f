"""Placing the product on a frame: the arithmetic, positions, padding, shadow, native size."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backends.errors import InvalidRequest
from studio.product.importing import decode_product_photo
from studio.product.placement import Box, Placement, fit_box, place_product
from tests.product.photos import product_photo, rgba_product


def _photo(image: Image.Image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return decode_product_photo(buffer.getvalue())


def test_fill_scales_the_tighter_side() -> None:
    # A 100×50 product in a 1000×1000 frame at 85%: width is the tight side, 850 px.
    box, scale = fit_box((100, 50), (1000, 1000), Placement(fill=0.85))
    assert scale == pytest.approx(8.5)
    assert box == Box(75, 288, 850, 425)  # centred: (1000-850)/2, round((1000-425)/2)


def test_positions_and_padding_move_the_box() -> None:
    frame, product = (800, 600), (100, 100)
    bottom, _ = fit_box(product, frame, Placement(fill=0.5, position="bottom", padding=20))
    # free area 760×560; the box is 0.5 × 560 = 280 px; it sits on the bottom padding
    assert bottom == Box(20 + 240, 20 + 280, 280, 280)
    left, _ = fit_box(product, frame, Placement(fill=0.5, position="left", padding=20))
    assert (left.x, left.y) == (20, 160)
    top, _ = fit_box(product, frame, Placement(fill=1.0, position="top"))
    assert top == Box(100, 0, 600, 600)


def test_native_size_keeps_the_scale_and_refuses_what_does_not_fit() -> None:
    box, scale = fit_box((30, 20), (64, 64), Placement(fill=None))
    assert scale == 1.0 and box == Box(17, 22, 30, 20)
    with pytest.raises(InvalidRequest, match="does not fit"):
        fit_box((100, 20), (64, 64), Placement(fill=None))
    with pytest.raises(InvalidRequest, match="no room"):
        fit_box((10, 10), (64, 64), Placement(padding=32))


@pytest.mark.parametrize("bad", [dict(fill=0), dict(fill=1.5), dict(position="middle"),
                                 dict(padding=-1), dict(feather=100)])
def test_bad_placements_are_refused(bad) -> None:
    with pytest.raises(InvalidRequest):
        Placement(**bad)


def test_the_placed_mask_lands_in_the_box() -> None:
    image, truth = product_photo((320, 256))
    placed = place_product(_photo(image), truth, (512, 512), Placement(fill=0.85))
    left, top, right, bottom = placed.mask.getbbox()
    assert abs(left - placed.box.x) <= 1 and abs(top - placed.box.y) <= 1
    assert abs(right - (placed.box.x + placed.box.width)) <= 1
    assert abs(bottom - (placed.box.y + placed.box.height)) <= 1
    assert max(placed.box.width, placed.box.height) == round(0.85 * 512)
    assert set(np.unique(np.asarray(placed.mask)).tolist()) == {0, 255}
    generate = np.asarray(placed.generate_mask)
    assert np.array_equal(generate, 255 - np.asarray(placed.mask))


def test_native_size_puts_the_original_pixels_in_the_frame_untouched() -> None:
    cutout, expected = rgba_product((96, 80))
    photo = _photo(cutout)
    placed = place_product(photo, expected, (128, 128), Placement(fill=None))
    x0, y0, x1, y1 = expected.getbbox()
    inside = np.asarray(expected) == 255
    source = np.asarray(placed.source)[placed.box.y:placed.box.y + (y1 - y0),
                                       placed.box.x:placed.box.x + (x1 - x0)]
    original = np.asarray(photo.image)[y0:y1, x0:x1]
    assert np.array_equal(source[inside[y0:y1, x0:x1]], original[inside[y0:y1, x0:x1]])


def test_the_edge_is_soft_only_outside_the_mask() -> None:
    image, truth = product_photo((160, 128))
    placed = place_product(_photo(image), truth, (256, 256), Placement(feather=3))
    edge, mask = np.asarray(placed.edge), np.asarray(placed.mask) == 255
    assert (edge[mask] == 255).all()
    outside = edge[~mask]
    assert 0 < outside.max() < 255 and (outside == 0).mean() > 0.5


def test_the_request_generates_everything_but_the_product() -> None:
    image, truth = product_photo((160, 128))
    placed = place_product(_photo(image), truth, (256, 192))
    request = placed.request("on a marble counter", seed=3, steps=2)
    assert (request.width, request.height) == (256, 192) and request.mode == "inpaint"
    assert request.strength == 1.0 and request.init_image.size == (256, 192)
    assert np.array_equal(np.asarray(request.mask), np.asarray(placed.generate_mask))


def test_the_shadow_darkens_below_the_product() -> None:
    image, truth = product_photo((160, 128))
    plain = place_product(_photo(image), truth, (256, 256), Placement(position="center"))
    shaded = place_product(_photo(image), truth, (256, 256), Placement(shadow=True))
    below = (plain.box.x + plain.box.width // 2, plain.box.y + plain.box.height + 2)
    assert sum(shaded.canvas.getpixel(below)) < sum(plain.canvas.getpixel(below))
    assert shaded.canvas.getpixel((2, 2)) == plain.canvas.getpixel((2, 2))
