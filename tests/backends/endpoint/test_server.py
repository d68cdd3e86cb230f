"""The local endpoint server over real HTTP: the container contract and the runtime API."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from backends.endpoint.server import EndpointServer, Limits

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


# --- clients that misbehave, and many at once ----------------------------------------------

SHORT = Limits(read_timeout_s=0.5, request_timeout_s=2.0, write_timeout_s=1.0)
VALID = json.dumps({"inputs": "a cup", "parameters": {**TINY, "seed": 1}}).encode()


def instant(data, model) -> dict:
    """A model that answers at once: these tests are about the server's reading, not the model."""
    return {"seeds": [data.seeds[0]], "generated_images": []}


def raw_client(server: EndpointServer, data: bytes = b"") -> socket.socket:
    client = socket.create_connection((server.host, server.port), timeout=10)
    if data:
        client.sendall(data)
    return client


def head(length: int, path: str = "/invocations") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def status_of(client: socket.socket) -> int:
    """The status of the answer on `client`, then that the server closed the connection."""
    answer = b""
    while chunk := client.recv(65536):
        answer += chunk
    return int(answer.split(b" ", 2)[1])


@pytest.mark.slow
def test_fifty_concurrent_requests_all_succeed(endpoint_server) -> None:
    start = threading.Barrier(50)
    answers: list[tuple[int, dict]] = []

    def call(seed: int) -> None:
        body = json.dumps({"inputs": "x", "parameters": {**TINY, "seed": seed}}).encode()
        start.wait(timeout=30)
        answers.append(post(f"{endpoint_server.url}/invocations", body))

    threads = [threading.Thread(target=call, args=(seed,)) for seed in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [status for status, _ in answers] == [200] * 50
    assert sorted(answer["seeds"][0] for _, answer in answers) == list(range(50))


def test_a_short_body_is_answered_408_after_the_read_timeout(tiny_endpoint_model) -> None:
    with EndpointServer(tiny_endpoint_model, port=0, limits=SHORT) as server:
        client = raw_client(server, head(100) + b'{"inputs"')
        started = time.monotonic()
        assert status_of(client) == 408
        assert SHORT.read_timeout_s * 0.9 <= time.monotonic() - started < 3
        assert server.invocations == 0


def test_a_trickling_client_is_cut_off_and_does_not_block_others(handler_with) -> None:
    with EndpointServer(object(), handler=handler_with(instant), port=0,
                        limits=SHORT) as server:
        trickler = raw_client(server, head(1000))
        stop = threading.Event()

        def trickle() -> None:  # a byte every 0.1 s: never silent for the read timeout
            with contextlib.suppress(OSError):
                while not stop.wait(0.1):
                    trickler.send(b" ")

        feeder = threading.Thread(target=trickle)
        feeder.start()
        try:
            started = time.monotonic()
            assert post(f"{server.url}/invocations", VALID)[0] == 200
            # Served at once, while the trickler still sends (it is cut off at 2 s).
            assert time.monotonic() - started < SHORT.request_timeout_s / 2
            assert status_of(trickler) == 408
            assert time.monotonic() - started < SHORT.request_timeout_s + 1.5
        finally:
            stop.set()
            feeder.join()
        assert server.invocations == 1


def test_headers_that_never_end_are_answered_408(tiny_endpoint_model) -> None:
    with EndpointServer(tiny_endpoint_model, port=0, limits=SHORT) as server:
        client = raw_client(server, b"POST /invocations HTTP/1.1\r\nHost: x\r\n")
        assert status_of(client) == 408


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000,
                                  b'{"inputs": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"])
def test_deeply_nested_json_is_a_400(endpoint_server, aws_env, body: bytes) -> None:
    status, answer = post(f"{endpoint_server.url}/invocations", body)
    assert status == 400 and "nested too deeply" in answer["message"]
    client = runtime(endpoint_server)
    with pytest.raises(client.exceptions.ModelError) as caught:
        invoke(client, body)
    assert caught.value.response["OriginalStatusCode"] == 400
    assert invoke(client, {"inputs": "x", "parameters": TINY})["Body"].read()


def test_sixty_silent_clients_hold_no_thread_and_do_not_delay_a_request(handler_with) -> None:
    with EndpointServer(object(), handler=handler_with(instant), port=0,
                        limits=SHORT) as server:
        threads_before = threading.active_count()
        silent = [raw_client(server, b"POST /invocations HTTP/1.1\r\n") for _ in range(30)]
        silent += [raw_client(server) for _ in range(30)]  # connected, sending nothing
        try:
            started = time.monotonic()
            assert post(f"{server.url}/invocations", VALID)[0] == 200
            assert time.monotonic() - started < SHORT.read_timeout_s  # none was waited for
            assert threading.active_count() <= threads_before + SHORT.workers
            deadline = time.monotonic() + 5
            while server.connections and time.monotonic() < deadline:
                time.sleep(0.05)
            assert server.connections == 0  # every silent client was dropped
        finally:
            for client in silent:
                client.close()


def test_beyond_the_queue_a_request_is_answered_503(handler_with) -> None:
    def slow(data, model):
        time.sleep(0.5)
        return instant(data, model)

    limits = Limits(workers=1, max_queued=2)
    with EndpointServer(object(), handler=handler_with(slow), port=0,
                        limits=limits) as server:
        statuses: list[int] = []
        threads = [threading.Thread(target=lambda: statuses.append(
            post(f"{server.url}/invocations", VALID)[0])) for _ in range(4)]
        for thread in threads:
            thread.start()
            time.sleep(0.05)
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(statuses) == [200, 200, 503, 503]


def test_a_request_over_the_drain_limit_is_refused_at_once(tiny_endpoint_model) -> None:
    with EndpointServer(tiny_endpoint_model, port=0, limits=SHORT) as server:
        client = raw_client(server, head(100 * 1024 * 1024))
        assert status_of(client) == 413
        assert post(f"{server.url}/invocations", VALID)[0] == 200


# --- InvokeEndpointAsync, against a moto S3 server -------------------------------------------

@pytest.fixture
def s3_url(aws_env):
    from tests.s3_server import moto_s3_server, s3_client

    with moto_s3_server() as url:
        s3_client(url).create_bucket(Bucket="run")
        yield url


def _wait_for_object(s3, url: str, timeout_s: float = 60.0) -> bytes:
    from tests.s3_server import read_s3

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return read_s3(s3, url)
        except ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_boto3_invoke_endpoint_async_answers_202_and_writes_the_output(endpoint_server,
                                                                      s3_url) -> None:
    from tests.s3_server import s3_client

    s3 = s3_client(s3_url)
    endpoint_server.enable_async(s3, "s3://run/results")
    body = {"inputs": "a lamp", "parameters": {**TINY, "seed": 5}}
    s3.put_object(Bucket="run", Key="in/lamp.json", Body=json.dumps(body).encode())
    answer = runtime(endpoint_server).invoke_endpoint_async(
        EndpointName="test", InputLocation="s3://run/in/lamp.json",
        ContentType="application/json", Accept="application/json", InferenceId="lamp-5")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert answer["InferenceId"] == "lamp-5"
    assert answer["OutputLocation"] == "s3://run/results/lamp-5.out"
    assert answer["FailureLocation"] == "s3://run/results/failures/lamp-5-error.out"
    output = json.loads(_wait_for_object(s3, answer["OutputLocation"]))
    assert output["seeds"] == [5]
    assert base64.b64decode(output["generated_images"][0])[:4] == b"\x89PNG"
    assert endpoint_server.async_invocations.accepted == 1


def test_a_failed_async_request_writes_its_failure_and_output_defaults_to_the_input_bucket(
        endpoint_server, s3_url) -> None:
    from tests.s3_server import s3_client

    s3 = s3_client(s3_url)
    endpoint_server.enable_async(s3)
    s3.put_object(Bucket="run", Key="in/empty.json", Body=b'{"inputs": ""}')
    answer = runtime(endpoint_server).invoke_endpoint_async(
        EndpointName="test", InputLocation="s3://run/in/empty.json")
    assert answer["OutputLocation"].startswith("s3://run/async-output/")
    assert answer["FailureLocation"].startswith("s3://run/async-output/failures/")
    failure = _wait_for_object(s3, answer["FailureLocation"]).decode()
    assert "Received server error (400)" in failure and "Write a prompt" in failure


@pytest.mark.parametrize(("location", "message"), [
    ("s3://run/in/missing.json", "Could not access the input object"),
    ("https://example.com/x.json", "not an s3://"),
])
def test_a_bad_input_location_is_a_validation_error(endpoint_server, s3_url, location,
                                                   message) -> None:
    from tests.s3_server import s3_client

    endpoint_server.enable_async(s3_client(s3_url))
    with pytest.raises(ClientError) as caught:
        runtime(endpoint_server).invoke_endpoint_async(EndpointName="test",
                                                       InputLocation=location)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert message in caught.value.response["Error"]["Message"]
    assert endpoint_server.async_invocations.accepted == 0


def test_without_s3_the_async_route_says_what_it_needs(endpoint_server, aws_env) -> None:
    with pytest.raises(ClientError) as caught:
        runtime(endpoint_server).invoke_endpoint_async(EndpointName="test",
                                                       InputLocation="s3://run/in/a.json")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "--s3-endpoint-url" in caught.value.response["Error"]["Message"]
