"""A contact shadow that follows the product's silhouette.

Two layers, both made from the product's own mask so a bottle and a handbag cast different
shadows: a *contact* layer, the product's footprint darkened tightly where it meets the
ground, and a *cast* layer, the silhouette flipped and flattened onto the ground plane behind
it, blurred wider. The product itself is pasted back over the shadow exactly, so only the
scene around it darkens.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

CAST_HEIGHT = 0.14  # the flattened silhouette's height, as a share of the product's
FOOT_HEIGHT = 0.04  # how much of the product's base makes the contact layer


def silhouette_shade(mask: Image.Image, box: tuple[int, int, int, int], *,
                     opacity: float = 0.45) -> Image.Image:
    """L image of the frame's size: how dark the shadow is at each pixel (255 = black).

    `mask` is the product on the frame (255 = product); `box` its bounding box (x0, y0, x1,
    y1), whose bottom edge is where the product stands.
    """
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    product = mask.crop(box)
    shade = Image.new("L", mask.size, 0)

    cast_h = max(2, round(height * CAST_HEIGHT))
    cast = product.transpose(Image.Transpose.FLIP_TOP_BOTTOM).resize(
        (width, cast_h), Image.Resampling.BILINEAR)
    cast_layer = Image.new("L", mask.size, 0)
    cast_layer.paste(cast.point(lambda v: round(v * opacity * 0.6)), (x0, y1 - cast_h // 3))
    cast_layer = cast_layer.filter(ImageFilter.GaussianBlur(max(1.0, cast_h * 0.5)))

    foot_h = max(1, round(height * FOOT_HEIGHT))
    footprint = product.crop((0, height - foot_h, width, height))
    contact = Image.new("L", mask.size, 0)
    contact.paste(footprint.point(lambda v: round(v * opacity)), (x0, y1 - foot_h + 1))
    contact = contact.filter(ImageFilter.GaussianBlur(max(1.0, foot_h * 0.7)))

    shade = np.maximum(np.asarray(cast_layer), np.asarray(contact))
    return Image.fromarray(shade.astype(np.uint8), "L")


def apply_silhouette_shadow(image: Image.Image, mask: Image.Image,
                            box: tuple[int, int, int, int], *,
                            opacity: float = 0.45) -> Image.Image:
    """`image` (RGB) darkened under and behind the product whose mask is `mask`."""
    shade = silhouette_shade(mask, box, opacity=opacity)
    black = Image.new("RGB", image.size, (0, 0, 0))
    return Image.composite(black, image.convert("RGB"), shade)
