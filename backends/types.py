"""The request/result vocabulary shared by every backend, the CLI, the UI and the PNG metadata."""

from __future__ import annotations

import dataclasses
import io
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from PIL import Image, UnidentifiedImageError

from backends.errors import Cancelled, InvalidRequest

MAX_SEED = 2**32 - 1
MIN_SIDE = 64
MAX_SIDE = 4096
SIDE_MULTIPLE = 8
MAX_STEPS = 500
MAX_COUNT = 16
MAX_PROMPT_CHARS = 10_000
MAX_INPUT_PIXELS = 64_000_000
MAX_LORAS = 8
# How much acceleration a local or endpoint run gets (backends/local/speed.py):
# exact keeps today's numerics, fast changes them negligibly, fastest trades a little.
SPEEDS = ("exact", "fast", "fastest")
MAX_LORA_WEIGHT = 5.0

SCHEDULERS: dict[str, str] = {
    # our name -> the A1111 sampler name written into PNG metadata
    "euler": "Euler",
    "euler_a": "Euler a",
    "heun": "Heun",
    "dpm++_2m": "DPM++ 2M",
    "dpm++_2m_karras": "DPM++ 2M Karras",
    "dpm++_sde_karras": "DPM++ SDE Karras",
    "ddim": "DDIM",
    "pndm": "PLMS",
    "unipc": "UniPC",
    "lcm": "LCM",
}


def random_seed() -> int:
    return random.SystemRandom().randint(0, MAX_SEED)


def load_image(path: str | Path, *, role: str = "init image") -> Image.Image:
    """Open an image file fully, turning every way it can be unusable into an InvalidRequest."""
    path = Path(path)
    if not path.is_file():
        raise InvalidRequest(f"The {role} {str(path)!r} does not exist or is not a file.")
    try:
        with Image.open(path) as opened:
            if opened.width * opened.height > MAX_INPUT_PIXELS:
                raise InvalidRequest(
                    f"The {role} {path.name!r} is {opened.width}×{opened.height}; "
                    f"images above {MAX_INPUT_PIXELS // 1_000_000} megapixels are not accepted."
                )
            opened.load()
            return opened.copy()
    except InvalidRequest:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidRequest(
            f"The {role} {path.name!r} could not be read as an image ({exc}). "
            "Use a PNG, JPEG or WebP file."
        ) from exc


