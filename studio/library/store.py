"""The image history: every generated PNG on disk, plus a SQLite row per run and per image.

The write order keeps files and rows in step. Each PNG goes to a `.tmp-` file, which is
fsynced and then renamed into place. Only after that are the rows inserted, all in one
transaction. So a crash can leave a PNG without a row (see `Library.orphan_files`), but never
a row without its file and never a half-written PNG.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from backends.types import Cost, GenerationResult, Timings
from studio import paths
from studio.atomic import TEMP_PREFIX, write_bytes_atomic
from studio.library.png_metadata import a1111_parameters, encode_png, studio_json
from studio.library.schema import SCHEMA_VERSION, LibraryError, migrate
from studio.sqlite_tx import immediate_transaction

__all__ = ["SCHEMA_VERSION", "ImageRecord", "Library", "LibraryError", "Totals", "fts_query"]

INPUTS_DIR = "inputs"
# Only temp files this old are swept at open, so a second Library on the same folder (the
# CLI next to the app) cannot delete a file another process is about to rename.
STALE_TMP_AGE_S = 60.0

_TIMING_COLUMNS = ("load_s", "queue_s", "network_s", "inference_s", "decode_s", "total_s")

_SELECT_IMAGES = """
    SELECT i.id, i.run_id, i.path, i.seed, i.width, i.height, i.sha256, i.favourite,
           i.created_at, r.prompt, r.negative_prompt, r.model, r.backend, r.device, r.mode,
           r.load_s, r.queue_s, r.network_s, r.inference_s, r.decode_s, r.total_s, r.count,
           r.cost_usd, r.cost_basis, r.cost_estimated, r.estimate_usd, r.estimate_basis,
           r.request_json
