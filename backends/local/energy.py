"""Measured GPU energy: board power sampled through NVML while a generation runs.

NVML (the `nvidia-ml-py` package, imported as `pynvml`) is loaded only when a CUDA run
starts. Without it, or without an NVIDIA GPU, there is no meter and the cost falls back to
the configured or typical wattage. Energy is the trapezoid integral of the power samples.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

PowerReader = Callable[[], float]  # the board's draw now, in watts
SAMPLE_INTERVAL_S = 0.05


@dataclass(frozen=True)
class EnergyReading:
    joules: float
    seconds: float
    samples: int

    @property
    def average_watts(self) -> float:
        return self.joules / self.seconds if self.seconds > 0 else 0.0


def integrate(samples: list[tuple[float, float]]) -> EnergyReading:
    """Joules under (seconds, watts) samples, by the trapezoid rule."""
    joules = 0.0
    for (t0, w0), (t1, w1) in zip(samples, samples[1:], strict=False):
        joules += (t1 - t0) * (w0 + w1) / 2
    seconds = samples[-1][0] - samples[0][0] if len(samples) > 1 else 0.0
    return EnergyReading(joules, seconds, len(samples))


class PowerSampler:
    """Samples `read_watts` every `interval_s` on a background thread between start and stop.

    `sample()` may also be called directly (the tests replay a recorded trace that way).
    """

    def __init__(self, read_watts: PowerReader, *, interval_s: float = SAMPLE_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read_watts
        self._clock = clock
        self._interval_s = interval_s
        self._samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.failed = False

    def sample(self) -> None:
        try:
            watts = float(self._read())
        except Exception:  # noqa: BLE001 - a meter that stops answering must not stop a run
            self.failed = True
            return
        with self._lock:
            self._samples.append((self._clock(), watts))

    def start(self) -> PowerSampler:
        self.sample()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="studio-power")
        self._thread.start()
        return self

    def stop(self) -> EnergyReading:
        """Stop sampling (once; later calls only read) and return the energy so far."""
        if self._stop.is_set():
            return self.reading()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
        self.sample()
        return self.reading()

    def reading(self) -> EnergyReading:
        with self._lock:
            return integrate(list(self._samples))

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.sample()


def nvml_reader(device_index: int = 0) -> PowerReader | None:
    """A reader of GPU `device_index`'s power through NVML, or None where NVML is unusable."""
    try:
        import pynvml  # nvidia-ml-py, in the 'local' extra
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(device_index)
        pynvml.nvmlDeviceGetPowerUsage(handle)  # fails here, not mid-run, when unsupported
    except Exception:  # noqa: BLE001 - no driver, no GPU, or power readings not supported
        return None
    return lambda: pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0  # milliwatts


def default_meter(device: str) -> PowerReader | None:
    """The meter for a local device: NVML on CUDA, nothing elsewhere."""
    return nvml_reader() if device == "cuda" else None
