"""The keyword arguments one pipeline call takes, for the family's kind of guidance."""

from __future__ import annotations

import inspect
from typing import Any

from PIL import ImageOps

from backends.families import FamilyProfile
from backends.local.pipelines import LoadedModel
from backends.local.schedulers import build_scheduler
from backends.types import GenerationRequest

# Qwen-Image runs true CFG only when a negative prompt is given; a blank one is its own
# documented way to ask for it without steering away from anything.
BLANK_NEGATIVE = " "


def prepare_call(loaded: LoadedModel, request: GenerationRequest,
                 profile: FamilyProfile | None) -> tuple[Any, dict[str, Any]]:
    """The pipeline for the request's mode, with a fresh scheduler, and its arguments."""
    pipeline = loaded.pipeline_for(request.mode)
    pipeline.scheduler = build_scheduler(request.scheduler, loaded.base_scheduler_config)
    kwargs: dict[str, Any] = {
        "prompt": request.prompt,
        "num_inference_steps": request.steps,
        "num_images_per_prompt": request.count,
        "output_type": "pil",
    }
    kwargs.update(_guidance(request, profile))
    size = (request.width, request.height)
    # Every pipeline that takes a frame is told it (SD's img2img takes none and follows the
    # image, which is fitted to the frame below). FLUX.1 Kontext would otherwise rescale the
    # frame to a megapixel and the input image to its nearest training resolution.
    kwargs.update(width=request.width, height=request.height,
                  max_area=request.width * request.height, _auto_resize=False)
    if request.init_image is not None:
        kwargs["image"] = ImageOps.fit(request.init_image, size)
    if request.mode in ("img2img", "inpaint"):
        kwargs["strength"] = request.strength
    if request.mode == "inpaint":
        kwargs["mask_image"] = ImageOps.fit(request.mask, size)
    return pipeline, _accepted(pipeline, kwargs)


def _guidance(request: GenerationRequest, profile: FamilyProfile | None) -> dict[str, Any]:
    kind = profile.guidance_kind if profile else "cfg"
    negative = request.negative_prompt or None
    if kind == "true_cfg":
        return {"true_cfg_scale": request.guidance,
                "negative_prompt": negative or (BLANK_NEGATIVE if request.guidance > 1 else None)}
    if kind == "distilled" or kind == "none":
        return {"guidance_scale": request.guidance}
    return {"guidance_scale": request.guidance, "negative_prompt": negative}


def _accepted(pipeline: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Only what this pipeline's __call__ takes. The family profile has already refused
    anything the user set that the model cannot use, so what is left out here is a default."""
    parameters = inspect.signature(pipeline.__call__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in parameters}
