"""Generation settings from any image, whichever tool wrote them, as a GenerationRequest.

Read, in this order: Studio's own JSON chunk; the text chunks of AUTOMATIC1111 (and forks),
ComfyUI, InvokeAI, Fooocus and NovelAI, recognised by sd-parsers; ComfyUI's API-format graph
alone (`prompt` without `workflow`, studio.library.comfy_api); A1111 "stealth" info in the
pixels' lowest bits (studio.library.stealth_info); and for JPEG and WebP, A1111's EXIF
UserComment.

A value that Studio cannot use (a 64-bit ComfyUI seed, a size that is not a multiple of 8, a
sampler Studio lacks) is left out and listed in `FoundSettings.skipped`, so the rest of the
settings still come back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from sd_parsers.data import PromptInfo
from sd_parsers.parsers import (
    AUTOMATIC1111Parser,
    ComfyUIParser,
    FooocusParser,
    InvokeAIParser,
    NovelAIParser,
    Parser,
)

from backends.errors import InvalidRequest
from backends.types import GenerationRequest
from studio.library.comfy_api import ApiSettings, api_graph, read_api_graph
from studio.library.png_metadata import (
    PARAMETERS_KEY,
    STUDIO_KEY,
    fields_from_parameters,
    parse_a1111_parameters,
    request_from_studio_json,
)
from studio.library.sampler_names import scheduler_for
from studio.library.stealth_info import read_stealth_info

LOOKED_FOR = ("A1111", "ComfyUI", "InvokeAI", "Fooocus", "NovelAI", "Studio")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
# Fooocus first: it writes JSON into the same `parameters` chunk A1111 uses.
_PARSERS: tuple[type[Parser], ...] = (
    FooocusParser, AUTOMATIC1111Parser, ComfyUIParser, InvokeAIParser, NovelAIParser)
_TOOL_NAMES = {"AUTOMATIC1111": "AUTOMATIC1111", "ComfyUI": "ComfyUI", "InvokeAI": "InvokeAI",
               "Fooocus": "Fooocus", "NovelAI": "NovelAI"}
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
_PAIR_RE = re.compile(r"(\d+)\D+(\d+)")
_OTHER_VALUE_CHARS = 300


class NoGenerationSettings(InvalidRequest):
    """The file is an image, but none of the tools Studio knows left settings in it."""


@dataclass(frozen=True)
class FoundSettings:
    """What an image says about how it was made."""

    tool: str  # Studio, AUTOMATIC1111, ComfyUI, InvokeAI, Fooocus or NovelAI
    found_in: str  # "PNG text chunks", "stealth PNG info (alpha bits)", "EXIF UserComment"
    request: GenerationRequest
    sampler: str = ""  # the tool's own sampler name (and schedule), as written
    skipped: tuple[str, ...] = ()  # values found that Studio cannot use, each with why
    other: dict[str, str] = field(default_factory=dict)  # the tool's further settings
    # The request's fields the image gave; the rest are GenerationRequest's defaults.
    found: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "found_in": self.found_in, "sampler": self.sampler or None,
                "request": self.request.to_dict(), "skipped": list(self.skipped),
                "found": list(self.found), "other": dict(self.other)}


def no_settings_message(name: str) -> str:
    return (f"{name} carries no generation settings Studio can read "
            f"(looked for: {', '.join(LOOKED_FOR)})")


def read_generation_settings(path: str | Path) -> FoundSettings:
    """The settings that made the image at `path`.

    Raises InvalidRequest with a message naming the file when there are none, when the file
    is not an image, or when what was found holds no usable prompt.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InvalidRequest(f"{name!r} does not exist or is not a file.")
    try:
        with Image.open(path) as image:
            found = _read_image(image, name)
    except (UnidentifiedImageError, OSError, SyntaxError, EOFError,
            Image.DecompressionBombError) as exc:
        raise InvalidRequest(
            f"{name} is not a PNG, JPEG or WebP image Studio can open ({exc}).") from exc
    if found is None:
        raise NoGenerationSettings(no_settings_message(name))
    return found


def _read_image(image: Image.Image, name: str) -> FoundSettings | None:
    if image.format == "PNG":
        text = {str(key): value for key, value in getattr(image, "text", {}).items()}
        found = _from_studio(text.get(STUDIO_KEY)) or _from_text(text, "PNG text chunks", name)
        if found is not None:
            return found
        stealth = read_stealth_info(image)
        if stealth is None:
            return None
        where = f"stealth PNG info ({stealth.channel} bits)"
        decoded = _json_object(stealth.text)  # NovelAI hides its JSON text chunks this way
        return _from_text(decoded or {PARAMETERS_KEY: stealth.text}, where, name)
    if image.format in ("JPEG", "WEBP"):
        comment = _exif_user_comment(image)
        if comment:
            return _from_text({PARAMETERS_KEY: comment}, "EXIF UserComment", name)
    return None


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        decoded = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) else None


