"""How an ImageRecord reads to a designer: the text the detail and compare views show.

Pure functions, no widgets, so the wording is tested without pixels and both views agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backends.families import family_names, family_profile
from backends.types import SCHEDULERS, Cost, Timings
from studio.costs.accuracy import estimate_error
from studio.formatting import format_seconds, format_usd
from studio.library import ImageRecord
from studio.ui.speed import speed_label

# (Timings field, label) in the order the seconds are spent.
TIMING_PARTS: tuple[tuple[str, str], ...] = (
    ("load_s", "Load"),
    ("queue_s", "Queue"),
    ("network_s", "Network"),
    ("inference_s", "Inference"),
    ("decode_s", "Decode"),
)
OTHER_LABEL = "Other"
# Below this the unaccounted rest of a total is rounding, not a part worth showing.
_OTHER_THRESHOLD_S = 0.005
_FILENAME_STEM_CHARS = 60


@dataclass(frozen=True)
class Field:
    """One labelled value of a record; `key` is stable for code, `label` is for people."""

    key: str
    label: str
    value: str


def cost_text(cost: Cost) -> str:
    kind = "estimated" if cost.estimated else "measured"
    return f"{format_usd(cost.usd)} per image ({kind})"


def estimate_text(record: ImageRecord) -> str:
    """The estimate made before the run beside the actual cost; empty when there was none."""
    estimate = record.estimate
    if estimate is None:
        return ""
    text = f"Estimated before the run: {format_usd(estimate.usd)}"
    error = estimate_error(estimate, record.cost).text()  # only where it means something
    if error:
        text += f" ({error})"
    if estimate.basis and estimate.basis != record.cost.basis:
        text += f" — {estimate.basis}"
    return text


def timing_parts(timings: Timings) -> list[tuple[str, float]]:
    """(label, seconds) for every part, plus "Other" for time the parts do not explain."""
    parts = [(label, float(getattr(timings, name))) for name, label in TIMING_PARTS]
    other = timings.total_s - sum(seconds for _, seconds in parts)
    if other > _OTHER_THRESHOLD_S:
        parts.append((OTHER_LABEL, other))
    return parts


def timing_summary(timings: Timings) -> str:
    """"3.00 s (load 0.50 s, inference 2.00 s, …)" with the parts that took any time."""
    spent = [
        f"{label.lower()} {format_seconds(seconds)}"
        for label, seconds in timing_parts(timings) if seconds > 0
    ]
    total = format_seconds(timings.total_s)
    return f"{total} ({', '.join(spent)})" if spent else total


def sampler_label(record: ImageRecord) -> str:
    return SCHEDULERS.get(record.request.get("scheduler") or "", "Default")


def size_text(record: ImageRecord) -> str:
    width = record.request.get("width", record.width)
    height = record.request.get("height", record.height)
    text = f"{width}×{height}"
    if (width, height) != (record.width, record.height):
        # Some backends return another size than asked (upscalers, fixed-size models).
        text += f" (saved {record.width}×{record.height})"
    return text


def steps_text(record: ImageRecord) -> str:
    steps = record.request.get("steps")
    return "—" if steps is None else str(steps)


def family_text(record: ImageRecord) -> str:
    """The family's label ("FLUX.1 [schnell]") from the recorded name ("flux1-schnell");
    the name itself for a family this build does not know; "" when none was recorded."""
    name = record.family
    if not name:
        return ""
    # Family names hold hyphens too ("qwen-image-edit"): the longest that starts the name
    # is the family, the rest its variants.
    for family in sorted(family_names(), key=len, reverse=True):
        if name == family or name.startswith(family + "-"):
            variants = tuple(v for v in name[len(family) + 1:].split("-") if v)
            profile = family_profile(family, variants)
            if profile is not None and profile.name == name:
                return profile.label
    return name


def commercial_use_text(record: ImageRecord) -> str:
    if record.commercial_use is None:
        return ""
    return "allowed" if record.commercial_use else "not allowed"


def loras_text(record: ImageRecord) -> str:
    """"style × 0.8, detail × 1" for the LoRAs the request stacked; "" for none."""
    parts = []
    for lora in record.request.get("loras") or []:
        if isinstance(lora, dict) and lora.get("source"):
            name = lora.get("name") or lora["source"]
            parts.append(f"{name} × {float(lora.get('weight', 1.0)):g}")
    return ", ".join(parts)


def guidance_text(record: ImageRecord) -> str:
    guidance = record.request.get("guidance")
    return "—" if guidance is None else f"{float(guidance):g}"


def speed_text(record: ImageRecord) -> str:
    """The speed profile ("Fast") where it says something: a run that recorded what it
    accelerated, or asked for more than exact. "" for cloud models and older rows."""
    speed = record.request.get("speed") or "exact"
    if not record.accelerations and speed == "exact":
        return ""
    return speed_label(speed)


def accelerations_text(record: ImageRecord) -> str:
    """What the speed profile applied and what fell back, one note a line."""
    return "\n".join(record.accelerations)


def created_text(record: ImageRecord) -> str:
    return record.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def parameter_fields(record: ImageRecord) -> list[Field]:
    """Everything needed to repeat the image, in the order a designer reads it."""
    request = record.request
    fields = [Field("model", "Model", record.model or request.get("model") or "—")]
    fields += licence_fields(record)
    fields += [
        Field("mode", "Mode", record.mode),
        Field("seed", "Seed", str(record.seed)),
        Field("steps", "Steps", steps_text(record)),
        Field("guidance", "CFG scale", guidance_text(record)),
        Field("sampler", "Sampler", sampler_label(record)),
        Field("size", "Size", size_text(record)),
        Field("count", "Images in run", str(request.get("count", 1))),
    ]
    loras = loras_text(record)
    if loras:
        fields.append(Field("loras", "LoRAs", loras))
    speed = speed_text(record)
    if speed:
        fields.append(Field("speed", "Speed", speed))
    if record.mode in ("img2img", "inpaint") and "strength" in request:
        fields.append(Field("strength", "Strength", f"{float(request['strength']):g}"))
    return fields


def licence_fields(record: ImageRecord) -> list[Field]:
    """The model's family and licence, where the backend recorded them."""
    fields = []
    family = family_text(record)
    if family:
        fields.append(Field("family", "Family", family))
    if record.licence:
        fields.append(Field("licence", "Licence", record.licence))
    commercial = commercial_use_text(record)
    if commercial:
        fields.append(Field("commercial", "Commercial use", commercial))
    return fields


def origin_fields(record: ImageRecord) -> list[Field]:
    return [
        # A live image was made as the designer typed (the grid hides those by default).
        Field("backend", "Backend", record.backend + (" · live mode" if record.live else "")),
        Field("device", "Device", record.device or "—"),
        Field("created", "Created", created_text(record)),
    ]


def suggested_filename(record: ImageRecord) -> str:
    """A safe file name from the prompt's first words and the seed, e.g. `red-sneaker_42.png`.

    Letters and digits of any script are kept (every current OS stores them); everything
    else, path separators and dots included, is dropped.
    """
    words = re.findall(r"[^\W_]+", record.prompt.lower())
    stem = words[0][:_FILENAME_STEM_CHARS] if words else ""
    for word in words[1:]:
        if len(stem) + 1 + len(word) > _FILENAME_STEM_CHARS:
            break
        stem = f"{stem}-{word}"
    return f"{stem or 'studio-image'}_{record.seed}.png"
