"""Pixel-exact products on every backend: local diffusers, a SageMaker endpoint, Bedrock."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backends.sagemaker import SageMakerBackend
from studio.product import ProductSceneBackend, generate_product_scenes, place_product
from studio.product.importing import decode_product_photo
from tests.product.photos import product_photo, rgba_product


def _placed(size: tuple[int, int], cutout: bool = False):
    image, truth = rgba_product((96, 80)) if cutout else product_photo((160, 128))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG" if cutout else "JPEG")
    return place_product(decode_product_photo(buffer.getvalue()), truth, size)


def _assert_exact(image: Image.Image, placed) -> None:
    inside = np.asarray(placed.mask) == 255
    output = np.asarray(image.convert("RGB"))
    assert np.array_equal(output[inside], np.asarray(placed.source)[inside])
    # and the scene really was generated: the background is not the neutral fill
    assert not np.array_equal(output[~inside], np.asarray(placed.canvas)[~inside])


@pytest.mark.parametrize("cutout", [False, True])
def test_local_inpainting_keeps_the_product(tiny_sd_path, local_backend_factory, loop,
                                            cutout) -> None:
    backend = local_backend_factory(default_model=str(tiny_sd_path))
    placed = _placed((64, 64), cutout)
    (outcome,) = generate_product_scenes(placed, ["on marble"], [11], backend, loop, steps=2)
    result = outcome.result
    assert result.request.mode == "inpaint" and result.backend == "local"
    assert result.timings.total_s > 0 and result.cost.usd >= 0
    _assert_exact(result.images[0].image, placed)
    # from_pipe shared the loaded weights: the inpaint pipeline uses the same UNet
    loaded = backend._cache.loaded
    assert loaded.by_mode["inpaint"].unet is loaded.text2image.unet


def test_a_sagemaker_endpoint_inpaints_and_the_product_is_kept(endpoint_server, loop,
                                                               aws_env) -> None:
    backend = SageMakerBackend("test", endpoint_url=endpoint_server.url, usd_per_hour=1.408,
                               price_source="us-east-1 list price")
    placed = _placed((64, 64))
    (outcome,) = generate_product_scenes(placed, ["in a café"], [5], backend, loop, steps=2)
    result = outcome.result
    assert result.backend == "sagemaker" and result.timings.inference_s > 0
    assert result.cost.usd > 0
    _assert_exact(result.images[0].image, placed)


def test_bedrock_inpaints_the_scene_around_the_product(make_backend, fake_bedrock,
                                                       loop) -> None:
    backend = make_backend()
    placed = _placed((320, 320), cutout=True)
    outcomes = generate_product_scenes(placed, ["on marble", "white sweep"], [3], backend, loop,
                                       guidance=6.5)
    for outcome in outcomes:
        result = outcome.result
        assert result.backend == "bedrock" and result.cost.usd == pytest.approx(0.07)
        assert result.model == "us.stability.stable-image-inpaint-v1:0"
        _assert_exact(result.images[0].image, placed)
    assert fake_bedrock.calls[-1].body["mask"]  # the scene's mask, white where it is made
    wrapped = ProductSceneBackend(backend, placed)
    assert wrapped.inner.task.task.value == "inpaint"
    assert wrapped.estimate_cost(placed.request("x")).usd == pytest.approx(0.07)


def test_sdxl_inpainting_keeps_the_product(tiny_sdxl_path, local_backend_factory,
                                           loop) -> None:
    backend = local_backend_factory(default_model=str(tiny_sdxl_path))
    placed = _placed((64, 64), cutout=True)
    (outcome,) = generate_product_scenes(placed, ["on oak"], [2], backend, loop, steps=2)
    assert type(backend._cache.loaded.by_mode["inpaint"]).__name__ == \
        "StableDiffusionXLInpaintPipeline"
    _assert_exact(outcome.result.images[0].image, placed)
