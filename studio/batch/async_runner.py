"""An async batch: each item a request in S3, submitted with InvokeEndpointAsync, its output
polled for, then recorded and exported exactly as the real-time runner does (runner.py).

One item's life (each arrow a committed row update, store.py):
    pending -> submitting (the inference id we chose, the input in S3)
            -> submitted (what the endpoint answered: id, output and failure locations)
            -> generated (in the library) -> done (exported)
            -> failed (a failure file, a timeout, a refused request)
The answer is recorded before anything else, so a kill -9 after it leaves a `submitted` item,
which a resume polls and never submits again. A kill between the call and the record leaves
a `submitting` item: the endpoint may have accepted (and will bill) it, so a resume reports
it and submits it again only with `retry_ambiguous` (counting the first as a billed attempt).

Thousands can be in flight: `concurrency` bounds the S3 writes and submissions at a time;
polling lists the output folders (ListObjectsV2, a request per folder and page) and reads
only the outputs that are there, at most `gets_per_s` GETs a second.

Cost: an async endpoint bills its instances by the hour. The job's cost is instance count ×
hourly price × the run's wall time while it had work in flight; each stretch of that time is
shared by the items that finished at its end, so the images add up to the whole.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from backends.errors import BackendError, BackendUnavailable, InvalidRequest, TransientError
from backends.redaction import redact
from backends.types import Cost, GenerationRequest, GenerationResult
from studio.batch.runner import BatchEvent, BatchRunner, RunnerConfig, Summary
from studio.batch.store import BatchStore, Item
from studio.costs.budget import BudgetExceeded
from studio.formatting import format_usd
from studio.generation.loop import Admission, GenerationLoop
from studio.library import LibraryError

SAGEMAKER_MAX_INVOCATION_S = 3600.0  # an async request's longest run (InvocationTimeout)


class AsyncClient(Protocol):
    """backends.sagemaker.async_inference.AsyncEndpoint, as the runner uses it."""

    def check_bucket(self) -> None: ...
    def describe(self) -> Any: ...  # an EndpointStatus, or None for an endpoint URL
    def write_request(self, name: str, body: bytes) -> str: ...
    def submit(self, input_location: str, *, inference_id: str = "",
               content_type: str = "application/json",
               accept: str = "application/json") -> Any: ...
    def ready(self, locations: list[str]) -> set[str]: ...
    def read(self, location: str) -> bytes | None: ...


class AsyncCodec(Protocol):
    """backends.sagemaker.async_inference.AsyncPayloads."""

    def encode(self, request: GenerationRequest) -> Any: ...
    def result(self, request: GenerationRequest, data: bytes, *, cost: Cost, waited_s: float,
               model: str, device: str) -> GenerationResult: ...


@dataclass(frozen=True)
class AsyncConfig:
    timeout_s: float = SAGEMAKER_MAX_INVOCATION_S  # per item, from its submission
    poll_s: float = 5.0  # between looks at the output folders
    gets_per_s: float = 20.0  # outputs read per second at most


@dataclass(frozen=True)
class Fleet:
    """What the endpoint bills while the batch has work: its instances and their price."""

    instance_type: str
    instance_count: int
    usd_per_hour: float | None  # one instance; None: no price known
    source: str  # where the count came from

    @property
    def fleet_usd_per_hour(self) -> float:
        return (self.usd_per_hour or 0.0) * self.instance_count

    def describe(self) -> str:
        if self.usd_per_hour is None:
            return (f"{self.instance_count} × {self.instance_type} ({self.source}); no price "
                    f"is known for {self.instance_type}, so costs are 0")
        return (f"{self.instance_count} × {self.instance_type} at "
                f"{format_usd(self.usd_per_hour)}/h each ({self.source})")


def fleet_of(client: AsyncClient, backend: Any) -> Fleet:
    """The endpoint's instance count from DescribeEndpoint when the control plane is
    reachable (which also refuses a real-time endpoint), else Settings' for an endpoint URL."""
    instance_type = str(getattr(backend, "instance_type", "") or "unknown instance")
    price = getattr(backend, "usd_per_hour", None)
    status = client.describe()
    if status is None:
        return Fleet(instance_type, int(getattr(backend, "instance_count", 1) or 1), price,
                     "Settings' instance type and count: an endpoint URL has no control plane")
    count = max(1, int(status.instance_count or 0))
    source = "DescribeEndpoint" + ("" if status.instance_count else
                                   ", scaled to 0 when asked: counted as 1 while it has work")
    if status.instance_type and status.instance_type != instance_type:
        source += f"; priced as Settings' {instance_type}, the endpoint runs " \
                  f"{status.instance_type}"
    return Fleet(status.instance_type or instance_type, count, price, source)


