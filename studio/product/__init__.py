"""Product photos: keep the product's pixels, generate the scene around them.

import_photo -> product mask (alpha, a mask file, or automatic segmentation) -> place on the
frame of a preset -> inpaint everything outside the mask on any backend -> paste the
product's pixels back exactly. `generate_product_scenes` is the one entry point batch export
and the CLI share.
"""

from __future__ import annotations

from studio.product.compositing import composite_product
from studio.product.importing import ProductPhoto, decode_product_photo, load_product_photo
from studio.product.masks import check_mask, load_mask, mask_from_alpha, product_mask
from studio.product.placement import PlacedProduct, Placement, place_product
from studio.product.prepare import prepare_product
from studio.product.scenes import ProductSceneBackend, SceneOutcome, generate_product_scenes

__all__ = [
    "Placement", "PlacedProduct", "ProductPhoto", "ProductSceneBackend", "SceneOutcome",
    "check_mask", "composite_product", "decode_product_photo", "generate_product_scenes",
    "load_mask", "load_product_photo", "mask_from_alpha", "place_product", "prepare_product",
    "product_mask",
]
