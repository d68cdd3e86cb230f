"""Generation on a SageMaker real-time endpoint (ours, or a JumpStart Stable Diffusion one).

Needs boto3 only; torch is never imported on this side.
"""

from backends.sagemaker.backend import SageMakerBackend
from backends.sagemaker.errors import (
    CredentialsProblem,
    EndpointModelError,
    EndpointNotFound,
    EndpointNotInService,
    EndpointThrottled,
    EndpointTimeout,
    EndpointUnreachable,
)
from backends.sagemaker.payloads import FORMATS
from backends.sagemaker.status import EndpointStatus

__all__ = [
    "FORMATS", "CredentialsProblem", "EndpointModelError", "EndpointNotFound",
    "EndpointNotInService", "EndpointStatus", "EndpointThrottled", "EndpointTimeout",
    "EndpointUnreachable", "SageMakerBackend",
]
