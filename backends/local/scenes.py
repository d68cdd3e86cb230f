"""Product scenes on a model that edits by words but cannot inpaint (FLUX.1 Kontext, FLUX.2).

A product scene arrives as an inpainting request: the product placed on its frame, a mask
that is white around it. On such a model the frame is edited by an instruction instead; the
caller pastes the product's own pixels back over the result, so they stay exact.
"""

from __future__ import annotations

from typing import Any

from backends.types import (
    Backend,
    BackendInfo,
    CancelToken,
    Cost,
    GenerationRequest,
    GenerationResult,
    ProgressCallback,
)

SCENE_INSTRUCTION = ("Place this product in the following scene, keeping the product exactly "
                     "as it is: {scene}")


class EditScenes:
    """Wraps the local backend; an inpainting request becomes an edit where the model's
    family edits by words and cannot inpaint. Anything else passes through unchanged."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name

    def __getattr__(self, name: str) -> Any:
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def describe(self) -> BackendInfo:
        return self.inner.describe()

    def estimate_cost(self, request: GenerationRequest) -> Cost:
        return self.inner.estimate_cost(self.as_scene_request(request))

    def generate(self, request: GenerationRequest, on_progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> GenerationResult:
        return self.inner.generate(self.as_scene_request(request), on_progress, cancel)

    def as_scene_request(self, request: GenerationRequest) -> GenerationRequest:
        profile = self.inner.model_profile(request.model)
        if (request.mode != "inpaint" or profile is None or "inpaint" in profile.modes
                or "edit" not in profile.modes):
            return request
        return request.replace(mask=None, edit=True,
                               prompt=SCENE_INSTRUCTION.format(scene=request.prompt))