"""


DATABASE_NAME = "studio.db"


@dataclass
class _Filters:
    """WHERE clauses, each with its parameters, split by the table they test."""

    run: list[tuple[str, list[Any]]] = field(default_factory=list)
    image: list[tuple[str, list[Any]]] = field(default_factory=list)

    def where(self, *, runs_only: bool = False) -> tuple[str, list[Any]]:
        parts = self.run if runs_only else self.run + self.image
        if not parts:
            return "", []
        sql = "WHERE " + " AND ".join(clause for clause, _ in parts)
        return sql, [param for _, params in parts for param in params]


@dataclass(frozen=True)
class ImageRecord:
    """One image of the history, with what its run says about how it was made."""

    id: int
    run_id: str
    path: Path
    seed: int
    width: int
    height: int
    sha256: str
    favourite: bool
    created_at: datetime
    prompt: str
    negative_prompt: str
    model: str
    backend: str
    device: str
    mode: str
    timings: Timings
    cost: Cost
    estimate: Cost | None
    request: dict[str, Any] = field(repr=False, hash=False)

    @property
    def latency_s(self) -> float:
        return self.timings.total_s


@dataclass(frozen=True)
class Totals:
    images: int
    seconds: float
    usd: float


def _iso(moment: datetime) -> str:
    # One fixed format in UTC, so comparing the text compares the moments.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def fts_query(text: str) -> str:
    """User text as a safe FTS5 query: every word is quoted, matches as a prefix, all must match.

    Words without a letter or digit are dropped (they cannot match anything), so operators and
    stray quotes are searched as text rather than parsed. Empty means "no text filter".
    """
    words = [word for word in text.split() if any(c.isalnum() for c in word)]
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable. Windows cannot open a folder for fsync; NTFS journals it.
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Library:
    """Files under `root` plus rows in `db_path`. Safe to share between threads."""

    def __init__(self, root: Path, db_path: Path) -> None:
        self.root = Path(root)
        self.db_path = Path(db_path)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        # Relative paths a record() in flight is about to commit: not orphans, not deletable.
        self._pending: Counter[str] = Counter()
        # Run filters -> join, see _join_for. Only speed depends on it, so it may go stale.
        self._joins: dict[tuple[str, tuple[Any, ...], int], str] = {}
        self._conn = sqlite3.connect(self.db_path, check_same_thread=False, timeout=10.0)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except BaseException:
            self._conn.close()
            raise
        self._remove_stale_temp_files()

    @classmethod
    def open_default(cls) -> Library:
        return cls.open(paths.library_dir())

    @classmethod
    def open(cls, root: Path) -> Library:
        """The library in `root`. The database lives beside its images, so a library folder
        moved or chosen in Settings always carries its own history with it."""
        return cls(Path(root), Path(root) / DATABASE_NAME)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema -------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._lock:
            migrate(self._conn, self.db_path)

    def _remove_stale_temp_files(self) -> None:
        cutoff = time.time() - STALE_TMP_AGE_S
        for tmp in self.root.rglob(f"{TEMP_PREFIX}*"):
            try:
                if tmp.is_file() and tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
            except FileNotFoundError:
                pass

    # --- SQL helpers --------------------------------------------------------------------

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._conn, self._lock)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self._conn.cursor()
            cursor.row_factory = sqlite3.Row
            return cursor.execute(sql, params).fetchall()

    @staticmethod
    def _insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
        # Plain SQL, not sqlite-utils' insert(): some of its versions commit on their own,
        # which would split the run and its images into two transactions.
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        cursor = conn.execute(sql, list(row.values()))
        return int(cursor.lastrowid or 0)

    # --- writing ------------------------------------------------------------------------

    def record(
        self, result: GenerationResult, *, estimate: Cost | None = None
    ) -> list[ImageRecord]:
        """Save every image of `result` (PNG with metadata) and its rows; return the records.

        `estimate` is the run's cost estimate, kept to compare with the actual cost. If
        anything fails, the files this call wrote are removed and the error is re-raised.
        """
        if not result.images:
            return []
        request = result.request
        run_id = str(uuid.uuid4())
        created_iso = _iso(result.created_at)
        local = result.created_at.astimezone()
        folder, stamp = local.strftime("%Y-%m-%d"), local.strftime("%Y%m%d-%H%M%S")
        written: list[Path] = []
        claimed: list[str] = []
        try:
            init_rel = None
            if request.init_image is not None:
                init_rel = self._save_input(request.init_image, written, claimed)
            image_rows = []
            for index, generated in enumerate(result.images):
                rel = f"{folder}/{stamp}_{run_id[:8]}_{index}_{generated.seed}.png"
                self._claim(rel, claimed)
                data = encode_png(
                    generated.image,
                    parameters=a1111_parameters(
                        request, generated.seed,
                        model=result.model, backend=result.backend, device=result.device,
                    ),
                    studio_json=studio_json(result, generated, estimate=estimate),
                )
                self._write_atomic(self.root / rel, data, written)
                image_rows.append({
                    "run_id": run_id, "path": rel, "seed": generated.seed,
                    "width": generated.image.width, "height": generated.image.height,
                    "sha256": hashlib.sha256(data).hexdigest(), "favourite": 0,
                    "created_at": created_iso,
                })
            run_seed = request.seed if request.seed is not None else result.images[0].seed
            run_row = {
                "id": run_id, "created_at": created_iso, "backend": result.backend,
                "model": result.model, "device": result.device, "mode": request.mode,
                "prompt": request.prompt, "negative_prompt": request.negative_prompt,
                "request_json": json.dumps(
                    request.replace(seed=run_seed).to_dict(), ensure_ascii=False
                ),
                "seed": run_seed, "steps": request.steps, "guidance": float(request.guidance),
                "width": request.width, "height": request.height, "count": len(result.images),
                **result.timings.to_dict(),
                "cost_usd": result.cost.usd, "cost_basis": result.cost.basis,
                "cost_estimated": int(result.cost.estimated),
                "estimate_usd": estimate.usd if estimate else None,
                "estimate_basis": estimate.basis if estimate else None,
                "init_image_path": init_rel,
            }
            with self._transaction() as conn:
                self._insert(conn, "runs", run_row)
                for image_row in image_rows:
                    self._insert(conn, "images", image_row)
        except BaseException:
            with self._lock:
                self._release(claimed)
                claimed.clear()
                for path in reversed(written):
                    # A shared input another run now relies on stays.
                    if not self._in_use(path.relative_to(self.root).as_posix()):
                        path.unlink(missing_ok=True)
            raise
        finally:
            self._release(claimed)
        return self._select("WHERE i.run_id = ?", [run_id], order="i.id")

    def _claim(self, rel: str, claimed: list[str]) -> None:
        with self._lock:
            self._pending[rel] += 1
        claimed.append(rel)

    def _release(self, claimed: list[str]) -> None:
        with self._lock:
            self._pending.subtract(claimed)
            self._pending += Counter()  # drops the zero counts

    def _in_use(self, rel: str) -> bool:
        with self._lock:
            return self._pending[rel] > 0 or bool(self._rows(
                "SELECT 1 FROM runs WHERE init_image_path = ? LIMIT 1", [rel]
            ))

    def _save_input(self, image: Image.Image, written: list[Path], claimed: list[str]) -> str:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = buffer.getvalue()
        rel = f"{INPUTS_DIR}/{hashlib.sha256(data).hexdigest()}.png"
        # Claimed before the exists() check, so another run's cleanup or delete() cannot
        # remove a shared input this run is about to reference.
        with self._lock:
            self._claim(rel, claimed)
            exists = (self.root / rel).is_file()
        if not exists:
            self._write_atomic(self.root / rel, data, written)
        return rel

    @staticmethod
    def _write_atomic(path: Path, data: bytes, written: list[Path]) -> None:
        write_bytes_atomic(path, data)
        written.append(path)
        # The rename must reach the disk before the row commits, or a power cut could leave
        # a committed row whose file never arrived.
        _fsync_dir(path.parent)

    # --- reading ------------------------------------------------------------------------

    def _filters(
        self, text: str | None, backend: str | None, model: str | None,
        favourites_only: bool, since: datetime | None, until: datetime | None,
        ids: Sequence[int] | None = None,
    ) -> _Filters:
        filters = _Filters()
        query = fts_query(text) if text else ""
        if query:
            filters.run.append(
                ("r.rowid IN (SELECT rowid FROM runs_fts WHERE runs_fts MATCH ?)", [query])
            )
        if backend is not None:
            filters.run.append(("r.backend = ?", [backend]))
        if model is not None:
            filters.run.append(("r.model = ?", [model]))
        if favourites_only:
            filters.image.append(("i.favourite = 1", []))
        if since is not None:
            filters.image.append(("i.created_at >= ?", [_iso(since)]))
        if until is not None:
            filters.image.append(("i.created_at < ?", [_iso(until)]))
        if ids is not None:
            filters.image.append((f"i.id IN ({', '.join('?' for _ in ids)})", list(ids)))
        return filters

    def _join_for(self, filters: _Filters, limit: int) -> str:
        """How to read one page newest first when prompt, backend or model filter it.

        SQLite alone picks badly in both directions (measured on 100k images: >100 ms per
        page either way). A plain JOIN starts from what the run filters match and sorts
        it: cheap when they match few runs. CROSS JOIN walks the images newest first and
        stops after `limit` matches: cheap when they match many. Measured: sorting costs
        ~15 µs per matching run, walking ~3 µs per image visited (about limit × all runs /
        matching runs); take the smaller.
        """
        if not filters.run or limit < 0:
            return "JOIN"
        where, params = filters.where(runs_only=True)
        key = (where, tuple(params), limit)
        if key not in self._joins:
            # Counting costs up to ~20 ms at 100k images: once per filter, not per page.
            matching = self._rows(f"SELECT count(*) FROM runs r {where}", params)[0][0]
            total = self._rows("SELECT count(*) FROM runs")[0][0]
            if len(self._joins) >= 64:
                self._joins.clear()
            self._joins[key] = "JOIN" if 5 * matching * matching < limit * total else "CROSS JOIN"
        return self._joins[key]

    def _select(self, where: str, params: Sequence[Any], *, order: str = "",
                join: str = "JOIN", limit: int = -1, offset: int = 0) -> list[ImageRecord]:
        order = order or "i.created_at DESC, i.id DESC"
        sql = (f"{_SELECT_IMAGES} FROM images i {join} runs r ON r.id = i.run_id "
               f"{where} ORDER BY {order} LIMIT ? OFFSET ?")
        return [self._record(row) for row in self._rows(sql, [*params, limit, offset])]

    def _record(self, row: sqlite3.Row) -> ImageRecord:
        share = max(1, row["count"])
        estimate = None
        if row["estimate_usd"] is not None:
            estimate = Cost(row["estimate_usd"] / share, row["estimate_basis"] or "", True)
        return ImageRecord(
            id=row["id"], run_id=row["run_id"], path=self.root / row["path"], seed=row["seed"],
            width=row["width"], height=row["height"], sha256=row["sha256"],
            favourite=bool(row["favourite"]),
            created_at=datetime.fromisoformat(row["created_at"]),
            prompt=row["prompt"], negative_prompt=row["negative_prompt"], model=row["model"],
            backend=row["backend"], device=row["device"], mode=row["mode"],
            timings=Timings(**{name: row[name] for name in _TIMING_COLUMNS}),
            cost=Cost(row["cost_usd"] / share, row["cost_basis"], bool(row["cost_estimated"])),
            estimate=estimate,
            request=json.loads(row["request_json"]),
        )

    def search(
        self, text: str | None = None, *, backend: str | None = None, model: str | None = None,
        favourites_only: bool = False, since: datetime | None = None,
        until: datetime | None = None, ids: Sequence[int] | None = None,
        after: ImageRecord | None = None, limit: int = 50, offset: int = 0,
    ) -> list[ImageRecord]:
        """Images newest first. `text` matches prompt and negative prompt word by word (each
        word as a prefix); any input is safe. `since` is inclusive, `until` exclusive; naive
        datetimes are local time. `ids` keeps only those images.

        `after` continues the list after that record (keyset paging): unlike `offset`, each
        page costs the same however deep it is, and images added meanwhile shift nothing.
        """
        filters = self._filters(text, backend, model, favourites_only, since, until, ids)
        if after is not None:
            key = _iso(after.created_at)
            # The first term alone is an index range; the second breaks ties on id.
            filters.image.append(("i.created_at <= ? AND (i.created_at < ? OR i.id < ?)",
                                  [key, key, after.id]))
        where, params = filters.where()
        join = self._join_for(filters, limit)
        return self._select(where, params, join=join, limit=limit, offset=offset)

    def count(
        self, text: str | None = None, *, backend: str | None = None, model: str | None = None,
        favourites_only: bool = False, since: datetime | None = None,
        until: datetime | None = None, ids: Sequence[int] | None = None,
    ) -> int:
        filters = self._filters(text, backend, model, favourites_only, since, until, ids)
        where, params = filters.where()
        # Every image has its run (foreign key), so without run filters the join adds nothing
        # but cost: counting 100k images takes ~1 ms alone and ~30 ms joined.
        source = "images i JOIN runs r ON r.id = i.run_id" if filters.run else "images i"
        return int(self._rows(f"SELECT count(*) FROM {source} {where}", params)[0][0])

    def recent_prompts(self, limit: int = 50) -> list[str]:
        """Distinct prompts, the most recently used first, for recalling one."""
        prompts: dict[str, None] = {}
        if limit <= 0:
            return []
        with self._lock:
            cursor = self._conn.execute(
                "SELECT prompt FROM runs WHERE prompt != '' ORDER BY created_at DESC"
            )
            try:
                # Walks the index newest first and stops early, instead of grouping every run.
                for (prompt,) in cursor:
                    prompts.setdefault(prompt, None)
                    if len(prompts) >= limit:
                        break
            finally:
                cursor.close()
        return list(prompts)

    def get(self, image_id: int) -> ImageRecord | None:
        found = self._select("WHERE i.id = ?", [image_id])
        return found[0] if found else None

    def distinct_models(self) -> list[str]:
        rows = self._rows("SELECT DISTINCT model FROM runs WHERE model != '' ORDER BY model")
        return [row[0] for row in rows]

    def distinct_backends(self) -> list[str]:
        rows = self._rows("SELECT DISTINCT backend FROM runs ORDER BY backend")
        return [row[0] for row in rows]

    def totals(self, since: datetime | None = None) -> Totals:
        """Images kept, and the seconds and dollars their runs took, from `since` on."""
        bound = _iso(since) if since is not None else ""
        images = self._rows("SELECT count(*) FROM images WHERE created_at >= ?", [bound])[0][0]
        seconds, usd = self._rows(
            "SELECT coalesce(sum(total_s), 0), coalesce(sum(cost_usd), 0) FROM runs "
            "WHERE created_at >= ?", [bound],
        )[0]
        return Totals(images=int(images), seconds=float(seconds), usd=float(usd))

    def run_rows(self, since: datetime | None = None,
                 until: datetime | None = None) -> list[dict[str, Any]]:
        """One dict per run, oldest first, with its backend, model, image count, timings,
        cost and estimate: what `studio stats` and the comparison summarise."""
        bound = _iso(since) if since is not None else ""
        end = _iso(until) if until is not None else "9999"
        rows = self._rows(
            "SELECT id, created_at, backend, model, device, count, width, height, steps, "
            f"{', '.join(_TIMING_COLUMNS)}, cost_usd, cost_basis, cost_estimated, "
            "estimate_usd FROM runs WHERE created_at >= ? AND created_at < ? "
            "ORDER BY created_at", [bound, end])
        return [dict(row) for row in rows]

    # --- changing -----------------------------------------------------------------------

    def set_favourite(self, image_id: int, favourite: bool) -> bool:
        """Mark or unmark an image; False when there is no such image."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE images SET favourite = ? WHERE id = ?", [int(favourite), image_id]
            )
            return cursor.rowcount > 0

    def delete(self, image_id: int) -> bool:
        """Remove an image's row, then its file; its run goes with its last image.

        Row first: if removing the file then fails, what is left is an orphan file, never a
        row pointing at nothing. False when there is no such image.
        """
        init_rel = None
        with self._transaction() as conn:
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
        (self.root / rel).unlink(missing_ok=True)
        if init_rel:
            with self._lock:
                if not self._in_use(init_rel):
                    (self.root / init_rel).unlink(missing_ok=True)
        return True

    def orphan_files(self) -> list[Path]:
        """PNGs under the root that no row refers to, as a crash between write and commit leaves.

        They are complete files (only renamed into place after fsync), carry their own
        metadata, and are safe either to delete or to re-import.
        """
        # The folder is listed before the rows are read: a file written after the listing
        # is not seen, and one listed mid-record() is still pending when the rows are read.
        on_disk = [
            path for path in self.root.rglob("*.png")
            if path.is_file() and not path.name.startswith(TEMP_PREFIX)
        ]
        with self._lock:
            known = {row[0] for row in self._rows("SELECT path FROM images")}
            known.update(row[0] for row in self._rows(
                "SELECT init_image_path FROM runs WHERE init_image_path IS NOT NULL"
            ))
            known.update(self._pending)
        return sorted(
            path for path in on_disk if path.relative_to(self.root).as_posix() not in known
        )
