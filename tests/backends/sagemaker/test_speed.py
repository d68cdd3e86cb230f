"""The SageMaker client and the endpoint's speed profile, over real HTTP to our local endpoint
server: the request's speed is sent, and the profile that really ran and what it applied come
back into the result. An endpoint deployed before speed profiles still answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from backends.endpoint import inference
from backends.endpoint.server import EndpointServer
from backends.sagemaker import SageMakerBackend, payloads
from backends.types import GenerationRequest


def backend(server: EndpointServer, **kwargs: Any) -> SageMakerBackend:
    return SageMakerBackend("test", endpoint_url=server.url, usd_per_hour=1.408, **kwargs)


def request(**changes: Any) -> GenerationRequest:
    values = {"prompt": "a linen lampshade", "width": 64, "height": 64, "seed": 5, "steps": 2}
    return GenerationRequest(**{**values, **changes})


class Recording:
    """The real handler, keeping the parameters of every body it is sent. `knows_speed=False`
    refuses `speed` as a handler from before speed profiles does (an unknown field)."""

    BadRequest = inference.BadRequest

    def __init__(self, *, knows_speed: bool = True) -> None:
        self.sent: list[dict[str, Any]] = []
        self.knows_speed = knows_speed

    def input_fn(self, body: bytes, content_type: str) -> Any:
        parameters = json.loads(body).get("parameters", {})
        self.sent.append(parameters)
        if not self.knows_speed and "speed" in parameters:
            raise inference.BadRequest("unknown fields parameters.speed; the known parameters "
                                       "are edit, guidance_scale, height, ...")
        return inference.input_fn(body, content_type)

    def predict_fn(self, job: Any, model: Any) -> dict[str, Any]:
        answer = inference.predict_fn(job, model)
        if not self.knows_speed:
            del answer["speed"], answer["accelerations"]
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(inference, name)


@pytest.fixture
def fastest_endpoint(family_model, monkeypatch) -> Iterator[EndpointServer]:
    """A FLUX.1 [schnell] endpoint deployed with STUDIO_SPEED=fastest, on a loopback port."""
    monkeypatch.delenv(inference.COMPILE_ON_CPU_ENV, raising=False)
    handler = Recording()
    with EndpointServer(family_model("flux1", "fastest"), handler=handler, port=0) as server:
        server.sent = handler.sent
        yield server


def test_the_speed_is_sent_and_what_ran_is_recorded(fastest_endpoint, aws_env) -> None:
    result = backend(fastest_endpoint).generate(request(speed="fastest"))
    assert fastest_endpoint.sent[0]["speed"] == "fastest"
    assert result.request.speed == "fastest"
    notes = result.accelerations
    assert notes[0] == "speed fastest: fp32" and "fused QKV projections" in notes
    assert "not applied: fp8: needs an NVIDIA GPU with FP8 units (Ada, Hopper or newer)" in notes
    assert any(n.startswith("not applied: compile: off on CPU") for n in notes)


def test_another_speed_is_answered_with_the_loaded_one_and_recorded_so(fastest_endpoint,
                                                                      aws_env) -> None:
    result = backend(fastest_endpoint).generate(request(speed="exact", count=2))
    assert fastest_endpoint.sent[0]["speed"] == "exact"
    assert result.request.speed == "fastest"  # what really ran, as for steps and guidance
    assert result.accelerations[0].startswith("asked for speed exact, ran fastest: this "
                                              "endpoint was loaded with fastest")
    assert result.accelerations[1] == "speed fastest: fp32"
    assert len(result.images) == 2


def test_an_endpoint_from_before_speed_profiles_still_answers(family_model, aws_env) -> None:
    handler = Recording(knows_speed=False)
    with EndpointServer(family_model("flux1"), handler=handler, port=0) as server:
        client = backend(server)
        first = client.generate(request(speed="fastest"))
        second = client.generate(request(speed="fastest", seed=6))
    # Refused once with the speed, asked again without it, and never sent it again.
    assert ["speed" in sent for sent in handler.sent] == [True, False, False]
    for result in (first, second):
        assert result.accelerations == ()  # it did not say
        assert result.request.speed == "fastest"  # left as asked
        assert len(result.images) == 1


def test_other_refusals_are_not_retried(fastest_endpoint, aws_env) -> None:
    from backends.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="cannot use the sampler"):
        backend(fastest_endpoint).generate(request(scheduler="dpm++_2m"))
    assert len(fastest_endpoint.sent) == 1


def test_jumpstart_is_never_sent_a_speed() -> None:
    body = json.loads(payloads.encode(request(speed="fastest"), [5], "jumpstart").body)
    assert "speed" not in body and "speed" not in json.dumps(body)
    studio = json.loads(payloads.encode(request(speed="fast"), [5], "studio").body)
    assert studio["parameters"]["speed"] == "fast"
    older = json.loads(payloads.encode(request(speed="fast"), [5], "studio",
                                       send_speed=False).body)
    assert "speed" not in older["parameters"]


def test_what_the_endpoint_says_of_its_speed_is_read_only_when_it_makes_sense() -> None:
    image = inference._encode(Image.new("RGB", (8, 8)), "PNG")
    answer = {"generated_images": [image], "seeds": [5], "accelerations": "fast",
              "speed": {"used": "ludicrous"}}
    decoded = payloads.decode(json.dumps(answer).encode(), "studio", [5])
    assert (decoded.speed, decoded.accelerations) == ("", ())
    answer.update(accelerations=["speed exact: bf16"], speed={"used": "exact"})
    decoded = payloads.decode(json.dumps(answer).encode(), "studio", [5])
    assert (decoded.speed, decoded.accelerations) == ("exact", ("speed exact: bf16",))
