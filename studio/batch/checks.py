"""Marketplace checks: does an exported image meet its preset's rules?

Every preset gets the generic rules (exact size, the file's real format, an sRGB colour
profile); `resources/presets/checks.json` adds rules per preset (Amazon's pure white border,
product fill and long side; eBay's no added borders) and holds their thresholds and the words
that put a product in a scene. JPEG quality cannot be read back from a file, so it is not
checked. `check_image` never raises on a bad file: an unreadable one is one failed rule.
"""

from __future__ import annotations

import io
import json
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageCms

from studio.batch.presets import OutputPreset, get_preset, marketplace_presets
from studio.paths import resources_dir

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
# What each file extension claims; Pillow calls a multi-picture JPEG "MPO".
_CLAIMED = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_SAME_FORMAT = {"MPO": "JPEG"}
# A preset whose name or label says one of these is where scenes belong.
_LIFESTYLE_WORDS = ("lifestyle", "secondary", "additional")

Source = str | Path | bytes | bytearray | memoryview


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class PresetRules:
    """One preset's checks: checks.json's defaults, overlaid by its entry."""

    require_profile: bool = True
    pure_white_border: bool = False
    border_ring: float = 0.02
    white_tolerance: int = 250
    min_fill: float | None = None
    min_long_side: int | None = None
    no_added_borders: bool = False
    uniform_tolerance: int = 6
    min_strip: int = 2
    edge_fraction: float = 0.9
    edge_search: int = 16


@dataclass(frozen=True)
class _Checks:
    defaults: dict[str, Any]
    presets: dict[str, dict[str, Any]]
    scene_words: tuple[str, ...]


@lru_cache(maxsize=1)
def _checks() -> _Checks:
    path = resources_dir() / "presets" / "checks.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    known = {field.name for field in fields(PresetRules)}
    for where, entry in [("defaults", data.get("defaults", {})),
                         *data.get("presets", {}).items()]:
        unknown = set(entry) - known
        if unknown:
            raise ValueError(f"{path}: {where} has unknown rules {sorted(unknown)}")
    words = tuple(dict.fromkeys(_fold(word) for word in data.get("scene_words", [])))
    return _Checks(data.get("defaults", {}), data.get("presets", {}), words)


def checked_presets() -> dict[str, dict[str, Any]]:
    """checks.json's per-preset entries, as written (for listing and tests)."""
    return dict(_checks().presets)


def rules_for(preset: OutputPreset | str) -> PresetRules:
    preset = _preset(preset)
    checks = _checks()
    return PresetRules(**{**checks.defaults, **checks.presets.get(preset.name, {})})


def check_image(source: Source, preset: OutputPreset | str) -> list[RuleResult]:
    """Each of the preset's rules on one image (a path or the file's bytes), in a fixed order."""
    preset = _preset(preset)
    rules = rules_for(preset)
    try:
        image, suffix = _open(source)
    except Exception as exc:  # anything a broken file makes Pillow raise
        return [RuleResult("readable", False, f"cannot read the image: {_reason(exc)}")]
    with image:
        pixels: list[np.ndarray] = []

        def rgb() -> np.ndarray:
            if not pixels:
                pixels.append(_rgb_array(image))
            return pixels[0]

        checks: list[tuple[str, Callable[[], RuleResult]]] = [
            ("size", lambda: _size(image, preset)),
            ("format", lambda: _format(image, preset, suffix)),
            ("colour_profile", lambda: _profile(image, rules)),
        ]
        if rules.pure_white_border:
            checks.append(("pure_white_border", lambda: _white_border(rgb(), rules)))
        if rules.min_fill is not None:
            checks.append(("min_fill", lambda: _fill(rgb(), rules)))
        if rules.min_long_side is not None:
            checks.append(("min_long_side", lambda: _long_side(image, rules)))
        if rules.no_added_borders:
            checks.append(("no_added_borders", lambda: _added_borders(rgb(), rules)))
        return [_safely(rule, check) for rule, check in checks]


