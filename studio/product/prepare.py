"""From a photo path to a placed product in one call (batch export's catalog rows use it)."""

from __future__ import annotations

from pathlib import Path

from studio.product.importing import load_product_photo
from studio.product.masks import load_mask, product_mask
from studio.product.placement import PlacedProduct, Placement, place_product
from studio.product.project import find_project


def prepare_product(photo_path: str | Path, size: tuple[int, int],
                    placement: Placement | None = None,
                    mask_path: str | Path | None = None) -> tuple[PlacedProduct, str]:
    """The product placed on a `size` frame, and where its mask came from.

    The mask is `mask_path` if given, else one saved for this photo (refined in the app),
    else the photo's alpha or the automatic one.
    """
    photo = load_product_photo(photo_path)
    if mask_path is not None:
        mask, origin = load_mask(mask_path, photo), "file"
    elif (saved := find_project(photo)) is not None:
        mask, origin = saved.mask, saved.mask_origin
    else:
        mask, origin = product_mask(photo)
    return place_product(photo, mask, size, placement), origin
