"""Backlog autoscaling of an asynchronous endpoint, against moto's Application Auto Scaling
and CloudWatch."""

from __future__ import annotations

import datetime

import boto3
import pytest
from moto import mock_aws

from backends.endpoint.autoscaling import (
    AsyncScaling,
    async_backlog,
    deregister_async_scaling,
    register_async_scaling,
    scaling_range,
)
from backends.endpoint.deploy import plan_deployment
from backends.errors import InvalidRequest

ROLE = "arn:aws:iam::123456789012:role/StudioEndpoint"
MODEL_DATA = "s3://studio-models/tiny-sd/model.tar.gz"
TOPIC = "arn:aws:sns:us-east-1:123456789012:studio-done"


@pytest.fixture
def clients(aws_env):
    with mock_aws():
        yield (boto3.client("application-autoscaling", region_name="us-east-1"),
               boto3.client("cloudwatch", region_name="us-east-1"))


def test_scale_to_zero_registers_target_tracking_and_a_step_from_zero(clients) -> None:
    autoscaling, cloudwatch = clients
    made = register_async_scaling(autoscaling, cloudwatch, "ep", AsyncScaling(0, 4, 3.0))
    assert made[0] == "scaling 0–4 instances"
    assert scaling_range(autoscaling, "ep") == (0, 4)
    policies = {p["PolicyName"]: p for p in autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker")["ScalingPolicies"]}
    tracking = policies["ep-backlog-per-instance"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 3.0
    metric = tracking["CustomizedMetricSpecification"]
    assert metric["MetricName"] == "ApproximateBacklogSizePerInstance"
    assert metric["Dimensions"] == [{"Name": "EndpointName", "Value": "ep"}]
    [alarm] = cloudwatch.describe_alarms()["MetricAlarms"]
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity"
    assert alarm["AlarmActions"] == [policies["ep-scale-from-zero"]["PolicyARN"]]


def test_a_floor_above_zero_needs_no_step_policy(clients) -> None:
    autoscaling, cloudwatch = clients
    register_async_scaling(autoscaling, cloudwatch, "ep", AsyncScaling(1, 2))
    names = [p["PolicyName"] for p in autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker")["ScalingPolicies"]]
    assert names == ["ep-backlog-per-instance"]
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []


def test_deregistering_removes_everything_and_is_idempotent(clients) -> None:
    autoscaling, cloudwatch = clients
    register_async_scaling(autoscaling, cloudwatch, "ep", AsyncScaling(0, 2))
    assert len(deregister_async_scaling(autoscaling, cloudwatch, "ep")) == 4
    assert deregister_async_scaling(autoscaling, cloudwatch, "ep") == []
    assert scaling_range(autoscaling, "ep") is None


def test_the_backlog_is_the_latest_datapoint(clients) -> None:
    _, cloudwatch = clients
    assert async_backlog(cloudwatch, "ep") is None
    now = datetime.datetime.now(datetime.UTC)
    for minutes_ago, value in ((3, 40.0), (1, 12.0)):
        cloudwatch.put_metric_data(Namespace="AWS/SageMaker", MetricData=[{
            "MetricName": "ApproximateBacklogSize", "Value": value,
            "Dimensions": [{"Name": "EndpointName", "Value": "ep"}],
            "Timestamp": now - datetime.timedelta(minutes=minutes_ago)}])
    assert async_backlog(cloudwatch, "ep") == 12.0


def test_the_async_config_has_failures_path_and_notifications() -> None:
    plan = plan_deployment("ep", MODEL_DATA, "ml.g4dn.xlarge", region="us-east-1", role=ROLE,
                           async_output="s3://out/run/", sns_success=TOPIC, sns_error=TOPIC,
                           scaling=AsyncScaling(0, 3))
    output = plan.config_request()["AsyncInferenceConfig"]["OutputConfig"]
    assert output == {"S3OutputPath": "s3://out/run/", "S3FailurePath": "s3://out/run/failures",
                      "NotificationConfig": {"SuccessTopic": TOPIC, "ErrorTopic": TOPIC}}
    # SageMaker creates at least one instance; the policy takes it to zero when idle
    assert plan.config_request()["ProductionVariants"][0]["InitialInstanceCount"] == 1


@pytest.mark.parametrize(("fields", "message"), [
    (dict(sns_success="arn:aws:sns:us-east-1:1:x", async_output="s3://out/r"), "SNS topic ARN"),
    (dict(sns_error=TOPIC), "add --async"),
    (dict(scaling=AsyncScaling(0, 2)), "for asynchronous endpoints"),
])
def test_bad_async_plans_are_refused_before_anything_is_created(fields, message) -> None:
    with pytest.raises(InvalidRequest, match=message):
        plan_deployment("ep", MODEL_DATA, "ml.g4dn.xlarge", region="us-east-1", role=ROLE,
                        **fields)


@pytest.mark.parametrize(("low", "high"), [(-1, 2), (0, 0), (3, 2)])
def test_impossible_ranges_are_refused(low: int, high: int) -> None:
    with pytest.raises(InvalidRequest):
        AsyncScaling(low, high)
