"""Bedrock per-image list prices: the price book, the basis sentence, estimate = actual."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from backends.bedrock import MODELS, BedrockBackend, BedrockPriceBook, BedrockTask
from backends.types import GenerationRequest
from tests.backends.bedrock.conftest import PRICE_FILE

SD35 = "stability.sd3-5-large-v1:0"
TIERED = BedrockPriceBook.from_dict({"bedrock": {"vendor.tiered-v1": {
    "label": "Tiered", "region": "us-west-2", "source": "test", "as_of": "2026-01",
    "per_image": [
        {"quality": "standard", "max_pixels": 1048576, "size": "≤1024×1024",
         "usd_per_image": 0.04},
        {"quality": "standard", "size": "larger", "usd_per_image": 0.06},
        {"quality": "premium", "usd_per_image": 0.08},
    ]}}})


@pytest.mark.parametrize(("model", "usd"), [
    (SD35, 0.08),
    ("stability.stable-image-core-v1:1", 0.04),
    ("stability.stable-image-ultra-v1:1", 0.14),
    ("stability.stable-image-inpaint-v1:0", 0.07),
    ("stability.stable-fast-upscale-v1:0", 0.03),
    ("stability.stable-creative-upscale-v1:0", 0.60),
])
def test_each_model_and_service_has_its_per_image_price(prices, model, usd) -> None:
    cost = prices.cost(model, images=3)
    assert cost.usd == pytest.approx(3 * usd)
    assert f"3 images × ${usd:g} (" in cost.basis


@pytest.mark.parametrize(("quality", "size", "usd"), [
    ("standard", (1024, 1024), 0.04), ("standard", (2048, 1024), 0.06),
    ("premium", (512, 512), 0.08),
])
def test_a_tiered_price_follows_quality_and_size(quality, size, usd) -> None:
    cost = TIERED.cost("vendor.tiered-v1", images=1, quality=quality, width=size[0],
                       height=size[1])
    assert cost.usd == pytest.approx(usd)


def test_the_basis_is_one_sentence_with_count_price_task_region_and_date(prices) -> None:
    cost = prices.cost(SD35, images=2, region="us-west-2", estimated=False)
    assert cost.basis == ("2 images × $0.08 (Stable Diffusion 3.5 Large, us-west-2 list price "
                          "as of 2025-06)")
    assert cost.usd == pytest.approx(0.16) and not cost.estimated
    elsewhere = prices.cost("stability.stable-image-inpaint-v1:0", images=1, task="inpaint",
                            region="us-east-1")
    assert elsewhere.basis.startswith("1 image × $0.07 (Stable Image Inpaint, inpaint, us-west-2")
    assert elsewhere.basis.endswith("; prices in us-east-1 may differ")


def test_a_model_without_a_price_costs_nothing_and_says_so(prices) -> None:
    cost = prices.cost("amazon.future-model", images=2)
    assert cost.usd == 0 and "No list price for amazon.future-model" in cost.basis


def test_every_model_and_service_has_a_sourced_dated_list_price() -> None:
    data = json.loads(PRICE_FILE.read_text(encoding="utf-8"))
    assert set(data["bedrock"]) == set(MODELS)
    for entry in data["bedrock"].values():
        assert "list price" in entry["source"] and entry["as_of"]
        assert all(t["usd_per_image"] > 0 for t in entry["per_image"])


def test_a_malformed_price_book_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="price book is malformed"):
        BedrockPriceBook.from_dict({"bedrock": {SD35: {"label": "SD3.5"}}})


def test_estimate_before_equals_actual_after(make_backend) -> None:
    backend = make_backend(SD35)
    request = GenerationRequest(prompt="a teapot", width=1344, height=768, count=3)
    estimate = backend.estimate_cost(request)
    result = backend.generate(request)
    assert estimate.estimated and not result.cost.estimated
    assert estimate.usd == pytest.approx(result.cost.usd) == pytest.approx(3 * 0.08)
    assert result.cost_per_image == pytest.approx(0.08)


def test_a_task_is_priced_at_its_services_rate_whatever_the_chosen_model(prices) -> None:
    backend = BedrockBackend("stability.stable-image-ultra-v1:1", prices=prices).with_task(
        BedrockTask(task="remove-background"))
    cost = backend.estimate_cost(GenerationRequest(
        prompt="x", init_image=Image.new("RGB", (640, 480))))
    assert cost.usd == pytest.approx(0.07) and "remove background" in cost.basis
    assert "Stable Image Remove Background" in cost.basis
