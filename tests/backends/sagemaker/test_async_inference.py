"""The async client against a moto server over HTTP: S3 checks, finding outputs, the control
plane refusing a real-time endpoint, and the payloads round trip."""

from __future__ import annotations

import base64
import io
import json

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from backends.aws_credentials import CredentialsProblem
from backends.errors import InvalidRequest
from backends.sagemaker.async_inference import (
    AsyncEndpoint,
    AsyncPayloads,
    S3Prefix,
    request_key,
)
from backends.sagemaker.errors import Target
from backends.types import Cost, GenerationRequest
from tests.s3_server import moto_s3_server, s3_client


@pytest.fixture
def moto_url(aws_env):
    with moto_s3_server() as url:
        s3_client(url).create_bucket(Bucket="run")
        yield url


def _endpoint(url: str, bucket: str = "run", name: str = "studio-async",
              **kwargs) -> AsyncEndpoint:
    return AsyncEndpoint.open(name, S3Prefix.parse(f"s3://{bucket}/batch"),
                              region="us-east-1", s3_endpoint_url=url, **kwargs)


def test_s3_prefixes_parse_and_bad_ones_are_refused() -> None:
    prefix = S3Prefix.parse("s3://run/a/b/")
    assert (prefix.bucket, prefix.prefix) == ("run", "a/b")
    assert prefix.url("requests", "x.json") == "s3://run/a/b/requests/x.json"
    assert S3Prefix.parse("s3://run").key("x") == "x"
    for bad in ("run/a", "s3://", "https://run/a", "s3://A_B/x"):
        with pytest.raises(InvalidRequest, match="s3://BUCKET"):
            S3Prefix.parse(bad)


@given(st.text(max_size=300))
def test_request_keys_are_safe_s3_names_or_refused(name: str) -> None:
    try:
        key = request_key(name)
    except InvalidRequest:
        return
    assert key and len(key) <= 200 and all(c.isalnum() or c in "._-" for c in key)
    assert key.isascii()


def test_a_missing_bucket_is_refused_clearly(moto_url) -> None:
    with pytest.raises(InvalidRequest, match="The S3 bucket absent does not exist"):
        _endpoint(moto_url, bucket="absent").check_bucket()
    _endpoint(moto_url).check_bucket()  # the one that exists passes


def test_a_bucket_it_may_not_use_is_a_credentials_problem() -> None:
    from botocore.stub import Stubber

    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x",
                      aws_secret_access_key="y")
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", "403", http_status_code=403)
        endpoint = AsyncEndpoint(None, s3, "e", S3Prefix.parse("s3://locked/x"))
        with pytest.raises(CredentialsProblem, match="may not use the S3 bucket locked"):
            endpoint.check_bucket()


def test_a_bucket_in_another_region_says_which() -> None:
    from botocore.stub import Stubber

    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x",
                      aws_secret_access_key="y")
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", "301", http_status_code=301, response_meta={
            "HTTPHeaders": {"x-amz-bucket-region": "eu-west-1"}})
        endpoint = AsyncEndpoint(None, s3, "e", S3Prefix.parse("s3://far/x"),
                                 target=Target("e", "us-east-1"))
        with pytest.raises(InvalidRequest, match="far is in eu-west-1, not us-east-1"):
            endpoint.check_bucket()


def test_ready_lists_folders_once_and_finds_only_what_is_there(moto_url) -> None:
    s3 = s3_client(moto_url)
    for name in ("a.out", "b.out", "other/c.out"):
        s3.put_object(Bucket="run", Key=f"out/{name}", Body=b"x")
    endpoint = _endpoint(moto_url)
    wanted = ["s3://run/out/a.out", "s3://run/out/missing.out", "s3://run/out/other/c.out",
              "s3://run/out/failures/a-error.out", ""]
    assert endpoint.ready(wanted) == {"s3://run/out/a.out", "s3://run/out/other/c.out"}
    assert endpoint.read("s3://run/out/a.out") == b"x"
    assert endpoint.read("s3://run/out/missing.out") is None


def test_write_request_puts_the_body_under_the_prefix(moto_url) -> None:
    endpoint = _endpoint(moto_url)
    location = endpoint.write_request("SKU 1/white", b'{"inputs": "x"}')
    assert location == "s3://run/batch/requests/SKU_1_white.json"
    assert endpoint.read(location) == b'{"inputs": "x"}'


def test_the_control_plane_refuses_a_real_time_endpoint(moto_url, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", moto_url)
    control = boto3.client("sagemaker", region_name="us-east-1")
    control.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                         PrimaryContainer={"Image": "img"})
    variant = {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 2,
               "InstanceType": "ml.g4dn.xlarge"}
    control.create_endpoint_config(EndpointConfigName="rt", ProductionVariants=[variant])
    control.create_endpoint(EndpointName="realtime", EndpointConfigName="rt")
    with pytest.raises(InvalidRequest, match="realtime is a real-time endpoint"):
        _endpoint(moto_url, name="realtime").describe()
    control.create_endpoint_config(
        EndpointConfigName="async", ProductionVariants=[variant],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://run/out"}})
    control.create_endpoint(EndpointName="studio-async", EndpointConfigName="async")
    status = _endpoint(moto_url).describe()
    assert status.async_output == "s3://run/out" and status.instance_type == "ml.g4dn.xlarge"


def test_an_endpoint_url_has_no_control_plane_to_ask(moto_url) -> None:
    assert _endpoint(moto_url, endpoint_url="http://127.0.0.1:9").describe() is None


def _png(color: str) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_payloads_are_the_backends_and_outputs_become_results() -> None:
    codec = AsyncPayloads("studio")
    request = GenerationRequest(prompt="a cup", seed=7, width=64, height=64, steps=2)
    body = json.loads(codec.encode(request).body)
    assert body["inputs"] == "a cup"
    assert body["parameters"]["seed"] == 7 and body["parameters"]["num_inference_steps"] == 2
    output = json.dumps({"generated_images": [_png("red")], "seeds": [7], "model": "tiny",
                         "device": "cpu", "parameters": {"num_inference_steps": 2,
                                                         "guidance_scale": 5.0},
                         "timings": {"inference_s": 0.5, "total_s": 0.6}}).encode()
    cost = Cost(0.01, "async share", estimated=True)
    result = codec.result(request, output, cost=cost, waited_s=3.0, model="endpoint",
                          device="1 × ml.g5.xlarge")
    assert result.images[0].seed == 7 and result.cost == cost and result.model == "tiny"
    assert result.timings.total_s == 3.0 and result.timings.queue_s == pytest.approx(2.4)
    assert result.request.guidance == 5.0 and result.device == "1 × ml.g5.xlarge (cpu)"
    with pytest.raises(InvalidRequest, match="payload format"):
        AsyncPayloads("nope")
