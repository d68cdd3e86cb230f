"""Product masks: white (255) is the product, whose pixels are kept; black is the scene.

This is the opposite of GenerationRequest.mask, where white means "generate here";
PlacedProduct.generate_mask is the inverted one a backend receives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from backends.errors import InvalidRequest
from backends.types import load_image
from studio.product.importing import ProductPhoto

THRESHOLD = 128
# A mask covering this much of the photo leaves no scene to replace: almost always a
# segmentation that took the whole frame, or a mask with black and white swapped.
MAX_COVERAGE = 0.995
MIN_PRODUCT_PIXELS = 16


def binarize(mask: Image.Image) -> Image.Image:
    return mask.convert("L").point(lambda v: 255 if v >= THRESHOLD else 0)


def mask_from_alpha(alpha: Image.Image) -> Image.Image:
    """Pixels at least half opaque are product; fainter edge pixels are blended outside it."""
    return binarize(alpha)


def load_mask(path: str | Path, photo: ProductPhoto) -> Image.Image:
    """A mask file for `photo` (white = product). Its own EXIF orientation is honoured."""
    mask = ImageOps.exif_transpose(load_image(path, role="mask"))
    if mask.mode in ("RGBA", "LA") or (mask.mode == "P" and "transparency" in mask.info):
        rgba = mask.convert("RGBA")
        # A transparent cut-out used as a mask: its alpha is the product.
        mask = rgba.getchannel("A") if rgba.getchannel("A").getextrema()[0] < 255 else rgba
    if mask.size != photo.size:
        raise InvalidRequest(
            f"The mask is {mask.width}×{mask.height} but the product photo is "
            f"{photo.size[0]}×{photo.size[1]}; they must be the same size (white = product).")
    return check_mask(binarize(mask))


def check_mask(mask: Image.Image) -> Image.Image:
    """Refuse masks that mark no product or nothing but product; return the mask."""
    pixels = np.asarray(mask.convert("L")) >= THRESHOLD
    marked = int(pixels.sum())
    if marked < MIN_PRODUCT_PIXELS:
        raise InvalidRequest("The product mask is empty: nothing is marked as product. Paint "
                             "the product white (or give a mask where the product is white).")
    if marked >= MAX_COVERAGE * pixels.size:
        raise InvalidRequest(
            "The product mask covers the whole photo, so there is no background to replace. "
            "Mark only the product white (a mask with black and white swapped looks like this).")
    return mask


def product_mask(photo: ProductPhoto, mask_path: str | Path | None = None) -> tuple[
        Image.Image, str]:
    """The mask for `photo` and the method that made it: 'file', 'alpha', 'model:<name>' (a
    fetched cut-out model) or 'grabcut' (the offline fallback)."""
    if mask_path is not None:
        return load_mask(mask_path, photo), "file"
    if photo.alpha is not None:
        return check_mask(mask_from_alpha(photo.alpha)), "alpha"
    from studio.product.cutout import automatic_mask

    mask, method = automatic_mask(photo.image)
    return check_mask(mask), method


def bounding_box(mask: Image.Image) -> tuple[int, int, int, int]:
    box = binarize(mask).getbbox()
    if box is None:
        raise InvalidRequest("The product mask is empty: nothing is marked as product.")
    return box
