"""Live mode's engine: a new image a moment after the designer stops typing or moving a
slider, through the window's job queue like any other run.

Changes are debounced (`delay_ms` after the last one). One live job runs at a time: a change
while it runs cancels it where cancelling saves work (this machine), or lets it finish
where the request is already billed (a cloud backend); either way only the newest request
runs next, the ones in between are dropped, and the result of a superseded job is not
shown. Each live run makes one image, with a seed that stays put while the seed field is
unlocked, so what changes between images is what the designer changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from backends.errors import BackendError
from backends.types import Backend, GenerationRequest, GenerationResult, random_seed
from studio.generation.job_queue import Job, JobQueue

LIVE_DELAY_MS = 350

# What to run now, from the panels; raises BackendError while the fields make no request.
Prepare = Callable[[], tuple[GenerationRequest, Backend]]
# Queue a request (the window's submit: it shows why when it refuses); None when refused.
Submit = Callable[[GenerationRequest, Backend], Job | None]


class SubmitLive(Protocol):
    """The window's submit, which marks a run as live mode's with `live=True`."""

    def __call__(self, request: GenerationRequest, backend: Backend, *,
                 live: bool = ...) -> Job | None: ...


class LiveController(QObject):
    """Turn on with `set_enabled(True)`; call `changed()` on every edit.

    `shown(record)` carries the newest live image; `counted()` fires when a live run is
    added to `images` and `usd` (every finished live run counts, superseded or not)."""

    shown = Signal(object)  # ImageRecord
    counted = Signal()

    def __init__(self, jobs: JobQueue, prepare: Prepare, submit: Submit, *,
                 delay_ms: int = LIVE_DELAY_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs, self._prepare, self._submit = jobs, prepare, submit
        self.enabled = False
        self.cancel_stale = True  # False where a job in flight is already billed
        self.images = 0
        self.usd = 0.0
        self.job: Job | None = None
        self._pending = False  # a change came while `job` ran: run the newest after it
        self._last_key: Any = None
        self._seed = random_seed()
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(self._fire)
        jobs.finished.connect(self._on_finished)
        jobs.failed.connect(self._on_ended)
        jobs.cancelled.connect(self._on_cancelled)

    def set_enabled(self, enabled: bool) -> None:
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if enabled:
            self._seed = random_seed()
            self._last_key = None
            self.changed()
            return
        self._timer.stop()
        self._pending = False
        if self.job is not None and self.cancel_stale:
            self._jobs.cancel(self.job.id)

    def changed(self) -> None:
        """Something the request depends on changed: run it after a quiet moment."""
        if self.enabled:
            self._timer.start()

    @property
    def running(self) -> bool:
        return self.job is not None

    def _fire(self) -> None:
        if self.job is None:
            self._run_latest()
            return
        latest = self._latest()
        if latest is None or latest[2] == self._last_key:
            return  # typed and undone, or nothing runnable yet: let the run finish
        self._pending = True
        if self.cancel_stale:
            self._jobs.cancel(self.job.id)

    def _run_latest(self) -> None:
        self._pending = False
        latest = self._latest() if self.enabled else None
        if latest is None:
            return
        request, backend, key = latest
        if key == self._last_key:
            return  # nothing that matters changed (the seed field showing the seed used)
        job = self._submit(request, backend)
        if job is not None:
            self.job, self._last_key = job, key

    def _latest(self) -> tuple[GenerationRequest, Backend, Any] | None:
        """The request the panels describe now, as live mode runs it, with its key."""
        try:
            request, backend = self._prepare()
            request = request.replace(count=1, seed=self._seed if request.seed is None
                                      else request.seed)
        except BackendError:
            return None  # the estimate line already says what the fields lack
        return request, backend, _request_key(request, backend)

    def _on_finished(self, job: Job, result: GenerationResult, records: list) -> None:
        if job is not self.job:
            return
        self.images += len(records)
        self.usd += result.cost.usd
        self.counted.emit()
        if records and self.enabled and not self._pending:
            self.shown.emit(records[-1])
        self._on_ended(job)

    def _on_cancelled(self, job: Job) -> None:
        if job is self.job:
            self._last_key = None  # never shown: the same request may run again
            self._on_ended(job)

    def _on_ended(self, job: Job, *_: object) -> None:
        if job is not self.job:
            return
        self.job = None
        if self._pending:
            self._run_latest()


def _request_key(request: GenerationRequest, backend: Backend) -> tuple[Any, ...]:
    """What makes two live requests the same run: every field, the same input images (equal
    pixels) and the same backend object."""
    return (repr(sorted(request.to_dict().items())), request.init_image, request.mask, backend)
