"""The contact shadow follows the product's silhouette, and darkens only near its base."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from studio.product.shadow import apply_silhouette_shadow, silhouette_shade

FRAME = (200, 200)
BOX = (50, 40, 150, 160)  # x0, y0, x1, y1: the product stands on y = 160


def _mask(shape: str) -> Image.Image:
    mask = Image.new("L", FRAME, 0)
    draw = ImageDraw.Draw(mask)
    x0, y0, x1, y1 = BOX
    if shape == "box":
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=255)
    else:  # a vase on a narrow foot: wide at the top, 10 px wide at the base
        draw.polygon([(x0, y0), (x1 - 1, y0), (105, y1 - 1), (95, y1 - 1)], fill=255)
    return mask


def _shaded_columns(shade: np.ndarray, row: int, floor: int = 20) -> np.ndarray:
    return np.flatnonzero(shade[row] > floor)


def test_a_narrow_foot_casts_a_narrow_contact_shadow_and_a_box_a_wide_one() -> None:
    at_base = BOX[3] + 1
    wide = _shaded_columns(np.asarray(silhouette_shade(_mask("box"), BOX)), at_base)
    narrow = _shaded_columns(np.asarray(silhouette_shade(_mask("vase"), BOX)), at_base)
    assert wide.min() <= BOX[0] + 3 and wide.max() >= BOX[2] - 4
    assert narrow.size and narrow.min() > BOX[0] + 15 and narrow.max() < BOX[2] - 15
    assert narrow.size < 0.6 * wide.size


def test_the_shadow_stays_near_the_base_and_within_its_opacity() -> None:
    shade = np.asarray(silhouette_shade(_mask("box"), BOX, opacity=0.45))
    assert shade.max() <= round(255 * 0.45)
    assert shade[: BOX[1] + (BOX[3] - BOX[1]) // 2].max() == 0  # nothing on the upper half
    visible = 3  # levels of 255; less does not show
    assert shade[:, : BOX[0] - 20].max() < visible and shade[:, BOX[2] + 20:].max() < visible


def test_applying_it_only_darkens() -> None:
    scene = Image.new("RGB", FRAME, (180, 200, 220))
    out = np.asarray(apply_silhouette_shadow(scene, _mask("vase"), BOX), dtype=int)
    assert (out <= np.asarray(scene, dtype=int)).all()
    assert (out < np.asarray(scene, dtype=int)).any()
