"""PNG metadata in both directions: the AUTOMATIC1111 `parameters` text and Studio's own JSON.

Every PNG Studio writes carries two text chunks:
- `parameters`: the AUTOMATIC1111 infotext, so A1111, ComfyUI, Civitai and friends can read
  the prompt and settings back;
- `studio`: a JSON document with the full request, timings and cost, which is what Studio
  itself prefers when it reopens an image;
and its AI disclosure as XMP (`XML:com.adobe.xmp`, see studio.library.xmp).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from backends.errors import InvalidRequest
from backends.types import (
    Cost,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    LoraRef,
)
from studio.library.sampler_names import scheduler_for
from studio.library.xmp import PNG_XMP_KEY, Disclosure

PARAMETERS_KEY = "parameters"
STUDIO_KEY = "studio"
STUDIO_JSON_VERSION = 1

NEGATIVE_PREFIX = "Negative prompt:"

# The same key/value pattern AUTOMATIC1111 parses infotext with, so both read a line alike.
_PARAM_RE = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_SIZE_RE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$")
_LORA_TAG_RE = re.compile(r"\s*<lora:([^:<>]+):(-?\d+(?:\.\d+)?)>")
# A1111 treats the last line as settings only when it holds at least this many pairs.
_MIN_SETTINGS_PAIRS = 3

_Number = TypeVar("_Number", int, float)

_PNG_MODES = {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}


# --- AUTOMATIC1111 parameters -------------------------------------------------------------


def _quote(value: str) -> str:
    # A1111 quotes on , : and newline; a quote or edge space must be quoted too, or it
    # would not survive the round trip (a value that looks quoted gets unquoted on read).
    if any(c in value for c in ',:\n"') or value != value.strip():
        return json.dumps(value, ensure_ascii=False)
    return value


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            return value
        return decoded if isinstance(decoded, str) else value
    return value


def a1111_parameters(
    request: GenerationRequest, seed: int, *, model: str, backend: str, device: str
) -> str:
    """The AUTOMATIC1111 `parameters` text for one image of `request`, made with `seed`."""
    settings: list[tuple[str, str]] = []
    if request.steps is not None:
        settings.append(("Steps", str(request.steps)))
    settings.append(("Sampler", request.scheduler_label))
    if request.guidance is not None:
        settings.append(("CFG scale", str(float(request.guidance))))
    settings += [("Seed", str(seed)), ("Size", f"{request.width}x{request.height}")]
    if model:
        settings.append(("Model", model))
    if request.mode in ("img2img", "inpaint"):
        settings.append(("Denoising strength", str(float(request.strength))))
    if backend:
        settings.append(("Backend", backend))
    if device:
        settings.append(("Device", device))
    # A1111 keeps LoRAs in the prompt as <lora:NAME:WEIGHT>, which is how it reads them back.
    tags = " ".join(f"<lora:{lora.name}:{lora.weight:g}>" for lora in request.loras)
    lines = [f"{request.prompt} {tags}" if tags else request.prompt]
    if request.negative_prompt:
        lines.append(f"{NEGATIVE_PREFIX} {request.negative_prompt}")
    lines.append(", ".join(f"{key}: {_quote(value)}" for key, value in settings))
    return "\n".join(lines)


def parse_a1111_parameters(text: str) -> dict[str, str]:
    """Split infotext into `prompt`, `negative_prompt` and the settings' key/values.

    Keys keep A1111's spelling ("Steps", "CFG scale", "Size" …); values stay text.
    """
    *lines, last = text.rstrip().split("\n")
    settings = _PARAM_RE.findall(last)
    if len(settings) < _MIN_SETTINGS_PAIRS:
        lines.append(last)
        settings = []

    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    for line in lines:
        if not negative_lines and line.startswith(NEGATIVE_PREFIX):
            rest = line.removeprefix(NEGATIVE_PREFIX)
            negative_lines.append(rest.removeprefix(" "))
        elif negative_lines:
            negative_lines.append(line)
        else:
            prompt_lines.append(line)

    parsed = {"prompt": "\n".join(prompt_lines), "negative_prompt": "\n".join(negative_lines)}
    for key, value in settings:
        parsed[key.strip()] = _unquote(value.strip())
    return parsed


def split_lora_tags(prompt: str) -> tuple[str, tuple[LoraRef, ...]]:
    """The prompt without A1111's <lora:NAME:WEIGHT> tags, and those LoRAs (by name)."""
    loras = tuple(LoraRef(name.strip(), float(weight))
                  for name, weight in _LORA_TAG_RE.findall(prompt))
    return _LORA_TAG_RE.sub("", prompt).strip(), loras


def _number(params: dict[str, str], key: str, kind: type[_Number],
            default: _Number | None) -> _Number | None:
    raw = params.get(key, "")
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise InvalidRequest(
            f"The image's settings say {key}: {raw!r}, which is not a number."
        ) from None


def request_from_parameters(text: str) -> GenerationRequest:
    """A request that repeats the image described by A1111 infotext (minus any init image)."""
    return GenerationRequest(**fields_from_parameters(text))


def fields_from_parameters(text: str) -> dict[str, Any]:
    """The GenerationRequest fields A1111 infotext gives, not yet checked together."""
    params = parse_a1111_parameters(text)
    prompt, loras = split_lora_tags(params["prompt"])
    fields: dict[str, Any] = {
        "prompt": prompt,
        "negative_prompt": params["negative_prompt"],
        "model": params.get("Model", ""),
        "steps": _number(params, "Steps", int, None),
        "guidance": _number(params, "CFG scale", float, None),
        "scheduler": scheduler_for(params.get("Sampler", ""), params.get("Schedule type", "")),
        "loras": loras,
    }
    if "Seed" in params:
        fields["seed"] = _number(params, "Seed", int, 0)
    if "Denoising strength" in params:
        fields["strength"] = _number(params, "Denoising strength", float, 0.75)
    if "Size" in params:
        match = _SIZE_RE.match(params["Size"])
        if match is None:
            raise InvalidRequest(
                f"The image's settings say Size: {params['Size']!r}; expected WIDTHxHEIGHT."
            )
        fields["width"], fields["height"] = int(match[1]), int(match[2])
    return fields