def _from_studio(chunk: Any) -> FoundSettings | None:
    if not isinstance(chunk, str):
        return None
    studio = _json_object(chunk)
    if studio is None:
        return None
    try:
        request = request_from_studio_json(studio)
    except InvalidRequest:
        return None  # a damaged chunk: the A1111 text beside it still says the same
    found = tuple(key for key, value in request.to_dict().items()
                  if key in ("prompt", "negative_prompt", "model", "seed", "steps", "guidance",
                             "width", "height", "scheduler", "loras", "speed")
                  and _given(value))
    return FoundSettings("Studio", "PNG text chunks", request,
                         sampler=request.scheduler_label if request.scheduler else "",
                         found=found)


def _from_text(text: Mapping[str, Any], where: str, name: str) -> FoundSettings | None:
    for parser_class in _PARSERS:
        try:
            info = parser_class().parse(dict(text))
        # sd-parsers runs on whatever a file holds; any failure means "not this tool".
        except Exception:  # noqa: BLE001
            continue
        if info.generator.value == "AUTOMATIC1111":
            return _from_a1111(str(text[PARAMETERS_KEY]), where, name, info)
        return _from_prompt_info(info, where, name)
    graph = api_graph(text.get("prompt"))
    settings = read_api_graph(graph) if graph is not None else None
    if settings is not None:
        return _from_comfy_api(settings, where, name)
    parameters = text.get(PARAMETERS_KEY)
    if isinstance(parameters, str) and parameters.strip() and _json_object(parameters) is None:
        # A1111's own key with fewer settings than sd-parsers needs (no sampler): the prompt.
        return _from_a1111(parameters, where, name, None)
    return None


def _from_a1111(parameters: str, where: str, name: str,
                info: PromptInfo | None) -> FoundSettings:
    fields = fields_from_parameters(parameters)
    params = parse_a1111_parameters(parameters)
    sampler = ", ".join(value for value in (params.get("Sampler"), params.get("Schedule type"))
                        if value)
    skipped: list[str] = []
    if sampler and fields.get("scheduler") is None:
        skipped.append(_no_sampler(sampler))
    used = {"prompt", "negative_prompt", "Steps", "Sampler", "Schedule type", "CFG scale",
            "Seed", "Size", "Model", "Denoising strength"}
    other = {key: _short(value) for key, value in params.items() if key not in used}
    return _finish("AUTOMATIC1111", where, name, fields, sampler, skipped, other)


def _from_prompt_info(info: PromptInfo, where: str, name: str) -> FoundSettings:
    tool = _TOOL_NAMES.get(info.generator.value, info.generator.value)
    skipped: list[str] = []
    fields: dict[str, Any] = {"prompt": "", "negative_prompt": ""}
    sampler_text = ""
    if info.samplers:
        first = info.samplers[0]
        if len(info.samplers) > 1:
            skipped.append(f"{len(info.samplers) - 1} further sampling pass(es) of the "
                           "workflow (Studio repeats the first)")
        fields["prompt"] = ", ".join(p.value.strip() for p in first.prompts if p.value.strip())
        fields["negative_prompt"] = ", ".join(
            p.value.strip() for p in first.negative_prompts if p.value.strip())
        params = first.parameters
        schedule = str(params.get("scheduler") or "")
        sampler_text = ", ".join(part for part in (first.name, schedule) if part)
        scheduler = scheduler_for(first.name, schedule)
        if scheduler is None:
            skipped.append(_no_sampler(sampler_text))
        else:
            fields["scheduler"] = scheduler
        _put(fields, skipped, "seed", "seed", params.get("seed"), _whole)
        _put(fields, skipped, "steps", "steps",
             params.get("steps", info.metadata.get("steps")), _whole)
        _put(fields, skipped, "guidance", "CFG scale", params.get("cfg_scale"), _decimal)
        denoise = params.get("denoise")
        if tool == "ComfyUI" and denoise is not None and _decimal(denoise) not in (None, 1.0):
            _put(fields, skipped, "strength", "denoise", denoise, _decimal)
        if first.model is not None and first.model.name:
            fields["model"] = first.model.name
    if not fields["prompt"] and isinstance(info.metadata.get("full_prompt"), str):
        fields["prompt"] = info.metadata["full_prompt"]
    size = _size(info.metadata)
    if size is not None:
        fields["width"], fields["height"] = size
    other = {str(key): _short(value) for key, value in info.metadata.items()
             if key not in ("width", "height", "steps", "full_prompt", "full_negative_prompt")}
    return _finish(tool, where, name, fields, sampler_text, skipped, other)


