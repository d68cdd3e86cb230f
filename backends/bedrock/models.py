"""The Bedrock image models and Stability image services Studio can drive, with the limits
their documented schemas set.

Sources: the Amazon Bedrock user guide's pages "Stable Diffusion 3.5 Large", "Stable Image
Core", "Stable Image Ultra" and "Stability AI Image Services" (request parameters, image
limits, model ids and the `us.` cross-region inference profiles the services are reached
through). A model missing here cannot be used: every model's request body is different.
Models Bedrock has retired are in `lifecycle.py`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from backends.errors import InvalidRequest


class Task(StrEnum):
    """What Bedrock is asked to do; the values are the CLI's `--task` names."""

    TEXT_TO_IMAGE = "text-to-image"
    IMAGE_TO_IMAGE = "image-to-image"
    INPAINT = "inpaint"
    OUTPAINT = "outpaint"
    SEARCH_REPLACE = "search-replace"
    RECOLOR = "recolor"
    REMOVE_BACKGROUND = "remove-background"
    ERASE = "erase"
    UPSCALE_FAST = "upscale-fast"
    UPSCALE_CONSERVATIVE = "upscale-conservative"
    UPSCALE_CREATIVE = "upscale-creative"
    SKETCH = "sketch"
    STRUCTURE = "structure"
    STYLE_GUIDE = "style-guide"
    STYLE_TRANSFER = "style-transfer"

    @property
    def label(self) -> str:
        return _TASK_LABELS[self]


_TASK_LABELS = {
    Task.TEXT_TO_IMAGE: "text to image", Task.IMAGE_TO_IMAGE: "image to image",
    Task.INPAINT: "inpaint", Task.OUTPAINT: "outpaint",
    Task.SEARCH_REPLACE: "search and replace", Task.RECOLOR: "search and recolor",
    Task.REMOVE_BACKGROUND: "remove background", Task.ERASE: "erase object",
    Task.UPSCALE_FAST: "fast upscale", Task.UPSCALE_CONSERVATIVE: "conservative upscale",
    Task.UPSCALE_CREATIVE: "creative upscale", Task.SKETCH: "sketch to image",
    Task.STRUCTURE: "keep structure", Task.STYLE_GUIDE: "style guide",
    Task.STYLE_TRANSFER: "style transfer",
}

GENERATION_TASKS = frozenset({Task.TEXT_TO_IMAGE, Task.IMAGE_TO_IMAGE})

# Stability models take an aspect ratio, not a size, and answer with about one megapixel.
STABILITY_RATIOS: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024), "16:9": (1344, 768), "21:9": (1536, 640), "2:3": (832, 1216),
    "3:2": (1216, 832), "4:5": (896, 1088), "5:4": (1088, 896), "9:16": (768, 1344),
    "9:21": (640, 1536),
}
# A requested size counts as a ratio when it is this close (SDXL-style sizes such as
# 1216×832 are near 3:2, not exactly 3:2).
STABILITY_RATIO_TOLERANCE = 0.05
MAX_SEED = 4_294_967_294
PROMPT_CHARS = 10_000
STYLE_PRESETS = (
    "3d-model", "analog-film", "anime", "cinematic", "comic-book", "digital-art", "enhance",
    "fantasy-art", "isometric", "line-art", "low-poly", "modeling-compound", "neon-punk",
    "origami", "photographic", "pixel-art", "tile-texture",
)
OUTPUT_FORMATS = ("png", "jpeg", "webp")


