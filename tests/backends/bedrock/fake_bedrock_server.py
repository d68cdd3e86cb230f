"""A test double for bedrock-runtime's InvokeModel that speaks the real wire protocol.

botocore's service-2.json for bedrock-runtime (rest-json) defines the exchange: POST
/model/{modelId}/invoke with the model's JSON as the raw body; the answer is the model's raw
JSON; errors carry an `X-Amzn-ErrorType` header, a `{"message": ...}` body and the status
codes of the error shapes (400 ValidationException, 403 AccessDeniedException, 404
ResourceNotFoundException, 429 ThrottlingException). Each body is checked against the
model's documented schema, written out here independently of the backend so the tests do
not just agree with themselves, and answered with real images of the size asked for.
"""

from __future__ import annotations

import base64
import io
import json
import random
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from PIL import Image

AMAZON = {"amazon.titan-image-generator-v2:0": "titan", "amazon.nova-canvas-v1:0": "nova"}
STABILITY = {"stability.sd3-5-large-v1:0", "stability.stable-image-core-v1:1",
             "stability.stable-image-ultra-v1:1"}
TITAN_SIZES = {(1024, 1024), (768, 768), (512, 512), (768, 1152), (384, 576), (1152, 768),
               (576, 384), (768, 1280), (384, 640), (1280, 768), (640, 384), (896, 1152),
               (448, 576), (1152, 896), (576, 448), (768, 1408), (384, 704), (1408, 768),
               (704, 384), (640, 1408), (320, 704), (1408, 640), (704, 320), (1152, 640),
               (1173, 640)}
RATIO_SIZES = {"1:1": (1024, 1024), "16:9": (1344, 768), "21:9": (1536, 640),
               "2:3": (832, 1216), "3:2": (1216, 832), "4:5": (896, 1088),
               "5:4": (1088, 896), "9:16": (768, 1344), "9:21": (640, 1536)}
PARAMS = {"TEXT_IMAGE": "textToImageParams", "IMAGE_VARIATION": "imageVariationParams",
          "INPAINTING": "inPaintingParams", "OUTPAINTING": "outPaintingParams",
          "COLOR_GUIDED_GENERATION": "colorGuidedGenerationParams",
          "BACKGROUND_REMOVAL": "backgroundRemovalParams"}
ALLOWED = {
    "textToImageParams": {"text", "negativeText", "conditionImage", "controlMode",
                          "controlStrength", "style"},
    "imageVariationParams": {"text", "negativeText", "images", "similarityStrength"},
    "inPaintingParams": {"image", "text", "negativeText", "maskPrompt", "maskImage",
                         "returnMask"},
    "outPaintingParams": {"image", "text", "negativeText", "maskPrompt", "maskImage",
                          "returnMask", "outPaintingMode"},
    "colorGuidedGenerationParams": {"text", "negativeText", "colors", "referenceImage"},
    "backgroundRemovalParams": {"image"},
    "imageGenerationConfig": {"numberOfImages", "quality", "cfgScale", "seed", "width",
                              "height"},
}
INPUT_FILTER = "This request has been blocked by our content filters. Please adjust your text " \
               "prompt to submit a new request."
OUTPUT_FILTER = "The generated image has been blocked by our content filters. Please adjust " \
                "your prompt and try again."


class ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def invalid(message: str) -> ServiceError:
    return ServiceError(400, "ValidationException", message)


@dataclass
class Call:
    model_id: str
    body: Any
    headers: dict[str, str]

    @property
    def region(self) -> str:
        found = re.search(r"Credential=[^/]+/\d+/([^/]+)/bedrock/", self.headers.get(
            "authorization", ""))
        return found.group(1) if found else ""

    @property
    def attempt(self) -> int:
        found = re.search(r"attempt=(\d+)", self.headers.get("amz-sdk-request", ""))
        return int(found.group(1)) if found else 0


