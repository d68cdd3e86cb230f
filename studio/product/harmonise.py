"""Harmonisation: a second, light image-to-image pass so the scene settles around the product.

A scene generated around a masked product often lights it wrongly at the edges: no reflection
on the counter, a rim where the background does not match. A low-strength image-to-image of
the composite lets the model repaint the surroundings with the product in view (strength 0.2
to 0.4 keeps the scene and changes light and contact), then the product's own pixels are
pasted back exactly, as after the first pass. It is a second generation, so it costs and
takes about `strength` of a full one more on step-based backends; the estimate includes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from backends.errors import BackendError, Cancelled, TransientError
from backends.types import (
    Backend,
    CancelToken,
    Cost,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ProgressCallback,
    Timings,
)
from studio.product.compositing import composite_product
from studio.product.placement import PlacedProduct


def harmonise_request(request: GenerationRequest, composite: GeneratedImage,
                      strength: float) -> GenerationRequest:
    """Image-to-image of one composite, with the scene's prompt and the image's own seed."""
    return dataclasses.replace(request, init_image=composite.image, mask=None,
                               strength=strength, seed=composite.seed, count=1)


def harmonised(first: GenerationResult, placed: PlacedProduct, backend: Backend,
               strength: float, *, on_progress: ProgressCallback | None = None,
               cancel: CancelToken | None = None) -> GenerationResult:
    """`first` (its images already composited) after one harmonising pass per image.

    Timings and cost add up both passes; the product is exact in every image returned. The
    first pass is already paid for, so a second pass that fails keeps the first pass's
    composite (and says so in the cost basis) instead of throwing the paid image away; a
    failure that may have been billed adds that attempt's estimate to the cost.
    """
    images: list[GeneratedImage] = []
    timings, cost = first.timings, first.cost
    failures: list[str] = []
    for composite in first.images:
        request = harmonise_request(first.request, composite, strength)
        try:
            second = backend.generate(request, on_progress, cancel)
        except Cancelled:
            raise
        except BackendError as exc:
            if isinstance(exc, TransientError) and exc.maybe_billed:
                cost = added_cost(cost, backend.estimate_cost(request))
            failures.append(str(exc))
            images.append(composite)
            continue
        images.append(GeneratedImage(composite_product(second.images[0].image, placed),
                                     composite.seed))
        timings, cost = added_timings(timings, second.timings), added_cost(cost, second.cost)
    note = f"with a harmonising pass at strength {strength:g}"
    if failures:
        note += (f"; {len(failures)} of {len(first.images)} image(s) kept unharmonised, "
                 f"the pass failed: {failures[0]}")
    cost = dataclasses.replace(cost, basis=f"{cost.basis} ({note})")
    return dataclasses.replace(first, images=tuple(images), timings=timings, cost=cost)


def harmonise_estimate(request: GenerationRequest, estimate: Callable[[GenerationRequest], Cost],
                       strength: float) -> Cost:
    """The cost of the harmonising passes for `request`'s images."""
    one = dataclasses.replace(request, mask=None, strength=strength, count=1)
    single = estimate(one)
    return Cost(single.usd * request.count, single.basis, estimated=True)


def added_timings(a: Timings, b: Timings) -> Timings:
    return Timings(**{name: getattr(a, name) + getattr(b, name)
                      for name in Timings.__dataclass_fields__})


def added_cost(a: Cost, b: Cost) -> Cost:
    return Cost(a.usd + b.usd, a.basis, estimated=a.estimated or b.estimated)
