"""`studio stats`: percentiles, breakdown averages, cost per image, per-day totals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from studio.cli.main import main
from studio.costs.stats import daily_totals, format_table, group_runs, percentile
from studio.library import Library
from studio.settings.values import load_settings
from tests.costs.support import result


def test_percentiles_interpolate_between_ranks() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert percentile(values, 50) == pytest.approx(5.5)
    assert percentile(values, 95) == pytest.approx(9.55)
    assert percentile([3.0], 95) == 3.0 and percentile([], 50) == 0.0


def runs():
    return [
        {"backend": "local", "model": "a", "count": 1, "total_s": 2.0, "load_s": 1.0,
         "queue_s": 0, "network_s": 0, "inference_s": 1.0, "decode_s": 0, "cost_usd": 0.001,
         "estimate_usd": 0.002, "created_at": "2026-11-20T10:00:00+00:00"},
        {"backend": "local", "model": "b", "count": 3, "total_s": 4.0, "load_s": 0,
         "queue_s": 0, "network_s": 0, "inference_s": 3.5, "decode_s": 0.5,
         "cost_usd": 0.003, "estimate_usd": None, "created_at": "2026-11-21T10:00:00+00:00"},
        {"backend": "bedrock", "model": "b", "count": 2, "total_s": 6.0, "load_s": 0,
         "queue_s": 0, "network_s": 5.0, "inference_s": 0, "decode_s": 1.0, "cost_usd": 0.08,
         "estimate_usd": 0.08, "created_at": "2026-11-21T11:00:00+00:00"},
    ]


def test_grouping_by_backend_gives_latency_breakdown_and_cost_per_image() -> None:
    local, = [g for g in group_runs(runs(), "backend") if g.key == "local"]
    assert (local.runs, local.images) == (2, 4)
    assert local.p50_s == pytest.approx(3.0) and local.p95_s == pytest.approx(3.9)
    assert local.mean_parts["load_s"] == pytest.approx(0.5)
    assert local.mean_parts["inference_s"] == pytest.approx(2.25)
    assert local.usd_per_image == pytest.approx(0.001)
    assert local.images_per_usd == pytest.approx(1000)
    assert local.estimate_usd == pytest.approx(0.002)
    by_model = {g.key: g for g in group_runs(runs(), "model")}
    assert by_model["b"].images == 5 and by_model["b"].usd == pytest.approx(0.083)
    everything, = group_runs(runs(), None)
    assert everything.runs == 3


def test_daily_totals_and_tables() -> None:
    days = daily_totals(runs())
    assert [d.images for d in days] == [1, 5]
    table = format_table(["a", "n"], [["x", "1"], ["long", "22"]])
    assert table.splitlines()[0] == "a      n" and table.splitlines()[3] == "long  22"


def test_the_stats_command_summarises_history(capsys) -> None:
    library = Library.open(load_settings().library_path())
    now = datetime.now(UTC)
    library.record(result(backend="local", total_s=2.0, usd=0.002, created_at=now))
    library.record(result(backend="local", total_s=4.0, usd=0.004, count=2, created_at=now))
    library.record(result(backend="bedrock", total_s=6.0, usd=0.04,
                          created_at=now - timedelta(days=1)))
    library.close()
    assert main(["stats", "--by", "backend", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    groups = {g["key"]: g for g in data["groups"]}
    assert groups["local"]["images"] == 3 and groups["local"]["p50_s"] == pytest.approx(3.0)
    assert groups["local"]["usd_per_image"] == pytest.approx(0.002)
    assert groups["bedrock"]["images_per_usd"] == pytest.approx(25)
    assert data["today"]["images"] == 3 and data["today"]["usd"] == pytest.approx(0.006)
    assert len(data["days"]) == 2
    assert main(["stats", "--by", "model"]) == 0
    text = capsys.readouterr().out
    assert "p50" in text and "p95" in text and "$/image" in text and "Today: 3 images" in text


def test_stats_on_an_empty_history(capsys) -> None:
    assert main(["stats"]) == 0
    assert "History is empty" in capsys.readouterr().err
