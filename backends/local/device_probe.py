"""Which device local generation will use, found without importing torch.

The window shows it in the status bar from the first second, and the first estimate prices
the right device. `choose_device` (device.py, which imports torch) stays the authority once a
run has happened; this probe is its cheap forecast:

1. an explicit preference (Settings → Local → device) wins;
2. a torch build without CUDA (its version ends in "+cpu"), or CUDA_VISIBLE_DEVICES hiding
   every GPU, means the CPU;
3. an NVIDIA GPU seen by NVML (nvidia-ml-py, in the 'local' extra) or by `nvidia-smi` is the
   GPU, by its name;
4. an Apple Silicon Mac is its GPU (MPS);
5. anything else is the CPU.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache

CPU_NAME = "CPU"
APPLE_GPU_NAME = "Apple GPU"
_SMI_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class DeviceProbe:
    device: str  # "cuda", "mps" or "cpu": what the run will choose
    name: str  # what the user sees: "NVIDIA H100 80GB HBM3", "CPU", "Apple GPU"


def name_of_choice(label: str) -> str:
    """The user-facing name inside a DeviceChoice label: "cuda (NVIDIA H100) bf16" →
    "NVIDIA H100", "cpu fp32" → "CPU", "mps (Apple GPU) fp16" → "Apple GPU"."""
    text = label.strip()
    if "(" in text and ")" in text:
        return text[text.index("(") + 1:text.index(")")].strip() or text
    head = text.split(" ", 1)[0].lower()
    return {"cpu": CPU_NAME, "mps": APPLE_GPU_NAME, "cuda": "CUDA GPU"}.get(head, text)


@cache
def probe_device(preferred: str | None = None) -> DeviceProbe:
    """The device a local run will use, from the cheapest signs (cached: hardware stays)."""
    if preferred == "cpu":
        return DeviceProbe("cpu", CPU_NAME)
    if preferred == "mps":
        return DeviceProbe("mps", APPLE_GPU_NAME)
    if preferred != "cuda" and (_torch_without_cuda() or _gpus_hidden()):
        return DeviceProbe("cpu", CPU_NAME)
    name = _nvidia_gpu_name()
    if name:
        return DeviceProbe("cuda", name)
    if preferred == "cuda":
        return DeviceProbe("cuda", "CUDA GPU")
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return DeviceProbe("mps", APPLE_GPU_NAME)
    return DeviceProbe("cpu", CPU_NAME)


def _torch_without_cuda() -> bool:
    """True for a torch wheel built without CUDA ("2.5.1+cpu"), or no torch at all."""
    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return True
    return version.endswith("+cpu")


def _gpus_hidden() -> bool:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return visible is not None and visible.strip() in ("", "-1")


def _first_visible_index() -> int:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    return int(visible) if visible.isdigit() else 0


def _nvidia_gpu_name() -> str:
    return _nvml_gpu_name() or _smi_gpu_name()


def _nvml_gpu_name() -> str:
    try:
        import pynvml  # nvidia-ml-py, in the 'local' extra
    except ImportError:
        return ""
    try:
        pynvml.nvmlInit()
        try:
            if pynvml.nvmlDeviceGetCount() < 1:
                return ""
            handle = pynvml.nvmlDeviceGetHandleByIndex(_first_visible_index())
            name = pynvml.nvmlDeviceGetName(handle)
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # noqa: BLE001 - no driver, no GPU: NVML raises its own error types
        return ""
    return (name.decode() if isinstance(name, bytes) else str(name)).strip()


def _smi_gpu_name() -> str:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ""
    try:
        out = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=_SMI_TIMEOUT_S,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    if out.returncode != 0 or not names:
        return ""
    index = _first_visible_index()
    return names[index] if index < len(names) else names[0]
