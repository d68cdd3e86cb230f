"""Per-image list prices from the price book (resources/prices/bedrock.json), as Costs.

The backend is handed a BedrockPriceBook; it never reads files itself, because the price
book belongs to the app (studio.costs.pricing) and backends do not import studio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backends.types import Cost


@dataclass(frozen=True)
class PriceTier:
    usd_per_image: float
    quality: str | None = None  # None: the model has one quality
    max_pixels: int | None = None  # None: any size
    size: str = ""  # how the price page names the tier, e.g. "≤1024×1024"

    def fits(self, quality: str, width: int, height: int) -> bool:
        return ((self.quality is None or self.quality == quality)
                and (self.max_pixels is None or width * height <= self.max_pixels))


@dataclass(frozen=True)
class ModelPrices:
    model_id: str
    label: str
    region: str
    source: str
    as_of: str
    tiers: tuple[PriceTier, ...]

    def tier_for(self, quality: str, width: int, height: int) -> PriceTier:
        """The first tier the image fits; past the largest, the largest (the model will
        refuse such a size anyway, and an estimate must not fail)."""
        matching = [t for t in self.tiers if t.quality in (None, quality)] or list(self.tiers)
        for tier in matching:
            if tier.fits(quality, width, height):
                return tier
        return matching[-1]


@dataclass(frozen=True)
class BedrockPriceBook:
    models: dict[str, ModelPrices]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BedrockPriceBook:
        """Parse the `bedrock` section of resources/prices/bedrock.json."""
        try:
            models = {}
            for model_id, entry in data["bedrock"].items():
                tiers = tuple(
                    PriceTier(usd_per_image=float(t["usd_per_image"]),
                              quality=t.get("quality"), max_pixels=t.get("max_pixels"),
                              size=str(t.get("size", "")))
                    for t in entry["per_image"])
                if not tiers:
                    raise ValueError(f"{model_id} has no prices")
                models[model_id] = ModelPrices(model_id, str(entry["label"]),
                                               str(entry["region"]), str(entry["source"]),
                                               str(entry["as_of"]), tiers)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"The Bedrock price book is malformed ({exc!r}).") from exc
        return cls(models)

    def cost(self, model_id: str, *, images: int, quality: str = "standard", width: int = 0,
             height: int = 0, task: str = "", region: str = "", estimated: bool = True) -> Cost:
        """`images` × the model's list price for this quality and size, with its basis."""
        prices = self.models.get(model_id)
        if prices is None:
            return Cost(0.0, f"No list price for {model_id} in the price book "
                             "(resources/prices/bedrock.json); cost not counted.", estimated)
        tier = prices.tier_for(quality, width, height)
        details = [prices.label]
        if task:
            details.append(task)
        if tier.quality is not None:
            details.append(tier.quality)
        if tier.size:
            details.append(tier.size)
        details.append(f"{prices.region} list price as of {prices.as_of}")
        basis = (f"{images} image{'s' if images != 1 else ''} × ${tier.usd_per_image:g} "
                 f"({', '.join(details)})")
        if region and region != prices.region:
            basis += f"; prices in {region} may differ"
        return Cost(round(images * tier.usd_per_image, 6), basis, estimated)
