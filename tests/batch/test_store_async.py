"""The batch store's async columns and states: migrated into an older database, and the
submit records a resume depends on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from studio.batch.store import BatchStore, NewItem


def test_an_older_database_gains_the_async_columns_and_keeps_its_items(tmp_path: Path) -> None:
    path = tmp_path / "batches.db"
    store = BatchStore(path)
    job = store.create_job("c.csv", "out", {}, [NewItem("A", "v", "p", "", 1, "A/A_v.png")])
    store.close()
    with sqlite3.connect(path) as conn:  # as a database from before async batches
        for column in ("inference_id", "input_location", "output_location",
                       "failure_location", "submitted_at"):
            conn.execute(f"ALTER TABLE items DROP COLUMN {column}")
        conn.execute("DROP TABLE remote_modes")
    store = BatchStore(path)
    item = store.item(job, 0)
    assert (item.sku, item.status, item.inference_id, item.submitted_at) == \
        ("A", "pending", "", None)
    assert store.remote_mode(job) == ("realtime", {})
    store.close()


def test_submitting_then_submitted_records_the_answer(tmp_path: Path) -> None:
    store = BatchStore(tmp_path / "batches.db")
    job = store.create_job("c.csv", "out", {}, [NewItem("A", "v", "p", "", 1, "A/A_v.png"),
                                                NewItem("B", "v", "p", "", 2, "B/B_v.png")])
    store.set_remote_mode(job, "async", {"s3_uri": "s3://run/x", "timeout_s": 60})
    assert store.remote_mode(job) == ("async", {"s3_uri": "s3://run/x", "timeout_s": 60})
    store.mark_submitting(job, 0, "id-0", "s3://run/x/requests/a.json")
    assert store.job(job).counts["submitting"] == 1
    store.mark_submitted(job, 0, "id-0", "s3://run/out/id-0.out",
                         "s3://run/out/failures/id-0-error.out")
    item = store.item(job, 0)
    assert (item.status, item.attempts, item.output_location) == \
        ("submitted", 1, "s3://run/out/id-0.out")
    assert item.submitted_at is not None
    info = store.job(job)
    assert info.total == 2 and info.counts["submitted"] == 1 and info.counts["pending"] == 1
    store.close()
