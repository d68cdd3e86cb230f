"""Generation backends and the vocabulary they share. Never imports `studio`, torch or diffusers."""

from backends.errors import (
    BackendError,
    BackendUnavailable,
    Cancelled,
    InvalidRequest,
    TransientError,
)
from backends.types import (
    SCHEDULERS,
    Backend,
    BackendInfo,
    CancelToken,
    Cost,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    LoraRef,
    Progress,
    ProgressCallback,
    Timings,
    decode_image,
    load_image,
)

__all__ = [
    "SCHEDULERS", "Backend", "BackendError", "BackendInfo", "BackendUnavailable", "CancelToken",
    "Cancelled", "Cost", "GeneratedImage", "GenerationRequest", "GenerationResult",
    "InvalidRequest", "LoraRef", "Progress", "ProgressCallback", "Timings", "TransientError",
    "decode_image", "load_image",
]
