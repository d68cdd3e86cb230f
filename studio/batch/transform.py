"""A batch run as SageMaker Batch Transform jobs: one job for the pending items, followed to
its end, its output lines mapped back to their SKUs and variants, recorded and exported.

The transform's own state is the job's remote mode, "transform" (`BatchStore.set_remote_mode`:
the model, fleet, S3 prefix and each transform job with its line -> item mapping); the items
keep the store's states:

    mode["jobs"] += {name, shards: [{file, idxs}], settled: false}   (committed first)
    -> the part files are written to S3 -> CreateTransformJob -> followed until it ends
    -> each output line: pending -> running -> [GenerationLoop.record] -> generated -> done
       each line without an output: failed, with the job's FailureReason
    -> the job is `settled`

The job's name is recorded before the job is created and is derived from the batch (a token
drawn once per batch, its id and a counter), so a resume after a kill -9 anywhere finds the
job with DescribeTransformJob and follows it: no second job for the same lines. Only a
resume after a job that ended leaves items pending (the failed ones, given another go) and
they go into a new job with the next counter.

Cost: SageMaker bills each instance from TransformStartTime to TransformEndTime; each line
of the job gets an even share of that, and the lines that brought no image count their share
as a billed attempt that was lost (in the job's spending and today's).

What needs the concrete SageMaker client (S3, the control plane, the payload format) comes
in as a `TransformService` (backends/sagemaker/transform.py, built by
`studio.backend_kinds.sagemaker_transform`): this module names no concrete backend.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from backends.errors import BackendError, InvalidRequest
from backends.types import Cost, GenerationRequest
from studio.batch.matrix import Estimate
from studio.batch.runner import BatchRunner, Summary
from studio.batch.scale_out import Workload
from studio.batch.scale_out import transform as transform_outcome
from studio.batch.store import Item
from studio.costs.budget import BudgetExceeded
from studio.formatting import format_duration
from studio.generation.loop import Admission

MODE = "transform"  # the store's remote mode for these jobs
POLL_S = 15.0  # DescribeTransformJob is cheap, but a job takes minutes to start
REPORT_EVERY_S = 60.0  # a status line at least this often while nothing changes
JUST_CREATED_S = 60.0  # how long a job just created may be missing from DescribeTransformJob


class TransformService(Protocol):
    """backends.sagemaker.transform.TransformService, as this module uses it."""

    jobs: Any
    model_name: str
    instance_type: str
    instances: int
    price: Any

    def check(self) -> None: ...
    def plan(self, job_name: str, shards: list[str]) -> Any: ...
    def line(self, request: GenerationRequest, seed: int) -> bytes: ...
    def seconds_per_image(self, request: GenerationRequest) -> float: ...
    def job_name(self, token: str, batch_id: int, counter: int) -> str: ...
    def shard_sizes(self, lines: int) -> list[int]: ...
    def shard_name(self, index: int) -> str: ...
    def error_line(self, raw: bytes) -> str: ...
    def job_usd(self, status: Any) -> float: ...
    def line_cost(self, status: Any, lines: int) -> Cost: ...
    def result(self, raw: bytes, request: GenerationRequest, seed: int, cost: Cost) -> Any: ...


@dataclass(frozen=True)
class TransformOptions:
    model_name: str
    s3_uri: str
    instance_type: str
    instances: int = 1

    def to_entry(self) -> dict[str, Any]:
        """The state of a new batch job's transform, kept with `BatchStore.set_remote_mode`."""
        return {"model_name": self.model_name, "s3_uri": self.s3_uri,
                "instance_type": self.instance_type, "instances": self.instances,
                "token": uuid.uuid4().hex[:10], "jobs": []}

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> TransformOptions:
        return cls(entry["model_name"], entry["s3_uri"], entry["instance_type"],
                   int(entry["instances"]))


