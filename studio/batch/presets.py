"""Marketplace output presets (resources/presets/marketplaces.json) and applying them."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageChops, ImageCms, ImageOps, PngImagePlugin

from backends.errors import InvalidRequest
from backends.types import MAX_SIDE, SIDE_MULTIPLE
from studio.library.xmp import PNG_XMP_KEY, Disclosure
from studio.paths import resources_dir

if TYPE_CHECKING:
    from studio.batch.upscale import Upscaled

FITS = ("pad", "crop", "resize")
PRODUCT_JPEG_QUALITY = 95
FORMATS = {"jpeg": "jpg", "png": "png", "webp": "webp"}


@dataclass(frozen=True)
class OutputPreset:
    name: str
    label: str
    width: int
    height: int
    fit: str = "pad"
    format: str = "jpeg"
    quality: int = 90
    colour_space: str = "sRGB"
    background: str = "#FFFFFF"
    pure_white: bool = False
    white_threshold: int = 245
    prompt_suffix: str = ""
    source: str = ""
    # How a scene smaller than the preset is enlarged: auto (a fetched upscaler, else
    # Lanczos), lanczos, or a fetched upscaler's name (batch/upscale.py); set per job.
    upscaler: str = "auto"
    # A row with a product photo becomes a packshot: the photograph's product on the plain
    # background, nothing generated (Amazon's main image is a photograph on pure white).
    product_on_white: bool = False

    def __post_init__(self) -> None:
        if self.fit not in FITS or self.format not in FORMATS or self.colour_space != "sRGB":
            raise InvalidRequest(f"Preset {self.name!r}: fit is one of {', '.join(FITS)}, format "
                                 f"one of {', '.join(FORMATS)}, colour space sRGB.")
        if not (1 <= self.width <= 10_000 and 1 <= self.height <= 10_000):
            raise InvalidRequest(f"Preset {self.name!r} has an impossible size.")

    @property
    def extension(self) -> str:
        return FORMATS[self.format]

    def generation_size(self, long_side: int) -> tuple[int, int]:
        """A size to generate at with the preset's aspect, `long_side` on its longer side."""
        scale = long_side / max(self.width, self.height)

        def side(value: float) -> int:
            snapped = int(round(value / SIDE_MULTIPLE)) * SIDE_MULTIPLE
            return min(MAX_SIDE, max(64, snapped))

        return side(self.width * scale), side(self.height * scale)

    def final_with_product(self, scene: Image.Image, placed: Any) -> Image.Image:
        """The export built at its final size: the scene brought to the preset (upscaled,
        resampled, white-snapped), then the product placed at this size composited over it,
        so the product's pixels are the photo's, untouched by any of that."""
        from studio.product.compositing import composite_product

        return composite_product(self.apply(scene), placed)

    def packshot(self, placed: Any) -> Image.Image:
        """The product placed at this size on the plain background, and nothing else: no
        scene, so no resampling, snapping or upscaling touches a pixel."""
        from studio.product.compositing import composite_product

        plain = Image.new("RGB", (self.width, self.height), hex_colour(self.background))
        return composite_product(plain, placed)

    def apply(self, image: Image.Image) -> Image.Image:
        """The image at exactly width × height, on the background, in RGB."""
        return self.fit_scene(image)[0]

    def fit_scene(self, image: Image.Image) -> tuple[Image.Image, Upscaled]:
        """The image at exactly width × height, on the background, in RGB, and how it was
        enlarged: by a fetched super-resolution model when one is there, `upscaler` allows it
        and the image is smaller than the preset needs, then the Lanczos fit
        (studio/batch/upscale.py)."""
        from studio.batch.upscale import needed_scale, upscale_scene

        image = self.flatten(image)
        size = (self.width, self.height)
        if image.size == size:  # already fitted (and snapped, if pure white): left alone
            scale = 1.0
        else:
            scale = needed_scale(image.size, size, self.fit)
        image, upscaled = upscale_scene(image, scale, self.upscaler)
        return self.resample(image), upscaled

    def flatten(self, image: Image.Image) -> Image.Image:
        """RGB, with any transparency laid on the preset's background."""
        background = hex_colour(self.background)
        if image.mode in ("RGBA", "LA", "P"):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, background)
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        return image.convert("RGB")

    def resample(self, image: Image.Image) -> Image.Image:
        """An RGB image fitted to width × height with Lanczos, then white-snapped."""
        background = hex_colour(self.background)
        size = (self.width, self.height)
        if image.size != size:
            if self.fit == "crop":
                image = ImageOps.fit(image, size, Image.Resampling.LANCZOS)
            elif self.fit == "resize":
                image = image.resize(size, Image.Resampling.LANCZOS)
            else:
                image = ImageOps.pad(image, size, Image.Resampling.LANCZOS, color=background)
        if self.pure_white:
            image = snap_to_white(image, self.white_threshold)
        return image

    def encode(self, image: Image.Image, disclosure: Disclosure | None = None, *,
               final: bool = False) -> bytes:
        """The applied image in the preset's format, with the sRGB profile and the AI
        disclosure as XMP: a PNG iTXt `XML:com.adobe.xmp` chunk, a JPEG APP1 segment, a
        WebP `XMP ` chunk. Without `disclosure`, a plain generation by an unnamed model.

        `final`: the image is already at the preset's size with its product pixels in place
        (`final_with_product`); nothing may resample or snap them, and a JPEG keeps them as
        close as JPEG can (quality 95 or more, full-resolution chroma)."""
        if not final:
            image = self.apply(image)
        xmp = (disclosure or Disclosure(model="", backend="")).xmp()
        buffer = io.BytesIO()
        options: dict[str, object] = {"icc_profile": srgb_profile()}
        if self.format in ("jpeg", "webp"):
            options["quality"] = max(self.quality, PRODUCT_JPEG_QUALITY) if final else \
                self.quality
            options["xmp"] = xmp  # Pillow ≥ 11 writes it for JPEG; WebP through libwebp's mux
        if self.format == "jpeg":
            options["optimize"] = True
            if final:
                options["subsampling"] = 0  # 4:4:4: no chroma blur across the product edge
        if self.format == "png":
            info = PngImagePlugin.PngInfo()
            info.add_itxt(PNG_XMP_KEY, xmp.decode("utf-8"))
            options["pnginfo"] = info
        image.save(buffer, format=self.format.upper(), **options)
        return buffer.getvalue()


def hex_colour(value: str) -> tuple[int, int, int]:
    text = value.lstrip("#")
    if len(text) != 6:
        raise InvalidRequest(f"Background colours look like #FFFFFF (got {value!r}).")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def snap_to_white(image: Image.Image, threshold: int) -> Image.Image:
    """Near-white pixels become exactly 255,255,255: a marketplace check looks for pure white."""
    red, green, blue = image.split()
    darkest = ImageChops.darker(red, ImageChops.darker(green, blue))
    mask = darkest.point(lambda v: 255 if v >= threshold else 0)
    white = Image.new("RGB", image.size, (255, 255, 255))
    return Image.composite(white, image, mask)


@lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@lru_cache(maxsize=1)
def marketplace_presets() -> dict[str, OutputPreset]:
    path = resources_dir() / "presets" / "marketplaces.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return {item["name"]: OutputPreset(**item) for item in data["presets"]}


def get_preset(name: str) -> OutputPreset:
    presets = marketplace_presets()
    if name not in presets:
        raise InvalidRequest(f"No output preset {name!r}; choose one of "
                             f"{', '.join(presets)}.")
    return presets[name]
