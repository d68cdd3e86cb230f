"""Whether live mode suits the chosen backend and model: a few-step model (SDXL Turbo, FLUX.1
schnell, Z-Image-Turbo, SD 3.5 Large Turbo, FLUX.2 klein) answers in a moment, so it can
follow the designer's typing; a 28-step model cannot, and a cloud backend bills every image."""

from __future__ import annotations

from dataclasses import dataclass

from backends.families import FamilyProfile
from studio.backend_kinds import Capabilities

# Z-Image-Turbo's default is 9 steps, which its scheduler runs as 8 transformer passes;
# every other few-step family takes 1 to 4. The next family up takes 28.
FEW_STEPS = 9
FEW_STEP_MODELS = "SDXL Turbo, FLUX.1 schnell, Z-Image-Turbo, SD 3.5 Large Turbo or FLUX.2 klein"


@dataclass(frozen=True)
class LiveSupport:
    allowed: bool
    why: str  # the toggle's tooltip: what live mode does here, or why it is off
    billed: bool  # each live image costs money on a bill: off by default, confirmed once


def billed(capabilities: Capabilities) -> bool:
    """Whether each image is billed by a cloud provider. The kinds that hold their model in
    this machine's memory (one at a time) cost only this machine's electricity."""
    return not capabilities.one_at_a_time


def live_support(profile: FamilyProfile | None, capabilities: Capabilities, backend_label: str,
                 steps: int | None, task: str = "") -> LiveSupport:
    """Live mode for the model `profile` describes (None: its family is not known, as on the
    cloud backends) with the steps field at `steps` (None: the model's default), while the
    task called `task` is chosen ("": plain generation)."""
    paid = billed(capabilities)
    cost_note = (f" Each live image is a {backend_label} request, billed like any other."
                 if paid else "")
    if task:
        return LiveSupport(False, f"Live makes new images as you type; it does not run a "
                                  f"task ({task}). Choose no task to use it.", paid)
    if profile is not None:
        if profile.steps > FEW_STEPS:
            return LiveSupport(False, (
                f"Live needs a few-step model ({FEW_STEP_MODELS}): {profile.label} takes "
                f"{profile.steps} steps an image, too slow to follow your typing."), paid)
        return LiveSupport(True, f"Live: {profile.label} makes a new image a moment after "
                                 f"each change ({profile.steps} steps).{cost_note}", paid)
    if capabilities.steps_apply:
        if steps is not None and steps <= FEW_STEPS:
            return LiveSupport(True, f"Live: a new image a moment after each change, at "
                                     f"{steps} steps.{cost_note}", paid)
        return LiveSupport(False, (
            f"Live needs a few-step model ({FEW_STEP_MODELS}). This model's family is not "
            f"known here: set Steps to {FEW_STEPS} or fewer if it is one."), paid)
    # A managed model (Bedrock) has no steps to count: one request an image.
    return LiveSupport(True, f"Live: a new image a moment after each change.{cost_note}", paid)
