"""Per-image list prices from resources/prices/bedrock.json: tiers, arithmetic and the sentence."""

from __future__ import annotations

import json

import pytest

from backends.bedrock import MODELS, BedrockBackend, BedrockPriceBook, BedrockTask, TaskType
from backends.types import GenerationRequest
from tests.backends.bedrock.conftest import PRICE_FILE

NOVA = "amazon.nova-canvas-v1:0"
TITAN = "amazon.titan-image-generator-v2:0"


@pytest.mark.parametrize(("model", "quality", "size", "usd"), [
    (TITAN, "standard", (512, 512), 0.008),
    (TITAN, "standard", (384, 576), 0.008),
    (TITAN, "standard", (768, 768), 0.01),
    (TITAN, "premium", (512, 512), 0.01),
    (TITAN, "premium", (1024, 1024), 0.012),
    (NOVA, "standard", (1024, 1024), 0.04),
    (NOVA, "standard", (1280, 720), 0.04),
    (NOVA, "standard", (2048, 1024), 0.06),
    (NOVA, "premium", (1024, 1024), 0.06),
    (NOVA, "premium", (2048, 2048), 0.08),
    ("stability.sd3-5-large-v1:0", "standard", (1344, 768), 0.08),
    ("stability.stable-image-core-v1:1", "standard", (1024, 1024), 0.04),
    ("stability.stable-image-ultra-v1:1", "standard", (640, 1536), 0.14),
])
def test_the_tier_follows_model_quality_and_size(prices, model, quality, size, usd) -> None:
    cost = prices.cost(model, images=3, quality=quality, width=size[0], height=size[1])
    assert cost.usd == pytest.approx(3 * usd)
    assert f"3 images × ${usd:g} (" in cost.basis


def test_the_basis_is_one_sentence_with_count_price_tier_region_and_date(prices) -> None:
    cost = prices.cost(NOVA, images=2, quality="standard", width=1024, height=1024,
                       region="us-east-1", estimated=False)
    assert cost.basis == ("2 images × $0.04 (Nova Canvas, standard, ≤1024×1024, us-east-1 "
                          "list price as of 2025-06)")
    assert cost.usd == pytest.approx(0.08) and not cost.estimated
    elsewhere = prices.cost(NOVA, images=1, quality="premium", width=1024, height=1024,
                            task="inpainting", region="eu-west-1")
    assert elsewhere.basis.startswith("1 image × $0.06 (Nova Canvas, inpainting, premium,")
    assert elsewhere.basis.endswith("; prices in eu-west-1 may differ")


def test_a_model_without_a_price_costs_nothing_and_says_so(prices) -> None:
    cost = prices.cost("amazon.future-model", images=2, quality="standard", width=1, height=1)
    assert cost.usd == 0 and "No list price for amazon.future-model" in cost.basis


def test_every_model_has_a_sourced_dated_list_price() -> None:
    data = json.loads(PRICE_FILE.read_text(encoding="utf-8"))
    assert set(data["bedrock"]) == set(MODELS)
    for entry in data["bedrock"].values():
        assert "list price" in entry["source"] and entry["as_of"]
        assert all(t["usd_per_image"] > 0 for t in entry["per_image"])


def test_a_malformed_price_book_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="price book is malformed"):
        BedrockPriceBook.from_dict({"bedrock": {NOVA: {"label": "Nova Canvas"}}})


def test_estimate_before_equals_actual_after(make_backend) -> None:
    backend = make_backend(NOVA).with_task(BedrockTask(quality="premium"))
    request = GenerationRequest(prompt="a teapot", width=2048, height=1024, count=3)
    estimate = backend.estimate_cost(request)
    result = backend.generate(request)
    assert estimate.estimated and not result.cost.estimated
    assert estimate.usd == pytest.approx(result.cost.usd) == pytest.approx(3 * 0.08)
    assert result.cost_per_image == pytest.approx(0.08)


def test_stability_estimates_price_the_image_it_will_make(prices) -> None:
    backend = BedrockBackend("stability.stable-image-ultra-v1:1", prices=prices,
                             region="us-west-2")
    cost = backend.estimate_cost(GenerationRequest(prompt="x", width=512, height=512))
    assert cost.usd == pytest.approx(0.14) and cost.basis.endswith("as of 2025-06)")


def test_background_removal_is_priced_at_the_standard_rate_for_its_size(prices) -> None:
    backend = BedrockBackend(NOVA, prices=prices).with_task(
        BedrockTask(type=TaskType.BACKGROUND_REMOVAL))
    cost = backend.estimate_cost(GenerationRequest(prompt="x", width=1024, height=1024))
    assert cost.usd == pytest.approx(0.04) and "background removal" in cost.basis
