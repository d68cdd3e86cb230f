"""The one generation loop: admit (estimate + spending cap) → generate → record → announce.

Every path that makes images runs through `GenerationLoop.run`: the window's job queue,
`studio generate`, `studio compare`, product scenes and batch export (CLI and window). So the
daily spending cap, the session totals, the library's notifications and the retry policy
hold for all of them. No Qt here: the CLI uses the loop without a window.

Paid work is never silently run twice: a TransientError that may have been billed (a read
timeout, a reset after sending) is recorded as a lost attempt at its estimate, in today's
spending (`costs/lost_attempts.py`) and through `RunHooks.on_lost_attempt`, and is retried
only when the policy allows it (`retry_ambiguous`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from backends.errors import Cancelled, TransientError
from backends.types import (
    Backend,
    CancelToken,
    Cost,
    GenerationRequest,
    GenerationResult,
    ProgressCallback,
)
from studio.costs.lost_attempts import LostAttempts
from studio.library import ImageRecord, Library
from studio.listeners import Listeners

# (estimate_usd, pending_usd, what) -> None; raises studio.costs.budget.BudgetExceeded.
SpendingCheck = Callable[[float, float, str], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How often a TransientError (throttling, a busy endpoint) is tried again, and how long
    to wait between tries (doubling from `backoff_s`, at most `max_backoff_s`).

    One that may have been billed (`maybe_billed`: the request was sent, no answer came) is
    retried only with `retry_ambiguous`, since the retry may pay for the image twice.
    The default is no retry: a designer clicking Generate sees the error and decides."""

    retries: int = 0
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    retry_ambiguous: bool = False

    def allows(self, attempt: int, error: TransientError) -> bool:
        """Whether try `attempt` (0-based), which failed with `error`, is tried again."""
        if attempt >= self.retries:
            return False
        return self.retry_ambiguous or not error.maybe_billed

    def delay_s(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * 2 ** attempt)


NO_RETRY = RetryPolicy()


@dataclass(eq=False)
class Admission:
    """Work the spending cap let in: its estimate stays reserved until the run ends, so a
    burst of submissions cannot pass the cap before any of it is recorded."""

    estimate: Cost
    released: bool = False


@dataclass(frozen=True, eq=False)
class Generated:
    """One run of the loop: what the backend returned and the library rows it became."""

    result: GenerationResult
    records: list[ImageRecord]
    estimate: Cost
    attempts: int = 1
    billed_attempts: int = 1  # the one that delivered, and the lost ones that may have been


@dataclass
class RunHooks:
    """Optional callbacks of one run. `on_attempt(n)` fires before try n (0-based) and may
    raise Cancelled to stop; `on_retry(n, error, delay_s)` before waiting for try n;
    `on_lost_attempt(n, error, usd)` when try n failed in a way that may have been billed
    (already counted in today's spending at `usd`, its estimate)."""

    on_progress: ProgressCallback | None = None
    on_attempt: Callable[[int], None] | None = None
    on_retry: Callable[[int, TransientError, float], None] | None = None
    on_lost_attempt: Callable[[int, TransientError, float], None] | None = None
    cancel: CancelToken = field(default_factory=CancelToken)


