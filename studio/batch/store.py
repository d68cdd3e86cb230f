"""Batch jobs and their items in SQLite, so resuming is a query.

The jobs live in their own database, STUDIO_HOME/batches.db, not in the library's: the
library folder can be moved or switched in Settings and carries only images, while a batch
names its catalog and its export folder, which belong to this machine. Each item row is the
single source of truth for its image:

    pending -> running -> generated (in the library, ids kept) -> done (exported, sha256 kept)
                       -> failed (with the reason)

Each change is one committed transaction, so after a kill -9 every item is in exactly one of
those states. WAL with synchronous=NORMAL survives a killed process; a power cut may lose the
last few commits, which only moves items back a state: a `running` item whose image reached
the library is adopted from it on resume, a `generated` one is exported again to the same
name.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backends.errors import InvalidRequest
from studio import paths
from studio.sqlite_tx import immediate_transaction

STATUSES = ("pending", "running", "generated", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    state TEXT NOT NULL,
    catalog TEXT NOT NULL,
    out TEXT NOT NULL,
    spec_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    sku TEXT NOT NULL,
    variant TEXT NOT NULL,
    prompt TEXT NOT NULL,
    negative_prompt TEXT NOT NULL,
    seed INTEGER NOT NULL,
    file TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    started_at TEXT,
    finished_at TEXT,
    library_image_id INTEGER,
    model TEXT NOT NULL DEFAULT '',
    backend TEXT NOT NULL DEFAULT '',
    latency_s REAL NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT '',
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, idx)
);
CREATE INDEX IF NOT EXISTS items_status ON items (job_id, status);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Item:
    job_id: int
    idx: int
    sku: str
    variant: str
    prompt: str
    negative_prompt: str
    seed: int
    file: str
    status: str
    attempts: int
    error: str
    started_at: str | None
    finished_at: str | None
    library_image_id: int | None
    model: str
    backend: str
    latency_s: float
    cost_usd: float
    sha256: str
    width: int
    height: int
    checks: str = ""  # the exported file against its preset's rules: JSON, "" without one


@dataclass(frozen=True)
class JobInfo:
    id: int
    created_at: str
    updated_at: str
    state: str  # running, finished, failed, stopped, cancelled
    catalog: str
    out: str
    spec: dict[str, Any]
    counts: dict[str, int]
    spent_usd: float

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class NewItem:
    sku: str
    variant: str
    prompt: str
    negative_prompt: str
    seed: int
    file: str


class BatchStore:
    def __init__(self, db_path: Path | None = None) -> None:
        self.db_path = Path(db_path) if db_path else paths.studio_home() / "batches.db"
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.db_path, check_same_thread=False, timeout=30.0,
                                     isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(_SCHEMA)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(items)")}
        if "checks" not in columns:  # added with the marketplace checks
            self._conn.execute("ALTER TABLE items ADD COLUMN checks TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._conn, self._lock)

    # --- jobs ---------------------------------------------------------------------------

    def create_job(self, catalog: str, out: str, spec: dict[str, Any],
                   items: Iterable[NewItem]) -> int:
        """The job and all its items in one transaction: a job exists whole or not at all."""
        with self._transaction() as conn:
            now = _now()
            cursor = conn.execute(
                "INSERT INTO jobs (created_at, updated_at, state, catalog, out, spec_json) "
                "VALUES (?, ?, 'running', ?, ?, ?)",
                [now, now, catalog, out, json.dumps(spec, ensure_ascii=False)])
            job_id = int(cursor.lastrowid or 0)
            conn.executemany(
                "INSERT INTO items (job_id, idx, sku, variant, prompt, negative_prompt, seed, "
                "file) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(job_id, i, it.sku, it.variant, it.prompt, it.negative_prompt, it.seed,
                  it.file) for i, it in enumerate(items)])
        return job_id

    def job(self, job_id: int) -> JobInfo:
        with self._lock:
            row = self._conn.execute("SELECT * FROM jobs WHERE id = ?", [job_id]).fetchone()
            if row is None:
                raise InvalidRequest(f"There is no batch job {job_id}; `studio batch --list` "
                                     "shows them.")
            counts = dict.fromkeys(STATUSES, 0)
            for status, n in self._conn.execute(
                    "SELECT status, count(*) FROM items WHERE job_id = ? GROUP BY status",
                    [job_id]):
                counts[status] = n
            spent = self._conn.execute(
                "SELECT coalesce(sum(cost_usd), 0) FROM items WHERE job_id = ? AND status IN "
                "('generated', 'done')", [job_id]).fetchone()[0]
        return JobInfo(row["id"], row["created_at"], row["updated_at"], row["state"],
                       row["catalog"], row["out"], json.loads(row["spec_json"]), counts,
                       float(spent))

    def jobs(self) -> list[JobInfo]:
        with self._lock:
            ids = [r[0] for r in self._conn.execute("SELECT id FROM jobs ORDER BY id DESC")]
        return [self.job(i) for i in ids]

    def set_state(self, job_id: int, state: str) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE jobs SET state = ?, updated_at = ? WHERE id = ?",
                         [state, _now(), job_id])

    def update_spec(self, job_id: int, spec: dict[str, Any]) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE jobs SET spec_json = ?, updated_at = ? WHERE id = ?",
                         [json.dumps(spec, ensure_ascii=False), _now(), job_id])

    # --- items --------------------------------------------------------------------------

    def items(self, job_id: int, *statuses: str) -> list[Item]:
        sql = "SELECT * FROM items WHERE job_id = ?"
        params: list[Any] = [job_id]
        if statuses:
            sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
            params += statuses
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY idx", params).fetchall()
        return [Item(**dict(row)) for row in rows]

    def item(self, job_id: int, idx: int) -> Item:
        with self._lock:
            row = self._conn.execute("SELECT * FROM items WHERE job_id = ? AND idx = ?",
                                     [job_id, idx]).fetchone()
        return Item(**dict(row))

    def _update(self, job_id: int, idxs: Iterable[int], sql: str, params: list[Any]) -> None:
        with self._transaction() as conn:
            for idx in idxs:
                conn.execute(f"UPDATE items SET {sql} WHERE job_id = ? AND idx = ?",
                             [*params, job_id, idx])
            conn.execute("UPDATE jobs SET updated_at = ? WHERE id = ?", [_now(), job_id])

    def mark_running(self, job_id: int, idxs: Iterable[int]) -> None:
        self._update(job_id, idxs, "status = 'running', attempts = attempts + 1, "
                                   "started_at = ?, error = ''", [_now()])

    def mark_pending(self, job_id: int, idxs: Iterable[int], error: str = "") -> None:
        self._update(job_id, idxs, "status = 'pending', error = ?", [error])

    def mark_failed(self, job_id: int, idxs: Iterable[int], error: str) -> None:
        self._update(job_id, idxs, "status = 'failed', error = ?, finished_at = ?",
                     [error, _now()])

    def mark_generated(self, job_id: int, generated: list[tuple[int, dict[str, Any]]]) -> None:
        """Items whose images are in the library: `generated` is [(idx, fields)]."""
        with self._transaction() as conn:
            for idx, fields in generated:
                conn.execute(
                    "UPDATE items SET status = 'generated', library_image_id = ?, model = ?, "
                    "backend = ?, latency_s = ?, cost_usd = ? WHERE job_id = ? AND idx = ?",
                    [fields["library_image_id"], fields["model"], fields["backend"],
                     fields["latency_s"], fields["cost_usd"], job_id, idx])

    def mark_done(self, job_id: int, idx: int, sha256: str, width: int, height: int,
                  checks: str = "") -> None:
        self._update(job_id, [idx], "status = 'done', sha256 = ?, width = ?, height = ?, "
                                    "checks = ?, finished_at = ?",
                     [sha256, width, height, checks, _now()])

    def reset_failed(self, job_id: int) -> int:
        """A resume gives failed items another go (the reason is kept until they run)."""
        with self._transaction() as conn:
            cursor = conn.execute("UPDATE items SET status = 'pending', attempts = 0 "
                                  "WHERE job_id = ? AND status = 'failed'", [job_id])
            return cursor.rowcount
