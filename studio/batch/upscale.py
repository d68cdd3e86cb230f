"""Bringing a generated scene up to an export preset's size: a super-resolution model, or Lanczos.

When the preset needs the scene enlarged, the first fetched upscaler (resources/models/
upscalers.json, e.g. Real-ESRGAN x4plus, fetched with `studio product upscaler fetch`) that
reaches the needed factor is run (else the largest fetched one); the preset's own Lanczos fit
then takes the result to the exact size. Without a fetched upscaler the Lanczos fit does it
all. A job can choose (`studio batch --upscaler`): `auto` (that, the default), `lanczos`
(never a model) or one fetched upscaler by name. Either way the method and the factor are
recorded (`Upscaled`) for the manifest.

The model runs in tiles, each with a margin of real neighbours (the image mirrored beyond its
edges), so memory stays bounded on any size and the seams match an untiled run for any model
whose reach is within the margin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from PIL import Image

from backends.errors import InvalidRequest
from studio.onnx_models import (
    OnnxModel,
    fetched_models,
    normalise,
    run_first_output,
    session_for,
    static_hw,
)

LANCZOS = "lanczos"
NONE = "none"
AUTO = "auto"  # the fetched upscaler for the factor if there is one, else Lanczos
FITS = ("pad", "crop", "resize")
MARGIN = 16  # input pixels of context around each tile: beyond ESRGAN's local reach
DEFAULT_TILE = 256


@dataclass(frozen=True)
class Upscaled:
    """How a scene was enlarged: 'none' (it was large enough), 'lanczos' or 'model:<name>',
    and by how much in all (the preset's fit finishes what a model's fixed factor leaves)."""

    method: str
    factor: float

    def describe(self) -> str:
        if self.method == NONE:
            return f"not enlarged (×{self.factor:.3g})"
        return f"{self.method} ×{self.factor:.3g}"

    def to_check(self) -> dict[str, object]:
        """The entry the batch runner keeps with an item's checks (the store's JSON column):
        always passed, it says how the export reached its size."""
        return {"rule": "upscale", "passed": True, "detail": self.describe(),
                "upscaled_by": self.method, "factor": self.factor}


def upscale_fields(checks: str) -> dict[str, object]:
    """manifest's `upscaled_by` and `upscale_factor` from an item's stored checks JSON
    ("" and 0 for an export without a preset, or made before upscales were recorded)."""
    try:
        entries = json.loads(checks) if checks else []
    except ValueError:
        entries = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("rule") == "upscale":
            return {"upscaled_by": str(entry.get("upscaled_by", "")),
                    "upscale_factor": float(entry.get("factor", 0.0))}
    return {"upscaled_by": "", "upscale_factor": 0.0}


def needed_scale(size: tuple[int, int], target: tuple[int, int], fit: str) -> float:
    """How much a fit to `target` enlarges an image of `size` (≤ 1: it does not)."""
    if fit not in FITS:
        raise InvalidRequest(f"Unknown fit {fit!r}; one of {', '.join(FITS)}.")
    across, down = target[0] / size[0], target[1] / size[1]
    return min(across, down) if fit == "pad" else max(across, down)


def check_upscaler_choice(choice: str) -> str:
    """`auto`, `lanczos` or the name of a fetched upscaler, normalised; InvalidRequest for a
    name that is unknown or not fetched (before any image is made)."""
    choice = (choice or AUTO).strip().lower()
    if choice in (AUTO, LANCZOS):
        return choice
    from studio.onnx_models import find_model

    model = find_model("upscaler", choice)
    if not model.is_fetched():
        raise InvalidRequest(f"The upscaler {model.name!r} is not fetched; "
                             f"`{model.fetch_hint()}` downloads it (about {model.size_mb:g} MB), "
                             "or use --upscaler auto or lanczos.")
    return model.name


def choose_upscaler(scale: float, choice: str = AUTO) -> OnnxModel | None:
    """The fetched upscaler for `scale`: with `auto`, the smallest factor that reaches it, else
    the largest; with `lanczos`, none; else the one named (if fetched)."""
    if choice == LANCZOS:
        return None
    models = sorted(fetched_models("upscaler"), key=lambda m: m.scale)
    if choice != AUTO:
        named = [m for m in models if m.name == choice]
        if not named:
            raise InvalidRequest(f"The upscaler {choice!r} is not fetched (any more); "
                                 "`studio product upscaler fetch` lists how to fetch it.")
        return named[0]
    if not models:
        return None
    return next((m for m in models if m.scale >= scale), models[-1])


def upscale_scene(image: Image.Image, scale: float,
                  choice: str = AUTO) -> tuple[Image.Image, Upscaled]:
    """`image` (RGB) enlarged by a fetched model when `scale` > 1 (`choice`: auto, lanczos or
    an upscaler's name), with how it was done."""
    factor = round(scale, 4)
    if scale <= 1.0:
        return image, Upscaled(NONE, factor)
    model = choose_upscaler(scale, choice)
    if model is None:
        return image, Upscaled(LANCZOS, factor)
    return upscale_with(image, model), Upscaled(model.method, factor)


def upscale_with(image: Image.Image, model: OnnxModel, tile: int | None = None,
                 margin: int = MARGIN) -> Image.Image:
    """`image` enlarged model.scale times by the model, tile by tile."""
    session = session_for(model)
    height, width = static_hw(session)
    if (height is None) != (width is None) or (height and height != width):
        raise InvalidRequest(f"The upscaler {model.name!r} takes {width}×{height} input; "
                             "Studio tiles square or free-size inputs only.")
    rgb = np.asarray(image.convert("RGB"))
    if height is not None:  # a fixed input: each tile is exactly that big, margin included
        margin = min(margin, (height - 1) // 2)
        core = height - 2 * margin
    else:
        core = tile or model.tile or DEFAULT_TILE
    planes = normalise(rgb, model)[0]  # 3×H×W
    out = tiled_run(session, planes, model.scale, core, margin)
    out = out * np.asarray(model.std, np.float32)[:, None, None] + \
        np.asarray(model.mean, np.float32)[:, None, None]
    pixels = np.clip(np.round(out.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def tiled_run(session: object, planes: np.ndarray, scale: int, core: int,
              margin: int) -> np.ndarray:
    """Run the model over 3×H×W `planes` in core×core tiles with `margin` of context each;
    return 3×(scale·H)×(scale·W). Outside the image the context is the image mirrored."""
    _, rows, cols = planes.shape
    tiles_down, tiles_across = -(-rows // core), -(-cols // core)
    # Mirrored context beyond the edges, as Real-ESRGAN's own tiling pads: zeros would read as
    # a black frame and darken the border.
    padded = np.pad(planes, ((0, 0), (margin, tiles_down * core - rows + margin),
                             (margin, tiles_across * core - cols + margin)), mode="symmetric")
    side = (core + 2 * margin) * scale
    result = np.empty((3, tiles_down * core * scale, tiles_across * core * scale), np.float32)
    for down in range(tiles_down):
        for across in range(tiles_across):
            y, x = down * core, across * core
            window = padded[None, :, y:y + core + 2 * margin, x:x + core + 2 * margin]
            output = run_first_output(session, np.ascontiguousarray(window))
            if output.shape != (1, 3, side, side):
                raise InvalidRequest(
                    f"The upscaler gave output of shape {tuple(output.shape)} for input "
                    f"{tuple(window.shape)}; expected 1×3×{side}×{side} (×{scale}).")
            kept = output[0, :, margin * scale:(margin + core) * scale,
                          margin * scale:(margin + core) * scale]
            result[:, y * scale:(y + core) * scale, x * scale:(x + core) * scale] = kept
    return result[:, :rows * scale, :cols * scale]
