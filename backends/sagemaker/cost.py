"""What a SageMaker generation costs: its share of the endpoint's instance-hours.

A real-time endpoint bills every instance by the hour whether it is busy or idle, so a
request is charged the seconds it occupied the endpoint at the instances' hourly price.
"""

from __future__ import annotations

import threading

from backends.types import Cost

# Seconds per denoising step for one 1-megapixel image, by instance family, before anything
# has been measured (SDXL-class models; SD 1.x is faster).
DEFAULT_SECONDS_PER_STEP_MP = {
    "ml.inf2": 0.30, "ml.g5": 0.40, "ml.g6": 0.55, "ml.g4dn": 1.0,
}
FALLBACK_SECONDS_PER_STEP_MP = 0.6


def endpoint_cost(seconds: float, instance_type: str, instance_count: int,
                  usd_per_hour: float | None, price_source: str, *, estimated: bool,
                  how_long: str) -> Cost:
    fleet = f"{instance_count} × {instance_type}"
    if usd_per_hour is None:
        return Cost(0.0, f"{how_long} {_seconds(seconds)} of {fleet}; no price is known for "
                         f"{instance_type} here, so add it to the price book "
                         "(resources/prices/sagemaker.json)", estimated=True)
    usd = usd_per_hour * instance_count * seconds / 3600
    source = f" ({price_source})" if price_source else ""
    return Cost(usd, f"{how_long} {_seconds(seconds)} of {fleet} at ${usd_per_hour:.3f}/h"
                     f"{source}", estimated=estimated)


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds:.2f} s"


def default_rate(instance_type: str) -> float:
    family = instance_type.rsplit(".", 1)[0]
    return DEFAULT_SECONDS_PER_STEP_MP.get(family, FALLBACK_SECONDS_PER_STEP_MP)


class Throughput:
    """Seconds per step-megapixel-image on this endpoint, learned from this session's runs."""

    def __init__(self, instance_type: str) -> None:
        self._rate = default_rate(instance_type)
        self.measured = False
        self._lock = threading.Lock()  # several queue workers may share one backend

    def record(self, seconds: float, work: float) -> None:
        if work <= 0 or seconds <= 0:
            return
        with self._lock:
            rate = seconds / work
            self._rate = rate if not self.measured else 0.7 * self._rate + 0.3 * rate
            self.measured = True

    def estimate(self, work: float) -> float:
        return self._rate * work
