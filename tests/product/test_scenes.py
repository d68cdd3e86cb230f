"""Scenes × seeds for one product through a backend, recorded in the library."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backends.errors import InvalidRequest
from backends.types import (
    BackendInfo,
    Cost,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Timings,
)
from studio.generation.loop import GenerationLoop
from studio.library import Library
from studio.product import ProductSceneBackend, generate_product_scenes, place_product
from studio.product.importing import decode_product_photo
from tests.product.photos import product_photo


class NoiseBackend:
    """Answers every request with noise: the worst a model can do to the product."""

    name = "noise"

    def __init__(self, size: tuple[int, int] | None = None) -> None:
        self.requests: list[GenerationRequest] = []
        self.size = size

    def describe(self) -> BackendInfo:
        return BackendInfo(self.name, "Noise", "cpu", True)

    def estimate_cost(self, request: GenerationRequest) -> Cost:
        return Cost(0.01 * request.count, "one cent per image")

    def generate(self, request, on_progress=None, cancel=None) -> GenerationResult:
        request = request.with_resolved_seed()
        self.requests.append(request)
        size = self.size or (request.width, request.height)
        images = []
        for seed in request.image_seeds():
            rng = np.random.default_rng(seed)
            pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            images.append(GeneratedImage(Image.fromarray(pixels, "RGB"), seed))
        return GenerationResult(request, tuple(images), Timings(inference_s=0.5, total_s=0.6),
                                Cost(0.01 * len(images), "one cent per image", False),
                                self.name, "noise-1", "cpu")


@pytest.fixture
def placed():
    image, truth = product_photo((160, 128))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    photo = decode_product_photo(buffer.getvalue())
    return place_product(photo, truth, (128, 96))


def _exact(image: Image.Image, placed) -> bool:
    inside = np.asarray(placed.mask) == 255
    return np.array_equal(np.asarray(image.convert("RGB"))[inside],
                          np.asarray(placed.source)[inside])


def test_scenes_times_seeds_each_keep_the_product(placed, studio_home: Path) -> None:
    backend = NoiseBackend()
    library = Library.open(studio_home / "library")
    outcomes = generate_product_scenes(placed, ["on marble", "in a café", "white sweep"],
                                       [7, 8], backend, GenerationLoop(library), steps=2)
    assert [(o.scene, o.result.images[0].seed) for o in outcomes] == [
        ("on marble", 7), ("on marble", 8), ("in a café", 7), ("in a café", 8),
        ("white sweep", 7), ("white sweep", 8)]
    assert all(r.mode == "inpaint" and r.strength == 1.0 for r in backend.requests)
    for outcome in outcomes:
        assert _exact(outcome.result.images[0].image, placed)
        (record,) = outcome.records
        assert record.cost.usd == pytest.approx(0.01) and record.latency_s == pytest.approx(0.6)
        with Image.open(record.path) as saved:  # the PNG in history is exact too
            assert _exact(saved, placed)


def test_a_backend_answering_at_another_size_still_keeps_the_product(placed) -> None:
    wrapped = ProductSceneBackend(NoiseBackend(size=(256, 192)), placed)
    result = wrapped.generate(placed.request("on a shelf", seed=1, count=2))
    assert [image.image.size for image in result.images] == [(128, 96)] * 2
    assert all(_exact(image.image, placed) for image in result.images)


def test_requests_that_are_not_for_this_product_are_refused(placed, loop) -> None:
    wrapped = ProductSceneBackend(NoiseBackend(), placed)
    with pytest.raises(InvalidRequest, match="mask"):
        wrapped.generate(GenerationRequest(prompt="x", width=128, height=96))
    other = placed.request("x").replace(width=64, height=64, init_image=None, mask=None)
    with pytest.raises(InvalidRequest):
        wrapped.generate(other)
    with pytest.raises(InvalidRequest, match="scene"):
        generate_product_scenes(placed, [], [1], NoiseBackend(), loop)


def test_jumpstart_endpoints_are_refused_up_front(placed) -> None:
    from backends.sagemaker import SageMakerBackend

    jumpstart = SageMakerBackend("js", payload_format="jumpstart", region="us-east-1")
    with pytest.raises(InvalidRequest, match="JumpStart"):
        ProductSceneBackend(jumpstart, placed)


def test_a_catalog_row_image_goes_through_the_same_flow(tmp_path: Path, loop) -> None:
    from studio.product import prepare_product

    image, truth = product_photo((160, 128), seed=6)
    path = tmp_path / "row-17.jpg"
    image.save(path, quality=92)
    placed, origin = prepare_product(path, (128, 128))
    assert origin == "grabcut" and placed.size == (128, 128)
    (outcome,) = generate_product_scenes(placed, ["studio shot"], [1], NoiseBackend(), loop)
    assert _exact(outcome.result.images[0].image, placed)
    truth.save(tmp_path / "mask.png")
    _, origin = prepare_product(path, (128, 128), mask_path=tmp_path / "mask.png")
    assert origin == "file"


def test_the_wrapper_passes_other_attributes_through(placed) -> None:
    inner = NoiseBackend()
    inner.fleet_usd_per_hour = 1.5
    wrapped = ProductSceneBackend(inner, placed)
    assert wrapped.fleet_usd_per_hour == 1.5 and wrapped.name == "noise"
    assert wrapped.describe().label == "Noise"
