"""The job queue is the loop on worker threads: lanes by capability, cancel, signals."""

from __future__ import annotations

import pytest

from backends.types import GenerationRequest
from studio.costs.budget import BudgetExceeded
from studio.costs.spending import SpendingGuard
from studio.generation.job_queue import JobQueue
from studio.generation.loop import GenerationLoop
from studio.library import Library
from tests.batch.fakes import FakeBackend

REQUEST = GenerationRequest(prompt="a tote", width=64, height=64, seed=1)


@pytest.fixture
def library(tmp_path):
    with Library.open(tmp_path / "library") as library:
        yield library


def test_a_finished_job_went_through_the_loop(qtbot, library) -> None:
    loop = GenerationLoop(library)
    heard = []
    loop.subscribe(heard.append)
    queue = JobQueue(loop)
    with qtbot.waitSignal(queue.finished, timeout=10_000) as blocker:
        job = queue.submit(REQUEST, FakeBackend(usd=0.02))
    _, result, records = blocker.args
    assert job.estimate.usd == pytest.approx(0.02) and job.state == "finished"
    assert [r.id for r in records] == [g.records[0].id for g in heard]
    assert result.timings.queue_s >= 0 and loop.pending_usd == 0.0
    queue.shutdown()


def test_a_job_cancelled_before_it_starts_gives_back_its_reservation(qtbot, library) -> None:
    loop = GenerationLoop(library, SpendingGuard(lambda: library, lambda: 0.10).check)
    queue = JobQueue(loop)
    slow = FakeBackend(name="local", usd=0.04, delay_s=0.3)  # the one-at-a-time lane
    first = queue.submit(REQUEST, slow)
    second = queue.submit(REQUEST, slow)
    with pytest.raises(BudgetExceeded):
        queue.submit(REQUEST, slow)  # 3 × $0.04 would pass $0.10
    with qtbot.waitSignal(queue.cancelled, timeout=10_000):
        queue.cancel(second.id)
    qtbot.waitUntil(lambda: first.state == "finished", timeout=10_000)
    assert loop.pending_usd == 0.0 and len(slow.calls) == 1
    assert slow.max_in_flight == 1  # the local lane runs one at a time
    queue.shutdown()