# --- Studio JSON --------------------------------------------------------------------------


def studio_json(
    result: GenerationResult, image: GeneratedImage, *, estimate: Cost | None = None
) -> dict[str, Any]:
    """The `studio` chunk for one image of `result`.

    Money is per image: `cost` is the run's cost split evenly, and `estimate` (the run's
    estimate, when there was one) is split the same way so the two compare like for like.
    """
    share = max(1, len(result.images))
    per_image = Cost(result.cost_per_image, result.cost.basis, result.cost.estimated)
    estimate_per_image = (
        Cost(estimate.usd / share, estimate.basis, estimate.estimated) if estimate else None
    )
    return {
        "version": STUDIO_JSON_VERSION,
        "request": result.request.replace(seed=image.seed).to_dict(),
        "seed": image.seed,
        "backend": result.backend,
        "model": result.model,
        "family": result.family,
        "licence": result.licence,
        "commercial_use": result.commercial_use,
        "accelerations": list(result.accelerations),
        "device": result.device,
        "timings": result.timings.to_dict(),
        "cost": per_image.to_dict(),
        "estimate": estimate_per_image.to_dict() if estimate_per_image else None,
        "created_at": result.created_at.isoformat(),
    }


# --- PNG chunks ---------------------------------------------------------------------------


def _add_text(info: PngImagePlugin.PngInfo, key: str, value: str) -> None:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        # tEXt is latin-1 only; iTXt carries UTF-8, so Unicode prompts survive intact.
        info.add_itxt(key, value)
    else:
        info.add_text(key, value)


def encode_png(image: Image.Image, *, parameters: str, studio_json: dict[str, Any],
               disclosure: Disclosure | None = None) -> bytes:
    """The image as PNG bytes with the `parameters` and `studio` text chunks, and the AI
    disclosure as XMP (an uncompressed iTXt chunk keyed `XML:com.adobe.xmp`).

    Without a `disclosure`, it is a plain generation by the model and backend `studio_json`
    names.
    """
    if disclosure is None:
        disclosure = Disclosure(model=str(studio_json.get("model") or ""),
                                backend=str(studio_json.get("backend") or ""))
    info = PngImagePlugin.PngInfo()
    _add_text(info, PARAMETERS_KEY, parameters)
    _add_text(info, STUDIO_KEY, json.dumps(studio_json, ensure_ascii=False, sort_keys=True))
    info.add_itxt(PNG_XMP_KEY, disclosure.xmp().decode("utf-8"))
    if image.mode not in _PNG_MODES:
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


@dataclass(frozen=True)
class PngMetadata:
    """What a PNG says about how it was made; a field is None when its chunk is absent."""

    parameters: str | None
    studio: dict[str, Any] | None


def read_png_metadata(source: str | Path | bytes) -> PngMetadata | None:
    """The metadata of a PNG file or PNG bytes; None when `source` is not a readable PNG.

    A `studio` chunk that is not a JSON object is reported as absent.
    """
    opened_from = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
    try:
        with Image.open(opened_from) as image:
            if image.format != "PNG":
                return None
            text = {str(key): str(value) for key, value in image.text.items()}
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    studio: dict[str, Any] | None = None
    if STUDIO_KEY in text:
        try:
            decoded = json.loads(text[STUDIO_KEY])
        except json.JSONDecodeError:
            decoded = None
        studio = decoded if isinstance(decoded, dict) else None
    return PngMetadata(parameters=text.get(PARAMETERS_KEY), studio=studio)


def request_from_studio_json(studio: dict[str, Any]) -> GenerationRequest:
    """The request inside a `studio` chunk (without the image an edit started from)."""
    data = studio.get("request")
    if not isinstance(data, dict):
        raise InvalidRequest("its Studio metadata has no request")
    # The image an edit started from is not inside the PNG; what is restored is the words.
    data = {k: v for k, v in data.items() if k != "edit"}
    try:
        return GenerationRequest.from_dict(data)
    except TypeError as exc:
        raise InvalidRequest(f"its Studio metadata is malformed ({exc})") from exc


def request_from_png(source: str | Path | bytes) -> GenerationRequest:
    """The request that made a PNG: from its Studio JSON, else from its A1111 parameters.

    Raises InvalidRequest, with a message that says what to do, when neither can be read.
    """
    name = "The image" if isinstance(source, bytes) else repr(Path(source).name)
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise InvalidRequest(f"{name} does not exist or is not a file.")
    metadata = read_png_metadata(source)
    if metadata is None:
        raise InvalidRequest(
            f"{name} is not a PNG image, so it carries no generation settings. "
            "Open a PNG saved by Studio or AUTOMATIC1111."
        )
    studio_error: InvalidRequest | None = None
    if metadata.studio is not None:
        try:
            return request_from_studio_json(metadata.studio)
        except InvalidRequest as exc:
            studio_error = exc
    if metadata.parameters is not None:
        return request_from_parameters(metadata.parameters)
    if studio_error is not None:
        raise InvalidRequest(
            f"{name}'s generation settings could not be used: {studio_error}"
        ) from studio_error
    raise InvalidRequest(
        f"{name} carries no generation settings (no Studio or AUTOMATIC1111 metadata). "
        "Apps that re-save or optimise images often strip it; use the original file."
    )
