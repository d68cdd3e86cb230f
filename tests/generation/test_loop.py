"""The generation loop: admit against the daily cap, generate, record, announce, retry."""

from __future__ import annotations

import threading

import pytest

from backends.errors import Cancelled, InvalidRequest, TransientError
from backends.types import CancelToken, GenerationRequest
from studio.costs.budget import BudgetExceeded
from studio.costs.spending import SpendingGuard
from studio.generation.loop import GenerationLoop, RetryPolicy, RunHooks
from studio.library import Library
from tests.batch.fakes import FakeBackend

REQUEST = GenerationRequest(prompt="a mug on oak", width=64, height=64, seed=5, count=2)


@pytest.fixture
def library(tmp_path):
    with Library.open(tmp_path / "library") as library:
        yield library


def capped(library: Library, usd_per_day: float) -> GenerationLoop:
    return GenerationLoop(library, SpendingGuard(lambda: library, lambda: usd_per_day).check)


def test_a_run_records_every_image_with_its_estimate_and_tells_the_listeners(library) -> None:
    loop = GenerationLoop(library)
    heard = []
    loop.subscribe(heard.append)
    generated = loop.run(REQUEST, FakeBackend(usd=0.03))
    assert [r.seed for r in generated.records] == [5, 6]
    assert library.count() == 2
    assert generated.estimate.usd == pytest.approx(0.06)
    assert generated.records[0].estimate.usd == pytest.approx(0.03)  # per image
    assert heard == [generated] and generated.attempts == 1
    assert loop.pending_usd == 0.0


def test_admitted_work_counts_against_the_cap_until_it_ends(library) -> None:
    loop = capped(library, 0.10)
    backend = FakeBackend(usd=0.04)
    first = loop.admit(REQUEST, backend)  # $0.08 reserved, nothing spent yet
    with pytest.raises(BudgetExceeded):
        loop.admit(REQUEST.replace(count=1), backend)  # 0.08 + 0.04 > 0.10
    loop.run(REQUEST, backend, admission=first)  # spends the $0.08 it reserved
    assert loop.pending_usd == 0.0
    with pytest.raises(BudgetExceeded):  # now it is spent, not pending: still refused
        loop.run(REQUEST.replace(count=1), backend)
    assert len(backend.calls) == 1


def test_a_failed_run_releases_its_reservation_and_records_nothing(library) -> None:
    loop = capped(library, 0.10)
    backend = FakeBackend(usd=0.05, invalid={"mug"})
    with pytest.raises(InvalidRequest):
        loop.run(REQUEST, backend)
    assert loop.pending_usd == 0.0 and library.count() == 0
    loop.run(REQUEST.replace(prompt="a cup"), backend)  # the cap is whole again


def test_no_retry_by_default(library) -> None:
    backend = FakeBackend(transient={"mug": 1})
    with pytest.raises(TransientError):
        GenerationLoop(library).run(REQUEST, backend)
    assert len(backend.calls) == 1 and library.count() == 0


def test_the_retry_policy_tries_again_and_says_so(library) -> None:
    backend = FakeBackend(transient={"mug": 2})
    retries, attempts = [], []
    hooks = RunHooks(on_attempt=attempts.append,
                     on_retry=lambda n, exc, delay: retries.append((n, str(exc), delay)))
    generated = GenerationLoop(library).run(
        REQUEST, backend, hooks=hooks, retry=RetryPolicy(retries=3, backoff_s=0.01))
    assert generated.attempts == 3 and attempts == [0, 1, 2]
    assert retries == [(1, "Throttled, try again.", 0.01), (2, "Throttled, try again.", 0.02)]
    assert library.count() == 2


def test_cancel_during_the_backoff_stops_without_another_try(library) -> None:
    backend = FakeBackend(transient={"mug": 5})
    cancel = CancelToken()
    hooks = RunHooks(cancel=cancel, on_retry=lambda *_: threading.Timer(0.05, cancel.cancel)
                     .start())
    with pytest.raises(Cancelled):
        GenerationLoop(library).run(REQUEST, backend, hooks=hooks,
                                    retry=RetryPolicy(retries=3, backoff_s=5.0))
    assert len(backend.calls) == 1


