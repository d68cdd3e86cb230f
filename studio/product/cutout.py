"""Finding the product with a cut-out model (BiRefNet, ISNet…) when one is fetched, else GrabCut.

The models are listed in resources/models/cutout.json and fetched only on request
(`studio product cutout-model fetch`); the first fetched one in the table is used. Without
one, OpenCV GrabCut (segment.py) finds the product offline, and Studio says once how to get
better cut-outs. The method that made a mask is recorded: "model:<name>" or "grabcut".
"""

from __future__ import annotations

import logging
import threading

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

GRABCUT = "grabcut"
GRABCUT_HINT = "using GrabCut; `studio product cutout-model fetch` gives better cut-outs"
THRESHOLD = 0.5  # a pixel is product when the model gives it at least even odds

log = logging.getLogger(__name__)
_hint_lock = threading.Lock()
_hint_given = False


def cutout_model() -> OnnxModel | None:
    """The cut-out model to use: the first fetched one in the table, or None."""
    fetched = fetched_models("cutout")
    return fetched[0] if fetched else None


def automatic_mask(image: Image.Image) -> tuple[Image.Image, str]:
    """The product's mask (L, 255 = product) and the method that made it."""
    model = cutout_model()
    if model is not None:
        return model_mask(image, model), model.method
    from studio.product.segment import auto_mask

    _hint_once()
    return auto_mask(image), GRABCUT


def model_mask(image: Image.Image, model: OnnxModel) -> Image.Image:
    """Run the cut-out model on `image`; the mask at the photo's own size."""
    probability = product_probability(image, model)
    soft = Image.fromarray(np.round(probability * 255).astype(np.uint8), "L")
    if soft.size != image.size:
        soft = soft.resize(image.size, Image.Resampling.BILINEAR)
    return soft.point(lambda v: 255 if v >= round(THRESHOLD * 255) else 0)


def product_probability(image: Image.Image, model: OnnxModel) -> np.ndarray:
    """H×W in 0..1 at the model's input size: how likely each pixel is product."""
    session = session_for(model)
    height, width = static_hw(session)
    wanted = model.input_size or (1024, 1024)
    size = (width or wanted[0], height or wanted[1])
    rgb = np.asarray(image.convert("RGB").resize(size, Image.Resampling.BILINEAR))
    output = run_first_output(session, normalise(rgb, model))
    return to_probability(output, model)


def to_probability(output: np.ndarray, model: OnnxModel) -> np.ndarray:
    """The model's first output (1×1×H×W, 1×H×W or H×W) as a probability map."""
    plane = np.squeeze(output.astype(np.float32))
    if plane.ndim != 2 or plane.size < 4:
        raise InvalidRequest(f"The cut-out model {model.name!r} gave output of shape "
                             f"{tuple(output.shape)}; a cut-out model gives 1×1×H×W.")
    if model.output == "logits":
        return 1.0 / (1.0 + np.exp(-np.clip(plane, -60, 60)))
    if model.output == "minmax":
        low, high = float(plane.min()), float(plane.max())
        return (plane - low) / (high - low) if high > low else np.zeros_like(plane)
    return np.clip(plane, 0.0, 1.0)


def _hint_once() -> None:
    global _hint_given
    with _hint_lock:
        if _hint_given:
            return
        _hint_given = True
    log.warning(GRABCUT_HINT)
