"""What a local generation costs: the energy the device drew, at the user's electricity price.

Before a run, the seconds come from throughput: seconds per step-megapixel-image for a model
on a device kind, learned from this process's runs and seeded from the library's history of
local runs (so a restart, or runs made by the CLI, still count as measured).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backends.types import Cost

# Typical board power while denoising; the user overrides it in Settings.
DEFAULT_WATTS = {"cuda": 300.0, "mps": 30.0, "cpu": 65.0}
# Seconds per denoising step for one 1-megapixel image, before anything has been measured.
DEFAULT_SECONDS_PER_STEP_MP = {"cuda": 0.06, "mps": 0.6, "cpu": 6.0}


@dataclass(frozen=True)
class EnergyPrice:
    usd_per_kwh: float = 0.17
    watts: float | None = None  # None: the device's typical draw from DEFAULT_WATTS
    hardware_usd_per_hour: float = 0.0  # optional amortisation of the machine itself

    def watts_for(self, device: str) -> float:
        return self.watts if self.watts is not None else DEFAULT_WATTS.get(device, 65.0)


def energy_cost(seconds: float, device: str, price: EnergyPrice, *, estimated: bool,
                how_long: str, measured_watts: float | None = None,
                measured_how: str = "measured by NVML") -> Cost:
    """seconds × watts × $/kWh (+ hardware $/h × seconds), with its one-line basis.

    `measured_watts` (the average a power meter saw) replaces the configured or typical draw.
    """
    watts = measured_watts if measured_watts is not None else price.watts_for(device)
    energy_usd = seconds * watts / 3_600_000 * price.usd_per_kwh
    hardware_usd = seconds / 3600 * price.hardware_usd_per_hour
    if measured_watts is not None:
        source = measured_how
    else:
        source = "configured" if price.watts is not None else f"typical {device}"
    basis = (f"{how_long} {seconds_text(seconds)} × {watts:.0f} W ({source}) × "
             f"${price.usd_per_kwh:.3f}/kWh")
    if hardware_usd:
        basis += f" + hardware ${price.hardware_usd_per_hour:.2f}/h"
    return Cost(usd=energy_usd + hardware_usd, basis=basis, estimated=estimated)


def seconds_text(seconds: float) -> str:
    """Seconds in a cost basis: two significant digits under one ("0.042 s", never "0.0 s")."""
    if seconds <= 0:
        return "0 s"
    if seconds >= 1:
        return f"{seconds:.1f} s"
    digits = max(1, 1 - math.floor(math.log10(seconds)))
    return f"{seconds:.{digits}f} s"


def device_kind(label: str) -> str:
    """"cuda", "mps" or "cpu" from a recorded device label ("cuda (NVIDIA H100) bf16, offloaded",
    "cpu fp32"); "" for one that names none of them."""
    head = label.strip().lower().split(" ", 1)[0].split(",", 1)[0]
    return head if head in DEFAULT_WATTS else ""


def step_work(steps: float, width: int, height: int, count: int, strength: float = 1.0) -> float:
    """Denoising work in step-megapixel-images, the unit throughput is learned in."""
    return max(1.0, steps * strength) * width * height / 1e6 * count


@dataclass(frozen=True)
class MeasuredRun:
    """One finished local run, as the library recorded it."""

    model: str  # the model's display name (a hub id, a folder or file name)
    device: str  # "cuda", "mps" or "cpu"
    seconds: float  # inference + decode
    work: float  # step-megapixel-images
    load_s: float = 0.0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> MeasuredRun | None:
        """A library run row (model, device, steps, width, height, count, load_s,
        inference_s, decode_s, and where known mode and strength); None when unusable."""
        try:
            device = device_kind(str(row["device"]))
            mode = str(row.get("mode") or "txt2img")
            strength = float(row.get("strength") or 1.0) if mode in ("img2img", "inpaint") \
                else 1.0
            work = step_work(float(row["steps"] or 0), int(row["width"]), int(row["height"]),
                             int(row["count"]), strength)
            seconds = float(row["inference_s"]) + float(row["decode_s"])
            load_s = float(row.get("load_s") or 0.0)
        except (KeyError, TypeError, ValueError):
            return None
        model = row.get("model")
        if not device or not model or not (0 < seconds < math.inf) or not (0 < work < math.inf):
            return None
        return cls(str(model), device, seconds, work, max(0.0, load_s))


History = Callable[[], Iterable[Mapping[str, Any]]]  # library run rows, oldest first


class ThroughputMemory:
    """Seconds per step-megapixel-image per model+device, from measured runs: this process's,
    and the history `history` returns (read once, on the first estimate)."""

    def __init__(self, history: History | None = None) -> None:
        self._measured: dict[tuple[str, str], float] = {}
        self._load_s: dict[tuple[str, str], float] = {}
        self._history = history
        self._lock = threading.Lock()

    def record(self, key: tuple[str, str], seconds: float, work: float,
               load_s: float = 0.0) -> None:
        if work <= 0 or seconds <= 0 or not math.isfinite(seconds):
            return
        rate = seconds / work
        with self._lock:
            previous = self._measured.get(key)
            # A moving average: recent runs matter more (thermal state, other loads).
            self._measured[key] = rate if previous is None else 0.7 * previous + 0.3 * rate
            if load_s > 0:
                self._load_s[key] = load_s  # what loading took the last time it happened

    def learn(self, runs: Iterable[Mapping[str, Any]]) -> int:
        """Learn from library run rows, oldest first; returns how many were usable."""
        used = 0
        for row in runs:
            run = MeasuredRun.from_row(row)
            if run is not None:
                self.record((run.model, run.device), run.seconds, run.work, run.load_s)
                used += 1
        return used

    def _read_history(self) -> None:
        history, self._history = self._history, None
        if history is None:
            return
        try:
            rows = list(history())
        except Exception:  # noqa: BLE001 - an unreadable history only costs the seeding
            return
        self.learn(rows)

    def estimate(self, key: tuple[str, str], work: float) -> tuple[float, bool]:
        """(seconds, measured?) for `work` step-megapixel-images."""
        self._read_history()
        with self._lock:
            rate = self._measured.get(key)
        if rate is not None:
            return rate * work, True
        return DEFAULT_SECONDS_PER_STEP_MP.get(key[1], 6.0) * work, False

    def load_seconds(self, key: tuple[str, str]) -> float:
        """What loading the model took when it was last loaded (0 when never measured)."""
        self._read_history()
        with self._lock:
            return self._load_s.get(key, 0.0)


def estimate_energy(throughput: ThroughputMemory, model: str, device: str, work: float,
                    price: EnergyPrice, *, loaded: bool,
                    measured_watts: float | None = None) -> Cost:
    """The energy a run of `work` will cost: measured throughput where there is one (plus
    the measured load time when the model is not loaded yet), else a typical guess that
    says so."""
    key = (model, device)
    seconds, measured = throughput.estimate(key, work)
    load_s = 0.0 if loaded else throughput.load_seconds(key)
    how_long = "Energy for about" if measured else "Energy for a guessed"
    cost = energy_cost(seconds + load_s, device, price, estimated=True, how_long=how_long,
                       measured_watts=measured_watts, measured_how="measured on the last run")
    basis = cost.basis
    if load_s:
        basis += f" (with {seconds_text(load_s)} to load the model)"
    if not measured:
        basis += f" (no run measured yet for this model on {device})"
    return Cost(cost.usd, basis, estimated=True)
