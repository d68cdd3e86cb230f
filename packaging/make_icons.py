"""Draws Studio's app icon and writes every size the platforms ask for into resources/icons/.

Run it after changing the drawing; the outputs are committed, so builds need no drawing step:

    .venv/bin/python packaging/make_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # Windows shell, taskbar and installer
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)  # icns holds the @1x and @2x variants of these
MASTER = 1024
SUPERSAMPLE = 4  # drawn large and scaled down, so edges are anti-aliased like a vector icon


def _lerp(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore


def draw_master(size: int = MASTER) -> Image.Image:
    """A rounded tile with a diagonal gradient, a framed landscape and a spark: 'make images'."""
    s = size * SUPERSAMPLE
    top, bottom = (67, 56, 202), (219, 39, 119)  # indigo to pink
    gradient = Image.new("RGB", (1, 256))
    for y in range(256):
        gradient.putpixel((0, y), _lerp(top, bottom, y / 255))
    background = gradient.resize((s, s)).rotate(-20, resample=Image.Resampling.BICUBIC,
                                                 expand=False, fillcolor=bottom)
    # macOS and Windows both leave a margin around the tile; 10% matches Apple's template.
    margin, radius = round(s * 0.08), round(s * 0.2)
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle((margin, margin, s - margin, s - margin), radius,
                                           fill=255)
    icon = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    shadow = mask.filter(ImageFilter.GaussianBlur(s * 0.015))
    icon.paste((0, 0, 0, 70), (0, round(s * 0.012)), shadow)
    icon.paste(background, (0, 0), mask)

    draw = ImageDraw.Draw(icon)
    white = (255, 255, 255, 255)
    frame = (round(s * 0.24), round(s * 0.30), round(s * 0.76), round(s * 0.74))
    line = round(s * 0.045)
    draw.rounded_rectangle(frame, round(s * 0.06), outline=white, width=line)
    x0, y0, x1, y1 = frame
    inner_bottom = y1 - line
    draw.polygon([(x0 + line, inner_bottom), (x0 + (x1 - x0) * 0.42, y0 + (y1 - y0) * 0.45),
                  (x0 + (x1 - x0) * 0.62, y0 + (y1 - y0) * 0.68),
                  (x0 + (x1 - x0) * 0.74, y0 + (y1 - y0) * 0.56), (x1 - line, inner_bottom)],
                 fill=white)
    # The spark sits on the frame's corner: a four-pointed star.
    cx, cy, r = s * 0.72, s * 0.30, s * 0.14
    waist = r * 0.22
    draw.polygon([(cx, cy - r), (cx + waist, cy - waist), (cx + r, cy), (cx + waist, cy + waist),
                  (cx, cy + r), (cx - waist, cy + waist), (cx - r, cy), (cx - waist, cy - waist)],
                 fill=(255, 236, 153, 255))
    return icon.resize((size, size), Image.Resampling.LANCZOS)


def write_icons(folder: Path = ICONS) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    master = draw_master()
    images = {size: master.resize((size, size), Image.Resampling.LANCZOS) for size in PNG_SIZES}
    written = []
    for size, image in images.items():
        path = folder / f"studio-{size}.png"
        image.save(path, optimize=True)
        written.append(path)
    ico = folder / "studio.ico"
    images[256].save(ico, sizes=[(n, n) for n in ICO_SIZES],
                     append_images=[images[n] for n in ICO_SIZES if n != 256])
    icns = folder / "studio.icns"
    master.save(icns, append_images=[images[n] for n in ICNS_SIZES if n != MASTER])
    return [*written, ico, icns]


def main() -> int:
    for path in write_icons():
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
