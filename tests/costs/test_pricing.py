"""The price book: shipped entries with sources and dates, override files, Settings prices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.costs.pricing import (
    bedrock_prices,
    electricity_price,
    overrides_dir,
    price_file,
    sagemaker_price,
    sagemaker_price_for,
)
from studio.settings.values import (
    BedrockSettings,
    CostSettings,
    SageMakerSettings,
    Settings,
    load_settings,
    save_settings,
)

INSTANCES = ("ml.inf2.xlarge", "ml.inf2.8xlarge", "ml.g5.xlarge", "ml.g5.2xlarge",
             "ml.g6.xlarge", "ml.g4dn.xlarge")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1")


def test_every_required_sagemaker_price_is_there_with_its_source_and_date() -> None:
    for instance in INSTANCES:
        for region in REGIONS:
            price = sagemaker_price(instance, region)
            assert price is not None and price.value > 0, (instance, region)
            assert price.source and price.as_of


def test_bedrock_and_electricity_prices_carry_source_and_date() -> None:
    for model, entry in price_file("bedrock")["bedrock"].items():
        assert entry["source"] and entry["as_of"] and entry["per_image"], model
    power = electricity_price()
    assert power.value > 0 and power.source and power.as_of


def write_override(name: str, data: dict) -> Path:
    path = overrides_dir() / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_an_override_file_replaces_only_the_entries_it_names() -> None:
    write_override("sagemaker", {"instances": {"ml.g5.xlarge": {"us-east-1": {
        "usd_per_hour": 1.2, "source": "negotiated", "as_of": "2026-11"}}}})
    assert sagemaker_price("ml.g5.xlarge", "us-east-1").value == 1.2
    assert sagemaker_price("ml.g5.xlarge", "us-west-2").value == 1.408  # untouched
    write_override("electricity", {"electricity": {"usd_per_kwh": 0.31}})
    price = electricity_price()
    assert price.value == 0.31 and price.as_of == "2025-12"  # the rest still shipped


def test_a_damaged_override_file_leaves_the_shipped_prices() -> None:
    path = write_override("sagemaker", {})
    path.write_text("{not json", encoding="utf-8")
    assert sagemaker_price("ml.g5.xlarge", "us-east-1").value == 1.408


def test_settings_prices_override_the_book() -> None:
    costs = CostSettings(sagemaker_usd_per_hour=0.5, bedrock_usd_per_image=0.01)
    price = sagemaker_price_for(costs, "ml.g5.xlarge", "us-east-1")
    assert (price.value, price.source) == (0.5, "your price in Settings")
    assert sagemaker_price_for(CostSettings(), "ml.g5.xlarge", "us-east-1").value == 1.408
    sd35 = "stability.sd3-5-large-v1:0"
    entry = bedrock_prices(costs, sd35)["bedrock"][sd35]
    assert entry["per_image"] == [{"usd_per_image": 0.01}]
    assert entry["label"] == "Stable Diffusion 3.5 Large"


def test_the_factory_hands_settings_prices_to_the_backends(aws_env) -> None:
    from backends.types import GenerationRequest
    from studio.backend_kinds import create_backend

    settings = Settings(costs=CostSettings(sagemaker_usd_per_hour=2.0, bedrock_usd_per_image=0.5),
                        sagemaker=SageMakerSettings(endpoint_name="e", region="eu-west-1",
                                                    instance_count=2),
                        bedrock=BedrockSettings(model="amazon.nova-canvas-v1:0"))
    sagemaker = create_backend(settings.replace(backend="sagemaker"))
    assert sagemaker.usd_per_hour == 2.0 and sagemaker.fleet_usd_per_hour == 4.0
    assert "your price in Settings" in sagemaker.price_source
    bedrock = create_backend(settings.replace(backend="bedrock"))
    request = GenerationRequest(prompt="x", width=1024, height=1024, count=2)
    assert bedrock.estimate_cost(request).usd == pytest.approx(1.0)


def test_cost_settings_round_trip_and_bad_values_fall_back() -> None:
    save_settings(Settings(costs=CostSettings(budget_usd_per_day=5, sagemaker_usd_per_hour=1.1)))
    costs = load_settings().costs
    assert (costs.budget_usd_per_day, costs.sagemaker_usd_per_hour) == (5, 1.1)
    assert costs.bedrock_usd_per_image is None
