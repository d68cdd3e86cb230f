"""Editing an image by words ("make the background a marble counter"): whether the current
backend and model can, what to tell the designer when they cannot, and the size to ask for."""

from __future__ import annotations

from backends.families import FamilyProfile
from backends.types import MAX_SIDE, MIN_SIDE
from studio.backend_kinds import kind
from studio.settings.values import Settings

EDIT_MODELS = "Qwen-Image-Edit, FLUX.1 Kontext or FLUX.2"
# The edit models work in 16-pixel blocks (FLUX and Qwen-Image latents).
EDIT_SIDE_MULTIPLE = 16


def edit_size(size: tuple[int, int]) -> tuple[int, int]:
    """The image's size rounded down to a multiple of 16, within the request's limits."""
    def side(value: int) -> int:
        value = min(value, MAX_SIDE)
        return max(MIN_SIDE, value - value % EDIT_SIDE_MULTIPLE)

    return side(size[0]), side(size[1])


def edit_support(settings: Settings, profile: FamilyProfile | None) -> tuple[bool, str]:
    """(whether to offer "Edit with words…", what to say about it).

    Not offered: the sentence says why (the tooltip of the greyed action). Offered: the
    sentence, if any, warns in the dialog that this model will refuse (it does not edit by
    words) or may (its family is not known)."""
    row = kind(settings.backend)
    if not row.capabilities.edit:
        return False, (f"{row.label} does not edit by words. Choose a model that edits by "
                       f"words: {EDIT_MODELS}, on the local GPU.")
    if profile is None:
        return True, (f"Editing by words needs a model made for it: {EDIT_MODELS}. If the "
                      "current model is not one, choose one in Settings › Local GPU.")
    if "edit" not in profile.modes:
        return True, (f"{profile.label} does not edit by words: choose {EDIT_MODELS} in "
                      f"Settings › Local GPU. {profile.label} will refuse this edit.")
    return True, ""
