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

from PIL import Image

from backends.bedrock.errors import ContentFiltered, stability_finish_error
from backends.bedrock.models import (
    GENERATION_MODELS,
    GENERATION_TASKS,
    MAX_SEED,
    PROMPT_CHARS,
    SERVICE_FOR_TASK,
    STANDARD_INPUT,
    ModelSpec,
    Task,
    stability_ratio,
)
from backends.bedrock.tasks import TASK_INFO, BedrockTask
from backends.errors import InvalidRequest, TransientError
from backends.types import GenerationRequest, decode_image

# The services that take a negative prompt (Outpaint, Erase, Remove Background and Fast
# Upscale do not).
TAKES_NEGATIVE = frozenset({
    Task.TEXT_TO_IMAGE, Task.IMAGE_TO_IMAGE, Task.INPAINT, Task.SEARCH_REPLACE, Task.RECOLOR,
    Task.UPSCALE_CONSERVATIVE, Task.UPSCALE_CREATIVE, Task.SKETCH, Task.STRUCTURE,
    Task.STYLE_GUIDE, Task.STYLE_TRANSFER})
_SEARCH_FIELD = {Task.SEARCH_REPLACE: "search_prompt", Task.RECOLOR: "select_prompt"}
_OPTIONAL_FIELDS = ("grow_mask", "creativity", "control_strength", "fidelity", "style_strength",
                    "composition_fidelity", "change_strength", "style_preset")


@dataclass(frozen=True, eq=False)
class Plan:
    """A request the model can serve: what is recorded, the seed of each image, and inputs
    encoded once for all the images."""

    spec: ModelSpec
    task: Task
    options: BedrockTask
    request: GenerationRequest
    seeds: tuple[int, ...]
    image_b64: str | None = None
    mask_b64: str | None = None
    style_b64: str | None = None

    def body(self, seed: int) -> dict[str, Any]:
        r, task, o = self.request, self.task, self.options
        body: dict[str, Any] = {"output_format": o.output_format}
        if self.spec.seeded:
            body["seed"] = seed
        if TASK_INFO[task].prompt == "required" or (
                TASK_INFO[task].prompt == "optional" and o.send_prompt):
            body["prompt"] = r.prompt
        if r.negative_prompt:
            body["negative_prompt"] = r.negative_prompt
        if task is Task.TEXT_TO_IMAGE:
            body.update(mode="text-to-image", aspect_ratio=stability_ratio(r.width, r.height))
        elif task is Task.IMAGE_TO_IMAGE:
            body.update(mode="image-to-image", image=self.image_b64, strength=float(r.strength))
        elif task is Task.STYLE_TRANSFER:
            body.update(init_image=self.image_b64, style_image=self.style_b64)
        else:
            body["image"] = self.image_b64
        if self.mask_b64 is not None:
            body["mask"] = self.mask_b64
        if task in _SEARCH_FIELD:
            body[_SEARCH_FIELD[task]] = o.search
        if task is Task.OUTPAINT:
            body.update(o.margins.as_dict())
        for name in _OPTIONAL_FIELDS:
            value = getattr(o, name)
            if value not in (None, ""):
                body[name] = value
        return body


def spec_for(model: ModelSpec, task: Task) -> ModelSpec:
    """The model that runs `task`: the chosen generation model, or the task's own service."""
    return model if task in GENERATION_TASKS else SERVICE_FOR_TASK[task]


def plan_generation(model: ModelSpec, options: BedrockTask,
                    request: GenerationRequest) -> Plan:
    task = options.task_for(request)
    spec = spec_for(model, task)
    problems = _problems(spec, options, task, request)
    if problems:
        raise InvalidRequest(" ".join(problems))
    request = request.replace(model=spec.id)
    if task is Task.TEXT_TO_IMAGE:
        width, height = spec.output_size(request.width, request.height)
        request = request.replace(width=width, height=height)
    if not spec.seeded:
        seeds: tuple[int, ...] = (request.seed or 0,)
    else:
        if request.seed is None:
            # Drawn leaving room for seed + i; Stability reads seed 0 as "pick one at random".
            top = max(1, MAX_SEED - request.count + 1)
            request = request.replace(seed=random.SystemRandom().randint(1, top))
        seeds = tuple(request.seed + i for i in range(request.count))
    image_b64 = _png_b64(request.init_image) if request.init_image is not None else None
    mask_b64 = _png_b64(_binary(request.mask)) if request.mask is not None else None
    style = options.style_image
    style_b64 = _png_b64(style.convert("RGB")) if style is not None else None
    return Plan(spec, task, options, request, seeds, image_b64, mask_b64, style_b64)


def _problems(spec: ModelSpec, options: BedrockTask, task: Task,
              request: GenerationRequest) -> list[str]:
    info = TASK_INFO[task]
    if task not in spec.tasks:
        able = [s.label for s in GENERATION_MODELS if task in s.tasks]
        return [f"{spec.label} cannot do {task.label} on Bedrock; {', '.join(able)} can."]
    problems: list[str] = []
    what = task.label.capitalize()
    image = request.init_image
    if info.image and image is None:
        problems.append(f"{what} needs an input image.")
    elif not info.image and image is not None:
        problems.append(f"{what} takes no input image; choose image to image or an edit task.")
    elif image is not None:
        problem = spec.input_limits.problem("input image", *image.size)
        if problem:
            problems.append(f"{problem} {spec.label} cannot take it.")
    if info.mask and request.mask is None:
        problems.append(f"{what} needs a mask: white where the image should change.")
    elif not info.mask and request.mask is not None:
        problems.append(f"{what} takes no mask.")
    elif request.mask is not None and image is not None and request.mask.size != image.size:
        problems.append(f"The mask is {request.mask.width}×{request.mask.height} but the image "
                        f"is {image.width}×{image.height}; they must be the same size.")
    if info.search and not options.search.strip():
        problems.append(f"{what} needs the text to search for (what to "
                        f"{'replace' if task is Task.SEARCH_REPLACE else 'recolour'}).")
    if info.style_image and options.style_image is None:
        problems.append(f"{what} needs a style image.")
    elif options.style_image is not None:
        problem = STANDARD_INPUT.problem("style image", *options.style_image.size)
        if problem:
            problems.append(problem)
    if task is Task.OUTPAINT and not options.margins.any():
        problems.append("Outpaint needs at least one margin above 0 (left, right, up or down).")
    if request.negative_prompt and task not in TAKES_NEGATIVE:
        problems.append(f"{what} takes no negative prompt.")
    if len(request.prompt) > PROMPT_CHARS or len(request.negative_prompt) > PROMPT_CHARS:
        problems.append(f"{spec.label} reads at most {PROMPT_CHARS:,} characters of prompt.")
    if not spec.seeded and request.count != 1:
        problems.append(f"{what} makes the same image every time; set the count to 1.")
    if spec.seeded and request.seed is not None and not (
            0 <= request.seed and request.seed + request.count - 1 <= MAX_SEED):
        problems.append(f"{spec.label} takes seeds from 0 to {MAX_SEED:,}.")
    if task is Task.TEXT_TO_IMAGE:
        problem = spec.size_problem(request.width, request.height)
        if problem:
            problems.append(problem)
    return problems


def _binary(mask: Image.Image) -> Image.Image:
    """Studio's mask (white = change) as the services read it: white is full strength."""
    return mask.convert("L").point(lambda v: 255 if v >= 128 else 0)


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
