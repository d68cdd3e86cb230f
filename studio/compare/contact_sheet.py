"""A side-by-side contact sheet PNG: one column per backend, one row per run, captioned with
each image's latency and cost."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from studio.atomic import write_bytes_atomic

CELL = 256  # longest side of each thumbnail
PAD = 12
HEADER = 28
CAPTION = 34


def contact_sheet(columns: Sequence[tuple[str, Sequence[tuple[Path, str]]]]) -> Image.Image:
    """`columns` is (title, [(image path, caption), ...]) per backend."""
    rows = max((len(images) for _, images in columns), default=0)
    width = PAD + len(columns) * (CELL + PAD)
    height = HEADER + rows * (CELL + CAPTION + PAD) + PAD
    sheet = Image.new("RGB", (max(width, 1), max(height, 1)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for col, (title, images) in enumerate(columns):
        x = PAD + col * (CELL + PAD)
        draw.text((x, 8), title[:40], fill="black", font=font)
        for row, (path, caption) in enumerate(images):
            y = HEADER + row * (CELL + CAPTION + PAD)
            with Image.open(path) as opened:
                thumb = opened.convert("RGB")
            scale = CELL / max(thumb.width, thumb.height)
            thumb = thumb.resize((max(1, round(thumb.width * scale)),
                                  max(1, round(thumb.height * scale))),
                                 Image.Resampling.LANCZOS if scale < 1 else
                                 Image.Resampling.NEAREST)
            sheet.paste(thumb, (x + (CELL - thumb.width) // 2, y + (CELL - thumb.height) // 2))
            for index, line in enumerate(caption.splitlines()[:2]):
                draw.text((x, y + CELL + 4 + index * 14), line[:42], fill="#333333", font=font)
    return sheet


def save_contact_sheet(image: Image.Image, path: Path) -> Path:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    write_bytes_atomic(path, buffer.getvalue())
    return path
