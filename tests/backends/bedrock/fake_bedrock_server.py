"""A test double for Bedrock that speaks the real wire protocols of both of its planes.

bedrock-runtime (botocore's service-2.json, rest-json): POST /model/{modelId}/invoke with the
model's JSON as the raw body; the answer is the model's raw JSON; errors carry an
`X-Amzn-ErrorType` header, a `{"message": ...}` body and the status codes of the error
shapes (400 ValidationException, 403 AccessDeniedException, 404 ResourceNotFoundException,
429 ThrottlingException). The bedrock control plane: GET /foundation-models answers
ListFoundationModels with each model's `modelLifecycle`.

Each body is checked against the model's documented schema (the Bedrock user guide's pages
for SD3.5 Large, Stable Image Core/Ultra and the Stability AI Image Services), written out
here independently of the backend so the tests do not just agree with themselves, and
answered with real images of the size the service would make. Like Bedrock, the services
answer only through their `us.` cross-region inference profile, invoked from a US region,
and the retired Amazon models answer that they have reached the end of their life.
"""

from __future__ import annotations

import base64
import io
import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from PIL import Image

GENERATION = {  # model id -> modes; served on demand in us-west-2
    "stability.sd3-5-large-v1:0": ("text-to-image", "image-to-image"),
    "stability.stable-image-core-v1:1": ("text-to-image",),
    "stability.stable-image-ultra-v1:1": ("text-to-image", "image-to-image"),
}
ON_DEMAND_REGIONS = {"us-west-2"}
US_PROFILE_REGIONS = {"us-east-1", "us-east-2", "us-west-2"}
RETIRED = {"amazon.titan-image-generator-v2:0", "amazon.nova-canvas-v1:0"}
END_OF_LIFE = ("This model version has reached the end of its life. Please refer to the AWS "
               "documentation for more details.")
RATIO_SIZES = {"1:1": (1024, 1024), "16:9": (1344, 768), "21:9": (1536, 640),
               "2:3": (832, 1216), "3:2": (1216, 832), "4:5": (896, 1088),
               "5:4": (1088, 896), "9:16": (768, 1344), "9:21": (640, 1536)}
PRESETS = {"3d-model", "analog-film", "anime", "cinematic", "comic-book", "digital-art",
           "enhance", "fantasy-art", "isometric", "line-art", "low-poly", "modeling-compound",
           "neon-punk", "origami", "photographic", "pixel-art", "tile-texture"}
COMMON = {"seed", "output_format"}


@dataclass(frozen=True)
class Service:
    required: frozenset[str]
    optional: frozenset[str]
    image_key: str = "image"


def _service(required: set[str], optional: set[str], image_key: str = "image") -> Service:
    return Service(frozenset(required), frozenset(optional | COMMON), image_key)


# The request parameters of each Stability AI Image Service, from its Bedrock user-guide page.
SERVICES: dict[str, Service] = {
    "stability.stable-image-inpaint-v1:0": _service(
        {"prompt", "image"}, {"style_preset", "negative_prompt", "mask", "grow_mask"}),
    "stability.stable-outpaint-v1:0": _service(
        {"image"}, {"prompt", "style_preset", "creativity", "left", "right", "up", "down"}),
    "stability.stable-image-search-recolor-v1:0": _service(
        {"prompt", "image", "select_prompt"}, {"style_preset", "negative_prompt", "grow_mask"}),
    "stability.stable-image-search-replace-v1:0": _service(
        {"prompt", "image", "search_prompt"}, {"style_preset", "negative_prompt", "grow_mask"}),
    "stability.stable-image-erase-object-v1:0": _service({"image"}, {"mask", "grow_mask"}),
    "stability.stable-image-remove-background-v1:0": Service(
        frozenset({"image"}), frozenset({"output_format"})),
    "stability.stable-fast-upscale-v1:0": Service(frozenset({"image"}),
                                                  frozenset({"output_format"})),
    "stability.stable-conservative-upscale-v1:0": _service(
        {"prompt", "image"}, {"creativity", "negative_prompt"}),
    "stability.stable-creative-upscale-v1:0": _service(
        {"prompt", "image"}, {"creativity", "negative_prompt", "style_preset"}),
    "stability.stable-image-control-sketch-v1:0": _service(
        {"prompt", "image"}, {"control_strength", "negative_prompt", "style_preset"}),
    "stability.stable-image-control-structure-v1:0": _service(
        {"prompt", "image"}, {"control_strength", "negative_prompt", "style_preset"}),
    "stability.stable-image-style-guide-v1:0": _service(
        {"prompt", "image"}, {"aspect_ratio", "negative_prompt", "fidelity", "style_preset"}),
    "stability.stable-style-transfer-v1:0": _service(
        {"init_image", "style_image"}, {"prompt", "negative_prompt", "composition_fidelity",
                                        "style_strength", "change_strength"}, "init_image"),
}
CREATIVITY = {"stability.stable-outpaint-v1:0": (0.1, 1.0),
              "stability.stable-conservative-upscale-v1:0": (0.1, 0.5),
              "stability.stable-creative-upscale-v1:0": (0.1, 0.5)}
