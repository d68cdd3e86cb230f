"""Placing the product on the frame of a target size: scale, position, padding, shadow."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from backends.errors import InvalidRequest
from backends.types import GenerationRequest
from studio.product.importing import ProductPhoto
from studio.product.masks import THRESHOLD, binarize, bounding_box, check_mask
from studio.product.shadow import apply_silhouette_shadow

POSITIONS: dict[str, tuple[float, float]] = {
    # where the product's box sits in the free area: (0, 0) top left, (1, 1) bottom right
    "center": (0.5, 0.5), "bottom": (0.5, 1.0), "top": (0.5, 0.0),
    "left": (0.0, 0.5), "right": (1.0, 0.5),
}
BACKGROUND = (128, 128, 128)  # what the model sees before the scene replaces it
MIN_HARMONISE, MAX_HARMONISE = 0.05, 0.6
DEFAULT_STRENGTH = 1.0  # a whole new scene; lower keeps more of the photo's own background


@dataclass(frozen=True)
class Placement:
    """How the product sits in the frame.

    `fill` is the fraction of the free area (the frame less `padding` on every side) the
    product's bounding box fills along its tighter side; None keeps the photo's own pixel
    size, so not even resampling touches the product. `feather` is the width in pixels of the
    soft edge blended outside the mask (photos without transparency only). `harmonise` is the
    strength of a second, light image-to-image pass over each composite (0: none; see
    harmonise.py); the product's pixels stay exact either way.
    """

    fill: float | None = 0.85
    position: str = "center"
    padding: int = 0
    shadow: bool = False
    feather: int = 2
    harmonise: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if self.fill is not None and not 0.05 <= self.fill <= 1.0:
            problems.append(f"The fill must be from 0.05 to 1 (got {self.fill}).")
        if self.position not in POSITIONS:
            problems.append(f"Unknown position {self.position!r}; use one of "
                            f"{', '.join(POSITIONS)}.")
        if self.padding < 0 or self.feather < 0 or self.feather > 64:
            problems.append("Padding must be 0 or more and the feather from 0 to 64 pixels.")
        if self.harmonise and not MIN_HARMONISE <= self.harmonise <= MAX_HARMONISE:
            problems.append(f"The harmonising strength must be 0 (off) or from {MIN_HARMONISE} "
                            f"to {MAX_HARMONISE} (got {self.harmonise}); above that it "
                            "repaints the scene rather than settling it.")
        if problems:
            raise InvalidRequest(" ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return {"fill": self.fill, "position": self.position, "padding": self.padding,
                "shadow": self.shadow, "feather": self.feather, "harmonise": self.harmonise}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Placement:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int


def fit_box(product_size: tuple[int, int], frame: tuple[int, int],
            placement: Placement) -> tuple[Box, float]:
    """Where the product's bounding box lands in the frame, and the scale that puts it there."""
    width, height = product_size
    free_w = frame[0] - 2 * placement.padding
    free_h = frame[1] - 2 * placement.padding
    if free_w < 1 or free_h < 1:
        raise InvalidRequest(f"A padding of {placement.padding} px leaves no room in a "
                             f"{frame[0]}×{frame[1]} frame.")
    if placement.fill is None:
        scale = 1.0
        if width > free_w or height > free_h:
            raise InvalidRequest(
                f"At its own size the product ({width}×{height}) does not fit the "
                f"{frame[0]}×{frame[1]} frame; set a fill such as 0.85 to scale it.")
    else:
        scale = placement.fill * min(free_w / width, free_h / height)
    box_w = min(free_w, max(1, round(width * scale)))
    box_h = min(free_h, max(1, round(height * scale)))
    ax, ay = POSITIONS[placement.position]
    x = placement.padding + round((free_w - box_w) * ax)
    y = placement.padding + round((free_h - box_h) * ay)
    return Box(x, y, box_w, box_h), scale


