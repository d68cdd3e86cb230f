"""Cost arithmetic of every model: energy, endpoint time (hour boundaries, instance counts),
the endpoint's burn rate, and Bedrock list prices."""

from __future__ import annotations

import pytest

from backends.local.cost import EnergyPrice, energy_cost
from backends.sagemaker.cost import BurnRate, endpoint_cost


def test_energy_is_seconds_times_watts_times_the_kwh_price() -> None:
    # One hour at 1000 W is 1 kWh.
    cost = energy_cost(3600, "cuda", EnergyPrice(usd_per_kwh=0.25, watts=1000), estimated=False,
                       how_long="Energy for")
    assert cost.usd == pytest.approx(0.25) and not cost.estimated
    assert cost.basis == "Energy for 3600.0 s × 1000 W (configured) × $0.250/kWh"


def test_typical_watts_measured_watts_and_hardware_amortisation() -> None:
    typical = energy_cost(36, "cuda", EnergyPrice(usd_per_kwh=0.2), estimated=True,
                          how_long="About")
    assert typical.usd == pytest.approx(36 * 300 / 3.6e6 * 0.2)
    assert "(typical cuda)" in typical.basis
    measured = energy_cost(36, "cuda", EnergyPrice(usd_per_kwh=0.2, watts=100,
                                                   hardware_usd_per_hour=1.8),
                           estimated=False, how_long="Energy for", measured_watts=250)
    assert measured.usd == pytest.approx(36 * 250 / 3.6e6 * 0.2 + 36 / 3600 * 1.8)
    assert "250 W (measured by NVML)" in measured.basis
    assert "+ hardware $1.80/h" in measured.basis


@pytest.mark.parametrize(("seconds", "count", "usd"), [
    (3600, 1, 1.408),  # exactly one instance-hour
    (1800, 2, 1.408),  # half an hour on two instances is one instance-hour
    (3601, 1, 1.408 * 3601 / 3600),  # past the boundary: by the second, not a new hour
    (7200, 3, 1.408 * 6),
    (0.5, 4, 1.408 * 4 * 0.5 / 3600),
])
def test_endpoint_cost_is_time_times_instances_times_the_hourly_price(seconds, count,
                                                                       usd) -> None:
    cost = endpoint_cost(seconds, "ml.g5.xlarge", count, 1.408, "us-east-1 list price",
                         estimated=False, how_long="Endpoint time")
    assert cost.usd == pytest.approx(usd)
    assert f"of {count} × ml.g5.xlarge at $1.408/h (us-east-1 list price)" in cost.basis


def test_an_unpriced_instance_costs_nothing_and_says_why() -> None:
    cost = endpoint_cost(10, "ml.x.large", 1, None, "", estimated=False, how_long="Endpoint time")
    assert cost.usd == 0 and "no price is known" in cost.basis


def test_the_burn_rate_bills_the_clock_and_spreads_it_over_the_images() -> None:
    burn = BurnRate(0.99, 2, elapsed_s=1800, images=30)
    assert burn.fleet_usd_per_hour == pytest.approx(1.98)
    assert burn.usd_so_far == pytest.approx(0.99)
    assert burn.usd_per_image == pytest.approx(0.033)
    text = burn.describe()
    assert "bills $1.980/h ($47.52/day) while it is up, used or not" in text
    assert "for 30 images, $0.0330 per image effective" in text
    assert BurnRate(0.99, 1, 60, 0).usd_per_image is None


def test_bedrock_list_price_per_image_for_models_and_services() -> None:
    from backends.bedrock import BedrockPriceBook
    from studio.costs.pricing import price_file

    book = BedrockPriceBook.from_dict(price_file("bedrock"))
    assert book.cost("stability.sd3-5-large-v1:0", images=3).usd == pytest.approx(0.24)
    assert book.cost("stability.stable-fast-upscale-v1:0", images=1).usd == \
        pytest.approx(0.03)
