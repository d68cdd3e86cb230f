"""Running a batch job: generate, record in the library, export, in a resumable order.

Each unit of work is one run of the generation loop (studio.generation.loop), so the daily
spending cap, the session totals, the library's notifications and the retry policy apply
to a batch exactly as to a click on Generate.

One item's life (each arrow is a committed row update, see store.py):
    pending -> running -> [loop: generate, Library.record] -> generated -> export -> done
A kill -9 anywhere leaves a state that resume finishes without generating anything twice:
`generated` items are only exported (from their library PNG); a `running` item whose
images reached the library (the kill fell between the two commits) is adopted from it.

What stops a job and what fails one item: missing credentials, a missing or unreachable
endpoint (BackendUnavailable), the budget, or a disk that cannot take the images stop the job,
resumable, with `Summary.stop_kind` saying which. Anything about one request (a refused
request, a model error, a temporary failure after its retries) fails that item with its
reason, and the job goes on. A temporary failure that may have been billed (a read timeout,
a reset after sending) is retried only with `RunnerConfig.retry_ambiguous`; either way the
lost attempt counts as a billed attempt of its items, at its estimate, in the job's spending.

While it runs, the job is claimed in the store (pid + heartbeat), so another window or
process cannot run it at the same time: `run` then returns a "busy" summary and touches
nothing.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PIL import Image

from backends.errors import BackendError, BackendUnavailable, Cancelled, TransientError
from backends.types import MAX_COUNT, Backend, CancelToken, GenerationRequest
from studio.backend_kinds import capabilities_of
from studio.batch.breaker import Breaker
from studio.batch.checks import RuleResult, check_image
from studio.batch.export import Exporter
from studio.batch.manifest import FailureRow, ManifestRow
from studio.batch.presets import OutputPreset
from studio.batch.products import generated_on_white, mask_entry, mask_fields
from studio.batch.signing import c2pa_fields, sign_export
from studio.batch.store import HEARTBEAT_S, BatchStore, Item, JobBusy
from studio.batch.upscale import upscale_fields
from studio.costs.budget import Budget, BudgetExceeded
from studio.generation.loop import Admission, GenerationLoop, RetryPolicy, RunHooks
from studio.library import ImageRecord, LibraryError
from studio.library.c2pa_signing import C2paSigningError
from studio.library.xmp import Disclosure

LOCAL_IMAGES_PER_CALL = 4
# Kept with a packshot's checks (a record, not a rule), as the mask's method is.
PACKSHOT_NOTE = {"rule": "packshot", "passed": True, "info": True,
                 "detail": "the product photo on the preset's white: nothing generated"}
GENERATED_ON_WHITE_NOTE = {"rule": "on_white", "passed": True, "info": True}


@dataclass
class RunnerConfig:
    concurrency: int = 1  # requests in flight; the local backend always uses 1
    retries: int = 3  # extra tries after a TransientError
    backoff_s: float = 1.0  # first wait after a TransientError, doubled each time
    budget: Budget | None = None
    # Retry a failure that may have been billed (read timeout, reset after sending)? Off: a
    # retry may pay for the same image twice.
    retry_ambiguous: bool = False
    # The user's C2PA credentials (library.c2pa_signing.C2paCredentials): every exported file
    # is signed with them (batch/signing.py). None: unsigned.
    c2pa: Any = None


@dataclass(frozen=True)
class BatchEvent:
    kind: str  # "progress", "retry", "lost" (an attempt that may have been billed), "failed",
    # "stopped"
    done: int
    failed: int
    total: int
    spent_usd: float
    eta_s: float | None
    message: str = ""
    items: tuple[Item, ...] = ()


@dataclass
class Summary:
    job_id: int
    state: str  # finished, failed, stopped (budget, backend, output), cancelled, busy
    total: int
    done: int
    failed: int
    spent_usd: float
    message: str = ""
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # sku, variant, reason
    stop_kind: str = ""  # why a stopped job stopped: "budget", "backend" or "output"
    billed_attempts: int = 0  # over the whole job, the delivered and the possibly-billed lost
    lost_attempts: int = 0  # those of them that delivered no image
    # Made, but failing a rule of the preset's marketplace checks: file -> the failed rules
    check_failures: dict[str, list[str]] = field(default_factory=dict)


class BatchRunner:
    def __init__(self, store: BatchStore, job_id: int, backend: Backend, loop: GenerationLoop,
                 base_request: GenerationRequest, preset: OutputPreset | None,
                 exporter: Exporter, config: RunnerConfig,
                 on_event: Callable[[BatchEvent], None] | None = None,
                 cancel: CancelToken | None = None, products: Any = None) -> None:
        self.store, self.job_id, self.backend, self.loop = store, job_id, backend, loop
        self.library = loop.library  # the batch's own, kept even if the window switches
        self.base_request, self.preset, self.exporter = base_request, preset, exporter
        self.config = config
        self.products = products  # a batch.products.ProductScenes: scenes around each photo
        self.on_event = on_event or (lambda event: None)
        self.cancel = cancel or CancelToken()
        self.local = capabilities_of(backend).one_at_a_time
        self._lock = threading.RLock()
        self._in_flight_usd = 0.0
        self._stop_message = ""
        self._stop_kind = ""
        self._token = uuid.uuid4().hex
        self._started = time.monotonic()
        self._finished_here = 0
        self._running = threading.Event()
        self._running.set()
        self.breaker = Breaker()  # the first requests all failing alike stop the job

    # --- the loop -----------------------------------------------------------------------

    def run(self) -> Summary:
        """Run the job to its end; a job another window or process runs is left alone and
        comes back as a "busy" summary whose message says where it runs."""
        try:
            self.store.claim(self.job_id, self._token)
        except JobBusy as exc:
            return self._busy(str(exc))
        beating = threading.Event()
        heart = threading.Thread(target=self._heartbeat, args=(beating,), daemon=True,
                                 name=f"batch-{self.job_id}-heartbeat")
        heart.start()
        try:
            return self._run()
        finally:
            beating.set()
            heart.join(timeout=HEARTBEAT_S * 2)
            self.store.release(self.job_id, self._token)

    def _heartbeat(self, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_S):
            if not self.store.heartbeat(self.job_id, self._token):
                self._stop("Another Studio window or process took this job over (this one "
                           "looked stalled); stopping here.", "backend")
                return

    def _busy(self, message: str) -> Summary:
        info = self.store.job(self.job_id)
        return Summary(self.job_id, "busy", info.total, info.counts["done"],
                       info.counts["failed"], info.spent_usd, message)

    def _run(self) -> Summary:
        self._begin()
        units = self._units([item for item in self.store.items(self.job_id, "pending")
                             if not self._is_packshot(item)])
        workers = 1 if self.local else max(1, self.config.concurrency)
        self._started = time.monotonic()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch") as pool:
            running: set[Future[None]] = set()
            for unit in units:
                while len(running) >= workers:
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    self._reraise(finished)
                self._wait_while_paused()
                if self.cancel.cancelled or self._stop_message:
                    break
                try:
                    backend, request = self._prepare(unit)
                    estimate = backend.estimate_cost(request)
                except BackendError as exc:  # e.g. a product whose prompt came out empty
                    self._fail(unit, str(exc))
                    continue
                what = f"{unit[0].sku} {unit[0].variant}"
                try:
                    with self._lock:
                        if self.config.budget is not None:
                            spent = self.store.job(self.job_id).spent_usd + self._in_flight_usd
                            self.config.budget.check(spent, estimate.usd, what)
                        # The app's daily cap, counting everything else in flight too.
                        admission = self.loop.admit(request, backend, estimate=estimate,
                                                    what=what)
                        self._in_flight_usd += estimate.usd
                except BudgetExceeded as exc:
                    self._stop(str(exc), "budget")
                    break
                running.add(pool.submit(self._run_unit, unit, request, admission, backend))
            self._reraise(wait(running).done)
        return self._finish()

    def _reraise(self, futures: set[Future[None]]) -> None:
        for future in futures:
            future.result()  # a bug in a worker must not pass silently

    def _begin(self) -> None:
        """What every run does first: mark the job running, clear half-written files, take
        back what a crash left running, export what was made but not yet exported, and make
        the packshots (they need no backend)."""
        self.store.set_state(self.job_id, "running")
        self.exporter.sweep_temp()
        self._recover()
        for item in self.store.items(self.job_id, "generated"):
            self._export(item, None)
        self._make_packshots()

    def _units(self, items: list[Item]) -> list[list[Item]]:
        """The local backend makes consecutive seeds of one prompt in one call."""
        if not self.local:
            return [[item] for item in items]
        units: list[list[Item]] = []
        for item in items:
            last = units[-1] if units else None
            if (last and len(last) < min(LOCAL_IMAGES_PER_CALL, MAX_COUNT)
                    and (last[-1].prompt, last[-1].negative_prompt)
                    == (item.prompt, item.negative_prompt)
                    and item.seed == last[-1].seed + 1 and item.idx == last[-1].idx + 1
                    and (self.products is None or item.sku == last[-1].sku)):
                last.append(item)
            else:
                units.append([item])
        return units

    def _request(self, unit: list[Item]) -> GenerationRequest:
        first = unit[0]
        return self.base_request.replace(prompt=first.prompt,
                                         negative_prompt=first.negative_prompt,
                                         seed=first.seed, count=len(unit))

    def _prepare(self, unit: list[Item]) -> tuple[Backend, GenerationRequest]:
        request = self._request(unit)
        if self.products is not None:  # the scene around this row's product photo
            return self.products.prepare(self.backend, unit[0].sku, request)
        return self.backend, request

    def _run_unit(self, unit: list[Item], request: GenerationRequest, admission: Admission,
                  backend: Backend) -> None:
        idxs = [item.idx for item in unit]
        tries = 0

        def on_attempt(attempt: int) -> None:
            nonlocal tries
            if self.cancel.cancelled or self._stop_message:
                raise Cancelled("Batch stopped.")
            tries = attempt + 1
            self.store.mark_running(self.job_id, idxs)

        def on_retry(attempt: int, exc: TransientError, delay_s: float) -> None:
            self.store.mark_pending(self.job_id, idxs, str(exc))
            self._emit("retry", f"{unit[0].sku} {unit[0].variant}: {exc} — retry "
                                f"{attempt} of {self.config.retries}")

        def on_lost_attempt(attempt: int, exc: TransientError, usd: float) -> None:
            self.store.add_lost_attempt(self.job_id, idxs, usd)
            self._emit("lost", f"{unit[0].sku} {unit[0].variant}: try {attempt + 1} may have "
                               f"been billed (counted at ${usd:.4f}): {exc}", tuple(unit))

        policy = RetryPolicy(retries=self.config.retries, backoff_s=self.config.backoff_s,
                             retry_ambiguous=self.config.retry_ambiguous)
        hooks = RunHooks(on_attempt=on_attempt, on_retry=on_retry,
                         on_lost_attempt=on_lost_attempt, cancel=self.cancel)
        settled = False
        try:
            try:
                generated = self.loop.run(request, backend, admission=admission, hooks=hooks,
                                          retry=policy, library=self.library)
            except Cancelled:
                self.store.mark_pending(self.job_id, idxs)
                return
            except BackendUnavailable as exc:  # before TransientError: an unreachable endpoint
                self.store.mark_pending(self.job_id, idxs)
                self._stop(str(exc), "backend")
                return
            except TransientError as exc:
                self._fail(unit, self._transient_reason(exc, tries))
                return
            except BackendError as exc:  # refused, or the model failed on this one request
                self._fail_or_trip(unit, str(exc))
                return
            except (OSError, LibraryError) as exc:  # a full disk, a locked database
                self.store.mark_pending(self.job_id, idxs)
                self._stop(f"Could not save images in the library: {exc}", "output")
                return
            self.breaker.succeeded()
            with self._lock:  # spent and in-flight change together for the budget check
                self._generated(unit, generated.records)
                self._in_flight_usd -= admission.estimate.usd
                settled = True
            images = {g.seed: g.image for g in generated.result.images}
            for item in unit:
                self._export(self._item(item.idx), images.get(item.seed))
        finally:
            if not settled:
                with self._lock:
                    self._in_flight_usd -= admission.estimate.usd

    def _transient_reason(self, exc: TransientError, tries: int) -> str:
        if exc.maybe_billed and not self.config.retry_ambiguous:
            return (f"{exc} Not retried: a retry may pay for the image twice (studio batch "
                    "--retry-ambiguous retries these). Counted as a billed attempt.")
        counted = " The lost tries that may have been billed are counted." \
            if exc.maybe_billed else ""
        return f"{exc} (after {tries} {'try' if tries == 1 else 'tries'}){counted}"

    # --- states -------------------------------------------------------------------------

    def _generated(self, unit: list[Item], records: list[ImageRecord]) -> None:
        by_seed = {record.seed: record for record in records}
        rows = []
        for item in unit:
            record = by_seed[item.seed]
            rows.append((item.idx, {
                "library_image_id": record.id, "model": record.model,
                "backend": record.backend, "cost_usd": record.cost.usd,
                # Every image of a call waited for the whole call.
                "latency_s": record.latency_s}))
        self.store.mark_generated(self.job_id, rows)

    def _item(self, idx: int) -> Item:
        return self.store.item(self.job_id, idx)

    def pause(self) -> None:
        """No new request starts until resume(); those in flight finish."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def _wait_while_paused(self) -> None:
        while not self._running.wait(0.1):
            if self.cancel.cancelled:
                return

    def _export(self, item: Item, image: Image.Image | None) -> None:
        try:
            self._export_item(item, image)
        except C2paSigningError as exc:  # it stays `generated`: a resume signs and exports it
            self._stop(f"Could not sign {item.file}: {exc}", "output")

    def _export_item(self, item: Item, image: Image.Image | None) -> None:
        record = self.library.get(item.library_image_id or -1)
        if record is None or not record.path.is_file():
            # The library image was deleted meanwhile: the only way back is to make it again.
            self.store.mark_pending(self.job_id, [item.idx], "library image missing")
            return
        checks = ""
        # Recorded with the checks: how the product's mask was made, whether the file is signed.
        notes = self._notes(item)
        disclosure = self._disclosure(record, item)
        if self.preset is None:
            # The PNG with its parameters, as made (signed, with Content Credentials on).
            data = self._signed(record.path.read_bytes(), "png", disclosure, item, notes)
            size = (record.width, record.height)
            checks = json.dumps([*notes], ensure_ascii=False) if notes else ""
        else:
            if image is None:
                with Image.open(record.path) as opened:
                    image = opened.convert("RGB")
            size = (self.preset.width, self.preset.height)
            placed = self._placed_for_export(item, size)
            extra = []
            clear = getattr(self.products, "scene_without_product", None)
            if placed is not None and clear is not None:  # no halo of the enlarged small one
                image = clear(item.sku, image)
            on_white = self._generated_on_white(image, placed, notes)
            records: list[dict[str, Any]] = []
            if on_white is not None:
                data = self.preset.encode(self.preset.packshot(on_white), disclosure, final=True)
                data = self._signed(data, self.preset.format, disclosure, item, notes)
            else:
                # The scene at the preset's size: a fetched upscaler's or Lanczos's, recorded.
                image, upscaled = self.preset.fit_scene(image)
                records.append(upscaled.to_check())
                if placed is None:
                    data = self.preset.encode(image, disclosure)
                    data = self._signed(data, self.preset.format, disclosure, item, notes)
                else:
                    final = self.preset.final_with_product(image, placed)
                    data = self.preset.encode(final, disclosure, final=True)
                    data = self._signed(data, self.preset.format, disclosure, item, notes)
                    extra.append(product_pixels_check(data, final, placed, self.preset.format))
            results = [*check_image(data, self.preset), *extra]
            checks = json.dumps([*(dataclasses.asdict(r) for r in results), *records, *notes],
                                ensure_ascii=False)
        self._write(item, data, size, checks)

    def _write(self, item: Item, data: bytes, size: tuple[int, int], checks: str) -> None:
        try:
            sha = self.exporter.write(item.file, data)
        except OSError as exc:  # it stays as it was (generated, pending): a resume exports it
            self._stop(f"Could not write {item.file}: {exc.strerror or exc}", "output")
            return
        self.store.mark_done(self.job_id, item.idx, sha, *size, checks=checks)
        with self._lock:
            self._finished_here += 1
        self._emit("progress", f"{item.file}", (item,))

    # --- packshots ----------------------------------------------------------------------

    def _generated_on_white(self, image: Image.Image, placed: Any,
                            notes: list[dict[str, Any]]) -> Any:
        """A row without a photo on a preset that puts products on white: the generated
        product cut out and placed on the preset's frame (None otherwise, or when no product
        can be told from its background: then the image as generated, checked as usual)."""
        if self.preset is None or not self.preset.product_on_white or placed is not None:
            return None
        try:
            on_white, method = generated_on_white(image, (self.preset.width, self.preset.height))
        except BackendError as exc:
            notes.append({**GENERATED_ON_WHITE_NOTE, "passed": False,
                          "detail": f"not cut out onto white: {exc}"})
            return None
        notes.append({**GENERATED_ON_WHITE_NOTE, "method": method,
                      "detail": f"the generated product cut out onto white ({method})"})
        return on_white

    def _is_packshot(self, item: Item) -> bool:
        """A row with a product photo, with a preset that puts products on white (the plan
        gave such a SKU one item: see plan.packshot_skus)."""
        return (self.preset is not None and self.preset.product_on_white
                and self.products is not None and self.products.has_photo(item.sku))

    def _make_packshots(self) -> None:
        for item in self.store.items(self.job_id, "pending"):
            if self.cancel.cancelled or self._stop_message:
                return
            if self._is_packshot(item):
                self._export_packshot(item)

    def _export_packshot(self, item: Item) -> None:
        """The photo's product placed on the preset's white at its final size: no backend,
        no cost, the product's pixels the photograph's (checked like any export)."""
        assert self.preset is not None and self.products is not None
        size = (self.preset.width, self.preset.height)
        try:
            placed = self.products.placed(item.sku, size)
        except BackendError as exc:  # the photo cannot be had or masked: this item fails
            self._fail([item], str(exc))
            return
        final = self.preset.packshot(placed)
        disclosure = Disclosure(model="", backend="", composite=True, generated=False)
        notes = [*self._notes(item), PACKSHOT_NOTE]
        try:
            data = self.preset.encode(final, disclosure, final=True)
            data = self._signed(data, self.preset.format, disclosure, item, notes)
        except C2paSigningError as exc:  # it stays pending: a resume signs and exports it
            self._stop(f"Could not sign {item.file}: {exc}", "output")
            return
        results = [*check_image(data, self.preset),
                   product_pixels_check(data, final, placed, self.preset.format)]
        checks = json.dumps([*(dataclasses.asdict(r) for r in results), *notes],
                            ensure_ascii=False)
        self._write(item, data, size, checks)

    def _notes(self, item: Item) -> list[dict[str, Any]]:
        """What an export records beside its checks: the product mask's method."""
        if self.products is None or not self.products.has_photo(item.sku):
            return []
        # Only ProductScenes makes masks; another source of scenes records no method.
        mask_method = getattr(self.products, "mask_method", None)
        method = mask_method(item.sku) if mask_method is not None else ""
        return [mask_entry(method)] if method else []

    def _signed(self, data: bytes, file_format: str, disclosure: Disclosure, item: Item,
                notes: list[dict[str, Any]]) -> bytes:
        """`data` with Content Credentials when the job signs; the `c2pa` rule joins `notes`."""
        if self.config.c2pa is None:
            return data
        data, rule = sign_export(self.config.c2pa, data, file_format, disclosure, item.file)
        notes.append(dataclasses.asdict(rule))
        return data

    def _placed_for_export(self, item: Item, size: tuple[int, int]) -> Any:
        """The row's product placed on the export's own frame; None without product photos."""
        if self.products is None:
            return None
        try:
            return self.products.placed(item.sku, size)
        except BackendError:
            return None  # the photo went away since generating: the composite as made

    def _disclosure(self, record: ImageRecord, item: Item) -> Disclosure:
        """A row with a product photo had the photo's pixels composited into its scene; a row
        without one (made from its text) is wholly generated."""
        composite = self.products is not None and self.products.has_photo(item.sku)
        return Disclosure(model=record.model, backend=record.backend, composite=composite)

    def _fail(self, unit: list[Item], reason: str) -> None:
        self.store.mark_failed(self.job_id, [i.idx for i in unit], reason)
        self._emit("failed", f"{unit[0].sku} {unit[0].variant}: {reason}", tuple(unit))

    def _fail_or_trip(self, unit: list[Item], reason: str) -> None:
        """Fail the unit, unless it is one of the first failures that all read alike (see
        breaker.py): then they go back to pending and the job stops, resumable."""
        idxs = [item.idx for item in unit]
        with self._lock:  # decided and stored together, or a trip on another worker is undone
            back = self.breaker.failed(idxs, reason)
            if back is None:
                self.store.mark_failed(self.job_id, idxs, reason)
            else:
                self.store.mark_pending(self.job_id, back, reason)
        if back is None:
            self._emit("failed", f"{unit[0].sku} {unit[0].variant}: {reason}", tuple(unit))
        else:
            self._stop(self.breaker.message(reason, self.job_id), "backend")

    def _stop(self, message: str, kind: str) -> None:
        if not self._stop_message:
            self._stop_message, self._stop_kind = message, kind
            self._emit("stopped", message)

    def _recover(self) -> None:
        """After a crash: adopt `running` items whose images reached the library, requeue the
        rest."""
        for item in self.store.items(self.job_id, "running"):
            record = self._in_library(item)
            if record is None:
                self.store.mark_pending(self.job_id, [item.idx], "interrupted")
                continue
            self.store.mark_generated(self.job_id, [(item.idx, {
                "library_image_id": record.id, "model": record.model, "backend": record.backend,
                "cost_usd": record.cost.usd, "latency_s": record.latency_s})])

    def _in_library(self, item: Item) -> ImageRecord | None:
        if item.started_at is None:
            return None
        since = datetime.fromisoformat(item.started_at)
        for record in self.library.search(item.prompt, since=since, limit=200):
            if record.prompt == item.prompt and record.seed == item.seed and \
                    record.negative_prompt == item.negative_prompt:
                return record
        return None

    # --- reporting ----------------------------------------------------------------------

    def manifest_extra(self) -> dict[str, Any]:
        """More of the job's summary for manifest.json (a Batch Transform run's jobs)."""
        return {}

    def _emit(self, kind: str, message: str = "", items: tuple[Item, ...] = ()) -> None:
        info = self.store.job(self.job_id)
        done, failed, total = info.counts["done"], info.counts["failed"], info.total
        eta = None
        elapsed = time.monotonic() - self._started
        if self._finished_here and elapsed > 0:
            eta = elapsed / self._finished_here * (total - done - failed)
        self.on_event(BatchEvent(kind, done, failed, total, info.spent_usd, eta, message, items))

    def _finish(self) -> Summary:
        info = self.store.job(self.job_id)
        done_items = self.store.items(self.job_id, "done")
        rows = [ManifestRow(i.sku, i.variant, i.prompt, i.negative_prompt, i.seed, i.model,
                            i.backend, round(i.latency_s, 4), i.cost_usd, i.file, i.sha256,
                            i.width, i.height, *check_summary(i.checks),
                            attempts=max(1, i.attempts), billed_attempts=i.billed_attempts,
                            **upscale_fields(i.checks), **mask_fields(i.checks),
                            **c2pa_fields(i.checks), output_location=i.output_location)
                for i in done_items]
        failed_items = self.store.items(self.job_id, "failed")
        failures = [(i.sku, i.variant, i.error) for i in failed_items]
        attempts, billed, lost, lost_usd = self.store.attempt_totals(self.job_id)
        job_meta: dict[str, Any] = {
            "id": self.job_id, "catalog": info.catalog, "preset": info.spec.get("preset"),
            "images": len(rows), "failed": len(failures), "spent_usd": info.spent_usd,
            "attempts": attempts, "billed_attempts": billed, "lost_attempts": lost,
            "lost_usd": round(lost_usd, 6),
            "failures": [failure_row(i) for i in failed_items]}
        job_meta.update(self.manifest_extra())
        try:
            if rows or failed_items or not self.exporter.zip:  # failures are listed too
                self.exporter.finish(rows, job_meta)
        except OSError as exc:
            self._stop(f"Could not write the manifests: {exc.strerror or exc}", "output")
        if self.cancel.cancelled:
            state = "cancelled"
        elif self._stop_message:
            state = "stopped"
        elif failures:
            state = "failed"
        else:
            state = "finished" if info.counts["done"] == info.total else "stopped"
        self.store.set_state(self.job_id, state)
        check_failures = {row.file: row.checks.removeprefix("fail: ").split(", ")
                          for row in rows if row.checks.startswith("fail")}
        return Summary(self.job_id, state, info.total, info.counts["done"], len(failures),
                       info.spent_usd, self._stop_message, failures, self._stop_kind,
                       billed, lost, check_failures)


