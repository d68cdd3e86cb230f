"""Errors AWS answers that a local server cannot produce, checked through botocore's Stubber."""

from __future__ import annotations

import base64
import datetime
import io
import json

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSOTokenLoadError,
)
from botocore.stub import Stubber
from PIL import Image

from backends.errors import BackendUnavailable, GenerationFailed, TransientError
from backends.sagemaker import (
    CredentialsProblem,
    EndpointModelError,
    EndpointNotFound,
    EndpointNotInService,
    EndpointThrottled,
    EndpointTimeout,
    EndpointUnreachable,
    SageMakerBackend,
)
from backends.sagemaker.errors import Target, map_error
from backends.types import GenerationRequest

TARGET = Target("prod-sdxl", "eu-west-1", "design")


class StubbedSession:
    """A boto3 session whose clients answer from Stubbers instead of the network."""

    def __init__(self) -> None:
        session = boto3.Session(region_name="eu-west-1")
        self.region_name = "eu-west-1"
        self.clients = {name: session.client(name, region_name="eu-west-1")
                        for name in ("sagemaker-runtime", "sagemaker")}
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}

    def client(self, name: str, **kwargs):
        return self.clients[name]


def client_error(code: str, message: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "InvokeEndpoint")


@pytest.mark.parametrize(("error", "kind", "message"), [
    (client_error("ThrottlingException", "Rate exceeded"), EndpointThrottled,
     "busy or throttled"),
    (client_error("ExpiredTokenException", "The security token included in the request is "
                  "expired"), CredentialsProblem, "have expired. Sign in again with: aws sso "
                                                  "login --profile design"),
    (client_error("UnrecognizedClientException", "bad token"), CredentialsProblem,
     "did not accept your credentials"),
    (client_error("AccessDeniedException", "not authorized to perform: "
                  "sagemaker:InvokeEndpoint"), CredentialsProblem, "sagemaker:InvokeEndpoint"),
    (client_error("ServiceUnavailable", "", 503), TransientError, "temporary problem"),
    (client_error("ValidationError", "Endpoint prod-sdxl of account 1 not found."),
     EndpointNotFound, "no SageMaker endpoint 'prod-sdxl' in eu-west-1"),
    (SSOTokenLoadError(error_msg="Token has expired and refresh failed"), CredentialsProblem,
     "SSO session for profile 'design' has expired"),
])
def test_aws_errors_become_messages_with_a_next_step(error, kind, message) -> None:
    mapped = map_error(error, TARGET)
    assert isinstance(mapped, kind) and message in str(mapped)


def test_sagemakers_own_60_second_limit_is_a_timeout() -> None:
    error = ClientError({"Error": {"Code": "ModelError", "Message": "Received server error (0) "
                                   "from primary with message \"Your invocation timed out while "
                                   "waiting for a response from container primary.\""},
                         "OriginalStatusCode": 0, "ResponseMetadata": {"HTTPStatusCode": 424}},
                        "InvokeEndpoint")
    assert isinstance(map_error(error, TARGET), EndpointTimeout)


def describe(stub: Stubber, status: str) -> None:
    stub.add_response("describe_endpoint", {
        "EndpointName": "prod-sdxl", "EndpointArn": "arn:aws:sagemaker:eu-west-1:1:endpoint/x",
        "EndpointConfigName": "prod-sdxl", "EndpointStatus": status,
        "CreationTime": datetime.datetime(2026, 1, 1),
        "LastModifiedTime": datetime.datetime(2026, 1, 1),
        "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 1}]},
        {"EndpointName": "prod-sdxl"})
    stub.add_response("describe_endpoint_config", {
        "EndpointConfigName": "prod-sdxl", "EndpointConfigArn": "arn:aws:sagemaker:eu-west-1:1:x",
        "CreationTime": datetime.datetime(2026, 1, 1),
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "prod-sdxl",
                                "InitialInstanceCount": 1, "InstanceType": "ml.inf2.xlarge"}]},
        {"EndpointConfigName": "prod-sdxl"})