@dataclass(frozen=True)
class ImageLimits:
    """What an input image may be: each side, total pixels, and the widest aspect ratio."""

    min_side: int = 64
    max_side: int | None = None
    min_pixels: int = 0
    max_pixels: int = 9_437_184
    max_ratio: float | None = 2.5

    def problem(self, role: str, width: int, height: int) -> str | None:
        found = []
        if min(width, height) < self.min_side:
            found.append(f"every side must be at least {self.min_side} px")
        if self.max_side is not None and max(width, height) > self.max_side:
            found.append(f"no side may pass {self.max_side:,} px")
        if width * height < self.min_pixels:
            found.append(f"it needs at least {self.min_pixels:,} pixels")
        if width * height > self.max_pixels:
            found.append(f"it may have at most {self.max_pixels:,} pixels "
                         f"(it has {width * height:,})")
        if self.max_ratio is not None and max(width, height) / min(width, height) > self.max_ratio:
            found.append(f"it may be at most {self.max_ratio:g}:1 either way")
        if not found:
            return None
        return f"The {role} is {width}×{height}: {'; '.join(found)}."


STANDARD_INPUT = ImageLimits()
# Creative Upscale: 64×64 to one megapixel in, up to 4K out.
CREATIVE_UPSCALE_INPUT = ImageLimits(min_pixels=4_096, max_pixels=1_048_576, max_ratio=None)
# Fast Upscale: 32–1,536 px a side and 1,024 to 1,048,576 pixels in; four times each side out.
FAST_UPSCALE_INPUT = ImageLimits(min_side=32, max_side=1_536, min_pixels=1_024,
                                 max_pixels=1_048_576, max_ratio=None)
# SD3.5 Large and Ultra image-to-image: every side ≥ 64 px, at most 2.5:1 either way.
IMAGE_TO_IMAGE_INPUT = ImageLimits()


@dataclass(frozen=True)
class ModelSpec:
    id: str  # the foundation model id, without an inference-profile prefix
    label: str
    tasks: frozenset[Task]
    # Where Bedrock serves the model on demand under its own id, and the cross-region
    # inference profiles (geography prefixes such as "us") that reach it elsewhere.
    regions: tuple[str, ...] = ()
    profiles: dict[str, tuple[str, ...]] | None = None
    input_limits: ImageLimits = STANDARD_INPUT
    # Stability treats seed 0 as "pick one at random", so drawn seeds start at 1.
    seeded: bool = True

    @property
    def is_service(self) -> bool:
        return not (self.tasks & GENERATION_TASKS)

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """The size the model answers with for a width×height text-to-image request."""
        ratio = stability_ratio(width, height)
        return STABILITY_RATIOS[ratio] if ratio is not None else (width, height)

    def size_problem(self, width: int, height: int) -> str | None:
        if stability_ratio(width, height) is not None:
            return None
        ratios = ", ".join(f"{r} ({w}×{h})" for r, (w, h) in STABILITY_RATIOS.items())
        return (f"{self.label} takes an aspect ratio, not a size, and {width}×{height} is not "
                f"near one it offers: {ratios}.")


def stability_ratio(width: int, height: int) -> str | None:
    """The Stability aspect ratio nearest width:height, if it is within the tolerance."""
    wanted = width / height
    name = min(STABILITY_RATIOS, key=lambda ratio: abs(_ratio_value(ratio) / wanted - 1))
    return name if abs(_ratio_value(name) / wanted - 1) <= STABILITY_RATIO_TOLERANCE else None


def _ratio_value(name: str) -> float:
    w, h = name.split(":")
    return int(w) / int(h)


# The Image Services' model cards list no single-region (on-demand) availability, only the
# US cross-region profile, which serves these three regions.
_US_PROFILE = {"us": ("us-east-1", "us-east-2", "us-west-2")}


def _service(model_id: str, label: str, task: Task, *, limits: ImageLimits = STANDARD_INPUT,
             seeded: bool = True) -> ModelSpec:
    return ModelSpec(id=model_id, label=label, tasks=frozenset({task}), profiles=_US_PROFILE,
                     input_limits=limits, seeded=seeded)


