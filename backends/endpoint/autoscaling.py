"""Scaling an asynchronous endpoint with its backlog, down to zero instances when idle.

AWS's documented pattern for asynchronous inference:
- Application Auto Scaling registers the variant's DesiredInstanceCount between
  `min_instances` (0: nothing bills while the queue is empty) and `max_instances`;
- a target-tracking policy keeps `ApproximateBacklogSizePerInstance` near the target;
- target tracking cannot leave zero (with no instance there is no per-instance backlog), so a
  step policy adds the first instance when the `HasBacklogWithoutCapacity` alarm fires.

Every name carries the endpoint's, so deleting the endpoint finds them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backends.errors import InvalidRequest

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
METRICS_NAMESPACE = "AWS/SageMaker"


@dataclass(frozen=True)
class AsyncScaling:
    min_instances: int = 0
    max_instances: int = 1
    backlog_per_instance: float = 5.0  # queued requests each instance should have at most
    scale_in_cooldown_s: int = 600
    scale_out_cooldown_s: int = 120

    def __post_init__(self) -> None:
        if self.min_instances < 0 or self.max_instances < 1:
            raise InvalidRequest("--min-instances is 0 or more and --max-instances at least 1.")
        if self.min_instances > self.max_instances:
            raise InvalidRequest(f"--min-instances ({self.min_instances}) is above "
                                 f"--max-instances ({self.max_instances}).")
        if not self.backlog_per_instance > 0:
            raise InvalidRequest("The backlog target per instance must be above 0.")


def resource_id(endpoint: str) -> str:
    return f"endpoint/{endpoint}/variant/AllTraffic"


def target_policy_name(endpoint: str) -> str:
    return f"{endpoint}-backlog-per-instance"


def from_zero_policy_name(endpoint: str) -> str:
    return f"{endpoint}-scale-from-zero"


def from_zero_alarm_name(endpoint: str) -> str:
    return f"{endpoint}-backlog-without-capacity"


def register_async_scaling(autoscaling: Any, cloudwatch: Any, endpoint: str,
                           scaling: AsyncScaling) -> list[str]:
    """Register the variant and its policies (and alarm); what was created, in words."""
    resource = resource_id(endpoint)
    autoscaling.register_scalable_target(
        ServiceNamespace=NAMESPACE, ResourceId=resource, ScalableDimension=DIMENSION,
        MinCapacity=scaling.min_instances, MaxCapacity=scaling.max_instances)
    autoscaling.put_scaling_policy(
        PolicyName=target_policy_name(endpoint), ServiceNamespace=NAMESPACE,
        ResourceId=resource, ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": scaling.backlog_per_instance,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateBacklogSizePerInstance",
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [{"Name": "EndpointName", "Value": endpoint}],
                "Statistic": "Average",
            },
            "ScaleInCooldown": scaling.scale_in_cooldown_s,
            "ScaleOutCooldown": scaling.scale_out_cooldown_s,
        })
    created = [f"scaling {scaling.min_instances}–{scaling.max_instances} instances",
               f"target tracking at {scaling.backlog_per_instance:g} queued per instance"]
    if scaling.min_instances == 0:
        step = autoscaling.put_scaling_policy(
            PolicyName=from_zero_policy_name(endpoint), ServiceNamespace=NAMESPACE,
            ResourceId=resource, ScalableDimension=DIMENSION, PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "MetricAggregationType": "Average",
                "Cooldown": scaling.scale_out_cooldown_s,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
            })
        cloudwatch.put_metric_alarm(
            AlarmName=from_zero_alarm_name(endpoint),
            AlarmDescription=f"Start an instance of {endpoint} when work waits and none runs",
            MetricName="HasBacklogWithoutCapacity", Namespace=METRICS_NAMESPACE,
            Dimensions=[{"Name": "EndpointName", "Value": endpoint}], Statistic="Average",
            Period=60, EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="missing",
            AlarmActions=[step["PolicyARN"]])
        created.append("a step policy that starts the first instance on a backlog")
    return created


def deregister_async_scaling(autoscaling: Any, cloudwatch: Any, endpoint: str) -> list[str]:
    """Remove what `register_async_scaling` made; what was removed (absent parts are fine)."""
    removed = []
    resource = resource_id(endpoint)
    for name in (target_policy_name(endpoint), from_zero_policy_name(endpoint)):
        if _ignoring_missing(lambda name=name: autoscaling.delete_scaling_policy(
                PolicyName=name, ServiceNamespace=NAMESPACE, ResourceId=resource,
                ScalableDimension=DIMENSION)):
            removed.append(f"scaling policy {name}")
    if _ignoring_missing(lambda: autoscaling.deregister_scalable_target(
            ServiceNamespace=NAMESPACE, ResourceId=resource, ScalableDimension=DIMENSION)):
        removed.append("scalable target")
    alarms = cloudwatch.describe_alarms(AlarmNames=[from_zero_alarm_name(endpoint)])
    if alarms.get("MetricAlarms"):
        cloudwatch.delete_alarms(AlarmNames=[from_zero_alarm_name(endpoint)])
        removed.append("backlog alarm")
    return removed


def scaling_range(autoscaling: Any, endpoint: str) -> tuple[int, int] | None:
    """The registered (min, max) instances, or None when the endpoint does not autoscale."""
    targets = autoscaling.describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ResourceIds=[resource_id(endpoint)],
        ScalableDimension=DIMENSION).get("ScalableTargets", [])
    if not targets:
        return None
    return int(targets[0]["MinCapacity"]), int(targets[0]["MaxCapacity"])


def _ignoring_missing(call: Any) -> bool:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ObjectNotFoundException",
                                                          "ValidationException"):
            return False
        raise
    return True


def async_backlog(cloudwatch: Any, endpoint: str, *, minutes: int = 10) -> float | None:
    """The latest `ApproximateBacklogSize` (requests queued or running) SageMaker published in
    the last `minutes`, or None when there is no datapoint (idle, or not async)."""
    import datetime as dt

    end = dt.datetime.now(dt.UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=METRICS_NAMESPACE, MetricName="ApproximateBacklogSize",
        Dimensions=[{"Name": "EndpointName", "Value": endpoint}],
        StartTime=end - dt.timedelta(minutes=minutes), EndTime=end, Period=60,
        Statistics=["Maximum"]).get("Datapoints", [])
    if not points:
        return None
    return float(max(points, key=lambda point: point["Timestamp"])["Maximum"])
