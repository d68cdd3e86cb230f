"""The runner with an in-process backend: states, retries, budget, concurrency, recovery."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from studio.batch.presets import get_preset
from studio.batch.store import BatchStore
from studio.costs.budget import Budget
from studio.library import Library
from tests.batch.fakes import FakeBackend, make_job, make_runner


def exported(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))


def test_a_job_makes_every_item_once_records_it_and_writes_manifests(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    job_id, out = make_job(tmp_path, store)
    backend = FakeBackend(delay_s=0.02)
    summary = make_runner(store, job_id, out, backend, library, concurrency=3).run()
    assert (summary.state, summary.done, summary.failed, summary.total) == ("finished", 12, 0, 12)
    assert len(backend.calls) == 12 and backend.max_in_flight == 3
    assert summary.spent_usd == pytest.approx(1.2)
    assert len(exported(out)) == 12 and "SKU-0/SKU-0_white_s1.png" in exported(out)
    assert library.count() == 12
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["images"]) == 12
    first = manifest["images"][0]
    assert (first["sku"], first["variant"], first["seed"], first["backend"]) == \
        ("SKU-0", "white_s1", 100, "fake")
    assert hashlib.sha256((out / first["file"]).read_bytes()).hexdigest() == first["sha256"]
    assert store.job(job_id).state == "finished"
    # Nothing is left to do: running it again generates nothing.
    make_runner(store, job_id, out, backend, library).run()
    assert len(backend.calls) == 12 and library.count() == 12


def test_local_backend_runs_one_at_a_time_and_batches_seeds(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    job_id, out = make_job(tmp_path, store, products=2, seeds=3)
    backend = FakeBackend(name="local", usd=0.0)
    summary = make_runner(store, job_id, out, backend, library, concurrency=8).run()
    assert summary.done == 12 and backend.max_in_flight == 1
    assert [r.count for r in backend.calls] == [3, 3, 3, 3]
    assert [r.seed for r in backend.calls[:2]] == [100, 100]


def test_transient_errors_are_retried_then_the_item_fails_with_its_reason(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    job_id, out = make_job(tmp_path, store, products=3, seeds=1)
    backend = FakeBackend(transient={"thing 0": 2, "thing 1": 99}, invalid={"thing 2"})
    summary = make_runner(store, job_id, out, backend, library, retries=2).run()
    assert (summary.state, summary.done, summary.failed) == ("failed", 2, 4)
    reasons = {(sku, variant): reason for sku, variant, reason in summary.failures}
    assert reasons[("SKU-1", "white_s1")] == "Throttled, try again. (after 3 tries)"
    assert reasons[("SKU-2", "marble_s1")] == "Refused thing 2."
    items = {(i.sku, i.variant): i for i in store.items(job_id)}
    assert items[("SKU-0", "white_s1")].status == "done"
    assert items[("SKU-0", "white_s1")].attempts == 3
    assert items[("SKU-1", "white_s1")].attempts == 3
    # A resume tries the failed items again.
    backend.transient = {}
    store.reset_failed(job_id)
    backend.invalid = set()
    assert make_runner(store, job_id, out, backend, library).run().state == "finished"
    assert len(exported(out)) == 6


def test_budget_stops_before_it_would_be_exceeded_and_resume_continues(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    job_id, out = make_job(tmp_path, store, products=3, seeds=1)
    backend = FakeBackend(usd=0.25)
    summary = make_runner(store, job_id, out, backend, library, concurrency=4,
                          budget=Budget(1.0)).run()
    assert (summary.state, summary.done) == ("stopped", 4)
    assert summary.spent_usd == pytest.approx(1.0)
    assert "budget" in summary.message and len(backend.calls) == 4
    assert store.job(job_id).counts["pending"] == 2
    assert len(exported(out)) == 4  # and the manifest lists what was made
    assert len(json.loads((out / "manifest.json").read_text())["images"]) == 4
    summary = make_runner(store, job_id, out, backend, library, budget=Budget(2.0)).run()
    assert (summary.state, summary.done, summary.spent_usd) == ("finished", 6, 1.5)


def test_recovery_after_a_crash_between_commits(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    """Simulates the states a kill -9 can leave (the real kill is in test_cli_batch)."""
    job_id, out = make_job(tmp_path, store, products=2, seeds=1)
    backend = FakeBackend()
    items = store.items(job_id)
    # Item 0: its image reached the library, the store still says running.
    store.mark_running(job_id, [0])
    request = make_runner(store, job_id, out, backend, library)._request([items[0]])
    library.record(backend.generate(request))
    # Item 1: generated and recorded in the store, not exported yet.
    store.mark_running(job_id, [1])
    record = library.record(backend.generate(
        make_runner(store, job_id, out, backend, library)._request([items[1]])))[0]
    store.mark_generated(job_id, [(1, {"library_image_id": record.id, "model": "m",
                                       "backend": "fake", "latency_s": 1.0, "cost_usd": 0.1})])
    # Item 2: was running when killed, nothing came back.
    store.mark_running(job_id, [2])
    out.mkdir()
    (out / ".tmp-half-written").write_bytes(b"half")
    backend.calls.clear()
    summary = make_runner(store, job_id, out, backend, library).run()
    assert summary.state == "finished" and summary.done == 4
    assert [r.prompt for r in backend.calls] == [items[2].prompt, items[3].prompt]
    assert library.count() == 4
    assert not list(out.rglob(".tmp-*"))


def test_zip_export(tmp_path: Path, store: BatchStore, library: Library) -> None:
    preset = get_preset("ebay")
    job_id, out = make_job(tmp_path, store, products=2, seeds=1, out_name="images.zip",
                           preset=preset)
    summary = make_runner(store, job_id, out, FakeBackend(), library, preset=preset).run()
    assert summary.state == "finished"
    with zipfile.ZipFile(out) as archive:
        names = sorted(archive.namelist())
    assert names == ["SKU-0/SKU-0_marble_s1.jpg", "SKU-0/SKU-0_white_s1.jpg",
                     "SKU-1/SKU-1_marble_s1.jpg", "SKU-1/SKU-1_white_s1.jpg",
                     "manifest.csv", "manifest.json"]
    assert not list(tmp_path.glob(".tmp-*"))
    with zipfile.ZipFile(out) as archive, archive.open("SKU-0/SKU-0_white_s1.jpg") as image:
        from PIL import Image

        assert Image.open(image).size == (1600, 1600)


def test_store_lists_jobs_and_counts(tmp_path: Path, store: BatchStore) -> None:
    first, _ = make_job(tmp_path, store, products=1, seeds=1)
    second, _ = make_job(tmp_path, store, products=2, seeds=1)
    jobs = store.jobs()
    assert [j.id for j in jobs] == [second, first]
    assert jobs[0].counts["pending"] == 4 and jobs[0].total == 4
    with pytest.raises(ValueError, match="no batch job 99"):
        store.job(99)


def test_an_unavailable_backend_stops_the_job_with_everything_still_to_do(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    job_id, out = make_job(tmp_path, store, products=2, seeds=1)
    summary = make_runner(store, job_id, out, FakeBackend(unavailable="No model set."),
                          library).run()
    assert (summary.state, summary.message, summary.failed) == ("stopped", "No model set.", 0)
    assert store.job(job_id).counts["pending"] == 4


def test_cancel_puts_unfinished_items_back_and_pause_holds_new_requests(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    import threading

    job_id, out = make_job(tmp_path, store, products=4, seeds=1)
    backend = FakeBackend(delay_s=0.05)
    runner = make_runner(store, job_id, out, backend, library, concurrency=2)
    runner.pause()
    thread = threading.Thread(target=runner.run)
    thread.start()
    thread.join(0.3)
    assert runner.paused and backend.calls == []
    runner.resume()
    while store.job(job_id).counts["done"] < 2:
        thread.join(0.01)
    runner.cancel.cancel()
    thread.join(5)
    info = store.job(job_id)
    assert info.state == "cancelled"
    assert info.counts["done"] + info.counts["pending"] == 8 and info.counts["running"] == 0
    assert library.count() == info.counts["done"]


def test_an_item_whose_prompt_is_empty_fails_alone(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    from studio.batch.store import NewItem

    items = [NewItem("A", "s1", "", "", 1, "A/A_s1.png"), NewItem("B", "s1", "b", "", 1,
                                                                   "B/B_s1.png")]
    job_id = store.create_job("c", str(tmp_path / "o"), {}, items)
    summary = make_runner(store, job_id, tmp_path / "o", FakeBackend(), library).run()
    assert (summary.done, summary.failed) == (1, 1)
    assert "prompt" in summary.failures[0][2]


def test_an_unwritable_export_stops_the_job_and_a_resume_finishes_it(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    job_id, out = make_job(tmp_path, store, products=1, seeds=1)
    out.write_text("a file where the export folder should be")
    backend = FakeBackend()
    summary = make_runner(store, job_id, out, backend, library).run()
    assert summary.state == "stopped" and "Could not write SKU-0/" in summary.message
    assert store.job(job_id).counts["generated"] >= 1
    out.unlink()
    summary = make_runner(store, job_id, out, backend, library).run()
    assert (summary.state, summary.done) == ("finished", 2)
    assert len(backend.calls) == 2 and library.count() == 2


def test_each_export_is_checked_against_its_preset_and_the_manifest_says_so(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    preset = get_preset("amazon-main")
    job_id, out = make_job(tmp_path, store, products=1, seeds=1, preset=preset)
    summary = make_runner(store, job_id, out, FakeBackend(), library, preset=preset).run()
    assert summary.state == "finished"
    rows = json.loads((out / "manifest.json").read_text())["images"]
    assert rows and all(row["checks"] for row in rows)
    for row in rows:
        rules = {r["rule"]: r["passed"] for r in row["check_details"]}
        assert rules["size"] and rules["format"] and rules["colour_profile"]
        failed = [rule for rule, passed in rules.items() if not passed]
        assert row["checks"] == ("fail: " + ", ".join(failed) if failed else "pass")
    csv_text = (out / "manifest.csv").read_text(encoding="utf-8-sig")
    # Columns added later go after these (status, reason, …).
    assert ",checks,attempts,billed_attempts," in csv_text.splitlines()[0] + ","


def test_without_a_preset_nothing_is_checked(tmp_path: Path, store: BatchStore,
                                             library: Library) -> None:
    job_id, out = make_job(tmp_path, store, products=1, seeds=1)
    make_runner(store, job_id, out, FakeBackend(), library).run()
    rows = json.loads((out / "manifest.json").read_text())["images"]
    assert {row["checks"] for row in rows} == {""}


class Scripted(FakeBackend):
    """Fails the items whose prompt names a key with the error made for it, `times` times."""

    def __init__(self, errors: dict[str, object], times: int = 99, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.errors, self.left = errors, {key: times for key in errors}

    def generate(self, request, on_progress=None, cancel=None):
        result = super().generate(request, on_progress, cancel)  # the work is done (billed)
        for key, make in self.errors.items():
            if key in request.prompt and self.left[key] > 0:
                self.left[key] -= 1
                raise make()  # type: ignore[operator]
        return result


def test_a_model_error_fails_its_item_and_the_batch_goes_on(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    from backends.errors import GenerationFailed

    job_id, out = make_job(tmp_path, store, products=3, seeds=1)
    backend = Scripted({"thing 1": lambda: GenerationFailed("The model failed: CUDA OOM.")})
    summary = make_runner(store, job_id, out, backend, library, concurrency=2).run()
    assert (summary.state, summary.done, summary.failed) == ("failed", 4, 2)
    assert {(s, r) for s, _, r in summary.failures} == {("SKU-1", "The model failed: CUDA OOM.")}
    assert len(backend.calls) == 6  # not retried: it is not a temporary failure
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["reason"] for f in manifest["failures"]] == ["The model failed: CUDA OOM."] * 2
    assert manifest["job"]["failed"] == 2 and len(manifest["images"]) == 4


def test_a_lost_answer_is_not_retried_but_counted_as_billed(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    from backends.errors import TransientError

    job_id, out = make_job(tmp_path, store, products=2, seeds=1)
    backend = Scripted({"thing 0": lambda: TransientError("Read timeout after the request was "
                                                          "sent.", maybe_billed=True)}, usd=0.1)
    summary = make_runner(store, job_id, out, backend, library).run()
    assert (summary.done, summary.failed) == (2, 2)
    assert len(backend.calls) == 4  # the two lost ones were not sent again
    failed = store.items(job_id, "failed")
    assert all(i.billed_attempts == 1 and i.lost_usd == pytest.approx(0.1) for i in failed)
    assert all("Not retried" in i.error and "--retry-ambiguous" in i.error for i in failed)
    # The job's spending: the two images made and the two that may have been.
    assert summary.spent_usd == pytest.approx(0.4) == store.job(job_id).spent_usd
    assert (summary.billed_attempts, summary.lost_attempts) == (4, 2)
    job = json.loads((out / "manifest.json").read_text())["job"]
    assert (job["billed_attempts"], job["lost_attempts"]) == (4, 2)


def test_with_retry_ambiguous_a_lost_answer_is_retried_and_both_tries_are_billed(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    from backends.errors import TransientError

    job_id, out = make_job(tmp_path, store, products=1, seeds=1)
    backend = Scripted({"white": lambda: TransientError("reset after sending",
                                                        maybe_billed=True)}, times=1, usd=0.1)
    summary = make_runner(store, job_id, out, backend, library, retry_ambiguous=True).run()
    assert (summary.state, summary.done) == ("finished", 2)
    rows = {row["variant"]: row for row in json.loads((out / "manifest.json").read_text())
            ["images"]}
    assert (rows["white_s1"]["attempts"], rows["white_s1"]["billed_attempts"]) == (2, 2)
    assert (rows["marble_s1"]["attempts"], rows["marble_s1"]["billed_attempts"]) == (1, 1)
    assert summary.spent_usd == pytest.approx(0.3)


def test_a_job_another_process_runs_is_refused_and_left_alone(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    import os

    job_id, out = make_job(tmp_path, store, products=1, seeds=1)
    BatchStore().claim(job_id, "the-window")  # another runner, alive (this very process)
    backend = FakeBackend()
    summary = make_runner(store, job_id, out, backend, library).run()
    assert summary.state == "busy" and not backend.calls
    assert f"Batch job {job_id} is running in another Studio window or process (pid " \
           f"{os.getpid()})" in summary.message
    assert store.job(job_id).counts["pending"] == 2

    store.release(job_id, "the-window")
    assert make_runner(store, job_id, out, backend, library).run().state == "finished"
    assert store.holder(job_id) is None  # released at the end


def test_a_claim_of_a_dead_process_or_a_stale_heartbeat_is_free(
        tmp_path: Path, store: BatchStore) -> None:
    import subprocess
    import sys

    from studio.batch import store as store_module

    job_id, _ = make_job(tmp_path, store, products=1, seeds=1)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    store.claim(job_id, "killed")
    with store._transaction() as conn:
        conn.execute("UPDATE jobs SET owner_pid = ? WHERE id = ?", [int(dead.stdout), job_id])
    assert store.holder(job_id) is None
    store.claim(job_id, "me")
    assert store.holder(job_id) is not None
    with store._transaction() as conn:
        conn.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ?",
                     [1.0, job_id])  # not renewed since 1970
    assert store.holder(job_id) is None
    assert store_module.STALE_AFTER_S >= 4 * store_module.HEARTBEAT_S


def test_a_running_job_holds_its_claim_until_it_ends(
        tmp_path: Path, store: BatchStore, library: Library) -> None:
    import threading

    from studio.batch.store import JobBusy

    job_id, out = make_job(tmp_path, store, products=2, seeds=1)
    runner = make_runner(store, job_id, out, FakeBackend(delay_s=0.05), library)
    runner.pause()
    thread = threading.Thread(target=runner.run)
    thread.start()
    try:
        other = BatchStore()  # as another process would see it
        for _ in range(100):
            if other.holder(job_id) is not None:
                break
            threading.Event().wait(0.02)
        with pytest.raises(JobBusy, match="Cancel it there first"):
            other.claim(job_id, "cli")  # paused, it is still this window's
        with pytest.raises(JobBusy):
            other.check_free(job_id)
    finally:
        runner.resume()
        thread.join(30)
    assert BatchStore().holder(job_id) is None


def test_a_batches_db_from_before_the_new_columns_is_migrated(studio_home: Path) -> None:
    import sqlite3

    studio_home.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(studio_home / "batches.db") as conn:  # the first schema, one job
        conn.executescript("""
            CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL, state TEXT NOT NULL, catalog TEXT NOT NULL,
                out TEXT NOT NULL, spec_json TEXT NOT NULL);
            CREATE TABLE items (job_id INTEGER NOT NULL, idx INTEGER NOT NULL,
                sku TEXT NOT NULL, variant TEXT NOT NULL, prompt TEXT NOT NULL,
                negative_prompt TEXT NOT NULL, seed INTEGER NOT NULL, file TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
                error TEXT NOT NULL DEFAULT '', started_at TEXT, finished_at TEXT,
                library_image_id INTEGER, model TEXT NOT NULL DEFAULT '',
                backend TEXT NOT NULL DEFAULT '', latency_s REAL NOT NULL DEFAULT 0,
                cost_usd REAL NOT NULL DEFAULT 0, sha256 TEXT NOT NULL DEFAULT '',
                width INTEGER NOT NULL DEFAULT 0, height INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (job_id, idx));
            INSERT INTO jobs VALUES (1, 'x', 'x', 'running', 'c.csv', 'out', '{}');
            INSERT INTO items (job_id, idx, sku, variant, prompt, negative_prompt, seed, file,
                status, cost_usd) VALUES (1, 0, 'A', 's1', 'p', '', 1, 'A/A_s1.png', 'done', 0.2);
        """)
    store = BatchStore()
    assert store.job(1).spent_usd == pytest.approx(0.2)
    assert store.items(1)[0].billed_attempts == 0 and store.holder(1) is None
    store.add_lost_attempt(1, [0], 0.05)
    assert store.job(1).spent_usd == pytest.approx(0.25)
    store.claim(1, "me")
    assert store.holder(1) is not None
