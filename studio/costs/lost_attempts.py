"""Attempts that may have been paid for but delivered no image, counted in today's spending.

A read timeout or a connection reset after the request was sent leaves no image, yet the
backend may have made (and billed) it. The library only records images, so these attempts
are kept here, in STUDIO_HOME/spending.db, at their estimated cost: today's spending and the
daily cap count them (`costs/spending.py`). One row per lost attempt, written in its own
transaction; the file is only made when the first one happens.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from backends.redaction import redact
from studio import paths

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lost_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    backend TEXT NOT NULL,
    usd REAL NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lost_attempts_at ON lost_attempts (at);
"""


class LostAttempts:
    """The ledger of possibly-billed attempts without an image. Thread-safe."""

    def __init__(self, db_path: Path | None = None) -> None:
        self._db_path = db_path
        self._lock = threading.Lock()

    @property
    def db_path(self) -> Path:
        # Resolved when used, so a STUDIO_HOME set after construction (tests) is honoured.
        return self._db_path or paths.studio_home() / "spending.db"

    def record(self, usd: float, backend: str, reason: str,
               when: datetime | None = None) -> None:
        at = (when or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
        with self._lock, closing(self._connect(create=True)) as conn, conn:
            conn.execute("INSERT INTO lost_attempts (at, backend, usd, reason) "
                         "VALUES (?, ?, ?, ?)", [at, backend, float(usd), redact(reason)])

    def usd_since(self, since: datetime) -> float:
        return self._sum("coalesce(sum(usd), 0)", since)

    def count_since(self, since: datetime) -> int:
        return int(self._sum("count(*)", since))

    def _sum(self, what: str, since: datetime) -> float:
        if not self.db_path.is_file():
            return 0.0
        at = since.astimezone(UTC).isoformat(timespec="microseconds")
        with self._lock, closing(self._connect(create=False)) as conn:
            row = conn.execute(f"SELECT {what} FROM lost_attempts WHERE at >= ?", [at]).fetchone()
        return float(row[0] or 0)

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        if create:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.db_path, timeout=30.0)
        conn.executescript(_SCHEMA)
        return conn
