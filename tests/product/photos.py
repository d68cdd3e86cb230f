"""Synthetic product photos with known masks: a shape on a textured background."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def textured_background(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Warm wood-like stripes with noise: busy enough that colour alone is not trivial."""
    rng = np.random.default_rng(seed)
    width, height = size
    y = np.arange(height)[:, None]
    x = np.arange(width)[None, :]
    stripes = 20 * np.sin(x / 7.0 + 3 * np.sin(y / 23.0))
    base = np.stack([190 + stripes, 160 + stripes * 0.8, 120 + stripes * 0.5], axis=-1)
    noisy = base + rng.normal(0, 8, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def product_mask_shape(size: tuple[int, int]) -> Image.Image:
    """A bottle-like shape: a body and a neck, off-centre."""
    width, height = size
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    draw.rounded_rectangle((width * 0.32, height * 0.35, width * 0.68, height * 0.88),
                           radius=width * 0.06, fill=255)
    draw.rectangle((width * 0.44, height * 0.14, width * 0.56, height * 0.36), fill=255)
    return mask


def product_photo(size: tuple[int, int] = (320, 256), seed: int = 0) -> tuple[
        Image.Image, Image.Image]:
    """(photo, true mask): a blue-green glossy bottle on the textured background."""
    rng = np.random.default_rng(seed + 1)
    mask = product_mask_shape(size)
    width, height = size
    gradient = np.linspace(0, 1, width)[None, :, None]
    product = np.empty((height, width, 3))
    product[...] = np.array([30, 90, 150]) + gradient * np.array([20, 60, 40])
    product += rng.normal(0, 6, product.shape)
    product_image = Image.fromarray(np.clip(product, 0, 255).astype(np.uint8), "RGB")
    photo = Image.composite(product_image, textured_background(size, seed), mask)
    return photo, mask


def rgba_product(size: tuple[int, int] = (96, 80)) -> tuple[Image.Image, Image.Image]:
    """(RGBA cut-out with soft edges, the binary mask alpha >= 128 should give)."""
    alpha = Image.new("L", size, 0)
    ImageDraw.Draw(alpha).ellipse((10, 8, size[0] - 12, size[1] - 6), fill=255)
    soft = alpha.resize((size[0] // 2, size[1] // 2), Image.Resampling.BILINEAR).resize(
        size, Image.Resampling.BILINEAR)
    rng = np.random.default_rng(3)
    colours = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(colours, "RGB").convert("RGBA")
    image.putalpha(soft)
    expected = soft.point(lambda v: 255 if v >= 128 else 0)
    return image, expected


def iou(a: Image.Image, b: Image.Image) -> float:
    x = np.asarray(a.convert("L")) >= 128
    y = np.asarray(b.convert("L")) >= 128
    return float((x & y).sum() / max(1, (x | y).sum()))


def linear_rgb_profile() -> bytes:
    """A minimal ICC v2 display profile: sRGB primaries with gamma 1.0 (linear light).

    The same numbers mean brighter colours than in sRGB, so converting must change them.
    """
    import struct

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    description = b"Linear RGB\0"
    tags = {
        b"desc": b"desc" + b"\0" * 4 + struct.pack(">I", len(description)) + description
        + b"\0" * 8 + b"\0" * 3 + b"\0" * 67,
        b"wtpt": xyz(0.9642, 1.0, 0.8249),
        b"rXYZ": xyz(0.4361, 0.2225, 0.0139),
        b"gXYZ": xyz(0.3851, 0.7169, 0.0971),
        b"bXYZ": xyz(0.1431, 0.0606, 0.7141),
        b"rTRC": b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 0x0100) + b"\0\0",
    }
    tags[b"gTRC"] = tags[b"bTRC"] = tags[b"rTRC"]
    tags[b"cprt"] = b"text" + b"\0" * 4 + b"none\0\0\0\0"
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags.items():
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntr"
              + b"RGB " + b"XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 4 + b"\0" * 4 + b"\0" * 8
              + b"\0" * 8 + b"\0" * 4 + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 4
              + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body