def _from_comfy_api(settings: ApiSettings, where: str, name: str) -> FoundSettings:
    """ComfyUI's API-format graph (no `workflow` chunk beside it), as the first pass says."""
    skipped: list[str] = []
    if settings.further_passes:
        skipped.append(f"{settings.further_passes} further sampling pass(es) of the "
                       "workflow (Studio repeats the first)")
    fields: dict[str, Any] = {"prompt": settings.prompt,
                              "negative_prompt": settings.negative_prompt}
    sampler_text = ", ".join(part for part in (settings.sampler_name, settings.scheduler)
                             if part)
    if sampler_text:
        scheduler = scheduler_for(settings.sampler_name, settings.scheduler)
        if scheduler is None:
            skipped.append(_no_sampler(sampler_text))
        else:
            fields["scheduler"] = scheduler
    _put(fields, skipped, "seed", "seed", settings.seed, _whole)
    _put(fields, skipped, "steps", "steps", settings.steps, _whole)
    _put(fields, skipped, "guidance", "CFG scale", settings.cfg, _decimal)
    if settings.denoise is not None and _decimal(settings.denoise) not in (None, 1.0):
        _put(fields, skipped, "strength", "denoise", settings.denoise, _decimal)
    if settings.model:
        fields["model"] = settings.model
    if settings.width is not None and settings.height is not None:
        _put(fields, skipped, "width", "width", settings.width, _whole)
        _put(fields, skipped, "height", "height", settings.height, _whole)
    other = {"format": "ComfyUI API graph (no workflow chunk)"}
    if settings.loras:
        other["loras"] = _short(", ".join(settings.loras))
        skipped.append(f"LoRA(s) {', '.join(settings.loras)}: listed, not applied")
    return _finish("ComfyUI", where, name, fields, sampler_text, skipped, other)


def _given(value: Any) -> bool:
    return value is not None and value != "" and value != () and value != []


def _no_sampler(sampler: str) -> str:
    return f"sampler {sampler!r}: Studio has no equivalent; the model's default is used"


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _decimal(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _put(fields: dict[str, Any], skipped: list[str], key: str, label: str, raw: Any,
         convert: Callable[[Any], Any]) -> None:
    if raw is None or raw == "":
        return
    value = convert(raw)
    if value is None:
        skipped.append(f"{label} {raw!r}: not a number")
    else:
        fields[key] = value


def _size(metadata: Mapping[Any, Any]) -> tuple[int, int] | None:
    width, height = _whole(metadata.get("width")), _whole(metadata.get("height"))
    if width is not None and height is not None:
        return width, height
    for key in ("resolution", "Size"):  # Fooocus "(768, 1280)", A1111 "512x400"
        match = _PAIR_RE.search(str(metadata.get(key, "")))
        if match:
            return int(match[1]), int(match[2])
    for key, nodes in metadata.items():  # ComfyUI: the empty latent the first pass starts from
        if "LatentImage" in str(key) and isinstance(nodes, list):
            for node in nodes:
                if isinstance(node, dict):
                    width, height = _whole(node.get("width")), _whole(node.get("height"))
                    if width is not None and height is not None:
                        return width, height
    return None


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _OTHER_VALUE_CHARS else text[:_OTHER_VALUE_CHARS - 1] + "…"


_LABELS = {"seed": "seed", "steps": "steps", "guidance": "CFG scale", "scheduler": "sampler",
           "strength": "denoising strength", "model": "model", "loras": "LoRAs"}


def _finish(tool: str, where: str, name: str, fields: dict[str, Any], sampler: str,
            skipped: list[str], other: dict[str, str]) -> FoundSettings:
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest(f"{name} was written by {tool}, but its settings hold no prompt "
                             "Studio can use.")
    checked: dict[str, Any] = {"prompt": prompt}
    for key in ("negative_prompt", *_LABELS):
        if fields.get(key) is not None:
            _keep_if_valid(checked, skipped, {key: fields[key]}, _LABELS.get(key, key))
    if "width" in fields and "height" in fields:
        _keep_if_valid(checked, skipped, {"width": fields["width"], "height": fields["height"]},
                       "size")
    try:
        request = GenerationRequest(**checked)
    except InvalidRequest as exc:
        raise InvalidRequest(f"{name}'s {tool} settings cannot be used: {exc}") from exc
    return FoundSettings(tool, where, request, sampler, tuple(skipped), other,
                         found=tuple(key for key, value in checked.items() if _given(value)))


def _keep_if_valid(checked: dict[str, Any], skipped: list[str], values: dict[str, Any],
                   label: str) -> None:
    try:
        GenerationRequest(prompt="check", **values)
    except InvalidRequest as exc:
        shown = "x".join(str(v) for v in values.values()) if label == "size" \
            else next(iter(values.values()))
        skipped.append(f"{label} {shown}: {exc}")
        return
    checked.update(values)


def _exif_user_comment(image: Image.Image) -> str | None:
    """A1111's JPEG/WebP settings: EXIF UserComment, an 8-byte charset prefix then the text."""
    try:
        raw = image.getexif().get_ifd(_EXIF_IFD).get(_USER_COMMENT)
    except (KeyError, ValueError, OSError, SyntaxError):
        return None
    if isinstance(raw, str):
        return raw.strip("\0 ") or None
    if not isinstance(raw, bytes) or len(raw) <= 8:
        return None
    prefix, body = raw[:8], raw[8:]
    if prefix.rstrip(b"\0") == b"UNICODE":
        # piexif (A1111) writes UTF-16 big-endian; some writers use little-endian.
        encoding = "utf-16-le" if len(body) > 1 and body[0] and not body[1] else "utf-16-be"
        text = body.decode(encoding, errors="replace")
    else:
        text = body.decode("utf-8", errors="replace")
    return text.strip("\0 ") or None