def image_files(folder: Path) -> list[Path]:
    """The images in `folder` and its subfolders (a batch export keeps each SKU in its own),
    by path; hidden files and folders and unfinished temp files are left out."""
    root = Path(folder)
    return sorted(path for path in root.rglob("*")
                  if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") for part in path.relative_to(root).parts))


def scene_conflicts(prompt: str, preset: OutputPreset | str) -> list[str]:
    """Why this prompt cannot work with the preset: scene words on a pure-white preset."""
    preset = _preset(preset)
    if not (preset.pure_white or rules_for(preset).pure_white_border):
        return []
    words = set(_checks().scene_words)
    found: list[str] = []
    for token in re.findall(r"[a-z]+", _fold(prompt)):
        singulars = {token, token.removesuffix("s"), token.removesuffix("es")}
        if singulars & words and token not in found:
            found.append(token)
    if not found:
        return []
    quoted = ", ".join(f"“{word}”" for word in found)
    alternative = lifestyle_alternative(preset)
    advice = (f"use {alternative.name} ({alternative.label}) for scenes" if alternative
              else "drop the scene from the prompt")
    verb = "puts" if len(found) == 1 else "put"
    return [f"{quoted} {verb} the product in a scene, but {preset.name} needs a pure white "
            f"background; {advice}."]


def lifestyle_alternative(preset: OutputPreset | str) -> OutputPreset | None:
    """The preset for scenes beside a pure-white one: same marketplace first."""
    preset = _preset(preset)
    candidates = [other for other in marketplace_presets().values()
                  if not other.pure_white and other.name != preset.name
                  and any(word in f"{other.name} {other.label}".lower()
                          for word in _LIFESTYLE_WORDS)]
    marketplace = preset.name.split("-")[0]
    same = [other for other in candidates if other.name.split("-")[0] == marketplace]
    return (same or candidates or [None])[0]


# --- reading -------------------------------------------------------------------------------

def _preset(preset: OutputPreset | str) -> OutputPreset:
    return get_preset(preset) if isinstance(preset, str) else preset


def _open(source: Source) -> tuple[Image.Image, str | None]:
    if isinstance(source, bytes | bytearray | memoryview):
        data, suffix = bytes(source), None
    else:
        path = Path(source)
        data, suffix = path.read_bytes(), path.suffix.lower()
    image = Image.open(io.BytesIO(data))
    try:
        image.load()
    except BaseException:
        image.close()
        raise
    return image, suffix


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"no such file {exc.filename!s}"
    if isinstance(exc, Image.UnidentifiedImageError):
        return "not an image file Pillow can read"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _rgb_array(image: Image.Image) -> np.ndarray:
    """H×W×3 uint8; transparent pixels count as black (they are not white)."""
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (0, 0, 0))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return np.asarray(flat)
    return np.asarray(image.convert("RGB"))


def _safely(rule: str, check: Callable[[], RuleResult]) -> RuleResult:
    try:
        return check()
    except Exception as exc:  # a rule that cannot measure fails; the others still run
        return RuleResult(rule, False, f"could not measure: {_reason(exc)}")


