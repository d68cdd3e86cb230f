"""The SageMaker client against endpoints of the newer families, over real HTTP to our local
endpoint server: unset steps are left to the endpoint, and what really ran, the family and
its licence come back into the result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from backends.endpoint import inference
from backends.endpoint.server import EndpointServer
from backends.errors import InvalidRequest
from backends.sagemaker import SageMakerBackend, payloads
from backends.types import GenerationRequest


def backend(server: EndpointServer, **kwargs: Any) -> SageMakerBackend:
    kwargs.setdefault("usd_per_hour", 1.408)
    return SageMakerBackend("test", endpoint_url=server.url, **kwargs)


def request(**changes: Any) -> GenerationRequest:
    values = {"prompt": "a linen lampshade", "width": 64, "height": 64, "seed": 5}
    return GenerationRequest(**{**values, **changes})


class Recording:
    """The real handler, keeping the parameters of every body it is sent."""

    BadRequest = inference.BadRequest

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def input_fn(self, body: bytes, content_type: str) -> Any:
        self.sent.append(json.loads(body).get("parameters", {}))
        return inference.input_fn(body, content_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(inference, name)


@pytest.fixture
def flux_endpoint(family_model) -> Iterator[EndpointServer]:
    """A FLUX.1 [schnell] endpoint (4 steps, no guidance by default) on a loopback port."""
    handler = Recording()
    with EndpointServer(family_model("flux1"), handler=handler, port=0) as server:
        server.sent = handler.sent
        yield server


def test_unset_steps_are_left_to_the_endpoint_and_what_ran_is_recorded(flux_endpoint,
                                                                       aws_env) -> None:
    result = backend(flux_endpoint).generate(request())
    assert "num_inference_steps" not in flux_endpoint.sent[0]
    assert "guidance_scale" not in flux_endpoint.sent[0]
    assert (result.request.steps, result.request.guidance) == (4, 0.0)
    assert (result.family, result.licence, result.commercial_use) == (
        "flux1-schnell", "Apache-2.0", True)
    assert result.model == "tiny-flux1" and result.images[0].image.size == (64, 64)


def test_set_steps_are_sent_and_recorded(flux_endpoint, aws_env) -> None:
    result = backend(flux_endpoint).generate(request(steps=2, guidance=1.5))
    assert flux_endpoint.sent[0]["num_inference_steps"] == 2
    assert (result.request.steps, result.request.guidance) == (2, 1.5)


def test_the_estimate_learns_the_endpoints_default_steps(flux_endpoint, aws_env) -> None:
    client = backend(flux_endpoint)
    assert client.estimate_cost(request()).usd == client.estimate_cost(request(steps=30)).usd
    client.generate(request())
    # The endpoint said its model runs 4 steps when none are set.
    assert client.estimate_cost(request()).usd == client.estimate_cost(request(steps=4)).usd


def test_a_sampler_the_family_cannot_use_is_refused_with_the_allowed_ones(flux_endpoint,
                                                                          aws_env) -> None:
    with pytest.raises(InvalidRequest, match=r"The endpoint refused the request: FLUX.1 "
                                             r"\[schnell\] cannot use the sampler 'dpm\+\+_2m'; "
                                             "it runs with: euler"):
        backend(flux_endpoint).generate(request(scheduler="dpm++_2m"))


def test_an_edit_goes_over_the_wire_to_an_edit_family(family_model, aws_env) -> None:
    with EndpointServer(family_model("flux2-klein"), port=0) as server:
        result = backend(server).generate(request(
            prompt="make the background marble", edit=True, steps=1,
            init_image=Image.new("RGB", (120, 80), (30, 90, 200))))
    assert result.request.mode == "edit" and result.family == "flux2-klein"
    assert result.images[0].image.size == (64, 64)


def test_an_edit_on_a_family_that_cannot_edit_says_so(flux_endpoint, aws_env) -> None:
    with pytest.raises(InvalidRequest, match=r"cannot do editing by words; it does text to "
                                             "image, image to image, inpainting"):
        backend(flux_endpoint).generate(request(edit=True, init_image=Image.new("RGB", (64, 64))))


def test_an_endpoint_that_does_not_say_what_ran_is_taken_at_its_word(tiny_endpoint_model,
                                                                     handler_with,
                                                                     aws_env) -> None:
    def older(data, model):  # a handler from before families: no parameters, no family
        answer = inference.predict_fn(data, model)
        return {k: v for k, v in answer.items()
                if k not in ("parameters", "family", "licence", "commercial_use")}

    with EndpointServer(tiny_endpoint_model, handler=handler_with(older), port=0) as server:
        result = backend(server).generate(request(steps=2))
    assert (result.request.steps, result.request.guidance) == (2, 7.0)
    assert (result.family, result.licence, result.commercial_use) == ("", "", None)


def test_jumpstart_is_sent_explicit_numbers(endpoint_server, aws_env) -> None:
    result = backend(endpoint_server, payload_format="jumpstart").generate(request(steps=1))
    assert (result.request.steps, result.request.guidance) == (1, 7.0)
    body = json.loads(payloads.encode(request(), [5], "jumpstart").body)
    assert (body["num_inference_steps"], body["guidance_scale"]) == (30, 7.0)
    client = backend(endpoint_server, payload_format="jumpstart")
    assert client.estimate_cost(request()).usd == client.estimate_cost(request(steps=30)).usd


def test_the_studio_payload_leaves_out_what_is_unset_and_marks_edits() -> None:
    body = json.loads(payloads.encode(request(), [5], "studio").body)["parameters"]
    assert not {"num_inference_steps", "guidance_scale", "edit", "strength"} & set(body)
    edit = request(edit=True, init_image=Image.new("RGB", (64, 64)), steps=3, guidance=2.5)
    body = json.loads(payloads.encode(edit, [5], "studio").body)["parameters"]
    assert body["edit"] is True and "image" in body and "strength" not in body
    assert (body["num_inference_steps"], body["guidance_scale"]) == (3, 2.5)


def test_what_ran_is_read_only_when_it_makes_sense() -> None:
    image = inference._encode(Image.new("RGB", (8, 8)), "PNG")
    answer = {"generated_images": [image], "seeds": [5],
              "parameters": {"num_inference_steps": 0, "guidance_scale": "high"},
              "family": "flux1", "commercial_use": "yes"}
    decoded = payloads.decode(json.dumps(answer).encode(), "studio", [5])
    assert (decoded.steps, decoded.guidance, decoded.commercial_use) == (None, None, None)
    assert decoded.family == "flux1"
