"""The endpoint handler's inpainting: a mask beside the init image (white = generate)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from backends.endpoint import inference
from backends.endpoint.inference import BadRequest, parse_request
from backends.sagemaker import payloads
from backends.types import GenerationRequest


def _b64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _mask(size=(64, 64)) -> Image.Image:
    mask = Image.new("L", size, 255)
    mask.paste(0, (16, 16, 48, 48))
    return mask


def test_a_mask_is_parsed_beside_its_image() -> None:
    job = parse_request({"inputs": "a vase", "parameters": {
        "image": _b64(Image.new("RGB", (64, 64), "red")), "mask": _b64(_mask()),
        "strength": 1.0, "seed": 1}})
    assert job.mask is not None and job.mask.mode == "L" and job.mask.getpixel((0, 0)) == 255
    assert job.mask.getpixel((20, 20)) == 0


@pytest.mark.parametrize(("parameters", "expected"), [
    ({"mask": "x"}, 'needs an "image"'),
    ({"image": "IMAGE", "mask": "not base64!"}, "mask could not be decoded"),
    ({"image": "IMAGE", "mask": "SMALL"}, "must be the size of the image"),
])
def test_bad_masks_are_named(parameters, expected) -> None:
    replacements = {"IMAGE": _b64(Image.new("RGB", (64, 64))), "SMALL": _b64(_mask((32, 32)))}
    parameters = {k: replacements.get(v, v) for k, v in parameters.items()}
    with pytest.raises(BadRequest, match=expected):
        parse_request({"inputs": "a vase", "parameters": parameters})


def test_the_client_sends_the_mask_fitted_to_the_frame() -> None:
    request = GenerationRequest(prompt="a vase", width=64, height=64, seed=1,
                                init_image=Image.new("RGB", (128, 128), "blue"),
                                mask=_mask((128, 128)), strength=1.0)
    body = payloads.encode(request, [1], "studio")
    job = inference.input_fn(body.body, body.content_type)
    assert job.init_image.size == job.mask.size == (64, 64)
    assert job.mask.getpixel((40, 40)) == 255 and job.mask.getpixel((12, 12)) == 0


def test_the_handler_inpaints_with_a_pipeline_sharing_the_weights(tiny_endpoint_model) -> None:
    init = Image.new("RGB", (64, 64), (200, 30, 30))
    answer = inference.predict_fn({"inputs": "a vase", "parameters": {
        "image": _b64(init), "mask": _b64(_mask()), "strength": 1.0, "seed": 4,
        "num_inference_steps": 2, "width": 64, "height": 64}}, tiny_endpoint_model)
    image = Image.open(io.BytesIO(base64.b64decode(answer["generated_images"][0])))
    assert image.size == (64, 64) and answer["seeds"] == [4]
    pipeline = tiny_endpoint_model.by_mode["inpaint"]
    assert pipeline.unet is tiny_endpoint_model.pipeline.unet
    assert type(pipeline).__name__.endswith("InpaintPipeline")
    assert not np.array_equal(np.asarray(image.convert("RGB")), np.asarray(init))


def test_inferentia_refuses_inpainting_plainly() -> None:
    job = parse_request({"inputs": "a vase", "parameters": {
        "image": _b64(Image.new("RGB", (64, 64))), "mask": _b64(_mask())}})
    model = inference.LoadedPipeline(None, "neuron", "inferentia2 (neuron)", "m", (64, 64))
    with pytest.raises(BadRequest, match="inpainting and editing are not available on the "
                                         "Inferentia2"):
        inference.predict_fn(job, model)
