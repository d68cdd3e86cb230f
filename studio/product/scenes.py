"""Generating scenes around a placed product on any backend, then restoring the product.

ProductSceneBackend wraps a backend so the generation loop, the library and the gallery treat
a product scene like any other generation: the latency and cost are the wrapped backend's,
and every image it returns has already had the product composited back. How each kind of
backend makes a scene (its inpainting, or Bedrock's Inpaint service) is the backend table's
business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from backends.errors import InvalidRequest
from backends.types import (
    Backend,
    BackendInfo,
    CancelToken,
    Cost,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ProgressCallback,
)
from studio.backend_kinds import for_product_scenes
from studio.generation.loop import GenerationLoop, RunHooks
from studio.product.compositing import composite_product
from studio.product.harmonise import added_cost, harmonise_estimate, harmonised
from studio.product.placement import PlacedProduct


class ProductSceneBackend:
    """`inner` generates everything outside the product's mask; the product is pasted back."""

    def __init__(self, inner: Backend, placed: PlacedProduct) -> None:
        self.inner = for_product_scenes(inner)
        self.harmoniser = inner  # its plain image-to-image settles the composite
        self.placed = placed
        self.name = inner.name  # the job queue picks the local or remote lane by name

    def __getattr__(self, name: str) -> Any:
        # Anything else (the endpoint's hourly burn, test_connection) is the inner backend's.
        if name in ("inner", "harmoniser"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def describe(self) -> BackendInfo:
        return self.inner.describe()

    def estimate_cost(self, request: GenerationRequest) -> Cost:
        cost = self.inner.estimate_cost(self._checked(request))
        strength = self.placed.placement.harmonise
        if not strength:
            return cost
        extra = harmonise_estimate(request, self.harmoniser.estimate_cost, strength)
        return added_cost(cost, extra)

    def generate(self, request: GenerationRequest, on_progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> GenerationResult:
        strength = self.placed.placement.harmonise
        if strength and request.steps is not None and int(request.steps * strength) < 1:
            # Refused before the first pass is paid for, not after it.
            raise InvalidRequest(
                f"Harmonising at strength {strength:g} runs {request.steps * strength:.1f} of "
                f"{request.steps} steps, less than one: raise the steps to at least "
                f"{-(-1 // strength):.0f} or the harmonising strength.")
        result = self.inner.generate(self._checked(request), on_progress, cancel)
        images = tuple(GeneratedImage(composite_product(item.image, self.placed), item.seed)
                       for item in result.images)
        result = dataclasses.replace(result, images=images, composite=True)
        if strength:
            result = harmonised(result, self.placed, self.harmoniser, strength,
                                on_progress=on_progress, cancel=cancel)
        return result

    def _checked(self, request: GenerationRequest) -> GenerationRequest:
        if request.mask is None or request.init_image is None:
            raise InvalidRequest("A product scene needs the product's frame and mask; build "
                                 "the request with PlacedProduct.request().")
        if (request.width, request.height) != self.placed.size:
            raise InvalidRequest(f"This product was placed on a {self.placed.size[0]}×"
                                 f"{self.placed.size[1]} frame; generate at that size.")
        return request


@dataclass(frozen=True, eq=False)
class SceneOutcome:
    """One scene prompt's run: its result (product composited) and, if recorded, the rows."""

    scene: str
    result: GenerationResult
    estimate: Cost
    records: list[Any]


def generate_product_scenes(
    placed: PlacedProduct,
    scenes: Sequence[str],
    seeds: Sequence[int | None],
    backend: Backend,
    loop: GenerationLoop,
    *,
    on_outcome: Callable[[SceneOutcome], None] | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    **request_fields: Any,
) -> list[SceneOutcome]:
    """Every scene × seed for one product: one generation per pair, in order.

    `request_fields` go into each GenerationRequest (negative_prompt, model, steps, guidance,
    scheduler, strength). Each result goes through `loop`, so it is recorded as it arrives
    and a cancel or a failure keeps what was already made.
    """
    if not scenes:
        raise InvalidRequest("Give at least one scene prompt.")
    if not seeds:
        raise InvalidRequest("Give at least one seed (None draws one).")
    wrapped = ProductSceneBackend(backend, placed)
    cancel = cancel or CancelToken()
    outcomes: list[SceneOutcome] = []
    for scene in scenes:
        for seed in seeds:
            cancel.raise_if_cancelled()
            request = placed.request(scene, seed=seed, **request_fields)
            generated = loop.run(request, wrapped,
                                 hooks=RunHooks(on_progress=on_progress, cancel=cancel))
            outcome = SceneOutcome(scene, generated.result, generated.estimate,
                                   generated.records)
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    return outcomes
