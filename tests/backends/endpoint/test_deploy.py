"""Deploy, watch and delete: against moto where it knows the instance type, else the exact
requests checked with botocore's Stubber."""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from backends.endpoint.deploy import (
    delete_endpoint,
    deploy,
    endpoint_status,
    find_execution_role,
    plan_deployment,
    wait_for_endpoint,
)
from backends.endpoint.images import image_uri, target_for_instance
from backends.errors import BackendUnavailable, InvalidRequest
from backends.sagemaker.errors import EndpointNotFound

ROLE = "arn:aws:iam::123456789012:role/StudioEndpoint"
MODEL_DATA = "s3://studio-models/tiny-sd/model.tar.gz"
GPU_IMAGE = ("763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:"
             "2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04")
NEURON_IMAGE = ("763104351884.dkr.ecr.us-west-2.amazonaws.com/huggingface-pytorch-inference-"
                "neuronx:2.8.0-transformers4.55.4-neuronx-py310-sdk2.26.0-ubuntu22.04")


@pytest.fixture
def sagemaker(aws_env):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="studio-models")
        s3.put_object(Bucket="studio-models", Key="tiny-sd/model.tar.gz", Body=b"archive")
        yield boto3.client("sagemaker", region_name="us-east-1")


def test_deploy_status_and_delete_a_gpu_endpoint_with_moto(sagemaker) -> None:
    # moto's instance-type list has no ml.g5/ml.g6 yet; ml.g4dn is a supported GPU type it has.
    plan = plan_deployment("studio-tiny", MODEL_DATA, "ml.g4dn.xlarge", region="us-east-1",
                           role=ROLE)
    seen = []
    status = deploy(sagemaker, plan, region="us-east-1", poll_s=0,
                    on_status=lambda s, elapsed: seen.append(s.status))
    assert status.in_service and status.fleet == "1 × ml.g4dn.xlarge" and seen == ["InService"]

    model = sagemaker.describe_model(ModelName="studio-tiny")
    assert model["ExecutionRoleArn"] == ROLE
    assert model["PrimaryContainer"]["Image"] == GPU_IMAGE
    assert model["PrimaryContainer"]["ModelDataUrl"] == MODEL_DATA
    assert model["PrimaryContainer"]["Environment"] == {"SAGEMAKER_MODEL_SERVER_WORKERS": "1",
                                                        "STUDIO_SPEED": "fast"}
    variant = sagemaker.describe_endpoint_config(
        EndpointConfigName="studio-tiny")["ProductionVariants"][0]
    assert (variant["ModelName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        "studio-tiny", "ml.g4dn.xlarge", 1)
    assert endpoint_status(sagemaker, "studio-tiny").status == "InService"

    assert delete_endpoint(sagemaker, "studio-tiny") == ["endpoint", "endpoint config", "model"]
    with pytest.raises(EndpointNotFound, match="no SageMaker endpoint 'studio-tiny'"):
        endpoint_status(sagemaker, "studio-tiny", region="us-east-1")
    assert sagemaker.list_models()["Models"] == []
    assert delete_endpoint(sagemaker, "studio-tiny") == []  # nothing left: not an error


def expected_requests(name: str, instance_type: str, image: str) -> list[tuple[str, dict]]:
    return [
        ("create_model", {
            "ModelName": name, "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": image, "ModelDataUrl": MODEL_DATA,
                                 "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1",
                                                 "STUDIO_SPEED": "fast"}}}),
        ("create_endpoint_config", {
            "EndpointConfigName": name,
            "ProductionVariants": [{
                "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
                "InstanceType": instance_type,
                "ContainerStartupHealthCheckTimeoutInSeconds": 1200,
                "ModelDataDownloadTimeoutInSeconds": 1800}]}),
        ("create_endpoint", {"EndpointName": name, "EndpointConfigName": name}),
    ]


CREATED_ARN = {"create_model": "ModelArn", "create_endpoint_config": "EndpointConfigArn",
               "create_endpoint": "EndpointArn"}


def describe(stubber: Stubber, name: str, status: str, instance_type: str,
             reason: str = "") -> None:
    endpoint = {"EndpointName": name, "EndpointArn": f"arn:aws:sagemaker:us-west-2:1:endpoint/"
                f"{name}", "EndpointConfigName": name, "EndpointStatus": status,
                "CreationTime": datetime.datetime(2026, 1, 1),
                "LastModifiedTime": datetime.datetime(2026, 1, 1)}
    if reason:
        endpoint["FailureReason"] = reason
    stubber.add_response("describe_endpoint", endpoint, {"EndpointName": name})
    stubber.add_response("describe_endpoint_config", {
        "EndpointConfigName": name, "EndpointConfigArn": "arn:aws:sagemaker:us-west-2:1:x",
        "CreationTime": datetime.datetime(2026, 1, 1),
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": name,
                                "InitialInstanceCount": 1, "InstanceType": instance_type}]},
        {"EndpointConfigName": name})


