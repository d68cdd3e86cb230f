"""The scale-out model: each mode's timeline and bill, and where a mode cannot serve."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import scale_out as bench
from studio.batch.scale_out import Workload, asynchronous, compare, realtime, transform

WORK = Workload(images=1000, latency_s=3.0, usd_per_hour=1.2, instances=4,
                scale_up_delay_s=480, alarm_delay_s=180, scale_in_after_s=900,
                transform_startup_s=420)


def test_realtime_bills_only_the_serving_time_of_every_instance() -> None:
    outcome = realtime(WORK)
    assert outcome.wall_s == 480 + 250 * 3.0
    assert outcome.instance_hours == pytest.approx(4 * 750 / 3600)
    assert outcome.usd == pytest.approx(outcome.instance_hours * 1.2)


def test_transform_bills_start_up_and_work_on_every_instance() -> None:
    outcome = transform(WORK)
    assert outcome.wall_s == 420 + 750
    assert outcome.usd == pytest.approx(4 * (420 + 750) / 3600 * 1.2)
    assert outcome.first_image_s is None


def test_async_scales_from_zero_in_two_steps_and_bills_the_scale_in_wait() -> None:
    outcome = asynchronous(WORK)
    first_up, rest_up = 480, 480 + 180 + 480
    done_by_one = 660 // 3  # images the first instance makes before the others arrive
    assert outcome.wall_s == rest_up + -(-(1000 - done_by_one) // 4) * 3.0
    assert outcome.first_image_s == first_up + 3.0
    busy = (outcome.wall_s - first_up) + 3 * (outcome.wall_s - rest_up)
    assert outcome.instance_hours == pytest.approx((busy + 4 * 900) / 3600)


def test_a_small_catalog_is_done_by_the_first_async_instance_alone() -> None:
    small = Workload(images=10, latency_s=3.0, usd_per_hour=1.0, instances=8)
    outcome = asynchronous(small)
    assert outcome.wall_s == small.scale_up_delay_s + 30
    assert outcome.instance_hours == pytest.approx((30 + small.scale_in_after_s) / 3600)


def test_requests_over_a_minute_cannot_be_served_in_real_time() -> None:
    slow = Workload(images=100, latency_s=75, usd_per_hour=1.0)
    modes = {o.mode: o for o in compare(slow)}
    assert modes["real-time endpoint"].wall_s is None
    assert "60 s" in modes["real-time endpoint"].note
    assert modes["async, scale to zero"].wall_s is not None
    assert modes["batch transform"].wall_s is not None


@given(images=st.integers(1, 10**6), latency=st.floats(0.05, 50), instances=st.integers(1, 64))
def test_every_mode_makes_every_image_no_faster_than_the_instances_allow(
        images: int, latency: float, instances: int) -> None:
    work = Workload(images=images, latency_s=latency, usd_per_hour=2.0, instances=instances)
    floor = images * latency / instances
    for outcome in compare(work):
        assert outcome.wall_s is not None and outcome.wall_s >= floor - 1e-6
        assert outcome.instance_hours * 3600 >= images * latency - 1e-6
        assert outcome.usd == pytest.approx(outcome.instance_hours * 2.0)


@pytest.mark.parametrize("bad", [dict(images=0), dict(instances=0), dict(latency_s=0.0),
                                 dict(usd_per_hour=-1.0), dict(scale_up_delay_s=-5.0)])
def test_impossible_workloads_are_refused(bad: dict) -> None:
    fields = dict(images=10, latency_s=1.0, usd_per_hour=1.0) | bad
    with pytest.raises(ValueError):
        Workload(**fields)


def test_the_benchmark_prints_the_three_modes_with_the_price_source(capsys) -> None:
    bench.main(["--images", "2000", "--instances", "2"])
    printed = capsys.readouterr().out
    for mode in ("real-time endpoint", "async, scale to zero", "batch transform"):
        assert mode in printed
    assert "price: SageMaker AI real-time inference" in printed and "as of" in printed
    result = bench.main(["--images", "2000", "--usd-per-hour", "0.5", "--json"])
    assert json.loads(capsys.readouterr().out)["price_source"] == "your --usd-per-hour"
    assert len(result["outcomes"]) == 3
    with pytest.raises(SystemExit, match="no ml.nope"):
        bench.main(["--instance-type", "ml.nope"])
