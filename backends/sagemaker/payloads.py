"""The two request/response formats a Studio SageMaker endpoint can speak.

- "studio": our handler (backends/endpoint/inference.py). PNGs, the seeds, server timings;
  steps and guidance are sent only when set (the endpoint applies its model's family
  defaults otherwise), and the answer says what really ran (`parameters`) and the model's
  family and licence. The request's speed profile goes as `speed`; the endpoint runs the one
  it was loaded with and says which (`speed.used`) and what it applied (`accelerations`).
- "jumpstart": the SageMaker JumpStart Stable Diffusion models. Flat JSON in, base64 JPEGs
  out (with Accept "application/json;jpeg"), no timings. Text-to-image only; it needs explicit
  steps and guidance, so unset ones are sent as the generic 30 and 7.0.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from backends.errors import BackendUnavailable, InvalidRequest
from backends.families import GENERIC_GUIDANCE, GENERIC_STEPS
from backends.types import MAX_STEPS, SPEEDS, GenerationRequest

FORMATS = ("studio", "jumpstart")
MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker real-time inference, each way
# Images per call are capped by pixels so the base64 PNGs stay under the 6 MB response limit:
# a photographic 1-megapixel PNG is about 1.5 MB, 2 MB once base64-encoded.
MAX_PIXELS_PER_CALL = 1_600_000


@dataclass(frozen=True)
class ServerTimings:
    queue_s: float = 0.0
    inference_s: float = 0.0
    encode_s: float = 0.0
    total_s: float = 0.0  # inference and encode, without the queue


@dataclass(frozen=True, eq=False)
class Decoded:
    images: list[Image.Image]
    seeds: list[int]
    server: ServerTimings | None = None
    model: str = ""
    device: str = ""
    # What the endpoint says really ran (None: it did not say, as older handlers do not).
    steps: int | None = None
    guidance: float | None = None
    family: str = ""
    licence: str = ""
    commercial_use: bool | None = None
    speed: str = ""  # the speed profile the endpoint ran ("": it did not say)
    accelerations: tuple[str, ...] = ()  # what that profile applied and what fell back


@dataclass(frozen=True)
class Encoded:
    body: bytes
    content_type: str
    accept: str


def plan_calls(request: GenerationRequest, payload_format: str) -> list[list[int]]:
    """The seeds each invocation asks for, in order."""
    seeds = request.image_seeds()
    if payload_format == "jumpstart":
        # JumpStart draws every image of a call from one generator; one call per image keeps
        # Studio's "image i uses seed + i" true, so each image can be reproduced alone.
        return [[seed] for seed in seeds]
    per_call = max(1, MAX_PIXELS_PER_CALL // (request.width * request.height))
    return [seeds[i:i + per_call] for i in range(0, len(seeds), per_call)]


def sent_request(request: GenerationRequest, payload_format: str) -> GenerationRequest:
    """The request as it goes out: JumpStart needs explicit steps and guidance, so unset ones
    become the generic 30 and 7.0; our handler is left to apply its model's own defaults."""
    if payload_format != "jumpstart":
        return request
    return request.replace(
        steps=GENERIC_STEPS if request.steps is None else request.steps,
        guidance=GENERIC_GUIDANCE if request.guidance is None else request.guidance)


def encode(request: GenerationRequest, seeds: list[int], payload_format: str, *,
           send_speed: bool = True) -> Encoded:
    """The body of one invocation. `send_speed=False` leaves the speed out, for endpoints
    deployed before speed profiles (their handler refuses a field it does not know)."""
    if payload_format == "jumpstart":
        request = sent_request(request, payload_format)
        body: dict[str, Any] = {
            "prompt": request.prompt, "width": request.width, "height": request.height,
            "num_inference_steps": request.steps, "guidance_scale": request.guidance,
            "num_images_per_prompt": 1, "seed": seeds[0],
        }
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt
        return Encoded(json.dumps(body).encode("utf-8"), "application/json",
                       "application/json;jpeg")
    parameters: dict[str, Any] = {
        "negative_prompt": request.negative_prompt,
        "width": request.width, "height": request.height,
        "seed": seeds[0], "num_images_per_prompt": len(seeds),
    }
    # Unset: the endpoint runs its model's own defaults (its family's) and says which.
    if request.steps is not None:
        parameters["num_inference_steps"] = request.steps
    if request.guidance is not None:
        parameters["guidance_scale"] = request.guidance
    if request.scheduler:
        parameters["scheduler"] = request.scheduler
    if request.edit:
        parameters["edit"] = True
    if send_speed:
        parameters["speed"] = request.speed
    if request.init_image is not None:
        # The endpoint fits the image to the frame anyway; doing it here keeps the body small.
        fitted = ImageOps.fit(request.init_image, (request.width, request.height))
        buffer = io.BytesIO()
        fitted.save(buffer, format="PNG")
        parameters["image"] = base64.b64encode(buffer.getvalue()).decode("ascii")
        if not request.edit:  # an edit by words runs all its steps on the image
            parameters["strength"] = request.strength
    if request.mask is not None:
        # White = generate, as the handler reads it; fitted like the image so they align.
        fitted_mask = ImageOps.fit(request.mask, (request.width, request.height))
        buffer = io.BytesIO()
        fitted_mask.save(buffer, format="PNG")
        parameters["mask"] = base64.b64encode(buffer.getvalue()).decode("ascii")
    body = {"inputs": request.prompt, "parameters": parameters}
    return Encoded(json.dumps(body).encode("utf-8"), "application/json", "application/json")


