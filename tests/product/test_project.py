"""Product projects: the photo, the refined mask and the placement saved together."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from studio.product.importing import decode_product_photo
from studio.product.placement import Placement
from studio.product.project import ProductProject, find_project, products_dir, save_project
from tests.product.photos import rgba_product


def test_a_project_round_trips_and_is_found_by_its_photo(studio_home: Path) -> None:
    cutout, mask = rgba_product()
    buffer = io.BytesIO()
    cutout.save(buffer, format="PNG")
    photo = decode_product_photo(buffer.getvalue(), name="mug.png")
    refined = mask.copy()
    ImageDraw.Draw(refined).rectangle((0, 0, 5, 5), fill=255)  # a brush stroke
    folder = save_project(ProductProject(photo, refined, "painted", Placement(fill=0.7),
                                         ("on marble", "in a café")))
    assert folder.parent == products_dir() and str(studio_home) in str(folder)
    assert {p.name for p in folder.iterdir()} == {"photo.png", "mask.png", "project.json"}
    again = find_project(decode_product_photo(buffer.getvalue()))
    assert again is not None and again.mask_origin == "painted"
    assert np.array_equal(np.asarray(again.mask), np.asarray(refined))
    assert again.placement == Placement(fill=0.7)
    assert again.scenes == ("on marble", "in a café")
    assert np.array_equal(np.asarray(again.photo.image), np.asarray(photo.image))
    assert np.array_equal(np.asarray(again.photo.alpha), np.asarray(photo.alpha))
    other = Image.new("RGB", (8, 8))
    buffer = io.BytesIO()
    other.save(buffer, format="PNG")
    assert find_project(decode_product_photo(buffer.getvalue())) is None