UNIT_RANGES = {"control_strength": (0.0, 1.0), "fidelity": (0.0, 1.0),
               "composition_fidelity": (0.0, 1.0), "style_strength": (0.0, 1.0),
               "change_strength": (0.1, 1.0)}


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


def default_lifecycle() -> list[dict[str, Any]]:
    """What ListFoundationModels reports for image models: every live model Active."""
    ids = [*GENERATION, *SERVICES]
    return [{"modelId": model_id, "modelName": model_id.split(".", 1)[1],
             "providerName": "Stability AI", "outputModalities": ["IMAGE"],
             "modelLifecycle": {"status": "ACTIVE"}} for model_id in ids]


@dataclass
class Scenario:
    """How the fake account behaves; tests change it between calls."""

    denied: set[str] = field(default_factory=set)  # models without access granted
    missing: set[str] = field(default_factory=set)  # models not offered in this region
    retired: set[str] = field(default_factory=lambda: set(RETIRED))
    throttle: int = 0  # answer this many calls with ThrottlingException first (-1: always)
    expired_token: bool = False
    blocked_words: tuple[str, ...] = ("forbidden",)  # the input filter's triggers
    blocked_output_words: tuple[str, ...] = ("unsafe",)  # the output filter's triggers
    lifecycle: list[dict[str, Any]] = field(default_factory=default_lifecycle)
    lifecycle_denied: bool = False  # the role lacks bedrock:ListFoundationModels
    answer_after_s: float = 0.0  # do the work, then wait this long before answering


