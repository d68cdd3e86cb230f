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


class BurnRate:
    """What an endpoint costs by the clock, used or not, against the images it made.

    A real-time endpoint bills every instance-hour while InService, so over a session the
    effective cost of an image is the elapsed hours × the fleet's hourly price ÷ the images
    made; it falls as the endpoint is kept busy, and rises while it sits idle.
    """

    def __init__(self, usd_per_hour: float, instance_count: int, elapsed_s: float,
                 images: int) -> None:
        self.fleet_usd_per_hour = usd_per_hour * max(1, instance_count)
        self.elapsed_s = max(0.0, elapsed_s)
        self.images = max(0, images)

    @property
    def usd_so_far(self) -> float:
        return self.fleet_usd_per_hour * self.elapsed_s / 3600

    @property
    def usd_per_image(self) -> float | None:
        return self.usd_so_far / self.images if self.images else None

    def describe(self) -> str:
        hours = self.elapsed_s / 3600
        text = (f"The endpoint bills ${self.fleet_usd_per_hour:.3f}/h "
                f"(${self.fleet_usd_per_hour * 24:.2f}/day) while it is up, used or not; "
                f"this session: {hours:.2f} h = ${self.usd_so_far:.4f}")
        per_image = self.usd_per_image
        if per_image is None:
            return text + ", no images yet."
        plural = "s" if self.images != 1 else ""
        return text + f" for {self.images} image{plural}, ${per_image:.4f} per image effective."
