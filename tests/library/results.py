"""Generation results with chosen prompts, backends, times and costs, for library tests."""

from __future__ import annotations

from datetime import UTC, datetime

from PIL import Image

from backends.types import Cost, GeneratedImage, GenerationRequest, GenerationResult, Timings

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def _gradient(seed: int) -> Image.Image:
    image = Image.linear_gradient("L").resize((64, 64)).convert("RGB")
    return Image.merge("RGB", (*image.split()[:2], Image.new("L", (64, 64), seed % 256)))


def make_result(
    prompt: str = "a red sneaker on white",
    *,
    negative: str = "",
    count: int = 2,
    seed: int = 100,
    backend: str = "local",
    model: str = "sd-turbo",
    created_at: datetime = T0,
    usd: float = 0.04,
    total_s: float = 3.0,
    init_image: Image.Image | None = None,
) -> GenerationResult:
    request = GenerationRequest(
        prompt=prompt, negative_prompt=negative, model=model, seed=seed, count=count,
        width=512, height=512, scheduler="euler_a", init_image=init_image,
    )
    return GenerationResult(
        request=request,
        images=tuple(GeneratedImage(_gradient(s), s) for s in request.image_seeds()),
        timings=Timings(load_s=0.5, inference_s=2.0, decode_s=0.1, total_s=total_s),
        cost=Cost(usd, f"{count} images", estimated=False),
        backend=backend,
        model=model,
        device="cuda" if backend == "local" else "ml.inf2.xlarge",
        created_at=created_at,
    )
