"""Model families as data (resources/models/families.json): defaults, limits, licence.

A family profile says what a family's models need when the user sets nothing (steps,
guidance), what they accept (samplers, modes, sizes, a negative prompt) and under which
licence they come. A variant (FLUX.1 schnell, SDXL Turbo…) overrides some of its family's
values. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from backends.errors import InvalidRequest
from backends.resources import resources_dir
from backends.types import SCHEDULERS, GenerationRequest

FAMILIES_FILE = Path("models") / "families.json"
# For a model of no known family: the classic Stable Diffusion defaults.
GENERIC_STEPS = 30
GENERIC_GUIDANCE = 7.0
UNKNOWN_LICENCE = "unknown: check the model card"
MODE_LABELS = {"txt2img": "text to image", "img2img": "image to image", "inpaint": "inpainting",
               "edit": "editing by words"}


@dataclass(frozen=True)
class FamilyProfile:
    family: str  # "flux1", "sdxl"…
    variant: str  # "" for the family's main models, else "schnell", "turbo"…
    label: str
    steps: int
    guidance: float
    guidance_kind: str  # cfg | distilled | true_cfg | none
    negative_prompt: bool
    size_multiple: int
    min_side: int
    max_side: int
    native_side: int
    samplers: tuple[str, ...]
    modes: tuple[str, ...]
    licence: str
    commercial: bool
    licence_note: str
    reference_repo: str

    @property
    def name(self) -> str:
        """The family with its variant, e.g. "flux1-schnell"; what history and JSON record."""
        return f"{self.family}-{self.variant}" if self.variant else self.family

    def with_defaults(self, request: GenerationRequest) -> GenerationRequest:
        """The request with this family's steps and guidance where the user set none."""
        changes: dict[str, Any] = {}
        if request.steps is None:
            changes["steps"] = self.steps
        if request.guidance is None:
            changes["guidance"] = self.guidance
        return request.replace(**changes) if changes else request

    def problems(self, request: GenerationRequest) -> list[str]:
        """Why this family cannot run the request as asked, each with what it can do instead."""
        problems: list[str] = []
        if request.scheduler is not None and request.scheduler not in self.samplers:
            allowed = ", ".join(self.samplers)
            problems.append(f"{self.label} cannot use the sampler {request.scheduler!r}; "
                            f"it runs with: {allowed} (or leave the sampler unset for the "
                            "model's own).")
        if request.mode not in self.modes:
            problems.append(f"{self.label} cannot do {MODE_LABELS[request.mode]}; it does "
                            f"{', '.join(MODE_LABELS[m] for m in self.modes)}.")
        if request.negative_prompt.strip() and not self.negative_prompt:
            problems.append(f"{self.label} takes no negative prompt: it is guidance-distilled. "
                            "Remove the negative prompt, or describe what you want instead.")
        for name in ("width", "height"):
            side = getattr(request, name)
            if side % self.size_multiple:
                lower = side - side % self.size_multiple
                problems.append(f"{self.label} needs the {name} to be a multiple of "
                                f"{self.size_multiple}: {side} is not; try {lower} or "
                                f"{lower + self.size_multiple}.")
            elif not self.min_side <= side <= self.max_side:
                problems.append(f"{self.label} makes images from {self.min_side} to "
                                f"{self.max_side} pixels a side (the {name} is {side}).")
        return problems

    def check(self, request: GenerationRequest) -> None:
        problems = self.problems(request)
        if problems:
            raise InvalidRequest(" ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["name"] = self.name
        return data


def with_generic_defaults(request: GenerationRequest) -> GenerationRequest:
    return request.replace(
        steps=GENERIC_STEPS if request.steps is None else request.steps,
        guidance=GENERIC_GUIDANCE if request.guidance is None else request.guidance)


def checked_with_defaults(profile: FamilyProfile | None,
                          request: GenerationRequest) -> GenerationRequest:
    """Refuse what the family cannot do, then fill in its defaults (generic ones without a
    profile, where only editing by words is refused: it needs a model made for it)."""
    if profile is None:
        if request.mode == "edit":
            raise InvalidRequest("Editing by words needs a model made for it (Qwen-Image-Edit, "
                                 "FLUX.1 Kontext, FLUX.2); this model's family is not known.")
        return with_generic_defaults(request)
    profile.check(request)
    return profile.with_defaults(request)


def family_profile(family: str, variants: tuple[str, ...] = ()) -> FamilyProfile | None:
    """The profile of a family with its variants applied in order; None for unknown families."""
    families = _families()
    entry = families.get(family)
    if entry is None:
        return None
    values = {k: v for k, v in entry.items() if k != "variants"}
    known = [v for v in variants if v in entry.get("variants", {})]
    for variant in known:
        values.update(entry["variants"][variant])
    return FamilyProfile(
        family=family, variant="-".join(known), label=values["label"],
        steps=int(values["steps"]), guidance=float(values["guidance"]),
        guidance_kind=values["guidance_kind"], negative_prompt=bool(values["negative_prompt"]),
        size_multiple=int(values["size_multiple"]), min_side=int(values["min_side"]),
        max_side=int(values["max_side"]), native_side=int(values["native_side"]),
        samplers=tuple(values["samplers"]), modes=tuple(values["modes"]),
        licence=values["licence"], commercial=bool(values["commercial"]),
        licence_note=values.get("licence_note", ""), reference_repo=values["reference_repo"],
    )


def family_names() -> tuple[str, ...]:
    return tuple(_families())


@cache
def _families() -> dict[str, Any]:
    path = resources_dir() / FAMILIES_FILE
    data = json.loads(path.read_text(encoding="utf-8"))["families"]
    for name, entry in data.items():
        unknown = set(entry["samplers"]) - set(SCHEDULERS)
        if unknown:
            raise ValueError(f"{path}: {name} lists unknown samplers {sorted(unknown)}")
    return data
