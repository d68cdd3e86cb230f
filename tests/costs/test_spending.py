"""The budget cap refuses work before it would overspend; per-day totals; dry runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from backends.types import Cost, GenerationRequest
from studio.cli.main import main
from studio.costs.budget import BudgetExceeded
from studio.costs.spending import SpendingGuard, start_of_day, today_totals
from studio.library import Library
from studio.settings.values import CostSettings, Settings, save_settings
from tests.costs.support import result


@pytest.fixture
def library(tmp_path):
    with Library.open(tmp_path / "library") as library:
        yield library


def test_today_counts_only_what_was_made_since_local_midnight(library) -> None:
    library.record(result(usd=0.30, created_at=datetime.now(UTC) - timedelta(days=2)))
    library.record(result(usd=0.20, count=2))
    today = today_totals(library)
    assert (today.images, today.usd) == (2, pytest.approx(0.20))
    midnight = start_of_day(datetime(2026, 3, 4, 15, 30).astimezone())
    assert (midnight.hour, midnight.minute, midnight.day) == (0, 0, 4)


def test_the_guard_refuses_before_the_cap_is_passed_counting_queued_work(library) -> None:
    library.record(result(usd=0.60))
    guard = SpendingGuard(lambda: library, lambda: 1.00)
    guard.check(0.40)  # exactly reaches the cap: allowed
    with pytest.raises(BudgetExceeded, match="Stopped before this generation"):
        guard.check(0.41)
    with pytest.raises(BudgetExceeded):
        guard.check(0.10, pending_usd=0.35)  # queued work counts as spent
    SpendingGuard(lambda: library, lambda: None).check(1000.0)  # no cap


class PricedBackend:
    """A backend whose price is fixed, to test the queue's check without a model."""

    name = "bedrock"

    def __init__(self, usd: float) -> None:
        self.usd = usd
        self.calls = 0

    def describe(self):  # pragma: no cover - not used by the queue
        raise NotImplementedError

    def estimate_cost(self, request: GenerationRequest) -> Cost:
        return Cost(self.usd * request.count, "fixed test price")

    def generate(self, request, on_progress=None, cancel=None):
        self.calls += 1
        return result(backend="bedrock", usd=self.usd * request.count, count=request.count,
                      seed=request.seed)


def test_the_queue_refuses_a_job_that_would_pass_the_daily_budget(qtbot, library) -> None:
    from studio.generation.job_queue import JobQueue
    from studio.generation.loop import GenerationLoop

    queue = JobQueue(GenerationLoop(library, SpendingGuard(lambda: library, lambda: 0.10).check))
    backend = PricedBackend(0.04)
    request = GenerationRequest(prompt="a mug", width=64, height=64, seed=1)
    with qtbot.waitSignal(queue.finished, timeout=10_000):
        queue.submit(request, backend)
    with pytest.raises(BudgetExceeded):
        queue.submit(request.replace(count=2), backend)  # 0.04 spent + 0.08 > 0.10
    assert backend.calls == 1 and queue.active_jobs() == []
    queue.shutdown()


def test_generate_with_a_budget_below_the_estimate_refuses_and_generates_nothing(
        capsys, studio_home) -> None:
    code = main(["generate", "--backend", "bedrock", "--prompt", "a mug", "--count", "3",
                 "--width", "1024", "--height", "1024", "--budget", "0.10"])
    assert code == 5
    err = capsys.readouterr().err
    assert "estimated at $0.2400" in err and "budget" in err
    assert not list((studio_home / "library").rglob("*.png"))


def test_the_daily_budget_in_settings_applies_to_the_cli(capsys, studio_home) -> None:
    save_settings(Settings(costs=CostSettings(budget_usd_per_day=0.05)))
    assert main(["generate", "--backend", "bedrock", "--prompt", "a mug", "--count", "2",
                 "--width", "1024", "--height", "1024"]) == 5
    assert "daily budget" in capsys.readouterr().err


def test_dry_run_prints_the_estimate_as_json_and_runs_nothing(capsys, studio_home) -> None:
    assert main(["generate", "--backend", "bedrock", "--prompt", "a mug", "--count", "2",
                 "--width", "1024", "--height", "1024", "--dry-run", "--json",
                 "--budget", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dry_run"] and data["estimate_usd"] == pytest.approx(0.16)
    assert data["estimate_per_image_usd"] == pytest.approx(0.08)
    assert "Stable Diffusion 3.5 Large" in data["estimate_basis"] and data["within_budget"] is True
    assert not list((studio_home / "library").rglob("*.png"))


def test_dry_run_on_an_endpoint_shows_its_burn_rate(capsys, aws_env) -> None:
    assert main(["generate", "--backend", "sagemaker", "--endpoint", "e", "--region",
                 "us-east-1", "--prompt", "a mug", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "ml.g5.xlarge at $1.408/h" in out
    assert "bills $1.408/h ($33.79/day) while it is up, used or not" in out
