"""The local endpoint server over real HTTP: the container contract and the runtime API."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from backends.endpoint.server import EndpointServer

TINY = {"width": 64, "height": 64, "num_inference_steps": 2}


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def runtime(server: EndpointServer):
    return boto3.Session(region_name="us-east-1").client(
        "sagemaker-runtime", endpoint_url=server.url,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def invoke(client, body: dict | bytes, name: str = "test"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.invoke_endpoint(EndpointName=name, Body=data, ContentType="application/json",
                                  Accept="application/json")


def test_it_binds_to_loopback_and_answers_ping(endpoint_server) -> None:
    assert endpoint_server.host == "127.0.0.1"
    with urllib.request.urlopen(f"{endpoint_server.url}/ping", timeout=5) as response:
        assert response.status == 200


def test_a_loading_server_is_not_ready() -> None:
    with EndpointServer(None, port=0) as server:
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{server.url}/ping", timeout=5)
        assert caught.value.code == 503


def test_the_container_contract(endpoint_server) -> None:
    status, answer = post(f"{endpoint_server.url}/invocations",
                          json.dumps({"inputs": "a desk", "parameters": {**TINY, "seed": 3}})
                          .encode())
    assert status == 200 and answer["seeds"] == [3] and len(answer["generated_images"]) == 1
    assert answer["timings"]["queue_s"] >= 0
    status, answer = post(f"{endpoint_server.url}/invocations", b'{"inputs": ""}')
    assert status == 400 and "Write a prompt" in answer["message"]
    status, answer = post(f"{endpoint_server.url}/nowhere", b"{}")
    assert status == 404 and "/invocations" in answer["message"]


def test_boto3_round_trips_images_and_seeds(endpoint_server, aws_env) -> None:
    response = invoke(runtime(endpoint_server),
                      {"inputs": "a lamp", "parameters": {**TINY, "seed": 40,
                                                          "num_images_per_prompt": 2}})
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert response["ContentType"] == "application/json"
    answer = json.loads(response["Body"].read())
    assert answer["seeds"] == [40, 41]
    assert all(base64.b64decode(image)[:4] == b"\x89PNG" for image in answer["generated_images"])
    assert answer["timings"]["inference_s"] > 0


def test_a_bad_request_is_a_model_error_carrying_the_handlers_400(endpoint_server,
                                                                   aws_env) -> None:
    client = runtime(endpoint_server)
    with pytest.raises(client.exceptions.ModelError) as caught:
        invoke(client, {"inputs": "x", "parameters": {"width": 65}})
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 400
    assert "width must be a multiple of 8" in json.loads(response["OriginalMessage"])["message"]
    assert "Received client error (400)" in response["Error"]["Message"]


def test_a_model_failure_is_a_model_error_carrying_500(tiny_endpoint_model, handler_with,
                                                       aws_env) -> None:
    def broken(data, model):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    with EndpointServer(tiny_endpoint_model, handler=handler_with(broken), port=0) as server:
        client = runtime(server)
        with pytest.raises(client.exceptions.ModelError) as caught:
            invoke(client, {"inputs": "x", "parameters": TINY})
    assert caught.value.response["OriginalStatusCode"] == 500
    assert "illegal memory access" in caught.value.response["OriginalMessage"]


def test_an_unknown_endpoint_name_is_a_validation_error(tiny_endpoint_model, aws_env) -> None:
    with EndpointServer(tiny_endpoint_model, port=0, endpoint_name="real") as server:
        client = runtime(server)
        with pytest.raises(client.exceptions.ValidationError, match="Endpoint other .* not "
                                                                     "found"):
            invoke(client, {"inputs": "x"}, name="other")


def test_a_body_over_6_mb_is_refused_and_the_server_carries_on(endpoint_server,
                                                                aws_env) -> None:
    client = runtime(endpoint_server)
    with pytest.raises(ClientError) as caught:
        invoke(client, b"x" * (6 * 1024 * 1024 + 1))
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "exceeded 6291456 bytes" in caught.value.response["Error"]["Message"]
    assert invoke(client, {"inputs": "x", "parameters": TINY})["Body"].read()


def test_concurrent_requests_take_turns_on_the_one_pipeline(tiny_endpoint_model, handler_with,
                                                            aws_env) -> None:
    from backends.endpoint import inference

    active, most = [0], [0]
    guard = threading.Lock()

    def counting(data, model):
        with guard:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.2)
        try:
            return inference.predict_fn(data, model)
        finally:
            with guard:
                active[0] -= 1

    answers: list[dict] = []
    with EndpointServer(tiny_endpoint_model, handler=handler_with(counting), port=0) as server:
        client = runtime(server)

        def call(seed: int) -> None:
            body = {"inputs": "x", "parameters": {**TINY, "seed": seed}}
            answers.append(json.loads(invoke(client, body)["Body"].read()))

        threads = [threading.Thread(target=call, args=(seed,)) for seed in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert most[0] == 1
    assert sorted(answer["seeds"][0] for answer in answers) == [0, 1, 2]
    assert max(answer["timings"]["queue_s"] for answer in answers) >= 0.15
