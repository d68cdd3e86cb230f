"""An endpoint's state as the SageMaker control plane reports it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class EndpointStatus:
    name: str
    status: str  # InService, Creating, Updating, SystemUpdating, RollingBack, Failed, ...
    instance_type: str  # "" for a serverless endpoint
    instance_count: int
    config_name: str = ""
    failure_reason: str = ""
    created: datetime | None = None
    async_output: str = ""

    @property
    def in_service(self) -> bool:
        return self.status == "InService"

    @property
    def fleet(self) -> str:
        if not self.instance_type:
            return "serverless capacity"
        return f"{self.instance_count} × {self.instance_type}"


def describe_endpoint(client: Any, name: str) -> EndpointStatus:
    """DescribeEndpoint plus its config (which alone knows the instance type)."""
    endpoint = client.describe_endpoint(EndpointName=name)
    config_name = endpoint.get("EndpointConfigName", "")
    variant: dict[str, Any] = {}
    async_output = ""
    if config_name:
        config = client.describe_endpoint_config(EndpointConfigName=config_name)
        variant = (config.get("ProductionVariants") or [{}])[0]
        async_output = (config.get("AsyncInferenceConfig") or {}).get(
            "OutputConfig", {}).get("S3OutputPath", "")
    current = (endpoint.get("ProductionVariants") or [{}])[0]
    count = current.get("CurrentInstanceCount") or variant.get("InitialInstanceCount") or 0
    return EndpointStatus(
        name=name, status=str(endpoint.get("EndpointStatus", "Unknown")),
        instance_type=str(variant.get("InstanceType", "")), instance_count=int(count),
        config_name=config_name, failure_reason=str(endpoint.get("FailureReason", "")),
        created=endpoint.get("CreationTime"), async_output=async_output)