def failure_row(item: Item) -> FailureRow:
    return FailureRow(item.sku, item.variant, item.prompt, item.seed, item.file, item.error,
                      item.attempts, item.billed_attempts, round(item.lost_usd, 6))


def check_summary(checks: str) -> tuple[str, tuple[dict[str, Any], ...]]:
    """("pass" or "fail: rule, …", each rule's result) from an item's stored checks."""
    if not checks:
        return "", ()
    results = tuple(json.loads(checks))
    if all(r.get("info") for r in results):  # records only (a mask's method), no rule
        return "", results
    failed = [r["rule"] for r in results if not r["passed"]]
    return ("fail: " + ", ".join(failed) if failed else "pass"), results


def product_pixels_check(data: bytes, final: Image.Image, placed: Any,
                         file_format: str) -> RuleResult:
    """How far the encoded file's product pixels are from the photo's: 0 for PNG, and for
    lossy formats the largest and mean error, which the manifest records."""
    import io

    import numpy as np

    inside = np.asarray(placed.mask) >= 128
    with Image.open(io.BytesIO(data)) as written:
        decoded = np.asarray(written.convert("RGB"), dtype=np.int16)
    error = np.abs(decoded - np.asarray(final, dtype=np.int16))[inside]
    largest, mean = (int(error.max()), float(error.mean())) if error.size else (0, 0.0)
    lossless = file_format == "png"
    detail = (f"product region: largest error {largest}, mean {mean:.2f} over "
              f"{int(inside.sum()):,} pixels")
    if not lossless:
        detail += f" ({file_format.upper()} quality ≥ 95, 4:4:4)"
    return RuleResult("product_pixels", largest == 0 if lossless else True, detail)
