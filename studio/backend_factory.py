"""Builds the backend the settings ask for. The only place the core names concrete backends."""

from __future__ import annotations

from backends.errors import BackendUnavailable
from backends.types import Backend
from studio.costs.pricing import electricity_price
from studio.settings.values import Settings


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
    if settings.backend == "bedrock":
        return create_bedrock_backend(settings)
    if settings.backend == "sagemaker":
        return create_sagemaker_backend(settings)
    raise BackendUnavailable(f"The {settings.backend!r} backend is not available in this build.")


def create_bedrock_backend(settings: Settings):
    """The Bedrock backend for settings.bedrock; the UI also calls its test_connection()."""
    from backends.bedrock import BedrockBackend, BedrockPriceBook
    from studio.costs.pricing import bedrock_prices

    section = settings.bedrock
    prices = BedrockPriceBook.from_dict(bedrock_prices(settings.costs, section.model))
    return BedrockBackend(section.model, prices=prices,
                          region=section.region, profile=section.profile,
                          endpoint_url=section.endpoint_url)


def create_sagemaker_backend(settings: Settings):
    """The SageMaker backend for settings.sagemaker, priced from resources/prices/sagemaker.json.

    The UI also calls its test_connection().
    """
    from backends.errors import BackendError
    from backends.sagemaker import SageMakerBackend
    from backends.sagemaker.session import make_session, resolve_region
    from studio.costs.pricing import sagemaker_price_for

    section = settings.sagemaker
    try:  # the region requests will use; a bad profile is reported on first use instead
        region = resolve_region(make_session(section.profile, section.region), section.region,
                                section.endpoint_url)
    except BackendError:
        region = ""
    price = (sagemaker_price_for(settings.costs, section.instance_type, region)
             if region or settings.costs.sagemaker_usd_per_hour is not None else None)
    return SageMakerBackend(
        section.endpoint_name, region=section.region, profile=section.profile,
        endpoint_url=section.endpoint_url, instance_type=section.instance_type,
        instance_count=section.instance_count, payload_format=section.payload_format,
        usd_per_hour=price.value if price else None,
        price_source=_price_source(price, region))


def _price_source(price, region: str) -> str:
    if price is None:
        return ""
    if price.as_of == "now":
        return price.source
    return f"{region} list price as of {price.as_of}"


class BackendProvider:
    """The backend the current settings select, rebuilt only when its own settings change.

    Keeping the instance keeps the local pipeline warm across unrelated settings edits.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._cache: dict[str, tuple[object, Backend]] = {}

    def update(self, settings: Settings) -> None:
        self._settings = settings

    def current(self) -> Backend:
        return self.get(self._settings.backend)

    def get(self, name: str) -> Backend:
        settings = self._settings.replace(backend=name)
        key = (getattr(settings, name, None), settings.electricity_usd_per_kwh,
               settings.costs.sagemaker_usd_per_hour, settings.costs.bedrock_usd_per_image)
        cached = self._cache.get(name)
        if cached is None or cached[0] != key:
            self._cache[name] = (key, create_backend(settings))
        return self._cache[name][1]
