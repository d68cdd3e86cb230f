"""Catalog rows with a product photo: each item generates its scene around the product.

Which column holds the photos is the product-photo mode (`--product-images`): `auto` finds
it by itself (Shopify's variant photo, `image`, `image_path`, `product_image`, `Image Src`,
WooCommerce's `Images`, whose first entry is used…), `off` makes every item from its text
alone, or a column's name. A value is a path (relative to the catalog's folder) or an
http(s) URL, downloaded once into STUDIO_HOME/cache/product-images. A row without a photo is
made from its text; a photo that is named but cannot be had fails only the items of its
row, with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.errors import BackendError, InvalidRequest
from backends.types import Backend, GenerationRequest
from studio import paths
from studio.batch.catalog import Catalog, column_key

IMAGE_COLUMNS = ("product_photo", "image", "image_path", "image_url", "image_link",
                 "product_image", "main_image", "image_src", "images")
PHOTO_MODES = ("auto", "off")  # or a column's name
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
DOWNLOAD_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PhotoChoice:
    """What the product-photo mode came to for one catalog."""

    column: str | None  # None: every item is made from its text
    with_photo: int
    without_photo: int
    note: str  # one line for the CLI and the batch dialog


def product_photo_column(catalog: Catalog, mode: str | None = "auto") -> PhotoChoice:
    """`auto` (or None), `off`, or a column's name (it must exist)."""
    mode = (mode or "auto").strip()
    total = len(catalog.products)
    if mode.lower() == "off":
        return PhotoChoice(None, 0, total, "Product photos off: every product is made from "
                                           "its text.")
    if mode.lower() == "auto":
        column = find_image_column(catalog)
        if column is None:
            return PhotoChoice(None, 0, total, "")
    else:
        column = find_image_column(catalog, mode)
    with_photo = sum(1 for p in catalog.products if image_value(column, p.fields.get(column, "")))
    if with_photo == 0 and mode.lower() == "auto":
        return PhotoChoice(None, 0, total, f"Column {column!r} has no product photos: every "
                                           "product is made from its text.")
    note = f"Product photos from column {column!r}: each scene is made around the product"
    if with_photo < total:
        note += (f"; {total - with_photo} of {total} products have no photo and are made "
                 "from their text")
    return PhotoChoice(column, with_photo, total - with_photo, note + ".")


def find_image_column(catalog: Catalog, name: str | None = None) -> str | None:
    """The column holding product photos: `name` if given (it must exist), else the one the
    catalog's format names, else a known one."""
    if name:
        key = column_key(name)
        if key not in catalog.columns:
            raise InvalidRequest(f"The catalog has no column {name!r} for --product-images "
                                 f"(columns: {', '.join(catalog.columns)}).")
        return key
    if catalog.photo_column in catalog.columns:
        return catalog.photo_column
    return next((c for c in IMAGE_COLUMNS if c in catalog.columns), None)


def image_value(column: str, value: str) -> str:
    """The product's one photo: the first of a list (WooCommerce's `Images` "a.jpg, b.jpg",
    a marketplace's `["http://…", "http://…"]`)."""
    value = value.strip()
    if value.startswith("["):
        try:
            listed = json.loads(value)
        except (ValueError, RecursionError):
            listed = None
        if isinstance(listed, list):
            value = next((v.strip() for v in listed if isinstance(v, str) and v.strip()), "")
    if column == "images":
        value = value.split(",")[0].strip()
    return re.split(r"\s*[,|;]\s*(?=https?://)", value)[0].strip()