def estimate_transform(service: TransformService, base_request: GenerationRequest,
                       count: int) -> Estimate:
    """The job's instance-hours (start-up included) at the price book's hourly price."""
    if count <= 0:
        return Estimate(0, 0.0, 0.0, "nothing to make", "nothing to make")
    per_image = service.seconds_per_image(base_request.replace(count=1))
    price = service.price.usd_per_hour if service.price is not None else 0.0
    outcome = transform_outcome(Workload(count, per_image, price, service.instances))
    fleet = f"{service.instances} × {service.instance_type}"
    if service.price is None:
        basis = (f"Batch Transform on {fleet}: no price is known for {service.instance_type} "
                 "here, so add it to the price book (resources/prices/sagemaker.json)")
    else:
        basis = (f"Batch Transform, {outcome.instance_hours:.2f} instance-hours of {fleet} at "
                 f"${price:.3f}/h ({service.price.source}), start-up included")
    return Estimate(count, outcome.usd, outcome.wall_s,
                    basis, f"a guessed {per_image:.2g} s per image on {service.instance_type}, "
                           "from its family's typical speed")


class TransformRunner(BatchRunner):
    """BatchRunner's claim, heartbeat, export and manifests, with the images made by Batch
    Transform jobs instead of one loop run per item. `retry_failed`: a resume gives the
    failed items another go once every job still open has been followed to its end."""

    def __init__(self, *args: Any, service: TransformService, poll_s: float = POLL_S,
                 retry_failed: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = service
        self.poll_s = poll_s
        self.retry_failed = retry_failed

    def _run(self) -> Summary:
        self._begin()
        try:
            for job in self._jobs():
                if not job["settled"] and not self._halted():
                    self._settle(job)
            if self.retry_failed and not self._halted():
                self.store.reset_failed(self.job_id)
            if not self._halted():
                job = self._new_job()
                if job is not None:
                    self._settle(job)
        except BackendError as exc:  # S3 or the control plane went away: resumable
            self._stop(str(exc), "backend")
        return self._finish()

    def _halted(self) -> bool:
        return self.cancel.cancelled or bool(self._stop_message)

    # --- the transform's state (the store's per-job mode settings) ----------------------

    def _entry(self) -> dict[str, Any]:
        mode, entry = self.store.remote_mode(self.job_id)
        if mode != MODE:
            raise InvalidRequest(f"Batch job {self.job_id} is not a Batch Transform job.")
        return entry

    def _jobs(self) -> list[dict[str, Any]]:
        return list(self._entry()["jobs"])

    def _save_job(self, job: dict[str, Any]) -> None:
        entry = self._entry()
        jobs = [job if j["name"] == job["name"] else j for j in entry["jobs"]]
        if all(j["name"] != job["name"] for j in jobs):
            jobs.append(job)
        self.store.set_remote_mode(self.job_id, MODE, {**entry, "jobs": jobs})

    # --- a new job -----------------------------------------------------------------------

    def _new_job(self) -> dict[str, Any] | None:
        """A job for every pending item not in an open job, recorded before it is created."""
        taken = {idx for job in self._jobs() if not job["settled"]
                 for shard in job["shards"] for idx in shard["idxs"]}
        items = [i for i in self.store.items(self.job_id, "pending") if i.idx not in taken]
        items, _ = self._lines(items)  # refuse what cannot be sent before anything is paid
        if not items:
            return None
        entry = self._entry()
        name = self.service.job_name(entry["token"], self.job_id, len(entry["jobs"]) + 1)
        shards, start = [], 0
        for index, size in enumerate(self.service.shard_sizes(len(items))):
            shards.append({"file": self.service.shard_name(index),
                           "idxs": [i.idx for i in items[start:start + size]]})
            start += size
        job = {"name": name, "shards": shards, "lines": len(items), "settled": False,
               "created": False, "status": "", "failure_reason": "", "instance_seconds": 0.0,
               "cost_usd": 0.0}
        self._save_job(job)  # the name is known before the job can exist
        return job

    def _submit(self, job: dict[str, Any], plan: Any) -> Admission | None:
        """Check the budget, write the part files, create the job; None when the budget
        stopped it (nothing created)."""
        items = {i.idx: i for i in self.store.items(self.job_id)}
        parts = [[self.service.line(self._request_for(items[idx]), items[idx].seed)
                  for idx in shard["idxs"]] for shard in job["shards"]]
        estimate = estimate_transform(self.service, self.base_request, job["lines"])
        cost = Cost(estimate.usd, estimate.cost_basis)
        what = f"Batch Transform job {job['name']} ({job['lines']} images)"
        try:
            if self.config.budget is not None:
                spent = self.store.job(self.job_id).spent_usd
                self.config.budget.check(spent, cost.usd, what)
            admission = self.loop.admit(self._request_for(items[job["shards"][0]["idxs"][0]]),
                                        self.backend, estimate=cost, what=what)
        except BudgetExceeded as exc:
            self._stop(str(exc), "budget")
            return None
        try:
            self.service.jobs.write_inputs(plan, parts)
            self.service.jobs.create(plan)
        except BaseException:
            self.loop.release(admission)
            raise
        job["created"] = True
        self._save_job(job)
        self._emit("transform", f"Created Batch Transform job {job['name']}: {job['lines']} "
                                f"images in {len(job['shards'])} parts on "
                                f"{self.service.instances} × {self.service.instance_type}.")
        return admission

    # --- following a job to its end ------------------------------------------------------

    def _settle(self, job: dict[str, Any]) -> None:
        plan = self.service.plan(job["name"], [shard["file"] for shard in job["shards"]])
        admission = None
        status = self.service.jobs.describe(job["name"])
        if status is None:  # recorded, never created (killed before, or refused): create it
            admission = self._submit(job, plan)
            if admission is None:
                return
        elif status.input_uri and status.input_uri != plan.input_uri():
            self._stop(f"A transform job named {job['name']} exists but reads "
                       f"{status.input_uri}, not this batch's {plan.input_uri()}; it is not "
                       "touched.", "backend")
            return
        else:
            self._emit("transform", f"Following Batch Transform job {job['name']} "
                                    f"({status.status}).")
        try:
            status = self._follow(job, plan)
            if status is None:
                return
            self._collect(job, plan, status)
        finally:
            if admission is not None:
                self.loop.release(admission)

    def _follow(self, job: dict[str, Any], plan: Any) -> Any:
        """Poll until the job ends; None when cancelled or stopped meanwhile (the job goes
        on in SageMaker and a resume follows it again)."""
        started = time.monotonic()
        last: tuple[str, int] | None = None
        reported = 0.0
        while True:
            status = self.service.jobs.describe(job["name"])
            if status is None:
                # The control plane may not list a job created a moment ago.
                if time.monotonic() - started > JUST_CREATED_S:
                    raise InvalidRequest(f"The transform job {job['name']} has disappeared "
                                         "from SageMaker (deleted, or another region?).")
                if self._wait(self.poll_s):
                    return self._left_running(job)
                continue
            done = len(self.service.jobs.finished_shards(plan))
            now = time.monotonic()
            if (status.status, done) != last or now - reported >= REPORT_EVERY_S:
                last, reported = (status.status, done), now
                self._emit("transform", self._progress_line(job, status, done,
                                                            now - started))
            if status.finished:
                return status
            if self._wait(self.poll_s):
                return self._left_running(job)

    def _left_running(self, job: dict[str, Any]) -> None:
        self._stop(f"Stopped following Batch Transform job {job['name']}: it goes on in "
                   "SageMaker and is billed until it ends. `studio batch --resume "
                   f"{self.job_id}` follows it again and collects its images; `aws sagemaker "
                   f"stop-transform-job --transform-job-name {job['name']}` stops it.",
                   "backend")

    def _progress_line(self, job: dict[str, Any], status: Any, done: int,
                       elapsed_s: float) -> str:
        parts = len(job["shards"])
        eta = ""
        if 0 < done < parts and not status.finished:
            eta = f", about {format_duration(elapsed_s / done * (parts - done))} to go"
        return (f"Batch Transform job {job['name']}: {status.status}, {done}/{parts} parts "
                f"written, "
                f"{format_duration(elapsed_s)} followed{eta}")

    def _wait(self, seconds: float) -> bool:
        """Sleep; True when the run was cancelled or stopped meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._halted():
                return True
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return self._halted()

    # --- mapping outputs back ------------------------------------------------------------

    def _collect(self, job: dict[str, Any], plan: Any, status: Any) -> None:
        """Each output line to its item, in order; lines without one fail with the reason."""
        cost = self.service.line_cost(status, job["lines"])
        reason = self._failure_reason(status)
        lost: list[Item] = []
        for shard in job["shards"]:
            outputs = self.service.jobs.read_output(plan, shard["file"])
            for position, idx in enumerate(shard["idxs"]):
                item = self._item(idx)
                if item.status not in ("pending", "running"):
                    continue  # collected by an earlier run, or failed before sending
                if outputs is None or position >= len(outputs):
                    lost.append(item)
                    continue
                self._deliver(item, outputs[position], cost)
        self._lose(lost, reason, cost)
        job.update(settled=True, status=status.status, failure_reason=status.failure_reason,
                   instance_seconds=round(status.instance_seconds, 3),
                   cost_usd=round(self.service.job_usd(status), 6))
        self._save_job(job)
        self._emit("transform", f"Batch Transform job {job['name']} {status.status}: "
                                f"{status.instance_seconds:.0f} instance-seconds, "
                                f"${job['cost_usd']:.4f}"
                                f"{f'; {len(lost)} images without output' if lost else ''}.")

    def _failure_reason(self, status: Any) -> str:
        if status.status == "Failed":
            return (f"Batch Transform job {status.name} failed before this part's output was "
                    f"written: {status.failure_reason or 'no reason given'}")
        if status.status == "Stopped":
            return f"Batch Transform job {status.name} was stopped before this part finished."
        return f"Batch Transform job {status.name} ended without an output line for this item."

    def _deliver(self, item: Item, raw: bytes, cost: Cost) -> None:
        self.store.mark_running(self.job_id, [item.idx])
        try:
            result = self.service.result(raw, self._request_for(item), item.seed, cost)
        except BackendError as exc:
            detail = self.service.error_line(raw)
            self._lose([self._item(item.idx)], f"{detail or exc}", cost)
            return
        # The job's own admission holds the reservation; this line's share is only recorded.
        generated = self.loop.record(result, Admission(cost, released=True),
                                     library=self.library)
        self._generated([item], generated.records)
        images = {g.seed: g.image for g in result.images}
        self._export(self._item(item.idx), images.get(item.seed))

    def _lose(self, items: list[Item], reason: str, cost: Cost) -> None:
        """Items the job was paid for but brought no image: failed, their share counted."""
        if not items:
            return
        idxs = [i.idx for i in items]
        self.store.mark_failed(self.job_id, idxs, reason)
        for item in items:
            self.store.add_lost_attempt(self.job_id, [item.idx], cost.usd)
            self.loop.lost_attempts.record(cost.usd, "sagemaker", reason)
            self._emit("failed", f"{item.sku} {item.variant}: {reason}", (item,))

    # --- requests ------------------------------------------------------------------------

    def _lines(self, items: list[Item]) -> tuple[list[Item], list[bytes]]:
        """Each item's request line; an item whose request cannot be sent fails here."""
        kept, lines = [], []
        for item in items:
            try:
                lines.append(self.service.line(self._request_for(item), item.seed))
            except InvalidRequest as exc:
                self._fail([item], str(exc))
                continue
            kept.append(item)
        return kept, lines

    def _request_for(self, item: Item) -> GenerationRequest:
        return self.base_request.replace(prompt=item.prompt,
                                         negative_prompt=item.negative_prompt,
                                         seed=item.seed, count=1)

    def manifest_extra(self) -> dict[str, Any]:
        """manifest.json's job summary names each transform job, its end and its cost."""
        return {"transform_jobs": [
            {key: job.get(key) for key in ("name", "status", "failure_reason",
                                           "instance_seconds", "cost_usd", "lines")}
            for job in self._jobs()]}
