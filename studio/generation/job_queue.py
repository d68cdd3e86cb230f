"""The job queue: runs generation requests off the GUI thread and reports through Qt signals.

Each job is one run of the generation loop (studio.generation.loop), which checks the
spending cap, records the images and updates the session totals. A backend that runs on
this machine gets one worker (one model in memory, one generation at a time); remote
backends get several, since their work happens elsewhere and mostly waits on the network.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from backends.errors import BackendError, Cancelled
from backends.types import Backend, CancelToken, Cost, GenerationRequest, Progress
from studio.backend_kinds import capabilities_of
from studio.formatting import short_prompt
from studio.generation.loop import Admission, GenerationLoop, RunHooks
from studio.library import LibraryError

REMOTE_WORKERS = 4


@dataclass
class Job:
    id: int
    request: GenerationRequest
    backend: Backend
    admission: Admission
    cancel: CancelToken = field(default_factory=CancelToken)
    submitted_at: float = field(default_factory=time.perf_counter)
    state: str = "queued"  # queued, running, finished, failed, cancelled
    live: bool = False  # live mode's: recorded as such, hidden from the gallery by default

    @property
    def estimate(self) -> Cost:
        return self.admission.estimate

    @property
    def summary(self) -> str:
        return short_prompt(self.request.prompt, 60)


class JobQueue(QObject):
    """Submit requests; observe `queued`, `started`, `progress`, `finished`, `failed`, `cancelled`.

    Signals are emitted from worker threads; Qt delivers them to GUI-thread receivers as
    queued calls, so slots never run concurrently with the GUI.
    """

    queued = Signal(object)  # Job
    started = Signal(object)  # Job
    progress = Signal(object, object)  # Job, Progress
    finished = Signal(object, object, list)  # Job, GenerationResult, list[ImageRecord]
    failed = Signal(object, str)  # Job, message for the user
    cancelled = Signal(object)  # Job

    def __init__(self, loop: GenerationLoop, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loop = loop
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._lanes: dict[str, queue.Queue[Job | None]] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, request: GenerationRequest, backend: Backend, *,
               live: bool = False) -> Job:
        """Queue `request` (`live`: for live mode); raises BudgetExceeded (nothing queued)
        when it would pass the cap."""
        # A missing seed is drawn by the backend, within the range its model accepts; the
        # result's request carries the seed that was used.
        admission = self.loop.admit(request, backend)
        job = Job(next(self._ids), request, backend, admission, live=live)
        with self._lock:
            self._jobs[job.id] = job
        self.queued.emit(job)
        self._lane_for(backend).put(job)
        return job

    def cancel(self, job_id: int) -> None:
        """Cancel a queued job before it starts, or a running one within a step."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None and job.state in ("queued", "running"):
            job.cancel.cancel()

    def cancel_all(self) -> None:
        for job in self.active_jobs():
            self.cancel(job.id)

    def active_jobs(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.state in ("queued", "running")]

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel everything and stop the workers (on window close)."""
        self.cancel_all()
        for lane in self._lanes.values():
            for _ in range(REMOTE_WORKERS):
                lane.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _lane_for(self, backend: Backend) -> queue.Queue[Job | None]:
        one_at_a_time = capabilities_of(backend).one_at_a_time
        lane_name = "one-at-a-time" if one_at_a_time else "remote"
        with self._lock:
            if lane_name not in self._lanes:
                lane: queue.Queue[Job | None] = queue.Queue()
                self._lanes[lane_name] = lane
                workers = 1 if one_at_a_time else REMOTE_WORKERS
                for index in range(workers):
                    thread = threading.Thread(target=self._work, args=(lane,), daemon=True,
                                              name=f"studio-{lane_name}-{index}")
                    thread.start()
                    self._threads.append(thread)
            return self._lanes[lane_name]

    def _work(self, lane: queue.Queue[Job | None]) -> None:
        while (job := lane.get()) is not None:
            self._run(job)

    def _run(self, job: Job) -> None:
        if job.cancel.cancelled:
            self.loop.release(job.admission)
            self._finish(job, "cancelled")
            self.cancelled.emit(job)
            return
        self._finish(job, "running")
        self.started.emit(job)
        waited = time.perf_counter() - job.submitted_at
        hooks = RunHooks(on_progress=lambda p: self._on_progress(job, p), cancel=job.cancel)
        try:
            # Time spent waiting in this queue is queue time too.
            generated = self.loop.run(job.request, job.backend, admission=job.admission,
                                      hooks=hooks, queued_s=waited, live=job.live)
        except Cancelled:
            self._finish(job, "cancelled")
            self.cancelled.emit(job)
            return
        except (BackendError, LibraryError) as exc:
            self._finish(job, "failed")
            self.failed.emit(job, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a worker must survive any bug and say so
            traceback.print_exc()
            self._finish(job, "failed")
            self.failed.emit(job, f"Unexpected error: {exc}")
            return
        self._finish(job, "finished")
        self.finished.emit(job, generated.result, generated.records)

    def _on_progress(self, job: Job, event: Progress) -> None:
        self.progress.emit(job, event)

    def _finish(self, job: Job, state: str) -> None:
        with self._lock:
            job.state = state

