"""Amazon Bedrock: Titan Image Generator v2, Nova Canvas and Stability models, per image."""

from backends.aws_credentials import CredentialsProblem
from backends.bedrock.backend import BedrockBackend
from backends.bedrock.errors import (
    ContentFiltered,
    ModelAccessDenied,
    ModelNotAvailable,
    RequestRejected,
    Throttled,
)
from backends.bedrock.models import DEFAULT_MODEL, MODELS, ModelSpec, TaskType, model_spec
from backends.bedrock.pricing import BedrockPriceBook
from backends.bedrock.tasks import BedrockTask

__all__ = [
    "DEFAULT_MODEL", "MODELS", "BedrockBackend", "BedrockPriceBook", "BedrockTask",
    "ContentFiltered", "CredentialsProblem", "ModelAccessDenied", "ModelNotAvailable",
    "ModelSpec", "RequestRejected", "TaskType", "Throttled", "model_spec",
]
