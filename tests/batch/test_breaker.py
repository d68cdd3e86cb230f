"""The circuit breaker: a batch whose first requests all fail alike stops, resumable, instead
of failing every item; failures after a success, or that differ, are the rows' own."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from backends.errors import GenerationFailed
from backends.types import GenerationRequest, GenerationResult
from studio.batch.breaker import FIRST_FAILURES, Breaker, error_key
from studio.batch.store import BatchStore
from studio.library import Library
from tests.batch.fakes import FakeBackend, make_job, make_runner


class BrokenModel(FakeBackend):
    """Fails with a model error that differs only in its numbers, except for the prompts
    in `works` (made as usual)."""

    def __init__(self, works: tuple[str, ...] = (), **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.works = works
        self._request_ids = itertools.count(4000)

    def generate(self, request: GenerationRequest, on_progress=None,
                 cancel=None) -> GenerationResult:
        if any(text in request.prompt for text in self.works):
            return super().generate(request, on_progress, cancel)
        with self._lock:
            self.calls.append(request)
            number = next(self._request_ids)
        raise GenerationFailed(f"The model on endpoint e failed (status 500): CUDA out of "
                               f"memory, tried to allocate {number} MiB. Request {number}.")


def test_error_key_blanks_numbers_and_request_ids() -> None:
    assert error_key("failed after 12.5 s, request 9f1c2d3e-0000-4abc-8def-0123456789ab") \
        == error_key("failed after 3 s, request 00000000-1111-4222-8333-444444444444")
    assert error_key("CUDA out of memory") != error_key("size 1000x1000 is not supported")


def test_the_breaker_trips_on_the_fifth_alike_failure_and_returns_every_item() -> None:
    breaker = Breaker()
    for unit in range(FIRST_FAILURES - 1):
        assert breaker.failed([unit * 2, unit * 2 + 1], f"model error {unit}") is None
    assert breaker.failed([8, 9], "model error 4") == list(range(10))
    assert breaker.tripped
    # Units still in flight that fail alike go back too; another error is their own.
    assert breaker.failed([10], "model error 5") == [10]
    assert breaker.failed([11], "a different refusal") is None


def test_a_success_or_a_different_error_stands_the_breaker_down() -> None:
    after_success = Breaker(limit=2)
    after_success.succeeded()
    assert after_success.failed([0], "e") is None and after_success.failed([1], "e") is None
    mixed = Breaker(limit=2)
    assert mixed.failed([0], "one error") is None
    assert mixed.failed([1], "another error") is None
    assert mixed.failed([2], "another error") is None and not mixed.tripped


@given(st.lists(st.booleans(), max_size=20))
def test_it_trips_only_when_the_first_failures_are_all_alike(alike: list[bool]) -> None:
    breaker = Breaker(limit=3)
    results = [breaker.failed([i], "same" if same else f"other {chr(97 + i)}")
               for i, same in enumerate(alike)]
    expected = alike[:3] == [True, True, True]  # each "other" failure reads differently
    assert breaker.tripped == expected
    if expected:
        assert results[2] == [0, 1, 2]


def test_a_job_whose_first_requests_all_fail_alike_stops_and_resumes(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    job_id, out = make_job(tmp_path, store, products=5, seeds=2)  # 20 items
    backend = BrokenModel()
    summary = make_runner(store, job_id, out, backend, library).run()
    assert summary.state == "stopped" and summary.stop_kind == "backend"
    assert len(backend.calls) == FIRST_FAILURES  # not 20 requests
    assert summary.failed == 0 and summary.done == 0
    assert f"failed the first {FIRST_FAILURES} requests with the same error" in summary.message
    assert "CUDA out of memory" in summary.message
    assert f"studio batch --resume {job_id}" in summary.message
    assert len(store.items(job_id, "pending")) == 20
    # Fixed: the resume makes every item, the first five included.
    resumed = make_runner(store, job_id, out, FakeBackend(), library).run()
    assert resumed.state == "finished" and resumed.done == 20


def test_with_concurrency_the_job_stops_soon_and_fails_nothing(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    job_id, out = make_job(tmp_path, store, products=10, seeds=2)  # 40 items
    backend = BrokenModel(delay_s=0.01)
    summary = make_runner(store, job_id, out, backend, library, concurrency=4).run()
    assert summary.state == "stopped" and summary.failed == 0
    assert len(backend.calls) < FIRST_FAILURES + 4  # those already in flight at most
    assert len(store.items(job_id, "pending")) == 40


def test_after_a_success_model_errors_fail_their_items_and_the_job_goes_on(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    job_id, out = make_job(tmp_path, store, products=4, seeds=2)  # 16 items, thing 0 first
    backend = BrokenModel(works=("thing 0",))
    summary = make_runner(store, job_id, out, backend, library).run()
    assert summary.state == "failed" and summary.stop_kind == ""
    assert summary.done == 4 and summary.failed == 12
    assert len(backend.calls) == 16
    assert all("CUDA out of memory" in reason for _, _, reason in summary.failures)
