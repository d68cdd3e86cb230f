"""Putting the product's own pixels back over a generated scene, exactly."""

from __future__ import annotations

import numpy as np
from PIL import Image

from studio.product.placement import PlacedProduct, apply_shadow


def composite_product(generated: Image.Image, placed: PlacedProduct) -> Image.Image:
    """The scene with the product on top: inside the mask the source pixels bit for bit,
    outside it a blend that fades from the product's edge into the scene."""
    scene = generated.convert("RGB")
    if scene.size != placed.size:
        # A backend may answer at another size (a model's fixed sizes); the frame is ours.
        scene = scene.resize(placed.size, Image.Resampling.LANCZOS)
    if placed.placement.shadow:
        scene = apply_shadow(scene, placed.box, placed.mask)
    source = np.asarray(placed.source, dtype=np.uint8)
    weight = np.asarray(placed.edge, dtype=np.float32)[:, :, None] / 255.0
    blended = np.asarray(scene, dtype=np.float32) * (1.0 - weight) + source * weight
    out = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    inside = np.asarray(placed.mask) >= 128
    out[inside] = source[inside]  # exact, whatever rounding the blend did
    return Image.fromarray(out, "RGB")
