"""Batch jobs and their items in SQLite, so resuming is a query.

The jobs live in their own database, STUDIO_HOME/batches.db, not in the library's: the
library folder can be moved or switched in Settings and carries only images, while a batch
names its catalog and its export folder, which belong to this machine. Each item row is the
single source of truth for its image:

    pending -> running -> generated (in the library, ids kept) -> done (exported, sha256 kept)
                       -> failed (with the reason)
    async:  pending -> submitting -> submitted (inference id, output location) -> generated …

Each change is one committed transaction, so after a kill -9 every item is in exactly one of
those states. WAL with synchronous=NORMAL survives a killed process; a power cut may lose the
last few commits, which only moves items back a state: a `running` item whose image reached
the library is adopted from it on resume, a `generated` one is exported again to the same
name.

Each item counts its `attempts` and its `billed_attempts`: the one that delivered its image
and every lost one that may have been billed (a read timeout, a reset after sending), whose
estimate is kept in `lost_usd` and counts in the job's spending.

A job is claimed by the process that runs it (`claim`, `heartbeat`, `release`: the owner's
pid, host and a heartbeat in the jobs row), so a second window or CLI refuses to run it at
the same time. A dead owner (its pid gone on this host) or a heartbeat older than
`STALE_AFTER_S` leaves the job free, so a kill -9 never locks a job for good.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backends.errors import InvalidRequest
from backends.redaction import redact
from studio import paths
from studio.sqlite_tx import immediate_transaction

# `submitting` and `submitted` are async batches' (async_runner.py): an item being sent with
# InvokeEndpointAsync, and one the endpoint accepted, whose output is awaited in S3.
STATUSES = ("pending", "running", "submitting", "submitted", "generated", "done", "failed")
HEARTBEAT_S = 5.0  # how often a running job says it is still alive
STALE_AFTER_S = 60.0  # a claim not renewed for this long is free

# Columns added since the first schema: (table, column, definition).
_ADDED_COLUMNS = (
    ("items", "checks", "TEXT NOT NULL DEFAULT ''"),  # the marketplace checks
    ("items", "billed_attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("items", "lost_usd", "REAL NOT NULL DEFAULT 0"),
    ("jobs", "owner_pid", "INTEGER"),
    ("jobs", "owner_host", "TEXT NOT NULL DEFAULT ''"),
    ("jobs", "owner_token", "TEXT NOT NULL DEFAULT ''"),
    ("jobs", "heartbeat_at", "REAL NOT NULL DEFAULT 0"),
    # Async batches: what InvokeEndpointAsync answered, recorded before anything else.
    ("items", "inference_id", "TEXT NOT NULL DEFAULT ''"),
    ("items", "input_location", "TEXT NOT NULL DEFAULT ''"),
    ("items", "output_location", "TEXT NOT NULL DEFAULT ''"),
    ("items", "failure_location", "TEXT NOT NULL DEFAULT ''"),
    ("items", "submitted_at", "REAL"),  # epoch seconds, for the per-item timeout
)


class JobBusy(InvalidRequest):
    """Another window or process is running this job."""

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
CREATE TABLE IF NOT EXISTS remote_modes (
    job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    mode TEXT NOT NULL,
    settings_json TEXT NOT NULL
);
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
    billed_attempts: int = 0  # attempts that were or may have been paid for
    lost_usd: float = 0.0  # the estimates of those that delivered no image
    inference_id: str = ""  # async: the id sent (`submitting`) or answered (`submitted`)
    input_location: str = ""  # async: the request body in S3
    output_location: str = ""  # async: where the endpoint writes the result
    failure_location: str = ""  # async: where it writes a failure
    submitted_at: float | None = None  # async: when the endpoint accepted it (epoch seconds)


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
    # A product photo on the preset's white, nothing generated (presets.product_on_white).
    # Not stored: the runner tells packshots by the same rule.
    packshot: bool = False


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
        self._migrate()

    def _migrate(self) -> None:
        with self._transaction() as conn:
            for table, column, definition in _ADDED_COLUMNS:
                columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                if column not in columns:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

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
                "SELECT coalesce(sum(CASE WHEN status IN ('generated', 'done') THEN cost_usd "
                "ELSE 0 END + lost_usd), 0) FROM items WHERE job_id = ?", [job_id]).fetchone()[0]
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
        self._update(job_id, idxs, "status = 'pending', error = ?", [redact(error)])

    def mark_failed(self, job_id: int, idxs: Iterable[int], error: str) -> None:
        self._update(job_id, idxs, "status = 'failed', error = ?, finished_at = ?",
                     [redact(error), _now()])

    def attempt_totals(self, job_id: int) -> tuple[int, int, int, float]:
        """(attempts, billed attempts, billed attempts without an image, their estimated
        cost) over the job's items."""
        with self._lock:
            row = self._conn.execute(
                "SELECT coalesce(sum(attempts), 0), coalesce(sum(billed_attempts), 0), "
                "coalesce(sum(CASE WHEN status IN ('generated', 'done') THEN 1 ELSE 0 END), 0),"
                " coalesce(sum(lost_usd), 0) FROM items WHERE job_id = ?", [job_id]).fetchone()
        attempts, billed, delivered, lost_usd = row
        return int(attempts), int(billed), max(0, int(billed) - int(delivered)), float(lost_usd)

    def add_lost_attempt(self, job_id: int, idxs: list[int], usd: float) -> None:
        """An attempt for these items that may have been billed but delivered nothing: each
        counts one more billed attempt and its share of the estimate."""
        share = usd / max(1, len(idxs))
        self._update(job_id, idxs, "billed_attempts = billed_attempts + 1, "
                                   "lost_usd = lost_usd + ?", [share])

    def mark_generated(self, job_id: int, generated: list[tuple[int, dict[str, Any]]]) -> None:
        """Items whose images are in the library: `generated` is [(idx, fields)]."""
        with self._transaction() as conn:
            for idx, fields in generated:
                # The call that delivered the image is a billed attempt.
                conn.execute(
                    "UPDATE items SET status = 'generated', library_image_id = ?, model = ?, "
                    "backend = ?, latency_s = ?, cost_usd = ?, "
                    "billed_attempts = billed_attempts + 1 WHERE job_id = ? AND idx = ?",
                    [fields["library_image_id"], fields["model"], fields["backend"],
                     fields["latency_s"], fields["cost_usd"], job_id, idx])

    def mark_done(self, job_id: int, idx: int, sha256: str, width: int, height: int,
                  checks: str = "") -> None:
        self._update(job_id, [idx], "status = 'done', sha256 = ?, width = ?, height = ?, "
                                    "checks = ?, finished_at = ?",
                     [sha256, width, height, checks, _now()])

    # --- async batches (async_runner.py) -------------------------------------------------

    def set_remote_mode(self, job_id: int, mode: str, settings: dict[str, Any]) -> None:
        """How a job runs when not item by item on a real-time endpoint: "async" and its S3
        prefix, timeout…; kept apart from the spec, which a resume rewrites."""
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO remote_modes (job_id, mode, settings_json) "
                         "VALUES (?, ?, ?)", [job_id, mode, json.dumps(settings)])

    def remote_mode(self, job_id: int) -> tuple[str, dict[str, Any]]:
        """("realtime", {}) for a job run item by item."""
        with self._lock:
            row = self._conn.execute("SELECT mode, settings_json FROM remote_modes WHERE "
                                     "job_id = ?", [job_id]).fetchone()
        return ("realtime", {}) if row is None else (row[0], json.loads(row[1]))

    def mark_submitting(self, job_id: int, idx: int, inference_id: str,
                        input_location: str) -> None:
        """Committed just before InvokeEndpointAsync: a crash before `mark_submitted` leaves
        the item here, and a resume knows it may have been accepted (and billed)."""
        self._update(job_id, [idx], "status = 'submitting', attempts = attempts + 1, "
                                    "started_at = ?, error = '', inference_id = ?, "
                                    "input_location = ?", [_now(), inference_id,
                                                           input_location])

    def mark_submitted(self, job_id: int, idx: int, inference_id: str, output_location: str,
                       failure_location: str) -> None:
        """What the endpoint answered: from here a resume polls, never submits again."""
        self._update(job_id, [idx], "status = 'submitted', inference_id = ?, "
                                    "output_location = ?, failure_location = ?, "
                                    "submitted_at = ?",
                     [inference_id, output_location, failure_location, time.time()])

    def reset_failed(self, job_id: int) -> int:
        """A resume gives failed items another go (the reason is kept until they run)."""
        with self._transaction() as conn:
            cursor = conn.execute("UPDATE items SET status = 'pending', attempts = 0 "
                                  "WHERE job_id = ? AND status = 'failed'", [job_id])
            return cursor.rowcount

    # --- who runs a job -----------------------------------------------------------------

    def claim(self, job_id: int, token: str) -> None:
        """Make this process (`token` tells runners in it apart) the job's runner; raises
        JobBusy when a live one already is."""
        with self._transaction() as conn:
            row = conn.execute("SELECT owner_pid, owner_host, owner_token, heartbeat_at "
                               "FROM jobs WHERE id = ?", [job_id]).fetchone()
            if row is None:
                raise InvalidRequest(f"There is no batch job {job_id}; `studio batch --list` "
                                     "shows them.")
            if row["owner_token"] and row["owner_token"] != token and _alive(row):
                raise JobBusy(_busy_message(job_id, row["owner_pid"], row["owner_host"]))
            conn.execute("UPDATE jobs SET owner_pid = ?, owner_host = ?, owner_token = ?, "
                         "heartbeat_at = ? WHERE id = ?",
                         [os.getpid(), _host(), token, time.time(), job_id])

    def heartbeat(self, job_id: int, token: str) -> bool:
        """Renew the claim; False when it is no longer ours."""
        with self._transaction() as conn:
            cursor = conn.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND "
                                  "owner_token = ?", [time.time(), job_id, token])
            return cursor.rowcount == 1

    def release(self, job_id: int, token: str) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE jobs SET owner_pid = NULL, owner_host = '', owner_token = '', "
                         "heartbeat_at = 0 WHERE id = ? AND owner_token = ?", [job_id, token])

    def check_free(self, job_id: int) -> None:
        """Raise JobBusy when a live runner holds the job (before changing it from outside)."""
        holder = self.holder(job_id)
        if holder is not None:
            raise JobBusy(_busy_message(job_id, *holder))

    def holder(self, job_id: int) -> tuple[int, str] | None:
        """(pid, host) of the live runner of the job, or None."""
        with self._lock:
            row = self._conn.execute("SELECT owner_pid, owner_host, owner_token, heartbeat_at "
                                     "FROM jobs WHERE id = ?", [job_id]).fetchone()
        if row is None or not row["owner_token"] or not _alive(row):
            return None
        return int(row["owner_pid"] or 0), str(row["owner_host"])


def _host() -> str:
    return socket.gethostname()


def _alive(row: sqlite3.Row) -> bool:
    """A claim holds while its heartbeat is recent and, on this host, its process exists."""
    if time.time() - float(row["heartbeat_at"] or 0) > STALE_AFTER_S:
        return False
    if row["owner_host"] != _host() or not row["owner_pid"]:
        return True
    return _pid_exists(int(row["owner_pid"]))


def _pid_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would end the process on Windows: the heartbeat decides
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def _busy_message(job_id: int, pid: int, host: str) -> str:
    where = f"pid {pid}" + (f" on {host}" if host and host != _host() else "")
    return (f"Batch job {job_id} is running in another Studio window or process ({where}). "
            "Cancel it there first (what it made is kept), or wait for it to finish.")