@dataclass
class Scenario:
    """How the fake account behaves; tests change it between calls."""

    denied: set[str] = field(default_factory=set)  # models without access granted
    missing: set[str] = field(default_factory=set)  # models not offered in this region
    throttle: int = 0  # answer this many calls with ThrottlingException first (-1: always)
    expired_token: bool = False
    blocked_words: tuple[str, ...] = ("forbidden",)  # the input filter's triggers
    blocked_output_words: tuple[str, ...] = ("unsafe",)  # the output filter's triggers


class FakeBedrock:
    def __init__(self) -> None:
        self.scenario = Scenario()
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeBedrock:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, body, extra = fake.answer(self.path, headers, raw)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, path: str, headers: dict[str, str],
               raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        found = re.fullmatch(r"/model/([^/]+)/invoke", path)
        model_id = unquote(found.group(1)) if found else ""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self._lock:
            self.calls.append(Call(model_id, body, headers))
        try:
            if not found:
                raise ServiceError(404, "UnknownOperationException", "Unknown operation")
            return 200, json.dumps(self._invoke(model_id, headers, body)).encode(), {}
        except ServiceError as error:
            kind = f"{error.code}:http://internal.amazon.com/coral/com.amazon.bedrock/"
            return error.status, json.dumps({"message": error.message}).encode(), {
                "X-Amzn-ErrorType": kind}

    def _invoke(self, model_id: str, headers: dict[str, str], body: Any) -> dict[str, Any]:
        s = self.scenario
        if model_id not in AMAZON and model_id not in STABILITY:
            raise invalid("The provided model identifier is invalid.")
        if "authorization" not in headers:
            raise ServiceError(403, "MissingAuthenticationTokenException",
                               "Missing Authentication Token")
        if s.expired_token:
            raise ServiceError(403, "ExpiredTokenException",
                               "The security token included in the request is expired")
        if model_id in s.missing:
            raise ServiceError(404, "ResourceNotFoundException",
                               "Model not found in this Region.")
        if model_id in s.denied:
            raise ServiceError(403, "AccessDeniedException",
                               "You don't have access to the model with the specified model ID.")
        with self._lock:
            if s.throttle:
                s.throttle -= 1 if s.throttle > 0 else 0
                raise ServiceError(429, "ThrottlingException",
                                   "Too many requests, please wait before trying again.")
        if headers.get("content-type") != "application/json" or not isinstance(body, dict):
            raise invalid("Malformed input request, please reformat your input and try again.")
        if model_id in AMAZON:
            return self._amazon(AMAZON[model_id], body)
        return self._stability(model_id, body)

    # --- Titan Image Generator v2 and Nova Canvas ------------------------------------------

    def _amazon(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        task = body.get("taskType")
        if task not in PARAMS:
            raise invalid(f"Malformed input request: #/taskType: {task} is not a valid enum "
                          "value, please reformat your input and try again.")
        key = PARAMS[task]
        allowed_top = {"taskType", key} | ({"imageGenerationConfig"}
                                           if task != "BACKGROUND_REMOVAL" else set())
        _no_extra(body, allowed_top, "#")
        params = body.get(key)
        if not isinstance(params, dict):
            raise invalid(f"Malformed input request: #: required key [{key}] not found")
        _no_extra(params, ALLOWED[key], f"#/{key}")
        limit = 512 if model == "titan" else 1024
        for name in ("text", "negativeText", "maskPrompt"):
            if name in params and not 1 <= len(params[name]) <= limit:
                raise invalid(f"Malformed input request: #/{key}/{name}: expected length "
                              f"between 1 and {limit}")
        text = params.get("text", "")
        if any(word in text.lower() for word in self.scenario.blocked_words):
            raise invalid(INPUT_FILTER)
        size = self._amazon_inputs(model, task, key, params)
        config = body.get("imageGenerationConfig", {})
        _no_extra(config, ALLOWED["imageGenerationConfig"], "#/imageGenerationConfig")
        count = config.get("numberOfImages", 1)
        seed = config.get("seed", 42)
        max_seed = 2_147_483_646 if model == "titan" else 858_993_459
        _check(isinstance(count, int) and 1 <= count <= 5, "numberOfImages", "1 to 5")
        _check(config.get("quality", "standard") in ("standard", "premium"), "quality",
               "standard or premium")
        _check(1.1 <= config.get("cfgScale", 8.0) <= 10.0, "cfgScale", "1.1 to 10")
        _check(isinstance(seed, int) and 0 <= seed <= max_seed, "seed", f"0 to {max_seed}")
        if task in ("TEXT_IMAGE", "IMAGE_VARIATION", "COLOR_GUIDED_GENERATION"):
            size = (config.get("width", 1024), config.get("height", 1024))
            _check_output_size(model, size)
        if any(word in text.lower() for word in self.scenario.blocked_output_words):
            raise invalid(OUTPUT_FILTER)
        mode = "RGBA" if task == "BACKGROUND_REMOVAL" else "RGB"
        images = [_png(size, seed + i, mode) for i in range(count)]
        return {"images": images, "error": None} if model == "titan" else {"images": images}

    def _amazon_inputs(self, model: str, task: str, key: str,
                       params: dict[str, Any]) -> tuple[int, int]:
        size = (0, 0)
        if task == "TEXT_IMAGE":
            _require(params, "text", key)
        if task in ("INPAINTING", "OUTPAINTING", "BACKGROUND_REMOVAL"):
            _require(params, "image", key)
            size = _input_image(model, params["image"], f"{key}/image").size
        if task in ("INPAINTING", "OUTPAINTING"):
            if ("maskImage" in params) == ("maskPrompt" in params):
                raise invalid("Malformed input request: exactly one of maskImage or maskPrompt "
                              "is required")
            if "maskImage" in params:
                mask = _input_image(model, params["maskImage"], f"{key}/maskImage")
                if mask.size != size:
                    raise invalid("The mask image must have the same size as the image.")
                if {v for _, v in mask.convert("L").getcolors(256)} - {0, 255}:
                    raise invalid("The mask image must contain only pure black and white.")
            if params.get("outPaintingMode", "DEFAULT") not in ("DEFAULT", "PRECISE"):
                raise invalid("Malformed input request: #/outPaintingParams/outPaintingMode")
        if task == "OUTPAINTING":
            _require(params, "text", key)
        if task == "IMAGE_VARIATION":
            images = params.get("images")
            if not isinstance(images, list) or not 1 <= len(images) <= 5:
                raise invalid(f"Malformed input request: #/{key}/images: expected 1 to 5 images")
            for image in images:
                _input_image(model, image, f"{key}/images")
            _check(0.2 <= params.get("similarityStrength", 0.7) <= 1.0, "similarityStrength",
                   "0.2 to 1.0")
        if task == "COLOR_GUIDED_GENERATION":
            _require(params, "text", key)
            colors = params.get("colors")
            if not isinstance(colors, list) or not 1 <= len(colors) <= 10 or not all(
                    re.fullmatch(r"#[0-9A-Fa-f]{6}", c) for c in colors):
                raise invalid(f"Malformed input request: #/{key}/colors: expected 1 to 10 "
                              "hex colours")
            if "referenceImage" in params:
                _input_image(model, params["referenceImage"], f"{key}/referenceImage")
        return size

    # --- Stability models ------------------------------------------------------------------

    def _stability(self, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
        _no_extra(body, {"prompt", "negative_prompt", "mode", "aspect_ratio", "seed",
                         "output_format", "image", "strength"}, "#")
        mode = body.get("mode", "text-to-image")
        modes = ("text-to-image",) if "core" in model_id else ("text-to-image",
                                                                "image-to-image")
        if mode not in modes:
            raise invalid(f"mode: {mode} is not one of {', '.join(modes)}")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or len(prompt) > 10_000:
            raise invalid("prompt: required, at most 10000 characters")
        if len(body.get("negative_prompt", "")) > 10_000:
            raise invalid("negative_prompt: at most 10000 characters")
        seed = body.get("seed", 0)
        _check(isinstance(seed, int) and 0 <= seed <= 4_294_967_294, "seed", "0 to 4294967294")
        output_format = body.get("output_format", "png")
        _check(output_format in ("jpeg", "png", "webp"), "output_format", "jpeg, png or webp")
        if mode == "text-to-image":
            if "image" in body or "strength" in body:
                raise invalid("image and strength are only for image-to-image")
            ratio = body.get("aspect_ratio", "1:1")
            _check(ratio in RATIO_SIZES, "aspect_ratio", ", ".join(RATIO_SIZES))
            size = RATIO_SIZES[ratio]
        else:
            if "aspect_ratio" in body:
                raise invalid("aspect_ratio is only valid for text-to-image requests")
            if "image" not in body or "strength" not in body:
                raise invalid("image-to-image requires the prompt, image, and strength")
            _check(0 <= body["strength"] <= 1, "strength", "0 to 1")
            image = _decode(body["image"], "image")
            if min(image.size) < 64 or max(image.size) / min(image.size) > 2.5:
                raise invalid("image: every side must be at least 64 pixels, at most 2.5:1")
            size = image.size
        if any(word in prompt.lower() for word in self.scenario.blocked_words):
            return {"finish_reasons": ["Filter reason: prompt"]}
        seed = seed or random.randint(1, 4_294_967_294)  # 0 means "pick one"
        if any(word in prompt.lower() for word in self.scenario.blocked_output_words):
            return {"seeds": [seed], "finish_reasons": ["Filter reason: output image"],
                    "images": []}
        fmt = "JPEG" if output_format == "jpeg" else "PNG"
        return {"seeds": [seed], "finish_reasons": [None], "images": [_png(size, seed, fmt=fmt)]}


def _no_extra(obj: Any, allowed: set[str], where: str) -> None:
    if not isinstance(obj, dict):
        raise invalid(f"Malformed input request: {where}: expected type: JSONObject")
    extra = sorted(set(obj) - allowed)
    if extra:
        raise invalid(f"Malformed input request: {where}: extraneous key [{extra[0]}] is not "
                      "permitted, please reformat your input and try again.")


def _require(params: dict[str, Any], name: str, key: str) -> None:
    if name not in params:
        raise invalid(f"Malformed input request: #/{key}: required key [{name}] not found")


def _check(ok: bool, name: str, expected: str) -> None:
    if not ok:
        raise invalid(f"Malformed input request: {name}: expected {expected}")


def _check_output_size(model: str, size: tuple[int, int]) -> None:
    width, height = size
    if model == "titan":
        if size not in TITAN_SIZES:
            raise invalid(f"Value of (width, height) is not valid. Given: ({width}, {height}).")
        return
    if not (320 <= width <= 4096 and 320 <= height <= 4096 and width % 16 == 0
            and height % 16 == 0 and width * height <= 4_194_304
            and max(size) / min(size) <= 4):
        raise invalid(f"Invalid image dimensions {width}x{height}.")


def _decode(data: Any, where: str) -> Image.Image:
    try:
        with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as image:
            image.load()
            if image.format not in ("PNG", "JPEG", "WEBP"):
                raise ValueError(image.format)
            return image.copy()
    except Exception as exc:
        raise invalid(f"Malformed input request: {where}: not a base64 image ({exc})") from None


def _input_image(model: str, data: Any, where: str) -> Image.Image:
    image = _decode(data, where)
    width, height = image.size
    if model == "titan" and max(width, height) > 1408:
        raise invalid(f"{where}: the longer side must be at most 1408 pixels")
    if model == "nova" and not (320 <= min(width, height) and max(width, height) <= 4096
                                and width * height <= 4_194_304):
        raise invalid(f"{where}: each side must be 320 to 4096 pixels, at most 4.19 MP")
    return image


def _png(size: tuple[int, int], seed: int, mode: str = "RGB", fmt: str = "PNG") -> str:
    color = ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256)
    image = Image.new(mode, size, color + ((255,) if mode == "RGBA" else ()))
    if mode == "RGBA":  # a cut-out subject: transparent around the middle
        image.paste((0, 0, 0, 0), (0, 0, size[0], size[1] // 4))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
