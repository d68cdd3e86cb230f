"""`studio batch --list [ID]`: the batch jobs, and one job with each failed item and why."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from backends.redaction import redact
from studio.formatting import format_usd


def list_jobs(as_json: bool) -> int:
    from studio.batch.store import BatchStore

    store = BatchStore()
    jobs = store.jobs()
    if not jobs and not as_json:
        print("No batch jobs yet.", file=sys.stderr)
    for job in jobs:
        job = _with_live_state(store, job)
        billed, lost = _billed(store, job.id)
        if as_json:
            print(json.dumps({"id": job.id, "state": job.state, "created_at": job.created_at,
                              "updated_at": job.updated_at, "catalog": job.catalog,
                              "out": job.out, "total": job.total, **job.counts,
                              "spent_usd": job.spent_usd, "billed_attempts": billed,
                              "lost_attempts": lost}))
        else:
            lost_note = f" {lost} lost" if lost else ""
            print(f"{job.id:>4}  {job.state:<11} {job.counts['done']:>5}/{job.total:<5} "
                  f"{job.counts['failed']:>3} failed{lost_note}  {format_usd(job.spent_usd):>10}  "
                  f"{job.created_at[:16]}  {Path(job.catalog).name} → {job.out}")
    if jobs and not as_json and any(job.counts["failed"] for job in jobs):
        print("`studio batch --list ID` lists a job's failed items with their reasons.",
              file=sys.stderr)
    return 0


def show_job(job_id: int, as_json: bool) -> int:
    """One job: its counts and spending, and every failed item with its reason."""
    from studio.batch.store import BatchStore

    store = BatchStore()
    job = _with_live_state(store, store.job(job_id))
    failed = store.items(job_id, "failed")
    attempts, billed, lost, _ = store.attempt_totals(job_id)
    if as_json:
        print(json.dumps({
            "id": job.id, "state": job.state, "catalog": job.catalog, "out": job.out,
            "total": job.total, **job.counts, "spent_usd": job.spent_usd,
            "attempts": attempts, "billed_attempts": billed,
            "lost_attempts": lost,
            "failures": [_failure(item) for item in failed]}))
        return 0
    print(f"Batch job {job.id} {job.state}: {job.counts['done']}/{job.total} done, "
          f"{len(failed)} failed, {format_usd(job.spent_usd)} spent, {billed} billed attempts"
          f"{f' ({lost} without an image)' if lost else ''}")
    print(f"  {job.catalog} → {job.out}")
    for item in failed:
        print(f"  failed {item.sku} {item.variant} (seed {item.seed}, {item.attempts} "
              f"tries, {item.billed_attempts} billed): {redact(item.error)}")
    if job.state != "finished":
        print(f"  Continue with: studio batch --resume {job.id}")
    return 0


def _failure(item: Any) -> dict[str, Any]:
    return {"sku": item.sku, "variant": item.variant, "seed": item.seed, "file": item.file,
            "reason": redact(item.error), "attempts": item.attempts,
            "billed_attempts": item.billed_attempts, "lost_usd": round(item.lost_usd, 6)}


def _with_live_state(store: Any, job: Any) -> Any:
    """A job left `running` by a process that is gone was interrupted: resume it."""
    if job.state == "running" and store.holder(job.id) is None:
        return dataclasses.replace(job, state="interrupted")
    return job


def _billed(store: Any, job_id: int) -> tuple[int, int]:
    """(billed attempts, those without an image) over the job's items."""
    _, billed, lost, _ = store.attempt_totals(job_id)
    return billed, lost