def tiny_test_body(payload_format: str, *, fixed_size: bool) -> Encoded:
    """One cheap image for "Test connection". A compiled (Inferentia2) model has one size, so
    there the size is left to the endpoint."""
    if payload_format == "jumpstart":
        body: dict[str, Any] = {"prompt": "test", "width": 64, "height": 64,
                                "num_inference_steps": 1, "seed": 0}
        return Encoded(json.dumps(body).encode(), "application/json", "application/json;jpeg")
    parameters: dict[str, Any] = {"num_inference_steps": 1, "seed": 0}
    if not fixed_size:
        parameters.update(width=64, height=64)
    return Encoded(json.dumps({"inputs": "test", "parameters": parameters}).encode(),
                   "application/json", "application/json")


def decode(data: bytes, payload_format: str, seeds: list[int]) -> Decoded:
    try:
        answer = json.loads(data)
        encoded_images = answer["generated_images"]
        if not isinstance(encoded_images, list):
            raise TypeError("generated_images is not a list")
        images = [_decode_image(item) for item in encoded_images]
    except (ValueError, KeyError, TypeError, binascii.Error, UnidentifiedImageError,
            OSError) as exc:
        raise BackendUnavailable(
            f"The endpoint answered in a format Studio does not understand ({exc}). Check the "
            f"payload format in Settings → SageMaker (now {payload_format!r}).") from exc
    if len(images) != len(seeds):
        raise BackendUnavailable(f"The endpoint returned {len(images)} images for the "
                                 f"{len(seeds)} asked. Check the payload format in Settings.")
    if payload_format == "jumpstart":
        return Decoded(images, list(seeds))
    returned_seeds = answer.get("seeds") or list(seeds)
    timings = answer.get("timings") or {}
    server = ServerTimings(**{k: float(timings.get(k, 0.0)) for k in
                              ("queue_s", "inference_s", "encode_s", "total_s")})
    ran = answer.get("parameters")
    ran = ran if isinstance(ran, dict) else {}
    commercial = answer.get("commercial_use")
    speed = answer.get("speed")
    used = speed.get("used") if isinstance(speed, dict) else None
    notes = answer.get("accelerations")
    return Decoded(images, [int(s) for s in returned_seeds], server,
                   str(answer.get("model") or ""), str(answer.get("device") or ""),
                   steps=_steps(ran.get("num_inference_steps")),
                   guidance=_guidance(ran.get("guidance_scale")),
                   family=str(answer.get("family") or ""),
                   licence=str(answer.get("licence") or ""),
                   commercial_use=commercial if isinstance(commercial, bool) else None,
                   speed=used if used in SPEEDS else "",
                   accelerations=tuple(str(n) for n in notes) if isinstance(notes, list) else ())


def _steps(value: Any) -> int | None:
    """Steps as the endpoint reports them, if they are steps Studio could have asked for."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_STEPS
    return value if ok else None


def _guidance(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 30
    return float(value) if ok else None


def check_body_size(encoded: Encoded) -> None:
    size = len(encoded.body)
    if size > MAX_BODY_BYTES:
        raise InvalidRequest(
            f"This request is {size / 1e6:.1f} MB, above SageMaker's 6 MB limit. Use a "
            "smaller size or init image.")


def _decode_image(item: Any) -> Image.Image:
    if not isinstance(item, str):
        raise TypeError("an image is not a base64 string")
    with Image.open(io.BytesIO(base64.b64decode(item, validate=True))) as opened:
        opened.load()
        return opened.convert("RGB") if opened.mode not in ("RGB", "RGBA") else opened.copy()