def test_a_listener_that_fails_does_not_lose_the_images(library, caplog) -> None:
    loop = GenerationLoop(library)
    loop.subscribe(lambda generated: 1 / 0)
    later = []
    loop.subscribe(later.append)
    generated = loop.run(REQUEST, FakeBackend())
    assert library.count() == 2 and later == [generated]
    assert "a listener failed on Generated" in caplog.text and "ZeroDivisionError" in caplog.text


def test_queue_time_is_added_to_the_timings(library) -> None:
    generated = GenerationLoop(library).run(REQUEST, FakeBackend(), queued_s=1.5)
    assert generated.result.timings.queue_s == pytest.approx(1.5)
    assert generated.records[0].timings.total_s == pytest.approx(1.52)


def test_the_loop_follows_the_current_library(tmp_path) -> None:
    first, second = Library.open(tmp_path / "a"), Library.open(tmp_path / "b")
    current = [first]
    loop = GenerationLoop(lambda: current[0])
    loop.run(REQUEST, FakeBackend())
    current[0] = second
    loop.run(REQUEST, FakeBackend())
    assert first.count() == 2 and second.count() == 2
    first.close()
    second.close()


class LosesAnswers(FakeBackend):
    """Makes the image, then loses the answer (a read timeout) `lose` times."""

    def __init__(self, lose: int, maybe_billed: bool = True) -> None:
        super().__init__(usd=0.25)
        self.lose, self.maybe_billed = lose, maybe_billed

    def generate(self, request, on_progress=None, cancel=None):
        result = super().generate(request, on_progress, cancel)
        if self.lose > 0:
            self.lose -= 1
            raise TransientError("Read timeout after the request was sent.",
                                 maybe_billed=self.maybe_billed)
        return result


def test_a_failure_that_may_have_been_billed_is_not_retried_and_is_counted(library) -> None:
    from studio.costs.lost_attempts import LostAttempts
    from studio.costs.spending import start_of_day, today_totals

    backend, lost = LosesAnswers(lose=1), []
    loop = GenerationLoop(library)
    hooks = RunHooks(on_lost_attempt=lambda n, exc, usd: lost.append((n, usd)))
    with pytest.raises(TransientError, match="Read timeout"):
        loop.run(REQUEST, backend, hooks=hooks, retry=RetryPolicy(retries=3, backoff_s=0))
    assert len(backend.calls) == 1 and library.count() == 0
    assert lost == [(0, 0.5)]  # the estimate of the two images
    assert LostAttempts().usd_since(start_of_day()) == pytest.approx(0.5)
    assert today_totals(library).usd == pytest.approx(0.5)  # today's spending counts it
    # …and so the daily cap does.
    with pytest.raises(BudgetExceeded):
        capped(library, 0.8).run(REQUEST, LosesAnswers(lose=0))


def test_retry_ambiguous_retries_and_counts_every_billed_attempt(library) -> None:
    backend, lost = LosesAnswers(lose=2), []
    loop = GenerationLoop(library)
    hooks = RunHooks(on_lost_attempt=lambda n, exc, usd: lost.append(n))
    generated = loop.run(REQUEST, backend, hooks=hooks,
                         retry=RetryPolicy(retries=3, backoff_s=0, retry_ambiguous=True))
    assert (generated.attempts, generated.billed_attempts) == (3, 3)
    assert lost == [0, 1] and library.count() == 2


def test_a_failure_known_not_to_be_billed_is_retried_and_not_counted(library) -> None:
    from studio.costs.lost_attempts import LostAttempts
    from studio.costs.spending import start_of_day

    backend = LosesAnswers(lose=1, maybe_billed=False)
    generated = GenerationLoop(library).run(REQUEST, backend,
                                            retry=RetryPolicy(retries=1, backoff_s=0))
    assert (generated.attempts, generated.billed_attempts) == (2, 1)
    assert LostAttempts().usd_since(start_of_day()) == 0