@pytest.mark.parametrize(("instance_type", "image"), [
    ("ml.inf2.xlarge", NEURON_IMAGE),
    ("ml.g5.xlarge", GPU_IMAGE.replace("us-east-1", "us-west-2")),
])
def test_exact_requests_for_types_moto_does_not_know(aws_env, instance_type, image) -> None:
    client = boto3.client("sagemaker", region_name="us-west-2")
    name = "studio-sdxl"
    with Stubber(client) as stubber:
        for operation, params in expected_requests(name, instance_type, image):
            arn = "arn:aws:sagemaker:us-west-2:123456789012:x"
            stubber.add_response(operation, {CREATED_ARN[operation]: arn}, params)
        describe(stubber, name, "Creating", instance_type)
        describe(stubber, name, "InService", instance_type)
        plan = plan_deployment(name, MODEL_DATA, instance_type, region="us-west-2", role=ROLE)
        seen = []
        status = deploy(client, plan, region="us-west-2", poll_s=0,
                        on_status=lambda s, elapsed: seen.append(s.status))
        stubber.assert_no_pending_responses()
    assert seen == ["Creating", "InService"]
    assert status.fleet == f"1 × {instance_type}"


def test_an_existing_name_is_reported_with_the_fix(aws_env) -> None:
    client = boto3.client("sagemaker", region_name="us-west-2")
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "create_model", "ValidationException", "Cannot create already existing model "
            '"arn:aws:sagemaker:us-west-2:123456789012:model/studio-sdxl".', 400)
        plan = plan_deployment("studio-sdxl", MODEL_DATA, "ml.inf2.xlarge", region="us-west-2",
                               role=ROLE)
        with pytest.raises(InvalidRequest, match="already exists. Delete it first "
                                                 r"\(`studio endpoint delete studio-sdxl`\)"):
            deploy(client, plan, poll_s=0)


def test_a_failed_deployment_says_why_and_how_to_clean_up(aws_env) -> None:
    client = boto3.client("sagemaker", region_name="us-west-2")
    with Stubber(client) as stubber:
        describe(stubber, "broken", "Failed", "ml.inf2.xlarge",
                 reason="The primary container for production variant AllTraffic did not pass "
                        "the ping health check.")
        with pytest.raises(BackendUnavailable, match="did not pass the ping health check.*"
                                                     "studio endpoint delete broken"):
            wait_for_endpoint(client, "broken", poll_s=0)


def test_async_output_makes_an_asynchronous_endpoint() -> None:
    plan = plan_deployment("a", MODEL_DATA, "ml.g6.xlarge", region="eu-west-1", role=ROLE,
                           async_output="s3://studio-models/out/")
    assert plan.config_request()["AsyncInferenceConfig"] == {
        "OutputConfig": {"S3OutputPath": "s3://studio-models/out/",
                         "S3FailurePath": "s3://studio-models/out/failures"},
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1}}
    assert plan.image.startswith("763104351884.dkr.ecr.eu-west-1.amazonaws.com/")


def test_image_uri_override_and_regions() -> None:
    plan = plan_deployment("a", MODEL_DATA, "ml.inf2.8xlarge", region="us-east-1", role=ROLE,
                           image="123.dkr.ecr.us-east-1.amazonaws.com/mine:1")
    assert plan.image == "123.dkr.ecr.us-east-1.amazonaws.com/mine:1"
    assert plan.target == "inferentia2"
    assert image_uri("gpu", "ap-east-1").startswith("871362719292.dkr.ecr.ap-east-1.")
    assert image_uri("gpu", "cn-north-1").split("/")[0].endswith(".amazonaws.com.cn")
    assert target_for_instance("ml.g4dn.xlarge") == "gpu"


def test_bad_arguments_are_all_reported_before_anything_is_created() -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan_deployment("-bad name", "https://example.com/model.tar.gz", "ml.t3.medium",
                        region="us-east-1", role="StudioRole", instance_count=0,
                        speed="ludicrous")
    message = str(caught.value)
    for part in ("endpoint name", "--model-data must be an s3:// URL", "--role must be an IAM "
                 "role ARN", "--instance-count", "ml.inf2.* (Inferentia2)",
                 "--speed must be one of exact, fast, fastest (got 'ludicrous')"):
        assert part in message


@pytest.mark.parametrize("speed", ["exact", "fast", "fastest"])
def test_the_speed_profile_goes_into_the_models_environment(speed) -> None:
    plan = plan_deployment("a", MODEL_DATA, "ml.g6.xlarge", region="us-east-1", role=ROLE,
                           speed=speed)
    environment = plan.model_request()["PrimaryContainer"]["Environment"]
    assert environment == {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "STUDIO_SPEED": speed}


def test_the_execution_role_is_found_when_there_is_exactly_one(aws_env) -> None:
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        with pytest.raises(InvalidRequest, match="Pass --role ARN.*none was found"):
            find_execution_role(iam)
        arn = iam.create_role(RoleName="AmazonSageMaker-ExecutionRole-20260101T000000",
                              AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        iam.create_role(RoleName="SomethingElse", AssumeRolePolicyDocument="{}")
        assert find_execution_role(iam) == arn
