"""Deploy, watch and delete a Studio endpoint with boto3's `sagemaker` client.

The model, the endpoint config and the endpoint all carry the endpoint's name, so `delete`
finds every piece again, even after a deployment that failed half-way. The model's environment
names the speed profile its handler loads with (STUDIO_SPEED: exact, fast or fastest; see
backends/endpoint/inference.py); changing it means deploying again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backends.endpoint.autoscaling import (
    AsyncScaling,
    deregister_async_scaling,
    register_async_scaling,
)
from backends.endpoint.images import image_uri, target_for_instance
from backends.errors import BackendUnavailable, InvalidRequest, TransientError
from backends.sagemaker.errors import Target, map_error
from backends.sagemaker.status import EndpointStatus, describe_endpoint
from backends.types import SPEEDS

_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_S3 = re.compile(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?")
_SNS = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
EXECUTION_ROLE_PREFIX = "AmazonSageMaker-ExecutionRole-"
# A compiled SDXL is ~7 GB, and Neuron models take minutes to load onto the cores: the
# defaults (a few minutes) fail healthy deployments.
STARTUP_TIMEOUT_S = 1200
DOWNLOAD_TIMEOUT_S = 1800
StatusCallback = Callable[[EndpointStatus, float], None]
SPEED_ENV = "STUDIO_SPEED"  # read by the handler's model_fn
DEFAULT_SPEED = "fast"


@dataclass(frozen=True)
class DeployPlan:
    name: str
    model_data: str
    instance_type: str
    role: str
    image: str
    target: str
    instance_count: int = 1
    async_output: str = ""
    speed: str = DEFAULT_SPEED
    sns_success: str = ""
    sns_error: str = ""
    scaling: AsyncScaling | None = None

    def model_request(self) -> dict[str, Any]:
        return {
            "ModelName": self.name,
            "ExecutionRoleArn": self.role,
            "PrimaryContainer": {
                "Image": self.image,
                "ModelDataUrl": self.model_data,
                # One worker per instance: each worker loads its own pipeline, and a second
                # copy does not fit in the accelerator's memory. The speed profile is the
                # model's, not a request's: every client is served with it.
                "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1",
                                SPEED_ENV: self.speed},
            },
        }

    def config_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "EndpointConfigName": self.name,
            "ProductionVariants": [{
                "VariantName": "AllTraffic",
                "ModelName": self.name,
                "InitialInstanceCount": self.instance_count,
                "InstanceType": self.instance_type,
                "ContainerStartupHealthCheckTimeoutInSeconds": STARTUP_TIMEOUT_S,
                "ModelDataDownloadTimeoutInSeconds": DOWNLOAD_TIMEOUT_S,
            }],
        }
        if self.async_output:
            output: dict[str, Any] = {"S3OutputPath": self.async_output,
                                      "S3FailurePath": async_failure_path(self.async_output)}
            notifications = {key: arn for key, arn in (("SuccessTopic", self.sns_success),
                                                       ("ErrorTopic", self.sns_error)) if arn}
            if notifications:
                output["NotificationConfig"] = notifications
            request["AsyncInferenceConfig"] = {
                "OutputConfig": output,
                "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
            }
        return request

    def endpoint_request(self) -> dict[str, Any]:
        return {"EndpointName": self.name, "EndpointConfigName": self.name}


def async_failure_path(output: str) -> str:
    """Where SageMaker writes a failed async request's error: a failures/ folder under the
    outputs, so a bucket-only output path keeps its failures in the same bucket."""
    return output.rstrip("/") + "/failures"


def plan_deployment(name: str, model_data: str, instance_type: str, *, region: str,
                    role: str, image: str = "", instance_count: int = 1,
                    async_output: str = "", speed: str = DEFAULT_SPEED,
                    sns_success: str = "", sns_error: str = "",
                    scaling: AsyncScaling | None = None) -> DeployPlan:
    """Check every argument before anything is created (and starts costing money).

    An async endpoint with `scaling` starts with max(1, min) instances (SageMaker creates at
    least one) and scales from there, to zero when `scaling.min_instances` is 0.
    """
    problems = []
    for flag, arn in (("--sns-success", sns_success), ("--sns-error", sns_error)):
        if arn and not _SNS.fullmatch(arn):
            problems.append(f"{flag} must be an SNS topic ARN like arn:aws:sns:{region or 'REGION'}"
                            f":123456789012:NAME (got {arn!r}).")
        if arn and not async_output:
            problems.append(f"{flag} notifies about asynchronous requests: add --async "
                            "--s3-output s3://BUCKET/PREFIX.")
    if scaling is not None and not async_output:
        problems.append("Autoscaling on the backlog (--min-instances/--max-instances) is for "
                        "asynchronous endpoints: add --async --s3-output s3://BUCKET/PREFIX.")
    if scaling is not None:
        instance_count = max(1, scaling.min_instances)
    if not _NAME.fullmatch(name):
        problems.append(f"The endpoint name {name!r} must be 1–63 letters, digits and hyphens, "
                        "starting and ending with a letter or digit.")
    if not _S3.fullmatch(model_data):
        problems.append(f"--model-data must be an s3:// URL of a model.tar.gz (got "
                        f"{model_data!r}). Upload the archive from `studio endpoint package` "
                        "with `aws s3 cp`.")
    if async_output and not _S3.fullmatch(async_output):
        problems.append(f"--async-output must be an s3:// URL (got {async_output!r}).")
    if not role.startswith("arn:") or ":role/" not in role:
        problems.append(f"--role must be an IAM role ARN like arn:aws:iam::123456789012:role/"
                        f"NAME (got {role!r}).")
    if instance_count < 1:
        problems.append("--instance-count must be at least 1.")
    if speed not in SPEEDS:
        problems.append(f"--speed must be one of {', '.join(SPEEDS)} (got {speed!r}).")
    try:
        target = target_for_instance(instance_type)
    except InvalidRequest as exc:
        problems.append(str(exc))
        target = ""
    if problems:
        raise InvalidRequest(" ".join(problems))
    return DeployPlan(name, model_data, instance_type, role, image or image_uri(target, region),
                      target, instance_count, async_output, speed, sns_success, sns_error,
                      scaling)


def find_execution_role(iam: Any) -> str:
    """The account's one SageMaker execution role, as SageMaker Studio's setup creates it."""
    roles = [role["Arn"] for page in iam.get_paginator("list_roles").paginate()
             for role in page["Roles"] if role["RoleName"].startswith(EXECUTION_ROLE_PREFIX)]
    if len(roles) == 1:
        return roles[0]
    found = "none was found" if not roles else f"{len(roles)} were found"
    raise InvalidRequest(
        f"Pass --role ARN: the role SageMaker runs the endpoint as, with read access to the "
        f"model's S3 object. Studio looks for one named {EXECUTION_ROLE_PREFIX}*, and {found}.")


def deploy(client: Any, plan: DeployPlan, *, region: str = "", wait: bool = True,
           poll_s: float = 15.0, timeout_s: float = 3600.0,
           on_status: StatusCallback | None = None, autoscaling: Any = None,
           cloudwatch: Any = None, on_scaling: Callable[[list[str]], None] | None = None
           ) -> EndpointStatus:
    """Create the model, config and endpoint; with `plan.scaling`, wait for InService (the
    variant must exist to be registered) and register the backlog autoscaling."""
    target = Target(plan.name, region)
    if plan.scaling is not None and (not wait or autoscaling is None or cloudwatch is None):
        raise InvalidRequest("Autoscaling is registered once the endpoint is InService: deploy "
                             "without --no-wait.")
    steps = (("create the model for", client.create_model, plan.model_request()),
             ("create the endpoint config for", client.create_endpoint_config,
              plan.config_request()),
             ("create", client.create_endpoint, plan.endpoint_request()))
    for action, call, request in steps:
        try:
            call(**request)
        except Exception as exc:
            error = map_error(exc, target, action=action)
            if "already exist" in str(exc).lower():
                error = InvalidRequest(
                    f"A SageMaker model, endpoint config or endpoint named {plan.name} already "
                    f"exists. Delete it first (`studio endpoint delete {plan.name}`) or choose "
                    "another name.")
            raise error from exc
    if not wait:
        return endpoint_status(client, plan.name, region=region)
    status = wait_for_endpoint(client, plan.name, region=region, poll_s=poll_s,
                               timeout_s=timeout_s, on_status=on_status)
    if plan.scaling is not None:
        try:
            created = register_async_scaling(autoscaling, cloudwatch, plan.name, plan.scaling)
        except Exception as exc:
            raise map_error(exc, target, action="register autoscaling for") from exc
        if on_scaling is not None:
            on_scaling(created)
    return status


def endpoint_status(client: Any, name: str, *, region: str = "") -> EndpointStatus:
    try:
        return describe_endpoint(client, name)
    except Exception as exc:
        raise map_error(exc, Target(name, region), action="describe") from exc


def wait_for_endpoint(client: Any, name: str, *, region: str = "", poll_s: float = 15.0,
                      timeout_s: float = 3600.0,
                      on_status: StatusCallback | None = None) -> EndpointStatus:
    """Poll until InService; report each poll; raise if it fails or takes too long."""
    started = time.monotonic()
    while True:
        status = endpoint_status(client, name, region=region)
        elapsed = time.monotonic() - started
        if on_status is not None:
            on_status(status, elapsed)
        if status.in_service:
            return status
        if status.status in ("Failed", "OutOfService"):
            raise BackendUnavailable(
                f"Endpoint {name} is {status.status}: {status.failure_reason or 'no reason given'}"
                f". Its logs are in the CloudWatch log group /aws/sagemaker/Endpoints/{name}. "
                f"Delete it with `studio endpoint delete {name}` before deploying again.")
        if elapsed >= timeout_s:
            raise TransientError(
                f"Endpoint {name} is still {status.status} after {elapsed / 60:.0f} minutes. "
                f"Check it later with `studio endpoint status {name}`; it is billed from the "
                "moment it is InService.")
        time.sleep(poll_s)


def delete_endpoint(client: Any, name: str, *, region: str = "",
                    keep_model: bool = False, autoscaling: Any = None,
                    cloudwatch: Any = None) -> list[str]:
    """Delete the endpoint's autoscaling (when the clients are given), the endpoint (billing
    stops), then its config and model. What was deleted."""
    target = Target(name, region)
    deleted = []
    if autoscaling is not None and cloudwatch is not None:
        try:
            deleted += deregister_async_scaling(autoscaling, cloudwatch, name)
        except Exception as exc:
            raise map_error(exc, target, action="remove the autoscaling of") from exc
    steps = [("endpoint", client.delete_endpoint, {"EndpointName": name}),
             ("endpoint config", client.delete_endpoint_config, {"EndpointConfigName": name})]
    if not keep_model:
        steps.append(("model", client.delete_model, {"ModelName": name}))
    for label, call, request in steps:
        try:
            call(**request)
            deleted.append(label)
        except Exception as exc:
            if _is_missing(exc):
                continue
            error = map_error(exc, target, action=f"delete the {label} of")
            if label == "endpoint":
                raise type(error)(f"{error} The endpoint may still be running, and billed.") \
                    from exc
            raise error from exc
    return deleted


def _is_missing(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return "could not find" in message or "not found" in message or "does not exist" in message

