"""What a local generation costs: the energy the device drew, at the user's electricity price."""

from __future__ import annotations

from dataclasses import dataclass

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
    basis = (f"{how_long} {seconds:.1f} s × {watts:.0f} W ({source}) × "
             f"${price.usd_per_kwh:.3f}/kWh")
    if hardware_usd:
        basis += f" + hardware ${price.hardware_usd_per_hour:.2f}/h"
    return Cost(usd=energy_usd + hardware_usd, basis=basis, estimated=estimated)


class ThroughputMemory:
    """Seconds per step-megapixel-image, learned from this session's runs, per model+device."""

    def __init__(self) -> None:
        self._measured: dict[tuple[str, str], float] = {}

    def record(self, key: tuple[str, str], seconds: float, work: float) -> None:
        if work <= 0:
            return
        rate = seconds / work
        previous = self._measured.get(key)
        # A moving average: recent runs matter more (thermal state, other loads).
        self._measured[key] = rate if previous is None else 0.7 * previous + 0.3 * rate

    def estimate(self, key: tuple[str, str], work: float) -> tuple[float, bool]:
        """(seconds, measured?) for `work` step-megapixel-images."""
        if key in self._measured:
            return self._measured[key] * work, True
        return DEFAULT_SECONDS_PER_STEP_MP.get(key[1], 6.0) * work, False
