"""Real ImageRecords for widget tests: plain PIL images recorded in a real Library, no torch."""

from __future__ import annotations

from datetime import UTC, datetime

from PIL import Image

from backends.types import (
    Cost,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    LoraRef,
    Timings,
)
from studio.library import ImageRecord, Library

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
TIMINGS = Timings(load_s=0.5, queue_s=0.25, inference_s=2.0, decode_s=0.25, total_s=3.0)


def _picture(width: int, height: int, seed: int) -> Image.Image:
    gradient = Image.linear_gradient("L").resize((width, height))
    return Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_180),
                               Image.new("L", (width, height), seed % 256)))


def record_images(
    library: Library,
    prompt: str = "a red sneaker on white",
    *,
    negative: str = "",
    count: int = 1,
    seed: int = 100,
    model: str = "sd-turbo",
    backend: str = "local",
    device: str = "cuda",
    steps: int | None = 30,
    guidance: float | None = 7.0,
    scheduler: str | None = "euler_a",
    size: tuple[int, int] = (96, 64),
    timings: Timings = TIMINGS,
    cost: Cost | None = None,
    estimate: Cost | None = None,
    init_image: Image.Image | None = None,
    strength: float = 0.75,
    loras: tuple[LoraRef, ...] = (),
    family: str = "",
    licence: str = "",
    commercial_use: bool | None = None,
    speed: str = "exact",
    accelerations: tuple[str, ...] = (),
) -> list[ImageRecord]:
    width, height = size
    request = GenerationRequest(
        prompt=prompt, negative_prompt=negative, model=model, seed=seed, steps=steps,
        guidance=guidance, width=width, height=height, count=count, scheduler=scheduler,
        init_image=init_image, strength=strength, loras=loras, speed=speed,
    )
    result = GenerationResult(
        request=request,
        images=tuple(GeneratedImage(_picture(width, height, s), s) for s in request.image_seeds()),
        timings=timings,
        cost=cost or Cost(0.04 * count, "4 cents an image on the test price book", False),
        backend=backend, model=model, device=device, created_at=T0,
        family=family, licence=licence, commercial_use=commercial_use,
        accelerations=accelerations,
    )
    return library.record(result, estimate=estimate)


def record_image(library: Library, prompt: str = "a red sneaker on white",
                 **kwargs: object) -> ImageRecord:
    return record_images(library, prompt, **kwargs)[0]  # type: ignore[arg-type]
