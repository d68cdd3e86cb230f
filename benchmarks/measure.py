"""Measuring helpers for benchmarks/speed.py: device sync, freeing, peak RSS, PSNR."""

from __future__ import annotations

import contextlib
import gc
import math
import sys
import threading
from typing import Any


def sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


class RssPeak:
    """The process's peak resident set size over a block. On Linux the kernel's high-water
    mark (VmHWM) is reset on entry (`5` into /proc/self/clear_refs) and read on exit: no
    sampling thread, no tracemalloc. Elsewhere (or if the reset is refused) a thread samples
    the RSS every 10 ms. `how` says which was used."""

    def __init__(self) -> None:
        self.peak = 0
        self.how = "VmHWM"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _status(field_name: str) -> int:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) * 1024
        raise OSError(f"no {field_name} in /proc/self/status")

    @staticmethod
    def _now() -> int:
        try:
            return RssPeak._status("VmRSS")
        except (OSError, ValueError):
            import resource  # not on Windows; ru_maxrss is KiB on Linux, bytes on macOS

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return peak if sys.platform == "darwin" else peak * 1024

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._now())
            self._stop.wait(0.01)

    def __enter__(self) -> RssPeak:
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
                handle.write("5")
            self._status("VmHWM")
        except (OSError, ValueError):
            self.how = "sampled every 10 ms"
            self.peak = self._now()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is None:
            self.peak = self._status("VmHWM")
            return
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._now())


def free(device: str) -> None:
    import torch

    with contextlib.suppress(Exception):
        torch._dynamo.reset()  # compiled graphs hold on to the last pipeline's modules
    gc.collect()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def step_times(stamps: list[float]) -> list[float]:
    """The denoising steps after the first (the first also holds text encoding and set-up)."""
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)]


def psnr(image: Any, reference: Any) -> float:
    """PSNR in dB of two float images in [0, 1]: inf when identical, nan when not finite."""
    import numpy as np

    a, b = np.asarray(image, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.nan
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)