def download_image(url: str, cache: Path | None = None,
                   timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """The URL's image in the cache (named by the URL's sha256), fetched once, atomically."""
    cache = cache or paths.studio_home() / "cache" / "product-images"
    target = cache / hashlib.sha256(url.encode("utf-8")).hexdigest()
    if target.is_file():
        return target
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            kind = response.headers.get_content_type()
            if not kind.startswith("image/"):
                raise InvalidRequest(f"{url} is not an image (content type {kind}).")
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise InvalidRequest(f"Could not download {url}: HTTP {exc.code} {exc.reason}") \
            from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise InvalidRequest(f"Could not download {url}: {reason}") from None
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise InvalidRequest(f"{url} is over {MAX_DOWNLOAD_BYTES // (1024 * 1024)} MB.")
    cache.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=cache, prefix=".download-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


MASK_RULE = "mask"


class ProductScenes:
    """Per item, the backend and request that make its scene around the row's product
    (or, for a row without a photo, the plain backend and request).

    Each SKU's photo is read and masked once (thread-safe), and that one mask places the
    product at every size (the generation's and the export's), so the scene is made around
    exactly the outline the export keeps. A failure is remembered and raised for every item
    of that SKU as a BackendError, which the runner records as the item's failure.
    `mask_method(sku)` says how the mask was made: grabcut, model:<name>, alpha, file, or
    painted (a mask refined in the app for the same photo).
    """

    def __init__(self, catalog: Catalog, column: str, fill: float | str | None = None,
                 cache: Path | None = None, harmonise: float = 0.0) -> None:
        self.column, self.cache = column, cache
        self.folder = Path(catalog.path).resolve().parent
        self.values: dict[str, str] = {}
        for product in catalog.products:
            self.values.setdefault(product.sku, product.fields.get(column, ""))
        from studio.product.placement import Placement

        # "native" keeps the photo's own pixel size; harmonise: a second, light pass (0: off)
        chosen_fill = {} if fill is None else {"fill": None if fill == "native" else float(fill)}
        self.placement = Placement(**chosen_fill, harmonise=harmonise)
        self._masked: dict[str, Any] = {}  # sku -> (photo, mask, method), or the error
        self._placed: dict[tuple[str, tuple[int, int]], Any] = {}
        self._lock = threading.Lock()

    def has_photo(self, sku: str) -> bool:
        """False: the row names no photo, and its items are made from the text alone."""
        return bool(image_value(self.column, self.values.get(sku, "")))

    def photo_path(self, sku: str) -> Path:
        value = image_value(self.column, self.values.get(sku, ""))
        if not value:
            raise InvalidRequest(f"no product image in column {self.column!r}")
        if value.lower().startswith(("http://", "https://")):
            return download_image(value, self.cache)
        path = Path(value).expanduser()
        path = path if path.is_absolute() else self.folder / path
        if not path.is_file():
            raise InvalidRequest(f"product image not found: {path}")
        return path

    def _mask(self, sku: str) -> tuple[Any, Any, str]:
        """The SKU's photo, its mask and how the mask was made, worked out once."""
        with self._lock:
            known = self._masked.get(sku)
        if known is None:
            try:
                known = masked_photo(self.photo_path(sku))
            except BackendError as exc:
                known = exc
            except (OSError, ValueError) as exc:
                known = InvalidRequest(f"product image unusable: {exc}")
            with self._lock:
                known = self._masked.setdefault(sku, known)
        if isinstance(known, BaseException):
            raise InvalidRequest(str(known))
        return known

    def mask_method(self, sku: str) -> str:
        """How the SKU's product mask was made ("" for a row without a usable photo)."""
        if not self.has_photo(sku):
            return ""
        try:
            return self._mask(sku)[2]
        except BackendError:
            return ""

    def placed(self, sku: str, size: tuple[int, int]) -> Any:
        from studio.product.placement import place_product

        key = (sku, size)
        with self._lock:
            known = self._placed.get(key)
        if known is None:
            try:
                photo, mask, _ = self._mask(sku)
                known = place_product(photo, mask, size, self.placement)
            except BackendError as exc:
                known = exc
            with self._lock:
                self._placed[key] = known
        if isinstance(known, BaseException):
            raise InvalidRequest(str(known))
        return known

    def scene_without_product(self, sku: str, scene: Any) -> Any:
        """The generated image (the product composited in at the generation's size) with the
        product and its soft edge filled in from the scene around them.

        An export enlarges the scene, then places the product at the final size over it; an
        enlarged small product would leave a blurred ring of its colours (and of the photo's
        own background, through the soft edge) around the sharp one, into the frame's border
        on a tight fill. Unchanged when the row has no usable photo."""
        if not self.has_photo(sku):
            return scene
        try:
            small = self.placed(sku, scene.size)
        except BackendError:
            return scene
        return fill_in(scene.convert("RGB"), small.edge)

    def prepare(self, backend: Backend, sku: str,
                request: GenerationRequest) -> tuple[Backend, GenerationRequest]:
        from studio.product.scenes import ProductSceneBackend

        if not self.has_photo(sku):  # no photo yet: the product from its text alone
            return backend, request
        placed = self.placed(sku, (request.width, request.height))
        fields = {name: getattr(request, name) for name in
                  ("negative_prompt", "seed", "count", "model", "steps", "guidance",
                   "scheduler")}
        return ProductSceneBackend(backend, placed), placed.request(request.prompt, **fields)


def fill_in(image: Any, edge: Any, margin: int = 2) -> Any:
    """`image` with the pixels under `edge` (L, > 0: the product and its soft edge), grown by
    `margin`, painted in from their surroundings (OpenCV's Telea inpainting)."""
    import cv2
    import numpy as np
    from PIL import Image

    hole = (np.asarray(edge) > 0).astype(np.uint8)
    if margin:
        hole = cv2.dilate(hole, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    if not hole.any():
        return image
    filled = cv2.inpaint(np.ascontiguousarray(np.asarray(image)), hole, 3, cv2.INPAINT_TELEA)
    return Image.fromarray(filled, "RGB")


def masked_photo(path: Path) -> tuple[Any, Any, str]:
    """The photo at `path`, its product mask and the mask's method: a mask refined in the app
    for the same photo if there is one, else the photo's alpha, a fetched cut-out model's,
    or GrabCut's (studio.product.masks.product_mask)."""
    from studio.product.importing import load_product_photo
    from studio.product.masks import product_mask
    from studio.product.project import find_project

    photo = load_product_photo(path)
    saved = find_project(photo)
    if saved is not None:
        return photo, saved.mask, saved.mask_origin
    mask, method = product_mask(photo)
    return photo, mask, method


def generated_on_white(image: Any, size: tuple[int, int]) -> tuple[Any, str]:
    """A generated product (a row without a photo, on a preset that puts products on
    white) cut out of its generated background and placed on the preset's frame as a photo
    would be, and the mask's method. The image still needs the preset's background under it
    (OutputPreset.packshot). A model asked for "a seamless pure white background" still
    paints greys, vignettes and floors; a marketplace checks for 255 in the border."""
    from studio.product.importing import ProductPhoto
    from studio.product.masks import product_mask
    from studio.product.placement import place_product

    generated = ProductPhoto(image.convert("RGB"), None, "", "generated image")
    mask, method = product_mask(generated)
    return place_product(generated, mask, size), method


def mask_entry(method: str) -> dict[str, object]:
    """What the runner keeps with an item's checks (always passed: a record, not a rule)."""
    return {"rule": MASK_RULE, "passed": True, "detail": f"product mask by {method}",
            "method": method, "info": True}


def mask_fields(checks: str) -> dict[str, str]:
    """manifest's `mask` column from an item's stored checks JSON ("" without a product)."""
    try:
        entries = json.loads(checks) if checks else []
    except ValueError:
        entries = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("rule") == MASK_RULE:
            return {"mask": str(entry.get("method", ""))}
    return {"mask": ""}
