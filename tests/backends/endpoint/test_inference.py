"""The endpoint handler on its own: request validation, the runtime it picks, and its images."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from backends.endpoint import inference
from backends.endpoint.inference import BadRequest, input_fn, parse_request


def test_a_full_request_is_parsed_with_consecutive_seeds() -> None:
    job = parse_request({"inputs": "a mug", "parameters": {
        "negative_prompt": "blurry", "num_inference_steps": 4, "guidance_scale": 5,
        "width": 64, "height": 96, "seed": 2**32 - 2, "num_images_per_prompt": 3,
        "scheduler": "euler_a"}})
    assert (job.prompt, job.negative_prompt, job.steps, job.guidance) == ("a mug", "blurry", 4, 5)
    assert (job.width, job.height, job.scheduler) == (64, 96, "euler_a")
    assert job.seeds == (2**32 - 2, 2**32 - 1, 0)  # wraps like Studio's own seeds


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_request({"inputs": "", "parameters": {"width": 65, "num_inference_steps": 0,
                                                    "guidance_scale": 99, "scheduler": "x"}})
    message = str(caught.value)
    assert message.startswith("Invalid request:")
    for part in ("Write a prompt", "width must be a multiple of 8", "num_inference_steps",
                 "guidance_scale", "Unknown scheduler"):
        assert part in message


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    (b"{", "application/json", "not valid JSON"),
    (b'"just a string"', "application/json", "must be a JSON object"),
    (b'{"inputs": "x", "parameters": {"steps": 3}}', "application/json",
     "unknown fields parameters.steps"),
    (b'{"inputs": "x"}', "text/csv", "application/json, not text/csv"),
    (b'{"inputs": "x", "parameters": {"image": "not base64!"}}', "application/json",
     "init image could not be decoded"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", "nested too deeply"),
    (b'{"inputs": "x", "parameters": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
     "application/json", "nested too deeply"),
])
def test_bad_bodies_say_what_is_wrong(body: bytes, content_type: str, expected: str) -> None:
    with pytest.raises(BadRequest, match=expected):
        input_fn(body, content_type)


def test_img2img_needs_at_least_one_step() -> None:
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    image = base64.b64encode(png.getvalue()).decode()
    with pytest.raises(BadRequest, match="no denoising step would run"):
        parse_request({"inputs": "x", "parameters": {"image": image, "strength": 0.5,
                                                     "num_inference_steps": 1}})


def test_a_jumpstart_request_is_recognised() -> None:
    job = parse_request({"prompt": "a lamp", "width": 64, "height": 64, "seed": 3,
                         "num_images_per_prompt": 2})
    assert job.jumpstart and job.seeds == (3, 4)


def test_a_compiled_model_is_refused_outside_the_neuron_container(tmp_path: Path) -> None:
    (tmp_path / "unet").mkdir()
    (tmp_path / "model_index.json").write_text("{}")
    (tmp_path / "unet" / "model.neuron").write_bytes(b"")
    assert inference.is_neuron_compiled(str(tmp_path))
    with pytest.raises(RuntimeError, match="needs an ml.inf2 instance"):
        inference.model_fn(str(tmp_path))


def test_the_neuron_container_refuses_an_uncompiled_model(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(inference, "neuron_available", lambda: True)
    (tmp_path / "model_index.json").write_text("{}")
    with pytest.raises(RuntimeError, match="optimum-cli export neuron"):
        inference.model_fn(str(tmp_path))


def test_predict_returns_pngs_seeds_and_timings(tiny_endpoint_model) -> None:
    job = input_fn(json.dumps({"inputs": "a chair", "parameters": {
        "width": 64, "height": 64, "num_inference_steps": 2, "seed": 11,
        "num_images_per_prompt": 2}}).encode())
    answer = json.loads(inference.output_fn(inference.predict_fn(job, tiny_endpoint_model)))
    assert answer["seeds"] == [11, 12]
    assert answer["model"] == "tiny-sd" and answer["device"] == "cpu fp32"
    assert set(answer["timings"]) == {"inference_s", "encode_s", "total_s"}
    for encoded in answer["generated_images"]:
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
            assert (image.format, image.size) == ("PNG", (64, 64))


def test_a_seed_gives_the_same_image_as_the_local_backend(tiny_endpoint_model, tiny_sd_path,
                                                          local_backend_factory) -> None:
    from backends.types import GenerationRequest

    request = GenerationRequest("a vase", model=str(tiny_sd_path), seed=5, steps=2, width=64,
                                height=64, count=2)
    local = local_backend_factory(previews=False).generate(request)
    job = parse_request({"inputs": "a vase", "parameters": {
        "width": 64, "height": 64, "num_inference_steps": 2, "seed": 5,
        "num_images_per_prompt": 2, "guidance_scale": 7.0}})
    remote = inference.predict_fn(job, tiny_endpoint_model)["generated_images"]
    for generated, encoded in zip(local.images, remote, strict=True):
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
            assert image.tobytes() == generated.image.tobytes()