def test_an_endpoint_still_creating_is_reported_as_not_in_service(aws_env) -> None:
    session = StubbedSession()
    runtime, control = session.stubs["sagemaker-runtime"], session.stubs["sagemaker"]
    runtime.add_client_error("invoke_endpoint", "ValidationError",
                             "Endpoint prod-sdxl of account 123456789012 not found.", 400)
    describe(control, "Creating")
    backend = SageMakerBackend("prod-sdxl", region="eu-west-1", instance_type="ml.inf2.xlarge",
                               session=session)
    with runtime, control, pytest.raises(EndpointNotInService, match="is Creating, not "
                                                                      "InService.*5–15 minutes"):
        backend.generate(GenerationRequest("x", width=1024, height=1024, steps=20))


def test_test_connection_refuses_an_endpoint_that_is_not_in_service(aws_env) -> None:
    session = StubbedSession()
    describe(session.stubs["sagemaker"], "Updating")
    backend = SageMakerBackend("prod-sdxl", region="eu-west-1", session=session)
    with session.stubs["sagemaker"], pytest.raises(EndpointNotInService) as caught:
        backend.test_connection()
    assert caught.value.status == "Updating"


def test_test_connection_leaves_the_size_to_a_compiled_model(aws_env) -> None:
    session = StubbedSession()
    describe(session.stubs["sagemaker"], "InService")
    png = io.BytesIO()
    Image.new("RGB", (1024, 1024)).save(png, format="PNG")
    answer = {"generated_images": [base64.b64encode(png.getvalue()).decode()], "seeds": [0],
              "timings": {"inference_s": 0.4, "encode_s": 0.1, "total_s": 0.5}}
    session.stubs["sagemaker-runtime"].add_response(
        "invoke_endpoint", {"Body": io.BytesIO(json.dumps(answer).encode())},
        {"EndpointName": "prod-sdxl", "ContentType": "application/json",
         "Accept": "application/json",
         "Body": json.dumps({"inputs": "test", "parameters": {"num_inference_steps": 1,
                                                              "seed": 0}}).encode()})
    backend = SageMakerBackend("prod-sdxl", region="eu-west-1", instance_type="ml.inf2.xlarge",
                               session=session)
    with session.stubs["sagemaker"], session.stubs["sagemaker-runtime"]:
        sentence = backend.test_connection()
    assert sentence.startswith("Endpoint prod-sdxl is InService on 1 × ml.inf2.xlarge; a "
                               "1024×1024 test image came back in ")


def _model_error(message: str) -> ClientError:
    return ClientError({"Error": {"Code": "ModelError", "Message": message},
                        "OriginalStatusCode": 500, "OriginalMessage": message,
                        "ResponseMetadata": {"HTTPStatusCode": 424}}, "InvokeEndpoint")


@pytest.mark.parametrize(("error", "billed"), [
    (ReadTimeoutError(endpoint_url="http://x"), True),
    (ConnectionClosedError(endpoint_url="http://x"), True),
    (ResponseStreamingError(error="reset"), True),
    (client_error("ThrottlingException", "Rate exceeded", 429), False),
    (client_error("ServiceUnavailable", "", 503), False),
])
def test_a_lost_answer_may_have_been_billed_and_throttling_was_not(error, billed) -> None:
    mapped = map_error(error, TARGET)
    assert isinstance(mapped, TransientError) and mapped.maybe_billed is billed


def test_a_failed_connect_is_retryable_and_then_unavailable() -> None:
    mapped = map_error(EndpointConnectionError(endpoint_url="http://x"), TARGET)
    assert isinstance(mapped, EndpointUnreachable)
    assert isinstance(mapped, TransientError) and not mapped.maybe_billed
    assert isinstance(mapped, BackendUnavailable)  # a batch stops on it after its retries


def test_a_model_error_fails_the_request_not_the_backend() -> None:
    mapped = map_error(_model_error("RuntimeError: CUDA out of memory"), TARGET)
    assert isinstance(mapped, EndpointModelError) and isinstance(mapped, GenerationFailed)
    assert not isinstance(mapped, BackendUnavailable | TransientError)
    assert "CUDA out of memory" in str(mapped)