class FakeBedrock:
    def __init__(self) -> None:
        self.scenario = Scenario()
        self.calls: list[Call] = []
        self.lifecycle_reads = 0
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
                self._send(*fake.answer(self.path, headers, raw))

            def do_GET(self) -> None:  # noqa: N802
                headers = {k.lower(): v for k, v in self.headers.items()}
                self._send(*fake.answer_control(self.path, headers))

            def _send(self, status: int, body: bytes, extra: dict[str, str]) -> None:
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

    # --- the control plane ---------------------------------------------------------------

    def answer_control(self, path: str, headers: dict[str, str]) -> tuple[int, bytes,
                                                                          dict[str, str]]:
        url = urlparse(path)
        try:
            if url.path != "/foundation-models":
                raise ServiceError(404, "UnknownOperationException", "Unknown operation")
            if "authorization" not in headers:
                raise ServiceError(403, "MissingAuthenticationTokenException",
                                   "Missing Authentication Token")
            if self.scenario.lifecycle_denied:
                raise ServiceError(403, "AccessDeniedException", "User is not authorized to "
                                   "perform: bedrock:ListFoundationModels")
            wanted = parse_qs(url.query).get("byOutputModality", [""])[0]
            with self._lock:
                self.lifecycle_reads += 1
            summaries = [s for s in self.scenario.lifecycle
                         if not wanted or wanted in s.get("outputModalities", [])]
            return 200, json.dumps({"modelSummaries": summaries}).encode(), {}
        except ServiceError as error:
            return _error(error)

    # --- the runtime -----------------------------------------------------------------------

    def answer(self, path: str, headers: dict[str, str],
               raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        found = re.fullmatch(r"/model/([^/]+)/invoke", path)
        model_id = unquote(found.group(1)) if found else ""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        call = Call(model_id, body, headers)
        with self._lock:
            self.calls.append(call)
        try:
            if not found:
                raise ServiceError(404, "UnknownOperationException", "Unknown operation")
            answer = json.dumps(self._invoke(call)).encode()
            time.sleep(self.scenario.answer_after_s)
            return 200, answer, {}
        except ServiceError as error:
            return _error(error)

    def _invoke(self, call: Call) -> dict[str, Any]:
        s = self.scenario
        profile, _, base = call.model_id.partition(".") if call.model_id.startswith(
            "us.") else ("", "", call.model_id)
        if "authorization" not in call.headers:
            raise ServiceError(403, "MissingAuthenticationTokenException",
                               "Missing Authentication Token")
        if s.expired_token:
            raise ServiceError(403, "ExpiredTokenException",
                               "The security token included in the request is expired")
        if base in s.retired:
            raise ServiceError(404, "ResourceNotFoundException", END_OF_LIFE)
        if base not in GENERATION and base not in SERVICES:
            raise invalid("The provided model identifier is invalid.")
        if profile and call.region not in US_PROFILE_REGIONS:
            raise invalid("The provided model identifier is invalid.")
        if not profile and (base in SERVICES or call.region not in ON_DEMAND_REGIONS):
            raise invalid(f"Invocation of model ID {base} with on-demand throughput isn't "
                          "supported. Retry your request with the ID or ARN of an inference "
                          "profile that contains this model.")
        if base in s.missing:
            raise ServiceError(404, "ResourceNotFoundException",
                               "Model not found in this Region.")
        if base in s.denied:
            raise ServiceError(403, "AccessDeniedException",
                               "You don't have access to the model with the specified model ID.")
        with self._lock:
            if s.throttle:
                s.throttle -= 1 if s.throttle > 0 else 0
                raise ServiceError(429, "ThrottlingException",
                                   "Too many requests, please wait before trying again.")
        body = call.body
        if call.headers.get("content-type") != "application/json" or not isinstance(body, dict):
            raise invalid("Malformed input request, please reformat your input and try again.")
        if base in GENERATION:
            size = self._generation(base, body)
        else:
            size = self._service(base, body)
        return self._image_answer(base, body, size)

    def _image_answer(self, base: str, body: dict[str, Any],
                      size: tuple[int, int]) -> dict[str, Any]:
        prompt = str(body.get("prompt", ""))
        if any(word in prompt.lower() for word in self.scenario.blocked_words):
            return {"finish_reasons": ["Filter reason: prompt"]}
        seed = body.get("seed") or random.randint(1, 4_294_967_294)  # 0 means "pick one"
        if any(word in prompt.lower() for word in self.scenario.blocked_output_words):
            return {"seeds": [seed], "finish_reasons": ["Filter reason: output image"],
                    "images": []}
        fmt = {"jpeg": "JPEG", "webp": "WEBP"}.get(body.get("output_format", "png"), "PNG")
        cutout = base == "stability.stable-image-remove-background-v1:0"
        return {"seeds": [seed], "finish_reasons": [None],
                "images": [_png(size, seed, "RGBA" if cutout else "RGB", fmt)]}

    def _generation(self, model_id: str, body: dict[str, Any]) -> tuple[int, int]:
        _no_extra(body, {"prompt", "negative_prompt", "mode", "aspect_ratio", "seed",
                         "output_format", "image", "strength"}, "#")
        mode = body.get("mode", "text-to-image")
        if mode not in GENERATION[model_id]:
            raise invalid(f"mode: {mode} is not one of {', '.join(GENERATION[model_id])}")
        _prompt(body, required=True)
        _common(body)
        if mode == "text-to-image":
            if "image" in body or "strength" in body:
                raise invalid("image and strength are only for image-to-image")
            ratio = body.get("aspect_ratio", "1:1")
            _check(ratio in RATIO_SIZES, "aspect_ratio", ", ".join(RATIO_SIZES))
            return RATIO_SIZES[ratio]
        if "aspect_ratio" in body:
            raise invalid("aspect_ratio is only valid for text-to-image requests")
        if "image" not in body or "strength" not in body:
            raise invalid("image-to-image requires the prompt, image, and strength")
        _check(0 <= body["strength"] <= 1, "strength", "0 to 1")
        return _standard_image(body["image"], "image").size

    def _service(self, model_id: str, body: dict[str, Any]) -> tuple[int, int]:
        service = SERVICES[model_id]
        _no_extra(body, set(service.required | service.optional), "#")
        missing = sorted(service.required - set(body))
        if missing:
            raise invalid(f"Malformed input request: #: required key [{missing[0]}] not found")
        _prompt(body, required=False)
        _common(body)
        if "grow_mask" in body:
            _check(isinstance(body["grow_mask"], int) and 0 <= body["grow_mask"] <= 20,
                   "grow_mask", "0 to 20")
        if "creativity" in body:
            low, high = CREATIVITY[model_id]
            _check(low <= body["creativity"] <= high, "creativity", f"{low} to {high}")
        for name, (low, high) in UNIT_RANGES.items():
            if name in body:
                _check(low <= body[name] <= high, name, f"{low} to {high}")
        for name in ("search_prompt", "select_prompt"):
            if name in body:
                _check(isinstance(body[name], str) and len(body[name]) <= 10_000, name,
                       "at most 10000 characters")
        if model_id == "stability.stable-fast-upscale-v1:0":
            image = _decode(body["image"], "image")
            w, h = image.size
            _check(32 <= w <= 1536 and 32 <= h <= 1536 and 1024 <= w * h <= 1_048_576,
                   "image", "32–1536 px a side and 1,024 to 1,048,576 pixels")
            return w * 4, h * 4
        if model_id == "stability.stable-creative-upscale-v1:0":
            image = _decode(body["image"], "image")
            w, h = image.size
            _check(min(w, h) >= 64 and 4096 <= w * h <= 1_048_576, "image",
                   "sides of 64 px or more and 4,096 to 1,048,576 pixels")
            return _upscaled(image.size)
        image = _standard_image(body[service.image_key], service.image_key)
        if "style_image" in body:
            _standard_image(body["style_image"], "style_image")
        if "mask" in body:
            _decode(body["mask"], "mask")  # any size: the service resizes it
        if model_id == "stability.stable-conservative-upscale-v1:0":
            return _upscaled(image.size)
        if model_id == "stability.stable-outpaint-v1:0":
            margins = {side: body.get(side, 0) for side in ("left", "right", "up", "down")}
            for side, value in margins.items():
                _check(isinstance(value, int) and 0 <= value <= 2000, side, "0 to 2000")
            if not any(margins.values()):
                raise invalid("At least one outpaint direction (left, right, up, down) must be "
                              "non-zero.")
            return (image.width + margins["left"] + margins["right"],
                    image.height + margins["up"] + margins["down"])
        return image.size


def _error(error: ServiceError) -> tuple[int, bytes, dict[str, str]]:
    kind = f"{error.code}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    return error.status, json.dumps({"message": error.message}).encode(), {
        "X-Amzn-ErrorType": kind}