class AsyncBatchRunner(BatchRunner):
    """BatchRunner's claim, export, manifest and summary; its own submit-and-poll loop."""

    def __init__(self, store: BatchStore, job_id: int, backend: Any, loop: GenerationLoop,
                 base_request: GenerationRequest, preset: Any, exporter: Any,
                 config: RunnerConfig, client: AsyncClient, codec: AsyncCodec,
                 async_config: AsyncConfig | None = None,
                 on_event: Callable[[BatchEvent], None] | None = None,
                 cancel: Any = None, fleet: Fleet | None = None) -> None:
        super().__init__(store, job_id, backend, loop, base_request, preset, exporter, config,
                         on_event=on_event, cancel=cancel)
        self.local = False
        self.client, self.codec = client, codec
        self.async_config = async_config or AsyncConfig()
        self.fleet = fleet
        self._admissions: dict[int, Admission] = {}
        self._busy_since: float | None = None  # wall clock the current stretch began
        self._accrued_s = 0.0
        self._next_get = 0.0
        self._halt = False  # S3 or the library failed: stop polling, resume later
        self._ambiguous_note = ""
        self.submitted_here = 0  # InvokeEndpointAsync calls this run made

    def preflight(self) -> Fleet:
        """Before anything is submitted: the bucket, and the endpoint (async, in service).
        Raises InvalidRequest (fix the command) or BackendUnavailable."""
        self.client.check_bucket()
        if self.fleet is None:
            self.fleet = fleet_of(self.client, self.backend)
        return self.fleet

    # --- the loop -----------------------------------------------------------------------

    def _run(self) -> Summary:
        self._begin()
        if self.fleet is None:
            try:
                self.preflight()
            except BackendError as exc:
                self._stop(str(exc), "input" if isinstance(exc, InvalidRequest) else "backend")
                return self._finish()
        self._ambiguous()
        self._started = time.monotonic()
        if self.store.items(self.job_id, "submitted"):
            self._busy_since = time.time()
        pending = self.store.items(self.job_id, "pending")
        workers = max(1, self.config.concurrency)
        submitting = threading.Thread(target=self._submit_all, args=(pending, workers),
                                      name=f"batch-{self.job_id}-submit", daemon=True)
        submitting.start()
        while True:
            self._poll_round()
            in_flight = self.store.items(self.job_id, "submitted")
            if not submitting.is_alive() and not in_flight:
                break
            if (self.cancel.cancelled or self._halt) and not submitting.is_alive():
                break  # what is in flight stays `submitted`: a resume polls it
            self._sleep(self.async_config.poll_s)
        submitting.join()
        return self._finish()

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.cancel.cancelled:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def _ambiguous(self) -> None:
        """Items killed between InvokeEndpointAsync and recording its answer."""
        items = self.store.items(self.job_id, "submitting")
        if not items:
            return
        if self.config.retry_ambiguous:
            for item in items:
                self.store.add_lost_attempt(self.job_id, [item.idx], 0.0)
                self.store.mark_pending(self.job_id, [item.idx],
                                        "submitted again: the first submission may have been "
                                        "accepted and billed")
            self._emit("lost", f"{len(items)} item(s) whose submission was interrupted are "
                               "submitted again (--retry-ambiguous); the first submissions "
                               "count as billed attempts.", tuple(items))
            return
        self._ambiguous_note = (f"{len(items)} item(s) may have been submitted before a "
                                "crash without their answer recorded; not submitted again "
                                "without --retry-ambiguous.")
        names = ", ".join(f"{i.sku} {i.variant} (inference id {i.inference_id})"
                          for i in items[:5])
        self._emit("lost", f"{len(items)} item(s) may have been submitted (and billed) just "
                           f"before a crash, with no answer recorded: {names}"
                           f"{' …' if len(items) > 5 else ''}. Not submitted again; "
                           "`studio batch --resume ID --retry-ambiguous` does.", tuple(items))

    # --- submitting -----------------------------------------------------------------------

    def _submit_all(self, items: list[Item], workers: int) -> None:
        with ThreadPoolExecutor(max_workers=workers,
                                thread_name_prefix=f"batch-{self.job_id}-s3") as pool:
            running: set[Future[None]] = set()
            for item in items:
                while len(running) >= workers:
                    done = {f for f in running if f.done()}
                    for future in done:
                        future.result()
                    running -= done
                    if len(running) >= workers:
                        time.sleep(0.01)
                self._wait_while_paused()
                if self.cancel.cancelled or self._stop_message:
                    break
                request = self._request([item])
                try:
                    estimate = self.backend.estimate_cost(request)
                    with self._lock:
                        if self.config.budget is not None:
                            spent = self.store.job(self.job_id).spent_usd + self._in_flight_usd
                            self.config.budget.check(spent, estimate.usd,
                                                     f"{item.sku} {item.variant}")
                        admission = self.loop.admit(request, self.backend, estimate=estimate,
                                                    what=f"{item.sku} {item.variant}")
                        self._in_flight_usd += estimate.usd
                except BudgetExceeded as exc:
                    self._stop(str(exc), "budget")
                    break
                except BackendError as exc:
                    self._fail([item], str(exc))
                    continue
                self._admissions[item.idx] = admission
                running.add(pool.submit(self._submit, item, request))
            for future in running:
                future.result()
        if self.submitted_here:
            self._emit("submitted", f"{self.submitted_here} request(s) submitted; polling "
                                    "their outputs in S3")

    def _submit(self, item: Item, request: GenerationRequest) -> None:
        # Unique across batch databases too: an output path may hold older runs' results.
        inference_id = f"studio-{self.job_id}-{item.idx}-{uuid.uuid4().hex[:12]}"
        try:
            encoded = self.codec.encode(request)
            location = self.client.write_request(f"job{self.job_id}-{item.idx:06d}-"
                                                 f"{item.sku}-{item.variant}", encoded.body)
        except BackendError as exc:  # nothing was submitted: the item can go again
            self._release(item.idx)
            self._submit_failed(item, exc, billed=False)
            return
        self.store.mark_submitting(self.job_id, item.idx, inference_id, location)
        try:
            answer = self.client.submit(location, inference_id=inference_id,
                                        content_type=encoded.content_type,
                                        accept=encoded.accept)
        except BackendError as exc:
            self._release(item.idx)
            self._submit_failed(item, exc, billed=isinstance(exc, TransientError)
                                and exc.maybe_billed)
            return
        self.store.mark_submitted(self.job_id, item.idx, answer.inference_id,
                                  answer.output_location, answer.failure_location)
        with self._lock:
            self.submitted_here += 1
            if self._busy_since is None:
                self._busy_since = time.time()

    def _submit_failed(self, item: Item, exc: BackendError, *, billed: bool) -> None:
        if billed:  # no answer after sending: it may be queued; left `submitting`
            self._emit("lost", f"{item.sku} {item.variant}: the submission may have been "
                               f"accepted (and billed): {exc}. Not submitted again.", (item,))
            return
        self.store.mark_pending(self.job_id, [item.idx], str(exc))  # not accepted: not billed
        if isinstance(exc, InvalidRequest):
            # Refused outright (not an async endpoint, a location it cannot read): the same
            # holds for every item, so the job stops before submitting more.
            self._stop(f"{exc} (Is it an asynchronous endpoint: deployed with --async, or "
                       "`studio endpoint serve --s3-endpoint-url`?)", "input")
        elif isinstance(exc, BackendUnavailable | TransientError):
            self._stop(str(exc), "backend")
        else:
            self._fail([item], str(exc))

    def _release(self, idx: int) -> None:
        admission = self._admissions.pop(idx, None)
        if admission is not None:
            self.loop.release(admission)
            with self._lock:
                self._in_flight_usd -= admission.estimate.usd

    # --- polling --------------------------------------------------------------------------

    def _poll_round(self) -> None:
        items = self.store.items(self.job_id, "submitted")
        if not items:
            self._idle()
            return
        try:
            ready = self.client.ready([loc for item in items for loc in
                                       (item.output_location, item.failure_location)])
        except BackendError as exc:
            self._stop(f"Could not look for results in S3: {exc}", "backend")
            self._halt = True
            return
        finished: list[tuple[Item, bytes | None, str]] = []
        now = time.time()
        for item in items:
            if item.output_location in ready:
                data = self._read(item.output_location)
                if data is not None:
                    finished.append((item, data, ""))
                    continue
            if item.failure_location in ready:
                data = self._read(item.failure_location)
                text = (data or b"").decode("utf-8", "replace")[:2000]
                finished.append((item, None, f"The endpoint failed on this request: {text}"))
            elif item.submitted_at is not None and \
                    now - item.submitted_at > self.async_config.timeout_s:
                finished.append((item, None, (
                    f"No output at {item.output_location} within "
                    f"{self.async_config.timeout_s:g} s of submitting (inference id "
                    f"{item.inference_id}); given up. If it appears later, it is not used.")))
        if finished:
            self._settle(finished)

    def _read(self, location: str) -> bytes | None:
        wait = self._next_get - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._next_get = time.monotonic() + 1.0 / max(0.1, self.async_config.gets_per_s)
        try:
            return self.client.read(location)
        except BackendError:
            return None  # looked for again next round

    def _idle(self) -> None:
        """No work in flight: the stretch billed to the batch ends (it has been shared)."""
        with self._lock:
            self._busy_since = None

    def _share(self, count: int) -> tuple[float, float]:
        """(usd each, seconds of the stretch) for `count` items finishing now."""
        with self._lock:
            now = time.time()
            seconds = now - self._busy_since if self._busy_since is not None else 0.0
            self._busy_since = now
            self._accrued_s += seconds
        fleet = self.fleet
        usd = (fleet.fleet_usd_per_hour if fleet else 0.0) * seconds / 3600.0
        return usd / max(1, count), seconds

    def _settle(self, finished: list[tuple[Item, bytes | None, str]]) -> None:
        usd_each, seconds = self._share(len(finished))
        fleet = self.fleet or Fleet("unknown instance", 1, None, "unknown")
        basis = (f"Async endpoint billed by the hour: {fleet.describe()}; {seconds:.1f} s of "
                 f"the batch's wall time with work in flight, shared by the "
                 f"{len(finished)} item(s) that finished at its end")
        for item, data, reason in finished:
            if data is None:
                self.store.add_lost_attempt(self.job_id, [item.idx], usd_each)
                self._release(item.idx)
                self._fail([item], redact(reason))
                continue
            self._arrived(item, data, Cost(round(usd_each, 8), basis, estimated=True))

    def _arrived(self, item: Item, data: bytes, cost: Cost) -> None:
        request = self._request([item])
        waited = time.time() - (item.submitted_at or time.time())
        fleet = self.fleet
        device = f"{fleet.instance_count} × {fleet.instance_type}" if fleet else ""
        try:
            result = self.codec.result(request, data, cost=cost, waited_s=waited,
                                       model=str(getattr(self.backend, "endpoint_name", "")),
                                       device=device)
        except BackendError as exc:
            self._release(item.idx)
            self.store.add_lost_attempt(self.job_id, [item.idx], cost.usd)
            self._fail([item], f"The output at {item.output_location} could not be read: {exc}")
            return
        admission = self._admissions.pop(item.idx, None)
        reserved = admission is not None
        if admission is None:  # submitted by an earlier run: nothing reserved here
            admission = Admission(cost, released=True)
        try:
            generated = self.loop.record(result, admission, library=self.library)
        except (OSError, LibraryError) as exc:  # it stays `submitted`: a resume reads it again
            self._stop(f"Could not save images in the library: {exc}", "output")
            self._halt = True
            return
        finally:
            if reserved:
                with self._lock:
                    self._in_flight_usd -= admission.estimate.usd
        with self._lock:
            self._generated([item], generated.records)
        images = {g.seed: g.image for g in generated.result.images}
        self._export(self._item(item.idx), images.get(item.seed))

    # --- reporting ------------------------------------------------------------------------

    def _finish(self) -> Summary:
        summary = super()._finish()
        if self._ambiguous_note and self.store.items(self.job_id, "submitting"):
            summary.message = " ".join(m for m in (summary.message, self._ambiguous_note) if m)
        return summary

    def manifest_extra(self) -> dict[str, Any]:
        fleet = self.fleet
        return {"mode": "async", "cost_basis": (
            "instance count × hourly price × the batch's wall time with work in flight "
            f"({fleet.describe() if fleet else 'fleet unknown'}), each stretch shared by "
            "the items that finished at its end; time in flight before a kill and resume is "
            "not counted")}
