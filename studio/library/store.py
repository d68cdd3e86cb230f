"""The image history: every generated PNG on disk, plus a SQLite row per run and per image.

`Library` is the facade. The files (`files.py`) and the rows (`queries.py` reads them, this
module writes them) are kept in step, and every change is announced on `Library.events`
once it has committed. Errors come out as `LibraryError`, worded for people.

The write order keeps files and rows in step. The PNGs are written atomically first; only
after that are the rows inserted, all in one transaction. So a crash can leave a PNG without
a row (see `Library.orphan_files`), but never a row without its file and never a
half-written PNG.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from backends.types import Cost, GenerationResult
from studio import paths
from studio.library.errors import LibraryError, library_errors
from studio.library.events import LibraryEvents, RecordChanged, RecordsAdded, RecordsRemoved
from studio.library.files import STALE_TMP_AGE_S, ImageFiles
from studio.library.orphans import OrphanSweep, RebuiltRun, move_aside, rebuild_run, sort_orphans
from studio.library.queries import Filters, LibraryQueries
from studio.library.records import ImageRecord, Totals, iso, run_row
from studio.library.schema import SCHEMA_VERSION, migrate
from studio.sqlite_tx import immediate_transaction

__all__ = ["SCHEMA_VERSION", "ImageRecord", "Library", "LibraryError", "OrphanSweep", "Totals"]

log = logging.getLogger(__name__)

DATABASE_NAME = "studio.db"
BUSY_TIMEOUT_S = 10.0


class Library:
    """Files under `root` plus rows in `db_path`. Safe to share between threads."""

    def __init__(self, root: Path, db_path: Path, *,
                 busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.root = Path(root)
        self.db_path = Path(db_path)
        self._lock = threading.RLock()
        with library_errors(self.db_path, "open the library"):
            self.root.mkdir(parents=True, exist_ok=True)
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.db_path, check_same_thread=False,
                                         timeout=busy_timeout_s)
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA foreign_keys=ON")
                with self._lock:
                    migrate(self._conn, self.db_path)
            except BaseException:
                self._conn.close()
                raise
        self.events = LibraryEvents.for_database(self.db_path)
        self._queries = LibraryQueries(self._conn, self._lock, self.root)
        self._files = ImageFiles(self.root, self._lock, self._queries.input_in_use)
        # What a kill mid-save left: the window and the CLI show `last_sweep.summary()`.
        self.last_sweep = self.sweep_orphans()

    @classmethod
    def open_default(cls) -> Library:
        return cls.open(paths.library_dir())

    @classmethod
    def open(cls, root: Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> Library:
        """The library in `root`. The database lives beside its images, so a library folder
        moved or chosen in Settings always carries its own history with it."""
        return cls(Path(root), Path(root) / DATABASE_NAME, busy_timeout_s=busy_timeout_s)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _errors(self, doing: str) -> AbstractContextManager[None]:
        return library_errors(self.db_path, doing)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._conn, self._lock)

    @staticmethod
    def _insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
        # Plain SQL, not sqlite-utils' insert(): some of its versions commit on their own,
        # which would split the run and its images into two transactions.
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cursor = conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                              list(row.values()))
        return int(cursor.lastrowid or 0)

    # --- writing ------------------------------------------------------------------------

    def record(
        self, result: GenerationResult, *, estimate: Cost | None = None, live: bool = False
    ) -> list[ImageRecord]:
        """Save every image of `result` (PNG with metadata) and its rows; return the records
        and announce them (`RecordsAdded`).

        `estimate` is the run's cost estimate, kept to compare with the actual cost; `live`
        marks a run live mode made (kept and counted like any other). If
        anything fails, the files this call wrote are removed and the error is raised, as a
        `LibraryError` when the disk or the database refused.
        """
        if not result.images:
            return []
        with self._errors("save the images in the library"):
            run_id = self._write_run(result, estimate, live)
            records = self._queries.run_images(run_id)
        self.events.publish(RecordsAdded(tuple(records)))
        return records

    def _write_run(self, result: GenerationResult, estimate: Cost | None,
                   live: bool = False) -> str:
        run_id = str(uuid.uuid4())
        local = result.created_at.astimezone()
        folder, stamp = local.strftime("%Y-%m-%d"), local.strftime("%Y%m%d-%H%M%S")
        written: list[Path] = []
        claimed: list[str] = []
        try:
            init_rel = None
            if result.request.init_image is not None:
                init_rel = self._files.save_input(result.request.init_image, written, claimed)
            image_rows = []
            for index, generated in enumerate(result.images):
                rel = f"{folder}/{stamp}_{run_id[:8]}_{index}_{generated.seed}.png"
                sha256 = self._files.write_image(rel, result, generated, estimate,
                                                 written, claimed)
                image_rows.append({
                    "run_id": run_id, "path": rel, "seed": generated.seed,
                    "width": generated.image.width, "height": generated.image.height,
                    "sha256": sha256, "favourite": 0, "created_at": iso(result.created_at),
                })
            with self._transaction() as conn:
                self._insert(conn, "runs",
                             run_row(run_id, result, estimate, init_rel, live=live))
                for image_row in image_rows:
                    self._insert(conn, "images", image_row)
        except BaseException:
            self._files.undo(written, claimed)
            raise
        finally:
            self._files.release(claimed)
        return run_id

    def set_favourite(self, image_id: int, favourite: bool) -> bool:
        """Mark or unmark an image and announce it (`RecordChanged`); False when there is
        no such image."""
        with self._errors("change the favourite mark"):
            with self._transaction() as conn:
                cursor = conn.execute(
                    "UPDATE images SET favourite = ? WHERE id = ?", [int(favourite), image_id]
                )
            record = self._queries.get(image_id) if cursor.rowcount > 0 else None
        if record is None:
            return False
        self.events.publish(RecordChanged(record))
        return True

    def delete(self, image_id: int) -> bool:
        """Remove an image's row, then its file; its run goes with its last image. Announced
        as `RecordsRemoved`. False when there is no such image.

        Row first: if removing the file then fails, what is left is an orphan file (logged,
        and listed by `orphan_files`), never a row pointing at nothing.
        """
        init_rel = None
        with self._errors("delete the image"), self._transaction() as conn:
            found = conn.execute(
                "SELECT path, run_id FROM images WHERE id = ?", [image_id]
            ).fetchone()
            if found is None:
                return False
            rel, run_id = found
            conn.execute("DELETE FROM images WHERE id = ?", [image_id])
            left = conn.execute("SELECT count(*) FROM images WHERE run_id = ?", [run_id])
            if left.fetchone()[0] == 0:
                init_rel = conn.execute(
                    "SELECT init_image_path FROM runs WHERE id = ?", [run_id]
                ).fetchone()[0]
                conn.execute("DELETE FROM runs WHERE id = ?", [run_id])
        try:
            (self.root / rel).unlink(missing_ok=True)
            if init_rel:
                self._files.remove_input_if_unused(init_rel)
        except (OSError, sqlite3.Error):
            # The image is gone from the history either way; saying it failed would lie.
            log.warning("image %s is deleted; its file stays as an orphan", image_id,
                        exc_info=True)
        self.events.publish(RecordsRemoved((image_id,)))
        return True

    # --- reading ------------------------------------------------------------------------

    def search(
        self, text: str | None = None, *, backend: str | None = None, model: str | None = None,
        favourites_only: bool = False, since: datetime | None = None,
        until: datetime | None = None, ids: Sequence[int] | None = None,
        after: ImageRecord | None = None, limit: int = 50, offset: int = 0,
        live: bool | None = None,
    ) -> list[ImageRecord]:
        """Images newest first. `text` matches prompt and negative prompt word by word (each
        word as a prefix); any input is safe. `since` is inclusive, `until` exclusive; naive
        datetimes are local time. `ids` keeps only those images. `live`: None both, False
        only what live mode did not make, True only what it made.

        `after` continues the list after that record (keyset paging): unlike `offset`, each
        page costs the same however deep it is, and images added meanwhile shift nothing.
        """
        filters = Filters.of(text, backend, model, favourites_only, since, until, ids, live)
        if after is not None:
            filters.after(after)
        with self._errors("search the history"):
            return self._queries.search(filters, limit, offset)

    def count(
        self, text: str | None = None, *, backend: str | None = None, model: str | None = None,
        favourites_only: bool = False, since: datetime | None = None,
        until: datetime | None = None, ids: Sequence[int] | None = None,
        live: bool | None = None,
    ) -> int:
        filters = Filters.of(text, backend, model, favourites_only, since, until, ids, live)
        with self._errors("count the images in the history"):
            return self._queries.count(filters)

    def get(self, image_id: int) -> ImageRecord | None:
        with self._errors("read the image from the history"):
            return self._queries.get(image_id)

    def input_image_path(self, record: ImageRecord) -> Path | None:
        """The image `record`'s run started from (img2img, inpaint, an edit), or None."""
        with self._errors("read the history"):
            rel = self._queries.input_of_run(record.run_id)
        return self.root / rel if rel else None

    def recent_prompts(self, limit: int = 50) -> list[str]:
        """Distinct prompts, the most recently used first, for recalling one."""
        with self._errors("read the recent prompts"):
            return self._queries.recent_prompts(limit)

    def distinct_models(self) -> list[str]:
        with self._errors("list the models in the history"):
            return self._queries.distinct_models()

    def distinct_backends(self) -> list[str]:
        with self._errors("list the backends in the history"):
            return self._queries.distinct_backends()

    def totals(self, since: datetime | None = None) -> Totals:
        """Images kept, and the seconds and dollars their runs took, from `since` on."""
        with self._errors("add up the history"):
            return self._queries.totals(since)

    def run_rows(self, since: datetime | None = None,
                 until: datetime | None = None) -> list[dict[str, Any]]:
        """One dict per run, oldest first, with its backend, model, image count, timings,
        cost and estimate: what `studio stats` and the comparison summarise."""
        with self._errors("read the runs in the history"):
            return self._queries.run_rows(since, until)

    def sweep_orphans(self) -> OrphanSweep:
        """Put right what an interrupted save left (see orphans.py): stale temp files are
        removed, Studio's PNGs without a row are re-imported from their metadata or moved to
        orphans/, other PNGs are counted. Never raises: a library that cannot be swept still
        opens, and the sweep says why it stopped."""
        temp_removed = 0
        reimported: list[str] = []
        moved: list[str] = []
        foreign: list[str] = []
        try:
            temp_removed = self._files.remove_stale_temp_files()
            on_disk = self._files.pngs()
            with self._lock:
                known = self._queries.known_paths() | self._files.pending()
            cutoff = time.time() - STALE_TMP_AGE_S
            unknown = [p for p in on_disk if p.relative_to(self.root).as_posix() not in known]
            # Only stat the few without a row; a fresh one may be another process's commit.
            rels = [p.relative_to(self.root).as_posix() for p in unknown
                    if _modified_before(p, cutoff)]
            runs, others, foreign = sort_orphans(rels)
            added: list[ImageRecord] = []
            for group in runs.values():
                rebuilt, unreadable = rebuild_run(self.root, group)
                if rebuilt is not None and self._insert_rebuilt(rebuilt):
                    reimported.extend(rebuilt.paths)
                    added.extend(self._queries.run_images(rebuilt.run["id"]))
                others.extend(unreadable)
            moved.extend(move_aside(self.root, rel) for rel in others)
        except (OSError, sqlite3.Error, LibraryError) as exc:
            log.warning("sweeping the library for orphan files stopped", exc_info=True)
            return OrphanSweep(tuple(reimported), tuple(moved), tuple(foreign), temp_removed,
                               failed=str(exc))
        if added:
            self.events.publish(RecordsAdded(tuple(added)))
        sweep = OrphanSweep(tuple(reimported), tuple(moved), tuple(foreign), temp_removed)
        if sweep.summary():
            log.info("library %s: %s", self.root, sweep.summary())
        return sweep

    def _insert_rebuilt(self, rebuilt: RebuiltRun) -> bool:
        """The rows of a re-imported run, unless another process recorded a path meanwhile."""
        with self._transaction() as conn:
            marks = ", ".join("?" for _ in rebuilt.paths)
            taken = conn.execute(f"SELECT 1 FROM images WHERE path IN ({marks}) LIMIT 1",
                                 rebuilt.paths).fetchone()
            if taken is not None:
                return False
            self._insert(conn, "runs", rebuilt.run)
            for image_row in rebuilt.images:
                self._insert(conn, "images", image_row)
        return True

    def orphan_files(self) -> list[Path]:
        """PNGs under the root that no row refers to, as a crash between write and commit leaves.

        They are complete files (only renamed into place after fsync), carry their own
        metadata, and are safe either to delete or to re-import.
        """
        with self._errors("look for images without a history row"):
            # The folder is listed before the rows are read: a file written after the
            # listing is not seen, and one listed mid-record() is still pending when the
            # rows are read.
            on_disk = self._files.pngs()
            with self._lock:
                known = self._queries.known_paths() | self._files.pending()
        return sorted(
            path for path in on_disk if path.relative_to(self.root).as_posix() not in known
        )


def _modified_before(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False
