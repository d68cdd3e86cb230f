"""The library's SQLite schema and its migration, kept apart from the queries that use it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from studio.library.errors import LibraryError

SCHEMA_VERSION = 3


# Hand-written DDL rather than sqlite-utils' create(): it needs AUTOINCREMENT (a deleted
# image's id is never handed to a new image the UI might confuse it with), NOT NULLs and a
# foreign key without cascade, so rows are only ever removed together with their files.
_SCHEMA_V1 = (
    """CREATE TABLE IF NOT EXISTS runs (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        backend TEXT NOT NULL,
        model TEXT NOT NULL,
        device TEXT NOT NULL,
        mode TEXT NOT NULL,
        prompt TEXT NOT NULL,
        negative_prompt TEXT NOT NULL DEFAULT '',
        request_json TEXT NOT NULL,
        seed INTEGER NOT NULL,
        steps INTEGER NOT NULL,
        guidance REAL NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        count INTEGER NOT NULL,
        load_s REAL NOT NULL DEFAULT 0,
        queue_s REAL NOT NULL DEFAULT 0,
        network_s REAL NOT NULL DEFAULT 0,
        inference_s REAL NOT NULL DEFAULT 0,
        decode_s REAL NOT NULL DEFAULT 0,
        total_s REAL NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        cost_basis TEXT NOT NULL DEFAULT '',
        cost_estimated INTEGER NOT NULL DEFAULT 1,
        estimate_usd REAL,
        estimate_basis TEXT,
        init_image_path TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS images (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs(id),
        path TEXT NOT NULL UNIQUE,
        seed INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        favourite INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS idx_runs_created_at ON runs(created_at)",
    "CREATE INDEX IF NOT EXISTS idx_runs_backend ON runs(backend)",
    "CREATE INDEX IF NOT EXISTS idx_runs_model ON runs(model)",
    "CREATE INDEX IF NOT EXISTS idx_images_created_at ON images(created_at)",
    # Favourites newest first straight from the index, without sorting every favourite.
    "DROP INDEX IF EXISTS idx_images_favourite",
    "CREATE INDEX IF NOT EXISTS idx_images_favourite_created_at "
    "ON images(favourite, created_at)",
    "CREATE INDEX IF NOT EXISTS idx_images_run_id ON images(run_id)",
)


# Version 2: the model's family and licence with every run (what it may be used for), and
# what its speed profile applied.
_MODEL_FACTS_COLUMNS = {
    "family": "TEXT NOT NULL DEFAULT ''",
    "licence": "TEXT NOT NULL DEFAULT ''",
    "commercial_use": "INTEGER",  # 1 allowed, 0 not, NULL unknown
    # What the speed profile applied and what fell back: a JSON list of notes.
    "accelerations": "TEXT NOT NULL DEFAULT '[]'",
}

# Version 3: whether live mode made the run (regenerating as the designer types). Its images
# are kept and counted like any other, and the gallery hides them unless asked.
_LIVE_COLUMNS = {"live": "INTEGER NOT NULL DEFAULT 0"}


def migrate(conn: sqlite3.Connection, db_path: Path) -> None:
    """Bring the database at `conn` to SCHEMA_VERSION, or refuse one from a newer Studio."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise LibraryError(
            f"The library at {db_path} was written by a newer Studio "
            f"(schema {version}, this one knows {SCHEMA_VERSION}). Update Studio."
        )
    # Every statement is idempotent and user_version is set last, so a crash midway
    # is repaired by the next open instead of needing one big DDL transaction.
    for statement in _SCHEMA_V1:
        conn.execute(statement)
    present = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    for column, kind in {**_MODEL_FACTS_COLUMNS, **_LIVE_COLUMNS}.items():
        if column not in present:
            conn.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
    # Live runs are few next to the rest: counting and listing them starts from this index.
    conn.execute("CREATE INDEX IF NOT EXISTS idx_runs_live ON runs(id) WHERE live = 1")
    db = sqlite_utils.Database(conn)
    if not db["runs_fts"].exists():
        # FTS5 maps to runs by rowid, which VACUUM may renumber on a table with a TEXT
        # key: after a VACUUM, run db["runs"].rebuild_fts().
        db["runs"].enable_fts(
            ["prompt", "negative_prompt"], create_triggers=True, tokenize="porter"
        )
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.commit()
