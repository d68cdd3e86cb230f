"""Builds the backend the settings ask for. The only place the core names concrete backends."""

from __future__ import annotations

from backends.errors import BackendUnavailable
from backends.types import Backend
from studio.pricing import electricity_price
from studio.settings import Settings


def energy_price_for(settings: Settings):
    from backends.local import EnergyPrice

    usd_per_kwh = settings.electricity_usd_per_kwh
    if usd_per_kwh is None:
        usd_per_kwh = electricity_price().value
    return EnergyPrice(usd_per_kwh=usd_per_kwh, watts=settings.local.device_watts,
                       hardware_usd_per_hour=settings.local.hardware_usd_per_hour)


def create_backend(settings: Settings) -> Backend:
    if settings.backend == "local":
        from backends.local import LocalBackend

        return LocalBackend(settings.local.model, device=settings.local.device,
                            energy=energy_price_for(settings))
    raise BackendUnavailable(f"The {settings.backend!r} backend is not available in this build.")
