"""Generating scenes around a placed product on any backend, then restoring the product.

ProductSceneBackend wraps a backend so the job queue, the library and the gallery treat a
product scene like any other generation: the latency and cost are the wrapped backend's,
and every image it returns has already had the product composited back.
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
from studio.product.compositing import composite_product
from studio.product.placement import PlacedProduct


class ProductSceneBackend:
    """`inner` generates everything outside the product's mask; the product is pasted back.

    On Bedrock the request runs as OUTPAINTING (keep the masked product, replace the rest),
    which Titan and Nova do better than inpainting the background.
    """

    def __init__(self, inner: Backend, placed: PlacedProduct) -> None:
        self.inner = _for_products(inner)
        self.placed = placed
        self.name = inner.name  # the job queue picks the local or remote lane by name

    def __getattr__(self, name: str) -> Any:
        # Anything else (the endpoint's hourly burn, test_connection) is the inner backend's.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def describe(self) -> BackendInfo:
        return self.inner.describe()

    def estimate_cost(self, request: GenerationRequest) -> Cost:
        return self.inner.estimate_cost(self._checked(request))

    def generate(self, request: GenerationRequest, on_progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> GenerationResult:
        result = self.inner.generate(self._checked(request), on_progress, cancel)
        images = tuple(GeneratedImage(composite_product(item.image, self.placed), item.seed)
                       for item in result.images)
        return dataclasses.replace(result, images=images)

    def _checked(self, request: GenerationRequest) -> GenerationRequest:
        if request.mask is None or request.init_image is None:
            raise InvalidRequest("A product scene needs the product's frame and mask; build "
                                 "the request with PlacedProduct.request().")
        if (request.width, request.height) != self.placed.size:
            raise InvalidRequest(f"This product was placed on a {self.placed.size[0]}×"
                                 f"{self.placed.size[1]} frame; generate at that size.")
        return request


def _for_products(backend: Backend) -> Backend:
    if getattr(backend, "name", "") == "bedrock" and hasattr(backend, "with_task"):
        from backends.bedrock import BedrockTask, TaskType

        task = backend.task  # type: ignore[attr-defined]
        return backend.with_task(  # type: ignore[attr-defined]
            BedrockTask(type=TaskType.OUTPAINTING, quality=task.quality,
                        outpainting_mode="PRECISE"))
    if getattr(backend, "payload_format", "studio") == "jumpstart":
        raise InvalidRequest("JumpStart endpoints only do text-to-image; product scenes need "
                             "an endpoint running Studio's handler (payload format 'studio').")
    return backend


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
    *,
    library: Any = None,
    on_outcome: Callable[[SceneOutcome], None] | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    **request_fields: Any,
) -> list[SceneOutcome]:
    """Every scene × seed for one product: one generation per pair, in order.

    `request_fields` go into each GenerationRequest (negative_prompt, model, steps, guidance,
    scheduler, strength). With a `library` each result is recorded as it arrives, so a
    cancel or a failure keeps what was already made. Batch export calls this per catalog row.
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
            estimate = wrapped.estimate_cost(request)
            result = wrapped.generate(request, on_progress, cancel)
            records = library.record(result, estimate=estimate) if library is not None else []
            outcome = SceneOutcome(scene, result, estimate, records)
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    return outcomes
