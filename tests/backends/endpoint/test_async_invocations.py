"""The async-invocations emulation: S3 in, 202 at once, the output or the failure in S3."""

from __future__ import annotations

import time
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from backends.endpoint.async_invocations import AsyncInvocations, AsyncRequestError


@dataclass
class Reply:
    status: int
    body: bytes


def _echo(body: bytes, content_type: str, accept: str) -> Reply:
    if body == b"boom":
        return Reply(500, b'{"message": "the model ran out of memory"}')
    return Reply(200, body.upper())


@pytest.fixture
def s3(aws_env):
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="run")
        yield client


def _wait(invocations: AsyncInvocations) -> None:
    deadline = time.monotonic() + 10
    while invocations.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert invocations.pending == 0


def _read(s3, url: str) -> bytes:
    bucket, key = url.removeprefix("s3://").split("/", 1)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_results_and_failures_land_where_the_answer_said(s3) -> None:
    s3.put_object(Bucket="run", Key="in/a.json", Body=b"hello")
    s3.put_object(Bucket="run", Key="in/b.json", Body=b"boom")
    invocations = AsyncInvocations(s3, _echo, output_path="s3://run/out/")
    ok = invocations.accept("s3://run/in/a.json", "application/json", "application/json",
                            inference_id="sku-1")
    bad = invocations.accept("s3://run/in/b.json", "application/json", "application/json")
    assert ok.output_location == "s3://run/out/sku-1.out"
    assert ok.failure_location == "s3://run/out/failures/sku-1-error.out"
    _wait(invocations)
    assert _read(s3, ok.output_location) == b"HELLO"
    assert b"the model ran out of memory" in _read(s3, bad.failure_location)
    assert (invocations.completed, invocations.failed) == (1, 1)
    invocations.close()


@pytest.mark.parametrize(("location", "inference_id", "message"), [
    ("", "", "InputLocation is required"),
    ("https://run/in/a.json", "", "not an s3://"),
    ("s3://run/in/missing.json", "", "Could not access the input object"),
    ("s3://run/in/a.json", "bad id with spaces", "InferenceId must be"),
])
def test_requests_aws_would_refuse_are_refused_before_queueing(s3, location, inference_id,
                                                               message) -> None:
    s3.put_object(Bucket="run", Key="in/a.json", Body=b"x")
    invocations = AsyncInvocations(s3, _echo, output_path="s3://run")
    with pytest.raises(AsyncRequestError, match=message):
        invocations.accept(location, "application/json", "", inference_id=inference_id)
    assert invocations.pending == 0
    invocations.close()
