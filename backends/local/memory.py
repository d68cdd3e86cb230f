"""Whether a model fits the GPU, needs model CPU offload, or cannot run: decided from sizes.

Plain arithmetic on byte counts, so it is tested without a GPU; the caller measures the
model's weights and asks the device for its free memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GIB = 1024**3
# Room for activations, the VAE decode and the CUDA context at 1024² (measured on SDXL and
# FLUX at batch 1; more images per call need more).
WORKING_MARGIN_BYTES = int(2.5 * GIB)


@dataclass(frozen=True)
class Placement:
    kind: Literal["device", "offload", "impossible"]
    note: str  # what the result's device line says; "" when the model simply fits

    @property
    def runs(self) -> bool:
        return self.kind != "impossible"


def plan_placement(total_bytes: int, largest_bytes: int, free_bytes: int,
                   host_free_bytes: int | None = None) -> Placement:
    """Where the weights go: all on the GPU, one component at a time (model CPU offload), or
    nowhere. `largest_bytes` is the biggest component (the transformer, usually): with
    offload only it and the working margin must fit at once."""
    need_all = total_bytes + WORKING_MARGIN_BYTES
    if need_all <= free_bytes:
        return Placement("device", "")
    need_offload = largest_bytes + WORKING_MARGIN_BYTES
    if need_offload <= free_bytes and (host_free_bytes is None or total_bytes <= host_free_bytes):
        return Placement("offload", f"model CPU offload (needs {_gib(need_all)} GB to stay on "
                                    f"the GPU, {_gib(free_bytes)} GB free)")
    where = (f"{_gib(need_offload)} GB of GPU memory even with model CPU offload "
             f"(its largest part is {_gib(largest_bytes)} GB)")
    if host_free_bytes is not None and total_bytes > host_free_bytes:
        where += f", and {_gib(total_bytes)} GB of free system memory to hold it"
    return Placement("impossible", f"This model needs {where}; this GPU has {_gib(free_bytes)} "
                                   "GB free. Close other GPU programs, or choose a smaller "
                                   "model or a quantized (fp8) version of it.")


def _gib(value: int) -> str:
    return f"{value / GIB:.1f}"
