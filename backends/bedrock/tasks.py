"""BedrockTask: the task to run and the Bedrock-only choices a GenerationRequest has no field
for (the text to search for, mask growth, creativity, outpaint margins, a style image…).

A GenerationRequest says what to make; its mode (txt2img, img2img) picks text-to-image or
image-to-image unless a BedrockTask names another task. Every value is checked against the
documented ranges when the task is built, so a bad one never costs a request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from backends.bedrock.models import (
    GENERATION_TASKS,
    OUTPUT_FORMATS,
    PROMPT_CHARS,
    STYLE_PRESETS,
    Task,
)
from backends.errors import InvalidRequest
from backends.types import GenerationRequest, TaskInfo

MAX_GROW_MASK = 20
MAX_OUTPAINT_MARGIN = 2000
# (low, high) creativity per task, from the services' parameter pages.
CREATIVITY_RANGES = {Task.UPSCALE_CREATIVE: (0.1, 0.5), Task.UPSCALE_CONSERVATIVE: (0.1, 0.5),
                     Task.OUTPAINT: (0.1, 1.0)}
MARGIN_SIDES = ("left", "right", "up", "down")


@dataclass(frozen=True)
class Margins:
    """How many pixels Outpaint adds on each side (0–2000 each, at least one above 0)."""

    left: int = 0
    right: int = 0
    up: int = 0
    down: int = 0

    @classmethod
    def parse(cls, text: str) -> Margins:
        """'left=256,right=256' (any of left, right, up, down); InvalidRequest otherwise."""
        values: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            side, _, number = part.partition("=")
            side = side.strip().lower()
            if side not in MARGIN_SIDES or not number.strip().isdigit():
                raise InvalidRequest(f"Write outpaint margins like 'left=256,right=256' (sides: "
                                     f"{', '.join(MARGIN_SIDES)}); {part!r} is not one.")
            values[side] = int(number)
        return cls(**values)

    def as_dict(self) -> dict[str, int]:
        return {side: getattr(self, side) for side in MARGIN_SIDES if getattr(self, side)}

    def any(self) -> bool:
        return bool(self.as_dict())


@dataclass(frozen=True)
class BedrockTask:
    """How to run requests on Bedrock beyond what GenerationRequest says.

    `task` None follows the request: image-to-image with an init image, else text to image.
    The other fields are used only by the tasks that take them (see TASK_OPTIONS); giving
    one to a task that does not take it is refused rather than silently dropped.
    """

    task: Task | None = None
    search: str = ""  # search-replace: what to replace; recolor: what to recolour
    grow_mask: int | None = None  # 0–20 px; inpaint, erase, search-replace, recolor
    creativity: float | None = None  # see CREATIVITY_RANGES
    margins: Margins = field(default_factory=Margins)
    control_strength: float | None = None  # 0–1; sketch, structure
    fidelity: float | None = None  # 0–1; style guide: how closely to follow the style
    style_image: Image.Image | None = field(default=None, repr=False)  # style transfer
    style_strength: float | None = None  # 0–1; style transfer
    composition_fidelity: float | None = None  # 0–1; style transfer
    change_strength: float | None = None  # 0.1–1; style transfer
    style_preset: str = ""
    output_format: str = "png"
    # Tasks whose prompt is optional (outpaint, upscales, style transfer) send the request's
    # prompt only if the user wrote one; the CLI records the task's name when they did not.
    send_prompt: bool = True

    def __post_init__(self) -> None:
        if self.task is not None and not isinstance(self.task, Task):
            try:
                object.__setattr__(self, "task", Task(str(self.task).strip().lower()))
            except ValueError:
                raise InvalidRequest(f"Unknown Bedrock task {self.task!r}; choose one of "
                                     f"{', '.join(t.value for t in Task)}.") from None
        problems = self._value_problems()
        if self.task is not None:
            problems.extend(self._unused_options())
        if problems:
            raise InvalidRequest(" ".join(problems))

    def task_for(self, request: GenerationRequest) -> Task:
        if self.task is not None:
            return self.task
        return Task.TEXT_TO_IMAGE if request.init_image is None else Task.IMAGE_TO_IMAGE

    def given(self) -> set[str]:
        """The names of the options set away from their defaults."""
        return {name for name, default in _DEFAULTS.items() if getattr(self, name) != default}

    def _value_problems(self) -> list[str]:
        problems = []
        if self.grow_mask is not None and not 0 <= self.grow_mask <= MAX_GROW_MASK:
            problems.append(f"grow_mask must be 0 to {MAX_GROW_MASK} pixels "
                            f"(got {self.grow_mask}).")
        for name in ("control_strength", "fidelity", "style_strength", "composition_fidelity"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                problems.append(f"{name} must be from 0 to 1 (got {value:g}).")
        if self.change_strength is not None and not 0.1 <= self.change_strength <= 1.0:
            problems.append(f"change_strength must be from 0.1 to 1 "
                            f"(got {self.change_strength:g}).")
        if self.creativity is not None:
            low, high = CREATIVITY_RANGES.get(self.task, (0.1, 1.0)) if self.task else (0.1, 1.0)
            if not low <= self.creativity <= high:
                where = f" for {self.task.label}" if self.task else ""
                problems.append(f"creativity must be from {low:g} to {high:g}{where} "
                                f"(got {self.creativity:g}).")
        bad = [s for s in MARGIN_SIDES if not 0 <= getattr(self.margins, s) <= MAX_OUTPAINT_MARGIN]
        if bad:
            problems.append(f"Outpaint margins must be 0 to {MAX_OUTPAINT_MARGIN} pixels "
                            f"({', '.join(bad)} is not).")
        if len(self.search) > PROMPT_CHARS:
            problems.append(f"The search text may have at most {PROMPT_CHARS:,} characters.")
        if self.style_preset and self.style_preset not in STYLE_PRESETS:
            problems.append(f"Unknown style preset {self.style_preset!r}; choose one of "
                            f"{', '.join(STYLE_PRESETS)}.")
        if self.output_format not in OUTPUT_FORMATS:
            problems.append(f"The output format must be one of {', '.join(OUTPUT_FORMATS)}.")
        return problems

    def _unused_options(self) -> list[str]:
        assert self.task is not None
        unused = sorted(self.given() - TASK_OPTIONS[self.task])
        if not unused:
            return []
        takes = sorted(TASK_OPTIONS[self.task] - {"output_format"})
        return [f"{self.task.label.capitalize()} does not take {', '.join(unused)}"
                + (f"; it takes {', '.join(takes)}." if takes else ".")]


_DEFAULTS: dict[str, Any] = {
    "search": "", "grow_mask": None, "creativity": None, "margins": Margins(),
    "control_strength": None, "fidelity": None, "style_image": None, "style_strength": None,
    "composition_fidelity": None, "change_strength": None, "style_preset": "",
    "output_format": "png",
}
_SEEDED = {"output_format"}
TASK_OPTIONS: dict[Task, set[str]] = {
    Task.TEXT_TO_IMAGE: set(_SEEDED),
    Task.IMAGE_TO_IMAGE: set(_SEEDED),
    Task.INPAINT: _SEEDED | {"grow_mask", "style_preset"},
    Task.OUTPAINT: _SEEDED | {"margins", "creativity", "style_preset"},
    Task.SEARCH_REPLACE: _SEEDED | {"search", "grow_mask", "style_preset"},
    Task.RECOLOR: _SEEDED | {"search", "grow_mask", "style_preset"},
    Task.REMOVE_BACKGROUND: {"output_format"},
    Task.ERASE: _SEEDED | {"grow_mask"},
    Task.UPSCALE_FAST: {"output_format"},
    Task.UPSCALE_CONSERVATIVE: _SEEDED | {"creativity"},
    Task.UPSCALE_CREATIVE: _SEEDED | {"creativity", "style_preset"},
    Task.SKETCH: _SEEDED | {"control_strength", "style_preset"},
    Task.STRUCTURE: _SEEDED | {"control_strength", "style_preset"},
    Task.STYLE_GUIDE: _SEEDED | {"fidelity", "style_preset"},
    Task.STYLE_TRANSFER: _SEEDED | {"style_image", "style_strength", "composition_fidelity",
                                    "change_strength"},
}


def _info(task: Task, description: str, prompt: str, *, image: bool = True, mask: bool = False,
          search: bool = False, style_image: bool = False,
          seeded: bool = True) -> tuple[Task, TaskInfo]:
    options = frozenset(TASK_OPTIONS[task] - {"output_format", "search", "style_image"})
    presets = STYLE_PRESETS if "style_preset" in options else ()
    return task, TaskInfo(task.value, task.label, description, prompt, image, mask, search,
                          style_image, seeded, options, task in GENERATION_TASKS, presets)


TASK_INFO: dict[Task, TaskInfo] = dict((
    _info(Task.TEXT_TO_IMAGE, "A new image from the prompt.", "required", image=False),
    _info(Task.IMAGE_TO_IMAGE, "A new image from the prompt and an input image.", "required"),
    _info(Task.INPAINT, "Repaint the masked area (white) from the prompt.", "required",
          mask=True),
    _info(Task.OUTPAINT, "Extend the image on any side; the original pixels stay.",
          "optional"),
    _info(Task.SEARCH_REPLACE, "Find an object by words and replace it with the prompt.",
          "required", search=True),
    _info(Task.RECOLOR, "Find an object by words and recolour it as the prompt says.",
          "required", search=True),
    _info(Task.REMOVE_BACKGROUND, "Cut the subject out on a transparent background.", "none",
          seeded=False),
    _info(Task.ERASE, "Remove what the mask covers and fill in the background.", "none",
          mask=True),
    _info(Task.UPSCALE_FAST, "Four times the size, quickly.", "none", seeded=False),
    _info(Task.UPSCALE_CONSERVATIVE, "Up to 4K, changing as little as possible.", "optional"),
    _info(Task.UPSCALE_CREATIVE, "Up to 4K from a small or degraded image, adding detail.",
          "optional"),
    _info(Task.SKETCH, "An image that follows a sketch's lines.", "required"),
    _info(Task.STRUCTURE, "An image that keeps the input's structure.", "required"),
    _info(Task.STYLE_GUIDE, "A new image in the input image's style.", "required"),
    _info(Task.STYLE_TRANSFER, "The input restyled like a second (style) image.", "optional",
          style_image=True),
))
