"""Amazon Bedrock: Stability's image models and image services, per image."""

from backends.aws_credentials import CredentialsProblem
from backends.bedrock.backend import BedrockBackend
from backends.bedrock.errors import (
    ContentFiltered,
    ModelAccessDenied,
    ModelNotAvailable,
    ModelRetired,
    RequestRejected,
    Throttled,
)
from backends.bedrock.lifecycle import Lifecycle, LifecycleBook
from backends.bedrock.models import (
    DEFAULT_MODEL,
    DEFAULT_REGION,
    GENERATION_MODELS,
    MODELS,
    SERVICE_FOR_TASK,
    ModelSpec,
    Task,
    model_spec,
)
from backends.bedrock.pricing import BedrockPriceBook
from backends.bedrock.tasks import TASK_INFO, BedrockTask, Margins

__all__ = [
    "DEFAULT_MODEL", "DEFAULT_REGION", "GENERATION_MODELS", "MODELS", "SERVICE_FOR_TASK",
    "TASK_INFO",
    "BedrockBackend", "BedrockPriceBook", "BedrockTask", "ContentFiltered",
    "CredentialsProblem", "Lifecycle", "LifecycleBook", "Margins", "ModelAccessDenied",
    "ModelNotAvailable", "ModelRetired", "ModelSpec", "RequestRejected", "Task", "Throttled",
    "model_spec",
]