@dataclass(frozen=True, eq=False)
class PlacedProduct:
    """The product on its frame, and everything generating around it needs.

    - `source`: RGB frame whose pixels inside `mask` are the product, kept bit for bit.
    - `mask`: L, 255 where the product is (binary).
    - `edge`: L, 255 inside the mask, fading to 0 outside it: how much of `source` shows
      over the generated scene. It never drops below 255 inside the mask.
    - `canvas`: the init image sent to the backend (product on a neutral background).
    """

    source: Image.Image
    mask: Image.Image
    edge: Image.Image
    canvas: Image.Image
    box: Box
    scale: float
    placement: Placement

    @property
    def size(self) -> tuple[int, int]:
        return self.source.size

    @property
    def generate_mask(self) -> Image.Image:
        """GenerationRequest's convention: white = generate, i.e. everything but the product."""
        return self.mask.point(lambda v: 0 if v >= THRESHOLD else 255)

    def request(self, prompt: str, **fields: Any) -> GenerationRequest:
        """A request that generates the scene around this product (inpainting)."""
        fields.setdefault("strength", DEFAULT_STRENGTH)
        return GenerationRequest(prompt=prompt, init_image=self.canvas, mask=self.generate_mask,
                                 width=self.size[0], height=self.size[1], **fields)


def place_product(photo: ProductPhoto, mask: Image.Image, size: tuple[int, int],
                  placement: Placement | None = None) -> PlacedProduct:
    """Scale and position the masked product on a `size` frame."""
    placement = placement or Placement()
    mask = check_mask(binarize(mask))
    if mask.size != photo.size:
        raise InvalidRequest("The mask and the product photo must be the same size.")
    crop = bounding_box(mask)
    box, scale = fit_box((crop[2] - crop[0], crop[3] - crop[1]), size, placement)
    # Take a margin around the product too: the soft edge outside the mask needs the
    # photo's pixels there, not the neutral background.
    margin = math.ceil((3 * placement.feather + 2) / scale)
    region = (max(0, crop[0] - margin), max(0, crop[1] - margin),
              min(photo.size[0], crop[2] + margin), min(photo.size[1], crop[3] + margin))
    target = (max(1, round((region[2] - region[0]) * scale)),
              max(1, round((region[3] - region[1]) * scale)))
    offset = (box.x - round((crop[0] - region[0]) * scale),
              box.y - round((crop[1] - region[1]) * scale))
    if photo.alpha is not None:
        layer = photo.image.convert("RGBA")
        layer.putalpha(photo.alpha)
    else:
        layer = photo.image
    layer = layer.crop(region)
    mask_crop = mask.crop(region)
    if target != layer.size:
        # RGBA is resampled premultiplied, so transparent pixels' colours do not bleed in.
        layer = layer.resize(target, Image.Resampling.LANCZOS)
        mask_crop = binarize(mask_crop.resize(target, Image.Resampling.LANCZOS))
    full_mask = Image.new("L", size, 0)
    full_mask.paste(mask_crop, offset)
    full_mask = check_mask(full_mask)
    rgb = Image.new("RGB", size, BACKGROUND)
    rgb.paste(layer.convert("RGB"), offset)
    if photo.alpha is not None:
        alpha = Image.new("L", size, 0)
        # Only the alpha's faint edge blends in: opaque pixels outside the mask were taken
        # out of the product on purpose (an eraser stroke), so they must not come back.
        alpha.paste(layer.getchannel("A").point(lambda v: v if v < THRESHOLD else 0), offset)
    elif placement.feather:
        # A hard segmentation edge: fade the photo's own pixels out over a few pixels.
        alpha = full_mask.filter(ImageFilter.GaussianBlur(placement.feather))
    else:
        alpha = full_mask
    edge = Image.fromarray(np.maximum(np.asarray(alpha), np.asarray(full_mask)), "L")
    canvas = Image.new("RGB", size, BACKGROUND)
    if placement.shadow:
        canvas = apply_shadow(canvas, box, full_mask)
    canvas.paste(rgb, (0, 0), edge)
    return PlacedProduct(rgb, full_mask, edge, canvas, box, scale, placement)


def apply_shadow(image: Image.Image, box: Box, mask: Image.Image, *,
                 opacity: float = 0.45) -> Image.Image:
    """A soft contact shadow where the product meets the ground, shaped by its silhouette."""
    return apply_silhouette_shadow(image, mask, (box.x, box.y, box.x + box.width,
                                                 box.y + box.height), opacity=opacity)