MODELS: dict[str, ModelSpec] = {spec.id: spec for spec in (
    ModelSpec(id="stability.sd3-5-large-v1:0", label="Stable Diffusion 3.5 Large",
              tasks=GENERATION_TASKS, regions=("us-west-2",)),
    ModelSpec(id="stability.stable-image-core-v1:1", label="Stable Image Core",
              tasks=frozenset({Task.TEXT_TO_IMAGE}), regions=("us-west-2",)),
    ModelSpec(id="stability.stable-image-ultra-v1:1", label="Stable Image Ultra",
              tasks=GENERATION_TASKS, regions=("us-west-2",)),
    _service("stability.stable-image-inpaint-v1:0", "Stable Image Inpaint", Task.INPAINT),
    _service("stability.stable-outpaint-v1:0", "Stable Image Outpaint", Task.OUTPAINT),
    _service("stability.stable-image-search-replace-v1:0", "Stable Image Search and Replace",
             Task.SEARCH_REPLACE),
    _service("stability.stable-image-search-recolor-v1:0", "Stable Image Search and Recolor",
             Task.RECOLOR),
    _service("stability.stable-image-remove-background-v1:0",
             "Stable Image Remove Background", Task.REMOVE_BACKGROUND, seeded=False),
    _service("stability.stable-image-erase-object-v1:0", "Stable Image Erase Object",
             Task.ERASE),
    _service("stability.stable-fast-upscale-v1:0", "Stable Image Fast Upscale",
             Task.UPSCALE_FAST, limits=FAST_UPSCALE_INPUT, seeded=False),
    _service("stability.stable-conservative-upscale-v1:0", "Stable Image Conservative Upscale",
             Task.UPSCALE_CONSERVATIVE),
    _service("stability.stable-creative-upscale-v1:0", "Stable Image Creative Upscale",
             Task.UPSCALE_CREATIVE, limits=CREATIVE_UPSCALE_INPUT),
    _service("stability.stable-image-control-sketch-v1:0", "Stable Image Control Sketch",
             Task.SKETCH),
    _service("stability.stable-image-control-structure-v1:0", "Stable Image Control Structure",
             Task.STRUCTURE),
    _service("stability.stable-image-style-guide-v1:0", "Stable Image Style Guide",
             Task.STYLE_GUIDE),
    _service("stability.stable-style-transfer-v1:0", "Stable Style Transfer",
             Task.STYLE_TRANSFER),
)}

DEFAULT_MODEL = "stability.sd3-5-large-v1:0"
DEFAULT_REGION = "us-west-2"  # where every model above can be reached
GENERATION_MODELS = tuple(m for m in MODELS.values() if not m.is_service)
SERVICE_FOR_TASK: dict[Task, ModelSpec] = {
    task: spec for spec in MODELS.values() if spec.is_service for task in spec.tasks}


def base_model_id(model_id: str) -> str:
    """The foundation model id of a model or inference-profile id ("us.stability.…")."""
    model_id = model_id.strip()
    head, _, rest = model_id.partition(".")
    if rest and head in _PROFILE_PREFIXES:
        return rest
    return model_id


_PROFILE_PREFIXES = frozenset({"us", "eu", "apac", "jp", "au", "ca", "global", "us-gov"})


def model_spec(model_id: str) -> ModelSpec:
    """The spec of a model Studio can drive; InvalidRequest naming the choices otherwise.

    Retired models are refused earlier, by the lifecycle check, with their end-of-life date.
    """
    spec = MODELS.get(base_model_id(model_id))
    if spec is None and "nova-2-omni" in model_id:
        raise InvalidRequest(
            "Amazon Nova 2 Omni makes images through Bedrock's Converse API and is in preview "
            "(announced 2025-12-02); Studio does not support it yet. Use "
            f"{DEFAULT_MODEL} or another model Studio lists.")
    if spec is None:
        known = ", ".join(f"{s.id} ({s.label})" for s in GENERATION_MODELS)
        raise InvalidRequest(
            f"Studio does not know the Bedrock model {model_id!r}, so it cannot build its "
            f"request. For generating images choose one of: {known}. Editing, upscaling and "
            "background removal are tasks (--task), not models."
        )
    return spec