def decode_image(data: bytes, *, role: str = "init image") -> Image.Image:
    """Decode image bytes (a request body, the clipboard) with the checks of load_image."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_INPUT_PIXELS:
                raise InvalidRequest(f"The {role} is too large ({opened.width}×{opened.height}).")
            opened.load()
            return opened.copy()
    except InvalidRequest:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidRequest(f"The {role} could not be decoded as an image ({exc}).") from exc


@dataclass(frozen=True)
class LoraRef:
    """A LoRA to apply: a .safetensors file or a hub id, and its weight (A1111's <lora:NAME:W>).

    `name` is what A1111 writes between the angle brackets: the file's stem or the hub id.
    """

    source: str
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise InvalidRequest("A LoRA needs a file or a hub id.")
        if "<" in self.source or ">" in self.source or "\n" in self.source:
            raise InvalidRequest(f"{self.source!r} is not a LoRA file or hub id.")
        if isinstance(self.weight, bool) or not isinstance(self.weight, int | float) or not (
            -MAX_LORA_WEIGHT <= self.weight <= MAX_LORA_WEIGHT
        ):
            raise InvalidRequest(f"A LoRA weight must be a number from -{MAX_LORA_WEIGHT:g} to "
                                 f"{MAX_LORA_WEIGHT:g} (got {self.weight!r}).")

    @property
    def name(self) -> str:
        path = Path(self.source)
        return path.stem if path.suffix.lower() == ".safetensors" else self.source

    @classmethod
    def parse(cls, text: str) -> LoraRef:
        """`PATH_OR_HUB_ID[:WEIGHT]`, as the CLI takes it; a Windows drive colon is kept."""
        source, weight = text.strip(), 1.0
        head, sep, tail = source.rpartition(":")
        if sep and head and not tail.startswith(("\\", "/")):
            try:
                weight = float(tail)
            except ValueError:
                raise InvalidRequest(
                    f"In the LoRA {text!r}, {tail!r} after the last ':' is not a weight; "
                    "write PATH_OR_HUB_ID or PATH_OR_HUB_ID:WEIGHT, e.g. style.safetensors:0.8."
                ) from None
            source = head
        return cls(source, weight)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "name": self.name, "weight": self.weight}

    @classmethod
    def many_from_data(cls, data: Any) -> tuple[LoraRef, ...]:
        if not isinstance(data, list | tuple):
            raise InvalidRequest("`loras` must be a list of {source, weight} objects.")
        refs = []
        for item in data:
            if isinstance(item, LoraRef):
                refs.append(item)
            elif isinstance(item, dict) and "source" in item:
                refs.append(cls(item["source"], item.get("weight", 1.0)))
            elif isinstance(item, list | tuple) and len(item) == 2:  # a spec's (source, weight)
                refs.append(cls(*item))
            else:
                raise InvalidRequest("Each LoRA must be an object with a `source` and a `weight`.")
        return tuple(refs)


@dataclass(frozen=True, eq=False)
class GenerationRequest:
    """What the user asked for. Validated when built, so a bad value never reaches a backend.

    A `seed` of None means "draw one"; `with_resolved_seed()` draws it so that what is
    recorded can always be reproduced. Image i of a request uses seed + i.
    """

    prompt: str
    negative_prompt: str = ""
    model: str = ""
    seed: int | None = None
    steps: int | None = None  # None: the model's own default (its family profile)
    guidance: float | None = None  # None: the model's own default
    width: int = 1024
    height: int = 1024
    count: int = 1
    scheduler: str | None = None
    init_image: Image.Image | None = field(default=None, repr=False)
    strength: float = 0.75
    mask: Image.Image | None = field(default=None, repr=False)
    # The prompt is an instruction about init_image ("make the background marble"), run on
    # a model that edits by words (Qwen-Image-Edit, FLUX.1 Kontext, FLUX.2).
    edit: bool = False
    loras: tuple[LoraRef, ...] = ()
    speed: str = "exact"

    def __post_init__(self) -> None:
        if not (isinstance(self.loras, tuple)
                and all(isinstance(lora, LoraRef) for lora in self.loras)):
            # Saved requests (a batch job's spec, a PNG's JSON) carry LoRAs as plain objects.
            object.__setattr__(self, "loras", LoraRef.many_from_data(self.loras))
        problems = self._problems()
        if problems:
            raise InvalidRequest(" ".join(problems))
        if self.init_image is not None and self.init_image.mode != "RGB":
            object.__setattr__(self, "init_image", self.init_image.convert("RGB"))
        if self.mask is not None and self.mask.mode != "L":
            object.__setattr__(self, "mask", self.mask.convert("L"))

    def _problems(self) -> list[str]:
        problems: list[str] = []
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            problems.append("Write a prompt: it cannot be empty.")
        elif len(self.prompt) > MAX_PROMPT_CHARS:
            problems.append(f"The prompt is too long ({len(self.prompt)} characters, "
                            f"at most {MAX_PROMPT_CHARS}).")
        if len(self.negative_prompt) > MAX_PROMPT_CHARS:
            problems.append("The negative prompt is too long.")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
            or not 0 <= self.seed <= MAX_SEED
        ):
            problems.append(f"The seed must be a whole number from 0 to {MAX_SEED}.")
        if self.steps is not None and (
            isinstance(self.steps, bool) or not isinstance(self.steps, int)
            or not 1 <= self.steps <= MAX_STEPS
        ):
            problems.append(
                f"Steps must be a whole number from 1 to {MAX_STEPS} (got {self.steps}).")
        if self.guidance is not None and (
            isinstance(self.guidance, bool) or not isinstance(self.guidance, int | float)
            or not 0.0 <= self.guidance <= 30.0
        ):
            problems.append(f"Guidance (CFG scale) must be between 0 and 30 (got {self.guidance}).")
        for name in ("width", "height"):
            side = getattr(self, name)
            if isinstance(side, bool) or not isinstance(side, int) or not (
                MIN_SIDE <= side <= MAX_SIDE
            ):
                problems.append(f"The {name} must be between {MIN_SIDE} and {MAX_SIDE} pixels "
                                f"(got {side}).")
            elif side % SIDE_MULTIPLE:
                lower = side - side % SIDE_MULTIPLE
                problems.append(f"The {name} must be a multiple of {SIDE_MULTIPLE} pixels: "
                                f"{side} is not; try {lower} or {lower + SIDE_MULTIPLE}.")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or not (
            1 <= self.count <= MAX_COUNT
        ):
            problems.append(f"The image count must be from 1 to {MAX_COUNT} (got {self.count}).")
        if self.scheduler is not None and self.scheduler not in SCHEDULERS:
            problems.append(f"Unknown sampler {self.scheduler!r}; choose one of "
                            f"{', '.join(SCHEDULERS)}.")
        if self.init_image is not None:
            if not isinstance(self.init_image, Image.Image):
                problems.append("The init image must be a decoded image.")
            elif not 0.0 < self.strength <= 1.0:
                problems.append(f"Strength must be above 0 and at most 1 (got {self.strength}).")
        if self.mask is not None:
            if self.init_image is None:
                problems.append("A mask needs an init image to apply to.")
            elif not isinstance(self.mask, Image.Image) or self.mask.size != self.init_image.size:
                problems.append("The mask must be an image of the same size as the init image.")
        if self.edit and self.init_image is None:
            problems.append("An edit by words needs the image to edit (an init image).")
        if self.edit and self.mask is not None:
            problems.append("An edit by words changes the whole image as the words say; it "
                            "takes no mask. Use inpainting to change only a masked area.")
        if self.speed not in SPEEDS:
            problems.append(f"Unknown speed {self.speed!r}; choose one of {', '.join(SPEEDS)}.")
        if len(self.loras) > MAX_LORAS:
            problems.append(f"At most {MAX_LORAS} LoRAs can be stacked (got {len(self.loras)}).")
        elif len({lora.name for lora in self.loras}) != len(self.loras):
            problems.append("The same LoRA is listed twice; give it once with one weight.")
        return problems

    @property
    def mode(self) -> str:
        if self.mask is not None:
            return "inpaint"
        if self.edit:
            return "edit"
        if self.init_image is not None:
            return "img2img"
        return "txt2img"

    @property
    def scheduler_label(self) -> str:
        return SCHEDULERS.get(self.scheduler or "", "Default")

    def with_resolved_seed(self) -> GenerationRequest:
        return self if self.seed is not None else self.replace(seed=random_seed())

    def image_seeds(self) -> list[int]:
        if self.seed is None:
            raise ValueError("resolve the seed first (with_resolved_seed)")
        return [(self.seed + i) % (MAX_SEED + 1) for i in range(self.count)]

    def replace(self, **changes: Any) -> GenerationRequest:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field but the pixel data, which is summarised by size (it lives in the library)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in ("init_image", "mask")}
        data["mode"] = self.mode
        data["init_image_size"] = list(self.init_image.size) if self.init_image else None
        data["mask_size"] = list(self.mask.size) if self.mask else None
        if self.init_image is None or self.edit:
            data.pop("strength")
        if not self.edit:
            data.pop("edit")
        data["loras"] = [lora.to_dict() for lora in self.loras]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationRequest:
        known = {f.name for f in dataclasses.fields(cls)} - {"init_image", "mask"}
        unknown = set(data) - known - {"mode", "init_image_size", "mask_size"}
        if unknown:
            raise InvalidRequest(f"Unknown request fields: {', '.join(sorted(unknown))}.")
        return cls(**{k: v for k, v in data.items() if k in known})


def refuse_local_only(request: GenerationRequest, backend_label: str, *,
                      edits: bool = False) -> None:
    """LoRAs (and, where `edits` is False, editing by words) run on the local GPU only."""
    if request.loras:
        raise InvalidRequest(f"LoRAs run on the local GPU backend; {backend_label} cannot "
                             "apply them. Switch to the local backend or leave out the LoRAs.")
    if request.edit and not edits:
        raise InvalidRequest(f"{backend_label} does not edit by words. Use the local backend "
                             "with Qwen-Image-Edit, FLUX.1 Kontext or FLUX.2, or an inpainting "
                             "task with a mask.")


@dataclass(frozen=True)
class Timings:
    """Where the seconds went. Parts that do not apply to a backend stay 0."""

    load_s: float = 0.0
    queue_s: float = 0.0
    network_s: float = 0.0
    inference_s: float = 0.0
    decode_s: float = 0.0
    total_s: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> Timings:
        return cls(**{f.name: float(data.get(f.name, 0.0)) for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class Cost:
    """Money for a run, with the one sentence that explains how it was worked out."""

    usd: float
    basis: str
    estimated: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"usd": self.usd, "basis": self.basis, "estimated": self.estimated}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cost:
        return cls(usd=float(data["usd"]), basis=str(data["basis"]),
                   estimated=bool(data.get("estimated", True)))


@dataclass(frozen=True, eq=False)
class GeneratedImage:
    image: Image.Image = field(repr=False)
    seed: int


@dataclass(frozen=True, eq=False)
class GenerationResult:
    """What came back: the images and everything needed to explain and repeat them.

    `cost` covers the whole run; `cost_per_image` divides it evenly, as every image of
    a run shares the same pass through the model.
    """

    request: GenerationRequest
    images: tuple[GeneratedImage, ...]
    timings: Timings
    cost: Cost
    backend: str
    model: str
    device: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The model's family ("flux1", "sdxl"…) and licence, where the backend knows them.
    family: str = ""
    licence: str = ""
    commercial_use: bool | None = None
    # What the speed profile applied and what fell back ("attention: FlashAttention-3",
    # "not applied: fp8: needs torchao"), where the backend has speed profiles.
    accelerations: tuple[str, ...] = ()
    # A real photograph's pixels are composited in (product scenes): AI disclosure says so.
    composite: bool = False

    @property
    def cost_per_image(self) -> float:
        return self.cost.usd / max(1, len(self.images))


@dataclass(frozen=True)
class Progress:
    """One step of work. `phase` is 'download', 'load' or 'denoise'; preview is optional."""

    phase: str
    step: int
    total: int
    message: str = ""
    preview: Image.Image | None = field(default=None, repr=False)

    @property
    def fraction(self) -> float:
        return self.step / self.total if self.total else 0.0


ProgressCallback = Callable[[Progress], None]


class CancelToken:
    """Set from any thread; the backend checks it between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("Generation cancelled.")


@dataclass(frozen=True)
class TaskInfo:
    """An edit or generation task a backend offers beyond plain generation, and its inputs.

    `prompt` is "required", "optional" or "none"; the flags say which inputs the task needs;
    `options` names the task's own settings (e.g. "grow_mask", "margins"), which the CLI and
    the parameters panel offer only where they apply.
    """

    name: str
    label: str
    description: str
    prompt: str
    image: bool
    mask: bool = False
    search: bool = False
    style_image: bool = False
    seeded: bool = True
    options: frozenset[str] = frozenset()
    plain: bool = False  # plain generation with the chosen model, not a task of its own
    style_presets: tuple[str, ...] = ()  # the values its style_preset option takes


@dataclass(frozen=True)
class BackendInfo:
    """How a backend presents itself in the status bar, the CLI and history."""

    name: str
    label: str
    device: str
    available: bool
    detail: str = ""


@runtime_checkable
class Backend(Protocol):
    """The one interface every backend implements.

    `generate` raises InvalidRequest, BackendUnavailable, TransientError or Cancelled.
    """

    name: str

    def describe(self) -> BackendInfo: ...

    def estimate_cost(self, request: GenerationRequest) -> Cost: ...

    def generate(
        self,
        request: GenerationRequest,
        on_progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenerationResult: ...
