"""Results with chosen timings and costs, recorded in a real library (no model needed)."""

from __future__ import annotations

from datetime import UTC, datetime

from PIL import Image

from backends.types import Cost, GeneratedImage, GenerationRequest, GenerationResult, Timings


def result(*, backend: str = "local", model: str = "tiny", total_s: float = 1.0,
           usd: float = 0.01, count: int = 1, inference_s: float | None = None,
           created_at: datetime | None = None, seed: int = 1) -> GenerationResult:
    request = GenerationRequest(prompt="a mug", width=64, height=64, steps=2, seed=seed,
                                count=count)
    images = tuple(GeneratedImage(Image.new("RGB", (64, 64), (i * 40, 90, 160)), seed + i)
                   for i in range(count))
    timings = Timings(inference_s=total_s if inference_s is None else inference_s,
                      total_s=total_s)
    return GenerationResult(request=request, images=images, timings=timings,
                            cost=Cost(usd, f"{usd} test dollars", estimated=False),
                            backend=backend, model=model, device="cpu",
                            created_at=created_at or datetime.now(UTC))
