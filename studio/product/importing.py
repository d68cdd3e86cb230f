"""Reading a seller's product photo: upright, in sRGB, with its transparency if it has one."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from backends.errors import InvalidRequest
from backends.types import MAX_INPUT_PIXELS

FORMATS = ("PNG", "JPEG", "WEBP")
MAX_PRODUCT_PIXELS = MAX_INPUT_PIXELS
MAX_FILE_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True, eq=False)
class ProductPhoto:
    """A product photo as Studio works on it.

    `image` is RGB in sRGB, rotated as the camera's EXIF orientation says; `alpha` is the
    file's transparency (L), or None when the file has none or it is fully opaque.
    `sha256` identifies the original file's bytes, so a saved project can be found again.
    """

    image: Image.Image
    alpha: Image.Image | None
    sha256: str
    name: str = ""

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def load_product_photo(path: str | Path) -> ProductPhoto:
    path = Path(path)
    if not path.is_file():
        raise InvalidRequest(f"The product photo {str(path)!r} does not exist or is not a file.")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InvalidRequest(f"The product photo {path.name!r} is larger than "
                             f"{MAX_FILE_BYTES // 1024 // 1024} MB.")
    return decode_product_photo(path.read_bytes(), name=path.name)


def decode_product_photo(data: bytes, *, name: str = "product photo") -> ProductPhoto:
    """Decode PNG/JPEG/WebP bytes; every way they can be unusable is an InvalidRequest."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.format not in FORMATS:
                raise InvalidRequest(f"{name!r} is a {opened.format} file; use a PNG, JPEG or "
                                     "WebP product photo.")
            if opened.width * opened.height > MAX_PRODUCT_PIXELS:
                raise InvalidRequest(
                    f"{name!r} is {opened.width}×{opened.height}; product photos above "
                    f"{MAX_PRODUCT_PIXELS // 1_000_000} megapixels are not accepted. "
                    "Scale it down first.")
            opened.load()
            upright = ImageOps.exif_transpose(opened)
            icc = opened.info.get("icc_profile")
    except InvalidRequest:
        raise
    except Image.DecompressionBombError as exc:
        raise InvalidRequest(f"{name!r} is far too large to open (above "
                             f"{MAX_PRODUCT_PIXELS // 1_000_000} megapixels, {exc}).") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidRequest(f"{name!r} could not be read as an image ({exc}). Use a PNG, JPEG "
                             "or WebP file.") from exc
    color, alpha = _split_alpha(upright)
    rgb = _to_srgb(color, icc, name) if icc else _plain_rgb(color)
    if alpha is not None and alpha.getextrema()[0] == 255:
        alpha = None  # an opaque alpha channel says nothing about where the product is
    return ProductPhoto(rgb, alpha, hashlib.sha256(data).hexdigest(), name)


def _split_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """The colour bands in their own mode (RGB, CMYK, L...) and the alpha band, if any."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "RGBa"):
        rgba = image.convert("RGBA")
        return rgba.convert("RGB"), rgba.getchannel("A")
    if image.mode in ("LA", "La", "PA"):
        la = image.convert("LA")
        return la.getchannel("L"), la.getchannel("A")
    return image, None


def _plain_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: keep the top 8 bits rather than clipping at 255.
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB") if image.mode != "RGB" else image.copy()


_PROFILE_SPACES = {"RGB": "RGB", "CMYK": "CMYK", "L": "GRAY"}


def _to_srgb(image: Image.Image, icc: bytes, name: str) -> Image.Image:
    """Convert with the embedded profile, so a Display P3 or Adobe RGB photo keeps its look."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if _PROFILE_SPACES.get(image.mode) != source.profile.xcolor_space.strip():
            return _plain_rgb(image)  # a profile that does not describe these pixels
        srgb = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(
            image, source, srgb, renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        raise InvalidRequest(f"{name!r} carries a colour profile Studio cannot read ({exc}). "
                             "Export it again as sRGB.") from exc
    return converted if converted is not None else _plain_rgb(image)
