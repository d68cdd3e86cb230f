"""The Bedrock image models Studio can drive, with the limits their documented schemas set.

Sources: the Amazon Bedrock user guide's inference-parameter pages for Titan Image Generator
G1 v2, Amazon Nova Canvas, Stable Diffusion 3.5 Large, Stable Image Core and Stable Image
Ultra. A model missing here cannot be used: every model's request body is different.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from backends.errors import InvalidRequest


class TaskType(StrEnum):
    """What the model is asked to do. The names are Titan's and Nova's `taskType` values."""

    TEXT_IMAGE = "TEXT_IMAGE"
    IMAGE_VARIATION = "IMAGE_VARIATION"
    INPAINTING = "INPAINTING"
    OUTPAINTING = "OUTPAINTING"
    BACKGROUND_REMOVAL = "BACKGROUND_REMOVAL"
    COLOR_GUIDED_GENERATION = "COLOR_GUIDED_GENERATION"

    @property
    def label(self) -> str:
        return _TASK_LABELS[self]


_TASK_LABELS = {
    TaskType.TEXT_IMAGE: "text-to-image",
    TaskType.IMAGE_VARIATION: "image variation",
    TaskType.INPAINTING: "inpainting",
    TaskType.OUTPAINTING: "outpainting",
    TaskType.BACKGROUND_REMOVAL: "background removal",
    TaskType.COLOR_GUIDED_GENERATION: "colour-guided generation",
}

SizeRule = Literal["titan", "nova", "aspect_ratio"]

# Titan Image Generator v2 takes only these sizes. The guide also lists 1173×640, which a
# GenerationRequest cannot ask for (sides are multiples of 8), so it is left out.
TITAN_SIZES: tuple[tuple[int, int], ...] = (
    (1024, 1024), (768, 768), (512, 512), (768, 1152), (384, 576), (1152, 768), (576, 384),
    (768, 1280), (384, 640), (1280, 768), (640, 384), (896, 1152), (448, 576), (1152, 896),
    (576, 448), (768, 1408), (384, 704), (1408, 768), (704, 384), (640, 1408), (320, 704),
    (1408, 640), (704, 320), (1152, 640),
)

# Nova Canvas: each side 320–4096 px in steps of 16, at most 4:1 either way, ≤ 4.19 MP.
NOVA_MIN_SIDE, NOVA_MAX_SIDE, NOVA_SIDE_STEP = 320, 4096, 16
NOVA_MAX_PIXELS = 4_194_304
NOVA_MAX_RATIO = 4.0

# Stability models take an aspect ratio, not a size, and answer with about one megapixel.
STABILITY_RATIOS: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024), "16:9": (1344, 768), "21:9": (1536, 640), "2:3": (832, 1216),
    "3:2": (1216, 832), "4:5": (896, 1088), "5:4": (1088, 896), "9:16": (768, 1344),
    "9:21": (640, 1536),
}
# A requested size counts as a ratio when it is this close (SDXL-style sizes such as
# 1216×832 are near 3:2, not exactly 3:2).
STABILITY_RATIO_TOLERANCE = 0.05
# Image-to-image inputs: every side ≥ 64 px, at most 2.5:1 either way.
STABILITY_MIN_INPUT_SIDE = 64
STABILITY_MAX_INPUT_RATIO = 2.5

AMAZON_TASKS = frozenset(TaskType)


@dataclass(frozen=True)
class ModelSpec:
    id: str
    label: str
    family: Literal["amazon", "stability"]
    tasks: frozenset[TaskType]
    prompt_chars: int
    negative_chars: int
    max_seed: int
    size_rule: SizeRule
    regions: tuple[str, ...]  # where the model is offered on demand, for error hints
    qualities: tuple[str, ...] = ("standard",)
    cfg_range: tuple[float, float] | None = None  # None: the model takes no cfg scale
    # Stability treats seed 0 as "pick one at random", so drawn seeds start at 1.
    min_seed: int = 0

    def size_problem(self, width: int, height: int) -> str | None:
        """Why this model cannot make a width×height image, with sizes that would work."""
        if self.size_rule == "titan":
            if (width, height) in TITAN_SIZES:
                return None
            return (f"{self.label} makes only fixed sizes and {width}×{height} is not one; "
                    f"the closest are {_closest_titan(width, height)}.")
        if self.size_rule == "nova":
            return _nova_size_problem(self.label, width, height)
        if stability_ratio(width, height) is None:
            ratios = ", ".join(f"{r} ({w}×{h})" for r, (w, h) in STABILITY_RATIOS.items())
            return (f"{self.label} takes an aspect ratio, not a size, and {width}×{height} "
                    f"is not near one it offers: {ratios}.")
        return None

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """The size the model answers with for a width×height text-to-image request."""
        if self.size_rule == "aspect_ratio":
            ratio = stability_ratio(width, height)
            if ratio is not None:
                return STABILITY_RATIOS[ratio]
        return width, height


def stability_ratio(width: int, height: int) -> str | None:
    """The Stability aspect ratio nearest width:height, if it is within the tolerance."""
    wanted = width / height
    name = min(STABILITY_RATIOS, key=lambda ratio: abs(_ratio_value(ratio) / wanted - 1))
    return name if abs(_ratio_value(name) / wanted - 1) <= STABILITY_RATIO_TOLERANCE else None


def _ratio_value(name: str) -> float:
    w, h = name.split(":")
    return int(w) / int(h)


def _closest_titan(width: int, height: int) -> str:
    wanted = width / height
    ranked = sorted(TITAN_SIZES, key=lambda s: (abs(s[0] / s[1] - wanted),
                                                abs(s[0] * s[1] - width * height)))
    return ", ".join(f"{w}×{h}" for w, h in ranked[:3])


def _nova_size_problem(label: str, width: int, height: int) -> str | None:
    problems = []
    for name, side in (("width", width), ("height", height)):
        if not NOVA_MIN_SIDE <= side <= NOVA_MAX_SIDE:
            problems.append(f"the {name} must be {NOVA_MIN_SIDE}–{NOVA_MAX_SIDE} px")
        elif side % NOVA_SIDE_STEP:
            lower = side - side % NOVA_SIDE_STEP
            problems.append(f"the {name} must be a multiple of {NOVA_SIDE_STEP} "
                            f"(try {lower} or {lower + NOVA_SIDE_STEP})")
    if max(width, height) / min(width, height) > NOVA_MAX_RATIO:
        problems.append("the sides may differ by at most 4:1")
    if width * height > NOVA_MAX_PIXELS:
        problems.append("the image may have at most 4,194,304 pixels (2048×2048)")
    if not problems:
        return None
    return f"{label} cannot make {width}×{height}: {'; '.join(problems)}."


MODELS: dict[str, ModelSpec] = {spec.id: spec for spec in (
    ModelSpec(
        id="amazon.titan-image-generator-v2:0", label="Titan Image Generator v2",
        family="amazon", tasks=AMAZON_TASKS, prompt_chars=512, negative_chars=512,
        max_seed=2_147_483_646, size_rule="titan", regions=("us-east-1", "us-west-2"),
        qualities=("standard", "premium"), cfg_range=(1.1, 10.0),
    ),
    ModelSpec(
        id="amazon.nova-canvas-v1:0", label="Nova Canvas", family="amazon",
        tasks=AMAZON_TASKS, prompt_chars=1024, negative_chars=1024, max_seed=858_993_459,
        size_rule="nova", regions=("us-east-1", "eu-west-1", "ap-northeast-1"),
        qualities=("standard", "premium"), cfg_range=(1.1, 10.0),
    ),
    ModelSpec(
        id="stability.sd3-5-large-v1:0", label="Stable Diffusion 3.5 Large",
        family="stability",
        tasks=frozenset({TaskType.TEXT_IMAGE, TaskType.IMAGE_VARIATION}),
        prompt_chars=10_000, negative_chars=10_000, max_seed=4_294_967_294,
        size_rule="aspect_ratio", regions=("us-west-2",), min_seed=1,
    ),
    ModelSpec(
        id="stability.stable-image-core-v1:1", label="Stable Image Core", family="stability",
        tasks=frozenset({TaskType.TEXT_IMAGE}), prompt_chars=10_000, negative_chars=10_000,
        max_seed=4_294_967_294, size_rule="aspect_ratio", regions=("us-west-2",), min_seed=1,
    ),
    ModelSpec(
        id="stability.stable-image-ultra-v1:1", label="Stable Image Ultra", family="stability",
        tasks=frozenset({TaskType.TEXT_IMAGE, TaskType.IMAGE_VARIATION}),
        prompt_chars=10_000, negative_chars=10_000, max_seed=4_294_967_294,
        size_rule="aspect_ratio", regions=("us-west-2",), min_seed=1,
    ),
)}

DEFAULT_MODEL = "amazon.nova-canvas-v1:0"


def model_spec(model_id: str) -> ModelSpec:
    spec = MODELS.get(model_id.strip())
    if spec is None:
        known = ", ".join(f"{s.id} ({s.label})" for s in MODELS.values())
        raise InvalidRequest(
            f"Studio does not know the Bedrock model {model_id!r}, so it cannot build its "
            f"request. Choose one of: {known}."
        )
    return spec