def _fold(text: str) -> str:
    """Lower case without accents: café → cafe."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# --- the rules -----------------------------------------------------------------------------

def _size(image: Image.Image, preset: OutputPreset) -> RuleResult:
    width, height = image.size
    detail = f"{width}×{height} px"
    if (width, height) != (preset.width, preset.height):
        detail += f", needs {preset.width}×{preset.height}"
    return RuleResult("size", (width, height) == (preset.width, preset.height), detail)


def _format(image: Image.Image, preset: OutputPreset, suffix: str | None) -> RuleResult:
    actual = _SAME_FORMAT.get(image.format or "", image.format or "unknown")
    needed = preset.format.upper()
    named = ""
    if suffix is not None and _CLAIMED.get(suffix) != actual:
        named = f" (named {suffix or 'without an extension'})"
    if actual == needed:
        return RuleResult("format", True, f"{actual}{named}")
    return RuleResult("format", False, f"file is {actual}{named}, needs {needed}")


def _profile(image: Image.Image, rules: PresetRules) -> RuleResult:
    icc = image.info.get("icc_profile")
    if icc:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            description = ImageCms.getProfileDescription(profile).strip()
        except Exception:  # a corrupt profile: whatever littlecms raises
            return RuleResult("colour_profile", False, "the embedded ICC profile is unreadable")
        if "srgb" in description.lower():
            return RuleResult("colour_profile", True, f"sRGB ICC profile ({description})")
        return RuleResult("colour_profile", False,
                          f"embedded profile is “{description or 'unnamed'}”, needs sRGB")
    if image.format == "PNG" and "srgb" in image.info:
        return RuleResult("colour_profile", True, "PNG sRGB chunk")
    if not rules.require_profile:
        return RuleResult("colour_profile", True, "no profile (read as sRGB)")
    return RuleResult("colour_profile", False, "no colour profile embedded, needs sRGB")


def _white_border(rgb: np.ndarray, rules: PresetRules) -> RuleResult:
    height, width = rgb.shape[:2]
    ring = max(1, round(min(width, height) * rules.border_ring))
    inside = np.zeros((height, width), dtype=bool)
    inside[ring:height - ring, ring:width - ring] = True
    border = rgb[~inside]
    off = (border != 255).any(axis=1)
    count = int(off.sum())
    where = f"outer {ring} px"
    if count == 0:
        return RuleResult("pure_white_border", True,
                          f"border: all {len(border):,} pixels pure white ({where})")
    darkest = int(border[off].min())
    return RuleResult("pure_white_border", False,
                      f"border: {count:,} pixels not pure white, darkest {darkest} ({where})")


def _fill(rgb: np.ndarray, rules: PresetRules) -> RuleResult:
    assert rules.min_fill is not None
    height, width = rgb.shape[:2]
    needed = f"needs {_percent(rules.min_fill)}%"
    product = rgb.min(axis=2) < rules.white_tolerance
    if not product.any():
        return RuleResult("min_fill", False, f"no product found: every pixel is white "
                          f"(≥ {rules.white_tolerance}), {needed}")
    rows = np.flatnonzero(product.any(axis=1))
    cols = np.flatnonzero(product.any(axis=0))
    box_w, box_h = int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)
    fill = max(box_w / width, box_h / height)
    passed = fill >= rules.min_fill - 1e-9
    detail = f"product fills {_percent(fill)}% of the frame ({box_w}×{box_h} px box)"
    return RuleResult("min_fill", passed, detail if passed else f"{detail}, {needed}")


def _percent(fraction: float) -> str:
    """Rounded down, so a failing 84.6% never reads as the 85% it needs."""
    return str(math.floor(fraction * 100 + 1e-9))


def _long_side(image: Image.Image, rules: PresetRules) -> RuleResult:
    assert rules.min_long_side is not None
    longest = max(image.size)
    passed = longest >= rules.min_long_side
    detail = f"longest side {longest:,} px"
    return RuleResult("min_long_side", passed,
                      detail if passed else f"{detail}, needs at least {rules.min_long_side:,}")


# For each side: its lines from the edge inwards, and the sides at either end of those lines.
_SIDES = {"top": ("left", "right"), "bottom": ("left", "right"),
          "left": ("top", "bottom"), "right": ("top", "bottom")}


@dataclass(frozen=True)
class _Edge:
    lines: np.ndarray  # lines × length × RGB, from the edge inwards
    colour: np.ndarray  # the outermost line's median colour
    depth: int  # lines from the edge all within tolerance of that colour


def _added_borders(rgb: np.ndarray, rules: PresetRules) -> RuleResult:
    columns = rgb.transpose(1, 0, 2)
    lines = {"top": rgb, "bottom": rgb[::-1], "left": columns, "right": columns[::-1]}
    edges = {side: _edge(side_lines, rules) for side, side_lines in lines.items()}
    strips = {side: _strip(side, edges, rules) for side in edges}
    padded = [side for pair in (("top", "bottom"), ("left", "right"))
              if strips[pair[0]] and strips[pair[1]] for side in pair]
    if not padded:
        single = [f"{side} {strip}" for side, strip in strips.items() if strip]
        extra = f" (a strip on one side only: {', '.join(single)})" if single else ""
        return RuleResult("no_added_borders", True, f"no uniform strips on opposite sides{extra}")
    return RuleResult("no_added_borders", False, "added border: uniform strips of "
                      + ", ".join(f"{strips[side]} {side}" for side in padded))


def _edge(lines: np.ndarray, rules: PresetRules) -> _Edge:
    colour = np.median(lines[0], axis=0).round().astype(np.int16)
    for start in range(0, len(lines), 64):  # a strip is usually thin: stop at its end
        uneven = np.flatnonzero(_differs(lines[start:start + 64], colour, rules).any(axis=1))
        if len(uneven):
            return _Edge(lines, colour, start + int(uneven[0]))
    return _Edge(lines, colour, len(lines))


def _differs(lines: np.ndarray, colour: np.ndarray, rules: PresetRules) -> np.ndarray:
    """lines × length: where a pixel differs from `colour` by more than the tolerance."""
    return np.abs(lines.astype(np.int16) - colour).max(axis=2) > rules.uniform_tolerance


def _strip(side: str, edges: dict[str, _Edge], rules: PresetRules) -> str | None:
    """'40 px (#808080)' when `side` has a uniform strip ending in a straight inner edge.

    Straight: a line just past the strip differs from the strip's colour along nearly all of
    the span between the strips of the same colour at its ends (a frame's other sides), so a
    product standing on a plain background, whose outline is not a line, is no border.
    """
    edge = edges[side]
    count, length = edge.lines.shape[:2]
    if not rules.min_strip <= edge.depth < count:  # too thin, or one colour throughout
        return None
    ends = []
    for other in (edges[name] for name in _SIDES[side]):
        same = int(np.abs(other.colour - edge.colour).max()) <= rules.uniform_tolerance
        ends.append(other.depth if same and other.depth < length else 0)
    past = edge.lines[edge.depth:edge.depth + rules.edge_search, ends[0]:length - ends[1]]
    span = _differs(past, edge.colour, rules)
    if span.size == 0 or span.mean(axis=1).max() < rules.edge_fraction:
        return None
    red, green, blue = (int(value) for value in edge.colour)
    return f"{edge.depth} px (#{red:02X}{green:02X}{blue:02X})"