def _prompt(body: dict[str, Any], *, required: bool) -> None:
    if required or "prompt" in body:
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or len(prompt) > 10_000:
            raise invalid("prompt: required, at most 10000 characters")
    if len(body.get("negative_prompt", "")) > 10_000:
        raise invalid("negative_prompt: at most 10000 characters")


def _common(body: dict[str, Any]) -> None:
    seed = body.get("seed", 0)
    _check(isinstance(seed, int) and 0 <= seed <= 4_294_967_294, "seed", "0 to 4294967294")
    _check(body.get("output_format", "png") in ("jpeg", "png", "webp"), "output_format",
           "jpeg, png or webp")
    if "style_preset" in body:
        _check(body["style_preset"] in PRESETS, "style_preset", "a known preset")


def _upscaled(size: tuple[int, int]) -> tuple[int, int]:
    """About four times each side, kept under 16 megapixels."""
    w, h = size
    scale = min(4.0, (16_000_000 / (w * h)) ** 0.5)
    return round(w * scale), round(h * scale)


def _no_extra(obj: Any, allowed: set[str], where: str) -> None:
    if not isinstance(obj, dict):
        raise invalid(f"Malformed input request: {where}: expected type: JSONObject")
    extra = sorted(set(obj) - allowed)
    if extra:
        raise invalid(f"Malformed input request: {where}: extraneous key [{extra[0]}] is not "
                      "permitted, please reformat your input and try again.")


def _check(ok: bool, name: str, expected: str) -> None:
    if not ok:
        raise invalid(f"Malformed input request: {name}: expected {expected}")


def _decode(data: Any, where: str) -> Image.Image:
    try:
        with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as image:
            image.load()
            if image.format not in ("PNG", "JPEG", "WEBP"):
                raise ValueError(image.format)
            return image.copy()
    except Exception as exc:
        raise invalid(f"Malformed input request: {where}: not a base64 image ({exc})") from None


def _standard_image(data: Any, where: str) -> Image.Image:
    """Every side ≥ 64 px, at most 9,437,184 pixels, at most 2.5:1 either way."""
    image = _decode(data, where)
    w, h = image.size
    if min(w, h) < 64 or w * h > 9_437_184 or max(w, h) / min(w, h) > 2.5:
        raise invalid(f"{where}: every side must be at least 64 pixels, at most 9,437,184 "
                      "pixels in all, at most 2.5:1")
    return image


def _png(size: tuple[int, int], seed: int, mode: str = "RGB", fmt: str = "PNG") -> str:
    color = ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256)
    image = Image.new(mode, size, color + ((255,) if mode == "RGBA" else ()))
    if mode == "RGBA":  # a cut-out subject: transparent around the middle
        image.paste((0, 0, 0, 0), (0, 0, size[0], size[1] // 4))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


if __name__ == "__main__":  # python -m tests.backends.bedrock.fake_bedrock_server
    server = FakeBedrock().start()
    print(f"Fake Bedrock (runtime and control plane) on {server.url}; Ctrl-C stops it.",
          flush=True)
    threading.Event().wait()
