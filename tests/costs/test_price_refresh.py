"""`studio pricing refresh` against Price List API documents, through botocore's Stubber."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest
from botocore.stub import Stubber

from studio.cli.main import main
from studio.costs.price_refresh import parse_product, refresh
from studio.costs.pricing import overrides_dir, sagemaker_price
from studio.paths import resources_dir

LOCATIONS = {"us-east-1": ("US East (N. Virginia)", "USE1"),
             "eu-west-1": ("EU (Ireland)", "EU")}


def document(instance: str, usd: str, *, region: str = "us-east-1",
             component: str = "Hosting", usage: str = "Host") -> str:
    """One product as GetProducts returns it: a JSON string per SKU."""
    location, prefix = LOCATIONS[region]
    sku = hashlib.sha1(f"{instance}{region}{component}".encode()).hexdigest()[:16].upper()
    return json.dumps({
        "product": {
            "productFamily": "ML Instance",
            "attributes": {
                "regionCode": region, "servicecode": "AmazonSageMaker",
                "usagetype": f"{prefix}-{usage}:{instance}", "locationType": "AWS Region",
                "location": location, "servicename": "Amazon SageMaker",
                "instanceName": instance, "operation": "RunInstance", "component": component,
                "vCpu": "4", "memory": "16 GiB", "gpu": "1", "gpuMemory": "24",
            },
            "sku": sku,
        },
        "serviceCode": "AmazonSageMaker",
        "terms": {"OnDemand": {f"{sku}.JRTCKXETXF": {
            "priceDimensions": {f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                "unit": "Hrs", "endRange": "Inf", "beginRange": "0", "appliesTo": [],
                "description": f"${float(usd):g} per {component} {instance} in {location}",
                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
                "pricePerUnit": {"USD": usd},
            }},
            "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z",
            "offerTermCode": "JRTCKXETXF", "termAttributes": {},
        }}},
        "version": "20261105193129", "publicationDate": "2026-11-05T19:31:29Z",
    })


def expected(region: str, token: str | None = None) -> dict:
    params = {"ServiceCode": "AmazonSageMaker", "FormatVersion": "aws_v1", "MaxResults": 100,
              "Filters": [
                  {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
                  {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
                  {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"}]}
    if token:
        params["NextToken"] = token
    return params


@pytest.fixture
def pricing(aws_env):
    client = boto3.client("pricing", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def stub_us_east_1(stubber: Stubber) -> None:
    stubber.add_response("get_products", {
        "FormatVersion": "aws_v1", "NextToken": "page-2",
        "PriceList": [document("ml.g5.xlarge", "1.4084000000"),
                      document("ml.inf2.xlarge", "0.9900000000"),
                      # A training price that slipped through: not hosting, ignored.
                      document("ml.g5.xlarge", "1.6000000000", component="Training",
                               usage="Train")]},
        expected("us-east-1"))
    stubber.add_response("get_products", {
        "FormatVersion": "aws_v1",
        "PriceList": [document("ml.g6e.xlarge", "2.3340000000")]},
        expected("us-east-1", "page-2"))


def test_a_hosting_document_is_parsed_and_others_are_not() -> None:
    price = parse_product(document("ml.inf2.8xlarge", "2.3600000000"))
    assert (price.instance_type, price.region, price.usd_per_hour, price.as_of) == \
        ("ml.inf2.8xlarge", "us-east-1", 2.36, "2026-11-01")
    assert parse_product(document("ml.g5.xlarge", "1.6", component="Training",
                                  usage="Train")) is None


def test_refresh_writes_an_override_file_and_reports_what_changed(pricing) -> None:
    client, stubber = pricing
    shipped = (resources_dir() / "prices" / "sagemaker.json").read_bytes()
    stub_us_east_1(stubber)
    changes = refresh(client, ["us-east-1"])
    described = [c.describe() for c in changes]
    assert described == ["ml.g5.xlarge in us-east-1: $1.408/h → $1.4084/h",
                         "ml.g6e.xlarge in us-east-1: new, $2.334/h"]
    assert sagemaker_price("ml.g5.xlarge", "us-east-1").value == 1.4084
    assert "AWS Price List API" in sagemaker_price("ml.g6e.xlarge", "us-east-1").source
    assert sagemaker_price("ml.g5.xlarge", "eu-west-1").value == 1.572  # not fetched
    assert (resources_dir() / "prices" / "sagemaker.json").read_bytes() == shipped
    saved = json.loads((overrides_dir() / "sagemaker.json").read_text(encoding="utf-8"))
    assert saved["instances"]["ml.inf2.xlarge"]["us-east-1"]["as_of"] == "2026-11-01"


def test_the_cli_refreshes_one_region_and_prints_the_changes(pricing, monkeypatch,
                                                             capsys) -> None:
    client, stubber = pricing
    stub_us_east_1(stubber)
    monkeypatch.setattr("studio.costs.price_refresh.pricing_client", lambda profile="": client)
    assert main(["pricing", "refresh", "--region", "us-east-1"]) == 0
    out = capsys.readouterr()
    assert "ml.g5.xlarge in us-east-1: $1.408/h → $1.4084/h" in out.out
    assert "1 new price(s)" in out.out and "shipped price book is unchanged" in out.err


def test_refresh_without_permission_says_what_is_needed(pricing, monkeypatch, capsys) -> None:
    client, stubber = pricing
    stubber.add_client_error("get_products", "AccessDeniedException", "not authorized",
                             expected_params=expected("us-east-1"))
    monkeypatch.setattr("studio.costs.price_refresh.pricing_client", lambda profile="": client)
    assert main(["pricing", "refresh", "--region", "us-east-1"]) == 3
    assert "pricing:GetProducts" in capsys.readouterr().err
    assert not (overrides_dir() / "sagemaker.json").exists()
