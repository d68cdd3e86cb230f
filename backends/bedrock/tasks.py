"""BedrockTask: the Bedrock-only choices a GenerationRequest has no field for.

A GenerationRequest says what to make; its mode (txt2img, img2img, inpaint) picks the task
unless a BedrockTask names another one: outpainting, background removal or colour-guided
generation. The quality tier, the palette, a mask described in words and the outpainting
mode live here too, so GenerationRequest keeps one meaning for every backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from backends.bedrock.models import TaskType
from backends.errors import InvalidRequest
from backends.types import GenerationRequest

Quality = Literal["standard", "premium"]
OutpaintingMode = Literal["DEFAULT", "PRECISE"]

MAX_COLORS = 10
MAX_MASK_PROMPT_CHARS = 1024
_HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")

_TASK_FOR_MODE = {
    "txt2img": TaskType.TEXT_IMAGE,
    "img2img": TaskType.IMAGE_VARIATION,
    "inpaint": TaskType.INPAINTING,
}


@dataclass(frozen=True)
class BedrockTask:
    """How to run requests on Bedrock beyond what GenerationRequest says.

    `type` None follows the request's mode. `colors` ("#RRGGBB", 1–10) are for
    COLOR_GUIDED_GENERATION; `mask_prompt` describes the area to change (INPAINTING) or to
    keep (OUTPAINTING) when the request has no mask image.
    """

    type: TaskType | None = None  # None: from the request (see task_for)
    quality: Quality = "standard"
    colors: tuple[str, ...] = field(default=())
    mask_prompt: str = ""
    outpainting_mode: OutpaintingMode = "DEFAULT"

    def __post_init__(self) -> None:
        if self.type is not None and not isinstance(self.type, TaskType):
            try:
                object.__setattr__(self, "type", TaskType(str(self.type).upper()))
            except ValueError:
                raise InvalidRequest(
                    f"Unknown Bedrock task {self.type!r}; choose one of "
                    f"{', '.join(t.value for t in TaskType)}.") from None
        object.__setattr__(self, "colors", tuple(self.colors))
        problems = []
        if self.quality not in ("standard", "premium"):
            problems.append(f"Quality must be 'standard' or 'premium' (got {self.quality!r}).")
        if self.outpainting_mode not in ("DEFAULT", "PRECISE"):
            problems.append("The outpainting mode must be DEFAULT or PRECISE.")
        bad = [c for c in self.colors if not isinstance(c, str) or not _HEX_COLOR.match(c)]
        if bad:
            problems.append(f"Colours must be written #RRGGBB, like #FF9800 (not {bad[0]!r}).")
        if len(self.colors) > MAX_COLORS:
            problems.append(f"Give at most {MAX_COLORS} colours (got {len(self.colors)}).")
        if len(self.mask_prompt) > MAX_MASK_PROMPT_CHARS:
            problems.append(f"The mask description is too long (at most "
                            f"{MAX_MASK_PROMPT_CHARS} characters).")
        if problems:
            raise InvalidRequest(" ".join(problems))

    def task_for(self, request: GenerationRequest) -> TaskType:
        """The named task, else the one the request and these options imply: a palette means
        colour-guided generation, a described mask on an image means inpainting."""
        if self.type is not None:
            return self.type
        if self.colors:
            return TaskType.COLOR_GUIDED_GENERATION
        if self.mask_prompt and request.mode == "img2img":
            return TaskType.INPAINTING
        return _TASK_FOR_MODE[request.mode]
