"""`studio pricing refresh`: SageMaker hosting prices from the AWS Price List API.

The Price List API (boto3 `pricing`, served from us-east-1 and ap-south-1 only) answers
`get_products` with one JSON document per product (SKU). A real-time hosting instance is an
`ML Instance` product whose `component` is `Hosting` and whose usage type ends in
`Host:<instance type>`; its on-demand term has one price dimension in USD per `Hrs`.

The shipped resources/prices/sagemaker.json is never rewritten: refreshed prices go to
STUDIO_HOME/prices/sagemaker.json, which studio.costs.pricing merges over the shipped book.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backends.errors import BackendUnavailable
from studio.atomic import write_bytes_atomic
from studio.costs.pricing import overrides_dir, price_file, shipped_price_file

PRICING_API_REGION = "us-east-1"  # the API also lives in ap-south-1; prices are global
SERVICE_CODE = "AmazonSageMaker"
_HOSTING_USAGE = re.compile(r"(?:^|-)Host:(ml\.[a-z0-9-]+\.[a-z0-9]+)$")
SOURCE = ("AWS Price List API (pricing.get_products, ServiceCode AmazonSageMaker), real-time "
          "hosting on-demand price per instance-hour, {region}, fetched by "
          "`studio pricing refresh`")


@dataclass(frozen=True)
class HostingPrice:
    instance_type: str
    region: str
    usd_per_hour: float
    as_of: str


@dataclass(frozen=True)
class PriceChange:
    instance_type: str
    region: str
    before: float | None
    after: float

    def describe(self) -> str:
        if self.before is None:
            return f"{self.instance_type} in {self.region}: new, ${self.after:g}/h"
        return (f"{self.instance_type} in {self.region}: ${self.before:g}/h → "
                f"${self.after:g}/h")


def parse_product(document: str | dict[str, Any]) -> HostingPrice | None:
    """One Price List document as a hosting price, or None when it is something else."""
    product_doc = json.loads(document) if isinstance(document, str) else document
    product = product_doc.get("product", {})
    attributes = product.get("attributes", {})
    if product.get("productFamily") != "ML Instance":
        return None
    if attributes.get("component", "Hosting") != "Hosting":
        return None
    match = _HOSTING_USAGE.search(attributes.get("usagetype", ""))
    if match is None:
        return None
    region = attributes.get("regionCode", "")
    for term in product_doc.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            if dimension.get("unit", "").lower() not in ("hrs", "hr", "hours"):
                continue
            usd = float(dimension.get("pricePerUnit", {}).get("USD", "0") or 0)
            if usd <= 0:
                continue
            as_of = (term.get("effectiveDate") or product_doc.get("publicationDate") or "")[:10]
            return HostingPrice(match.group(1), region, usd, as_of or _today())
    return None


def fetch_hosting_prices(client: Any, region: str) -> list[HostingPrice]:
    """Every real-time hosting price in `region`, following NextToken to the end."""
    filters = [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
        {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"},
    ]
    prices: list[HostingPrice] = []
    token = None
    while True:
        params: dict[str, Any] = {"ServiceCode": SERVICE_CODE, "Filters": filters,
                                  "FormatVersion": "aws_v1", "MaxResults": 100}
        if token:
            params["NextToken"] = token
        page = client.get_products(**params)
        for document in page.get("PriceList", []):
            price = parse_product(document)
            if price is not None and price.region == region:
                prices.append(price)
        token = page.get("NextToken")
        if not token:
            return prices


def book_regions() -> list[str]:
    """The regions the shipped price book covers: what a refresh without --region fetches."""
    regions: set[str] = set()
    for per_region in shipped_price_file("sagemaker").get("instances", {}).values():
        regions.update(per_region)
    return sorted(regions)


def refresh(client: Any, regions: list[str]) -> list[PriceChange]:
    """Fetch `regions`, write the override file atomically, return what changed."""
    current = price_file("sagemaker").get("instances", {})
    override_path = overrides_dir() / "sagemaker.json"
    try:
        override = json.loads(override_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        override = {}
    if not isinstance(override, dict):
        override = {}
    instances = override.setdefault("instances", {})
    changes: list[PriceChange] = []
    for region in regions:
        for price in fetch_hosting_prices(client, region):
            before_entry = current.get(price.instance_type, {}).get(region)
            before = float(before_entry["usd_per_hour"]) if before_entry else None
            if before is None or abs(before - price.usd_per_hour) > 1e-9:
                changes.append(PriceChange(price.instance_type, region, before,
                                           price.usd_per_hour))
            instances.setdefault(price.instance_type, {})[region] = {
                "usd_per_hour": price.usd_per_hour, "as_of": price.as_of,
                "source": SOURCE.format(region=region)}
    override.update(version=1, refreshed_at=datetime.now(UTC).isoformat(timespec="seconds"))
    payload = json.dumps(override, indent=2, sort_keys=True) + "\n"
    write_bytes_atomic(override_path, payload.encode("utf-8"))
    return sorted(changes, key=lambda c: (c.instance_type, c.region))


def pricing_client(profile: str = "") -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.Session(profile_name=profile or None)
        return session.client("pricing", region_name=PRICING_API_REGION)
    except BotoCoreError as exc:
        raise BackendUnavailable(f"The AWS Price List API cannot be used: {exc}") from exc


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")