class GenerationLoop:
    """Generates and records through the current library; safe to share between threads."""

    def __init__(self, library: Library | Callable[[], Library],
                 spending_check: SpendingCheck | None = None,
                 lost_attempts: LostAttempts | None = None) -> None:
        self._library = library if callable(library) else (lambda: library)
        self.spending_check = spending_check
        self.lost_attempts = lost_attempts or LostAttempts()
        self._lock = threading.Lock()
        self._pending_usd = 0.0
        self._listeners: Listeners[Generated] = Listeners()

    @property
    def library(self) -> Library:
        return self._library()

    def subscribe(self, listener: Callable[[Generated], object]) -> Callable[[], None]:
        """Call `listener` after every recorded run (on the thread that ran it)."""
        return self._listeners.subscribe(listener)

    @property
    def pending_usd(self) -> float:
        """Estimates of admitted work that has not finished yet."""
        with self._lock:
            return self._pending_usd

    def admit(self, request: GenerationRequest, backend: Backend, *,
              estimate: Cost | None = None, what: str = "this generation") -> Admission:
        """Reserve `request`'s estimate; raises BudgetExceeded (nothing reserved) when today's
        spending, the work already admitted and this estimate would pass the daily cap."""
        estimate = estimate or backend.estimate_cost(request)
        with self._lock:
            if self.spending_check is not None:
                self.spending_check(estimate.usd, self._pending_usd, what)
            self._pending_usd += estimate.usd
        return Admission(estimate)

    def release(self, admission: Admission) -> None:
        with self._lock:
            if not admission.released:
                admission.released = True
                self._pending_usd = max(0.0, self._pending_usd - admission.estimate.usd)

    def run(self, request: GenerationRequest, backend: Backend, *,
            admission: Admission | None = None, hooks: RunHooks | None = None,
            retry: RetryPolicy = NO_RETRY, queued_s: float = 0.0,
            library: Library | None = None, live: bool = False) -> Generated:
        """Generate `request` on `backend`, record every image, tell the listeners.

        Raises what the backend raises (after `retry`'s tries for a TransientError; one that
        may have been billed is counted as a lost attempt first),
        BudgetExceeded when not admitted, and LibraryError or OSError when the images could
        not be saved. The admission is released however the run ends. `library` pins where
        the images go (a batch keeps its own even if the window switches folders meanwhile);
        by default, the current one. `live` marks the run as live mode's in the library.
        """
        hooks = hooks or RunHooks()
        admission = admission or self.admit(request, backend)
        try:
            result, attempts, lost = self._generate(request, backend, hooks, retry,
                                                    admission.estimate)
            result = _with_queue_time(result, queued_s)
            records = (library or self.library).record(result, estimate=admission.estimate,
                                                       live=live)
        finally:
            self.release(admission)
        generated = Generated(result, records, admission.estimate, attempts, lost + 1)
        self._listeners.publish(generated)
        return generated

    def record(self, result: GenerationResult, admission: Admission, *,
               library: Library | None = None) -> Generated:
        """Record a result made outside `run` (an async endpoint's output read back from S3)
        exactly as `run` does: the images into the library, the admission released, the
        listeners told."""
        try:
            records = (library or self.library).record(result, estimate=admission.estimate)
        finally:
            self.release(admission)
        generated = Generated(result, records, admission.estimate)
        self._listeners.publish(generated)
        return generated

    def _generate(self, request: GenerationRequest, backend: Backend, hooks: RunHooks,
                  retry: RetryPolicy, estimate: Cost) -> tuple[GenerationResult, int, int]:
        """(result, tries, lost tries that may have been billed)."""
        lost = 0
        for attempt in range(retry.retries + 1):
            hooks.cancel.raise_if_cancelled()
            if hooks.on_attempt is not None:
                hooks.on_attempt(attempt)
            try:
                result = backend.generate(request, hooks.on_progress, hooks.cancel)
                return result, attempt + 1, lost
            except TransientError as exc:
                if exc.maybe_billed:
                    lost += 1
                    self._count_lost(attempt, exc, estimate, backend, hooks)
                if not retry.allows(attempt, exc):
                    raise
                delay = retry.delay_s(attempt)
                if hooks.on_retry is not None:
                    hooks.on_retry(attempt + 1, exc, delay)
                _sleep(delay, hooks.cancel)
        raise AssertionError("unreachable: the last attempt returns or raises")


    def _count_lost(self, attempt: int, error: TransientError, estimate: Cost,
                    backend: Backend, hooks: RunHooks) -> None:
        self.lost_attempts.record(estimate.usd, str(getattr(backend, "name", "")), str(error))
        if hooks.on_lost_attempt is not None:
            hooks.on_lost_attempt(attempt, error, estimate.usd)


def _sleep(seconds: float, cancel: CancelToken) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cancel.cancelled:
            raise Cancelled("Generation cancelled.")
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def _with_queue_time(result: GenerationResult, waited: float) -> GenerationResult:
    if not waited:
        return result
    timings = dataclasses.replace(result.timings, queue_s=result.timings.queue_s + waited,
                                  total_s=result.timings.total_s + waited)
    return dataclasses.replace(result, timings=timings)
