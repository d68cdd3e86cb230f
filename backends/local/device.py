"""Pick where to run and in which precision. Imports torch, so only call it when generating."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # "cuda", "mps" or "cpu"
    dtype: Any  # a torch.dtype
    label: str  # what the user sees, e.g. "cuda (NVIDIA H100) fp16"


def choose_device(preferred: str | None = None) -> DeviceChoice:
    """CUDA first, then Apple MPS, then CPU; half precision where the hardware is made for it."""
    import torch

    wanted = preferred or ("cuda" if torch.cuda.is_available() else
                           "mps" if torch.backends.mps.is_available() else "cpu")
    if wanted == "cuda":
        name = torch.cuda.get_device_name(0)
        # bf16 where the GPU has it (Ampere on): FLUX, Qwen-Image and Z-Image overflow fp16.
        if torch.cuda.is_bf16_supported():
            return DeviceChoice("cuda", torch.bfloat16, f"cuda ({name}) bf16")
        return DeviceChoice("cuda", torch.float16, f"cuda ({name}) fp16")
    if wanted == "mps":
        return DeviceChoice("mps", torch.float16, "mps (Apple GPU) fp16")
    # Half precision on CPU is slower than fp32 and poorly supported by many kernels.
    return DeviceChoice("cpu", torch.float32, "cpu fp32")
