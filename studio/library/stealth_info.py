"""AUTOMATIC1111 "stealth" PNG info: generation settings hidden in the pixels' lowest bits.

The stealth-pnginfo extension (and A1111 forks that adopted it) writes the settings into the
least significant bit of each pixel, so they survive sites that strip text chunks:

- a magic word, then a 32-bit big-endian length in bits, then that many bits of data;
- `stealth_pnginfo` / `stealth_pngcomp`: one bit per pixel, in the alpha channel;
  `stealth_rgbinfo` / `stealth_rgbcomp`: three bits per pixel, in R, G then B;
- pixels are read column by column (top to bottom, then the next column);
- the `…comp` variants are gzip-compressed, the `…info` ones plain UTF-8.

sd-parsers reads only `stealth_pngcomp` (and only with its slowest setting), so Studio reads
all four here.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

MAGIC_BITS = len("stealth_pnginfo") * 8
LENGTH_BITS = 32
_MAGICS: dict[str, tuple[str, bool]] = {
    # magic -> (channel, compressed)
    "stealth_pnginfo": ("alpha", False),
    "stealth_pngcomp": ("alpha", True),
    "stealth_rgbinfo": ("rgb", False),
    "stealth_rgbcomp": ("rgb", True),
}
# Far above any real settings text; stops a corrupt length from allocating gigabytes.
MAX_PAYLOAD_BYTES = 4_000_000


@dataclass(frozen=True)
class StealthInfo:
    text: str
    channel: str  # "alpha" or "rgb"
    compressed: bool


def _column_bits(image: Image.Image, channel: str, pixels: int) -> np.ndarray:
    """The lowest bits of the first `pixels` pixels in the writer's order (column by column);
    only the columns that hold them are decoded, so a photo without stealth info costs little."""
    width, height = image.size
    columns = min(width, -(-pixels // max(1, height)))
    part = image.crop((0, 0, columns, height))
    if channel == "alpha":
        plane = np.asarray(part.getchannel("A"), dtype=np.uint8)
        return (plane.T & 1).reshape(-1)
    rgb = np.asarray(part.convert("RGB"), dtype=np.uint8)
    return (rgb.transpose(1, 0, 2) & 1).reshape(-1)


def _read(image: Image.Image, channel: str) -> StealthInfo | None:
    per_pixel = 1 if channel == "alpha" else 3
    start = MAGIC_BITS + LENGTH_BITS
    available = image.width * image.height * per_pixel
    if available < start:
        return None
    head = _column_bits(image, channel, -(-start // per_pixel))
    magic = np.packbits(head[:MAGIC_BITS]).tobytes().decode("latin-1")
    kind = _MAGICS.get(magic)
    if kind is None or kind[0] != channel:
        return None
    length_bits = int.from_bytes(np.packbits(head[MAGIC_BITS:start]).tobytes(), "big")
    if length_bits <= 0 or length_bits % 8 or length_bits > available - start \
            or length_bits // 8 > MAX_PAYLOAD_BYTES:
        return None
    bits = _column_bits(image, channel, -(-(start + length_bits) // per_pixel))
    payload = np.packbits(bits[start:start + length_bits]).tobytes()
    compressed = kind[1]
    try:
        if compressed:
            payload = gzip.decompress(payload)
        text = payload.decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError):
        return None
    return StealthInfo(text, channel, compressed) if text.strip() else None


def read_stealth_info(image: Image.Image) -> StealthInfo | None:
    """The stealth settings hidden in `image`, or None when it carries none."""
    channels = ("alpha", "rgb") if "A" in image.getbands() else ("rgb",)
    for channel in channels:
        found = _read(image, channel)
        if found is not None:
            return found
    return None
