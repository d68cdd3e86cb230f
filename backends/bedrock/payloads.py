"""Request bodies built to each model's documented schema, checked before anything is sent.

`plan_generation` turns a GenerationRequest (+ BedrockTask) into a Plan or raises one
InvalidRequest listing every reason the model could not serve it. `Plan.body(seed)` is the
JSON for one image; `decode_images` reads a response body.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import random
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from backends.bedrock.errors import ContentFiltered, stability_finish_error
from backends.bedrock.models import (
    MODELS,
    STABILITY_MAX_INPUT_RATIO,
    ModelSpec,
    TaskType,
    stability_ratio,
)
from backends.bedrock.tasks import BedrockTask
from backends.errors import InvalidRequest, TransientError
from backends.types import GenerationRequest, decode_image

NEEDS_IMAGE = frozenset({TaskType.IMAGE_VARIATION, TaskType.INPAINTING, TaskType.OUTPAINTING,
                         TaskType.BACKGROUND_REMOVAL})
MASKED = frozenset({TaskType.INPAINTING, TaskType.OUTPAINTING})
# Titan and Nova keep at least this much of the source in a variation (similarityStrength).
MIN_SIMILARITY = 0.2

_PARAMS_KEY = {
    TaskType.TEXT_IMAGE: "textToImageParams",
    TaskType.IMAGE_VARIATION: "imageVariationParams",
    TaskType.INPAINTING: "inPaintingParams",
    TaskType.OUTPAINTING: "outPaintingParams",
    TaskType.COLOR_GUIDED_GENERATION: "colorGuidedGenerationParams",
    TaskType.BACKGROUND_REMOVAL: "backgroundRemovalParams",
}
_SIZED = frozenset({TaskType.TEXT_IMAGE, TaskType.IMAGE_VARIATION,
                    TaskType.COLOR_GUIDED_GENERATION})


@dataclass(frozen=True, eq=False)
class Plan:
    """A request the model can serve: what is recorded, the seed of each image, and inputs
    encoded once for all the images."""

    spec: ModelSpec
    task: TaskType
    options: BedrockTask
    request: GenerationRequest
    seeds: tuple[int, ...]
    image_b64: str | None = None
    mask_b64: str | None = None

    def body(self, seed: int) -> dict[str, Any]:
        if self.spec.family == "stability":
            return self._stability_body(seed)
        return self._amazon_body(seed)

    def _amazon_body(self, seed: int) -> dict[str, Any]:
        r, task = self.request, self.task
        key = _PARAMS_KEY[task]
        if task is TaskType.BACKGROUND_REMOVAL:
            return {"taskType": task.value, key: {"image": self.image_b64}}
        params: dict[str, Any] = {"text": r.prompt}
        if r.negative_prompt:
            params["negativeText"] = r.negative_prompt
        if task is TaskType.IMAGE_VARIATION:
            params["images"] = [self.image_b64]
            params["similarityStrength"] = round(1.0 - r.strength, 3)
        elif task in MASKED:
            params["image"] = self.image_b64
            if self.mask_b64 is not None:
                params["maskImage"] = self.mask_b64
            else:
                params["maskPrompt"] = self.options.mask_prompt
            if task is TaskType.OUTPAINTING:
                params["outPaintingMode"] = self.options.outpainting_mode
        elif task is TaskType.COLOR_GUIDED_GENERATION:
            params["colors"] = list(self.options.colors)
            if self.image_b64 is not None:
                params["referenceImage"] = self.image_b64
        config: dict[str, Any] = {"numberOfImages": 1, "quality": self.options.quality,
                                  "cfgScale": float(r.guidance), "seed": seed}
        if task in _SIZED:  # edits answer in the input's size
            config.update(width=r.width, height=r.height)
        return {"taskType": task.value, key: params, "imageGenerationConfig": config}

    def _stability_body(self, seed: int) -> dict[str, Any]:
        r = self.request
        body: dict[str, Any] = {"prompt": r.prompt, "seed": seed, "output_format": "png"}
        if r.negative_prompt:
            body["negative_prompt"] = r.negative_prompt
        if self.task is TaskType.TEXT_IMAGE:
            body.update(mode="text-to-image", aspect_ratio=stability_ratio(r.width, r.height))
        else:
            body.update(mode="image-to-image", image=self.image_b64, strength=float(r.strength))
        return body


def plan_generation(spec: ModelSpec, options: BedrockTask,
                    request: GenerationRequest) -> Plan:
    task = options.task_for(request)
    problems = _problems(spec, options, task, request)
    if problems:
        raise InvalidRequest(" ".join(problems))
    request = request.replace(model=spec.id)
    if spec.size_rule == "aspect_ratio" and task is TaskType.TEXT_IMAGE:
        width, height = spec.output_size(request.width, request.height)
        request = request.replace(width=width, height=height)
    if request.seed is None:
        # Drawn in the model's range, leaving room for seed + i, so no image's seed wraps.
        top = max(spec.min_seed, spec.max_seed - request.count + 1)
        request = request.replace(seed=random.SystemRandom().randint(spec.min_seed, top))
    seeds = tuple((request.seed + i) % (spec.max_seed + 1) for i in range(request.count))
    size = (request.width, request.height)
    image_b64 = mask_b64 = None
    if request.init_image is not None:
        image_b64 = _png_b64(ImageOps.fit(request.init_image, size))
    if request.mask is not None:
        mask_b64 = _png_b64(bedrock_mask(ImageOps.fit(request.mask, size), task))
    return Plan(spec, task, options, request, seeds, image_b64, mask_b64)


def bedrock_mask(mask: Image.Image, task: TaskType) -> Image.Image:
    """Studio's mask (white = pixels to generate) as Bedrock's pure black-and-white maskImage.

    Bedrock's black pixels are "inside the mask". Inpainting changes the inside, so white
    becomes black; outpainting changes the outside, so the mask passes through unchanged.
    """
    binary = mask.convert("L").point(lambda v: 255 if v >= 128 else 0)
    if task is TaskType.INPAINTING:
        binary = ImageOps.invert(binary)
    return binary.convert("RGB")


def _problems(spec: ModelSpec, options: BedrockTask, task: TaskType,
              request: GenerationRequest) -> list[str]:
    problems: list[str] = []
    if task not in spec.tasks:
        able = [s.label for s in MODELS.values() if task in s.tasks]
        return [f"{spec.label} cannot do {task.label} on Bedrock; {', '.join(able)} can."]
    if task in NEEDS_IMAGE and request.init_image is None:
        problems.append(f"{task.label.capitalize()} needs an input image.")
    if task in MASKED:
        if request.mask is None and not options.mask_prompt:
            problems.append(f"{task.label.capitalize()} needs a mask image or a description "
                            "of the area (mask prompt).")
        elif request.mask is not None and options.mask_prompt:
            problems.append("Give a mask image or a mask description, not both.")
    else:
        if request.mask is not None or options.mask_prompt:
            problems.append(f"A mask is only used for inpainting and outpainting, not for "
                            f"{task.label}.")
    if task is TaskType.COLOR_GUIDED_GENERATION and not options.colors:
        problems.append("Colour-guided generation needs 1 to 10 colours (#RRGGBB).")
    elif task is not TaskType.COLOR_GUIDED_GENERATION and options.colors:
        problems.append(f"Colours are only used by colour-guided generation, not {task.label}.")
    if task is not TaskType.BACKGROUND_REMOVAL:
        if len(request.prompt) > spec.prompt_chars:
            problems.append(f"{spec.label} reads at most {spec.prompt_chars:,} characters of "
                            f"prompt; this one has {len(request.prompt):,}. Shorten it.")
        if len(request.negative_prompt) > spec.negative_chars:
            problems.append(f"{spec.label} reads at most {spec.negative_chars:,} characters of "
                            f"negative prompt; this one has {len(request.negative_prompt):,}.")
        if spec.cfg_range is not None:
            low, high = spec.cfg_range
            if not low <= request.guidance <= high:
                problems.append(f"{spec.label} takes guidance (cfg scale) from {low:g} to "
                                f"{high:g}; {request.guidance:g} is outside that.")
    elif request.count != 1:
        problems.append("Background removal makes one image; set the count to 1.")
    if request.seed is not None and not 0 <= request.seed <= spec.max_seed:
        problems.append(f"{spec.label} takes seeds from 0 to {spec.max_seed:,}; "
                        f"{request.seed:,} is out of range.")
    if options.quality not in spec.qualities:
        problems.append(f"{spec.label} has one quality tier; choose standard, not "
                        f"{options.quality}.")
    problems.extend(_size_problems(spec, task, request))
    if (spec.family == "amazon" and task is TaskType.IMAGE_VARIATION
            and 1.0 - request.strength < MIN_SIMILARITY - 1e-9):
        problems.append(f"{spec.label} keeps at least {MIN_SIMILARITY:.0%} of the source in a "
                        f"variation, so the strength can be at most {1 - MIN_SIMILARITY:g} "
                        f"(got {request.strength:g}).")
    return problems


def _size_problems(spec: ModelSpec, task: TaskType, request: GenerationRequest) -> list[str]:
    width, height = request.width, request.height
    if spec.family == "amazon" or task is TaskType.TEXT_IMAGE:
        # Amazon edits answer in the input's size, which Studio fits to width×height.
        problem = spec.size_problem(width, height)
        return [problem] if problem else []
    if max(width, height) / min(width, height) > STABILITY_MAX_INPUT_RATIO:
        return [f"{spec.label} takes input images at most {STABILITY_MAX_INPUT_RATIO:g}:1 "
                f"either way; {width}×{height} is narrower than that."]
    return []


def _seed(value: Any) -> int | None:
    # The guide types Stability's seeds as strings; its examples show numbers.
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _png_b64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_images(spec: ModelSpec, payload: bytes) -> list[tuple[Image.Image, int | None]]:
    """The images of one response, each with the seed the service reports (None if it
    reports none); content filtering reported in the body raises ContentFiltered."""
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise TransientError(f"Bedrock answered with something that is not JSON ({exc}). "
                             "Try again; if it persists, check the endpoint URL.") from exc
    if not isinstance(data, dict):
        raise TransientError("Bedrock answered with an unexpected response. Try again.")
    if spec.family == "stability":
        for reason in data.get("finish_reasons") or []:
            if reason:
                raise stability_finish_error(str(reason))
    encoded = data.get("images") or []
    if not encoded and data.get("error"):
        raise ContentFiltered(f"Bedrock did not return an image: {data['error']} "
                              "Rephrase the prompt or use another input image.")
    if not encoded:
        raise TransientError(f"{spec.label} returned no image. Try again.")
    seeds = data.get("seeds") or []
    images = []
    for index, item in enumerate(encoded):
        try:
            image = decode_image(base64.b64decode(item, validate=True),
                                 role=f"image {spec.label} returned")
        except (binascii.Error, ValueError, TypeError) as exc:
            raise TransientError(f"{spec.label} returned an image Studio could not decode "
                                 f"({exc}). Try again.") from exc
        images.append((image, _seed(seeds[index]) if index < len(seeds) else None))
    return images
