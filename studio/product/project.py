"""A product project on disk: the photo, its (refined) mask and the placement, kept together.

Projects live in STUDIO_HOME/products/<first 16 hex of the photo's SHA-256>/, beside the
library, so they move with it. Keying by content means importing the same photo again, from
any folder, brings back the mask a designer refined rather than a fresh automatic one.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from backends.errors import InvalidRequest
from studio.atomic import write_bytes_atomic
from studio.paths import studio_home
from studio.product.importing import ProductPhoto
from studio.product.masks import binarize
from studio.product.placement import Placement

VERSION = 1
# How a project's mask was made; "model:<name>" names a cut-out model. "auto" is GrabCut in
# projects saved before the methods were named.
MASK_ORIGINS = ("alpha", "auto", "file", "grabcut", "painted")


def products_dir() -> Path:
    return studio_home() / "products"


@dataclass(frozen=True, eq=False)
class ProductProject:
    photo: ProductPhoto
    mask: Image.Image  # L, 255 = product
    mask_origin: str
    placement: Placement = field(default_factory=Placement)
    scenes: tuple[str, ...] = ()
    folder: Path | None = None

    @property
    def key(self) -> str:
        return self.photo.sha256[:16]


def save_project(project: ProductProject, root: Path | None = None) -> Path:
    """Write (or overwrite) the project's folder; return it."""
    if project.mask_origin not in MASK_ORIGINS and not project.mask_origin.startswith("model:"):
        raise InvalidRequest(f"Unknown mask origin {project.mask_origin!r}.")
    folder = (root or products_dir()) / project.key
    photo = project.photo.image.copy()
    if project.photo.alpha is not None:
        photo.putalpha(project.photo.alpha)
    write_bytes_atomic(folder / "photo.png", _png(photo))
    write_bytes_atomic(folder / "mask.png", _png(binarize(project.mask)))
    now = datetime.now(UTC).isoformat()
    previous = _read_json(folder / "project.json") or {}
    data = {
        "version": VERSION, "name": project.photo.name, "sha256": project.photo.sha256,
        "mask_origin": project.mask_origin, "has_alpha": project.photo.alpha is not None,
        "placement": project.placement.to_dict(), "scenes": list(project.scenes),
        "created_at": previous.get("created_at", now), "updated_at": now,
    }
    write_bytes_atomic(folder / "project.json",
                       json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"))
    return folder


def load_project(folder: Path) -> ProductProject:
    data = _read_json(folder / "project.json")
    if data is None or data.get("version") != VERSION:
        raise InvalidRequest(f"{str(folder)!r} is not a Studio product project.")
    try:
        with Image.open(folder / "photo.png") as opened:
            opened.load()
            stored = opened.copy()
        with Image.open(folder / "mask.png") as opened:
            mask = opened.convert("L")
    except OSError as exc:
        raise InvalidRequest(f"The product project in {str(folder)!r} is damaged ({exc}).") \
            from exc
    alpha = stored.getchannel("A") if data.get("has_alpha") and stored.mode == "RGBA" else None
    photo = ProductPhoto(stored.convert("RGB"), alpha, str(data["sha256"]),
                         str(data.get("name", "")))
    return ProductProject(photo, mask, str(data["mask_origin"]),
                          Placement.from_dict(data.get("placement") or {}),
                          tuple(data.get("scenes") or ()), folder)


def find_project(photo: ProductPhoto, root: Path | None = None) -> ProductProject | None:
    """The saved project for this exact photo, if there is one."""
    folder = (root or products_dir()) / photo.sha256[:16]
    data = _read_json(folder / "project.json")
    if data is None or data.get("sha256") != photo.sha256:
        return None
    return load_project(folder)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
