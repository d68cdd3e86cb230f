"""The library's read side: searching, counting and summing the history in SQL.

`LibraryQueries` shares the `Library`'s connection and lock; it never writes. Errors are left
as SQLite raised them: the `Library` facade words them for people.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from studio.library.records import (
    SELECT_IMAGES,
    TIMING_COLUMNS,
    ImageRecord,
    Totals,
    image_record,
    iso,
)


def fts_query(text: str) -> str:
    """User text as a safe FTS5 query: every word is quoted, matches as a prefix, all must match.

    Words without a letter or digit are dropped (they cannot match anything), so operators and
    stray quotes are searched as text rather than parsed. Empty means "no text filter".
    """
    words = [word for word in text.split() if any(c.isalnum() for c in word)]
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


@dataclass
class Filters:
    """WHERE clauses, each with its parameters, split by the table they test."""

    run: list[tuple[str, list[Any]]] = field(default_factory=list)
    image: list[tuple[str, list[Any]]] = field(default_factory=list)
    live: bool | None = None  # None: live mode's runs and the rest alike

    @classmethod
    def of(cls, text: str | None = None, backend: str | None = None, model: str | None = None,
           favourites_only: bool = False, since: datetime | None = None,
           until: datetime | None = None, ids: Sequence[int] | None = None,
           live: bool | None = None) -> Filters:
        filters = cls(live=live)
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
            filters.image.append(("i.created_at >= ?", [iso(since)]))
        if until is not None:
            filters.image.append(("i.created_at < ?", [iso(until)]))
        if ids is not None:
            filters.image.append((f"i.id IN ({', '.join('?' for _ in ids)})", list(ids)))
        if live is not None:
            # A literal, not a parameter: only then can SQLite use the partial index.
            filters.run.append((f"r.live = {int(live)}", []))
        return filters

    def without_live(self) -> Filters:
        """The same filters, live mode's runs and the rest alike."""
        live_clause = [(f"r.live = {int(self.live)}", [])] if self.live is not None else []
        run = [part for part in self.run if part not in live_clause]
        return Filters(run=run, image=list(self.image))

    def after(self, record: ImageRecord) -> None:
        """Keep only what comes after `record`, newest first (keyset paging)."""
        key = iso(record.created_at)
        # The first term alone is an index range; the second breaks ties on id.
        self.image.append(("i.created_at <= ? AND (i.created_at < ? OR i.id < ?)",
                           [key, key, record.id]))

    def where(self, *, runs_only: bool = False) -> tuple[str, list[Any]]:
        parts = self.run if runs_only else self.run + self.image
        if not parts:
            return "", []
        sql = "WHERE " + " AND ".join(clause for clause, _ in parts)
        return sql, [param for _, params in parts for param in params]


class LibraryQueries:
    """Every SELECT of the library, over its connection `conn` guarded by `lock`."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock, root: Path) -> None:
        self._conn = conn
        self._lock = lock
        self._root = root
        # Run filters -> join, see _join_for. Only speed depends on it, so it may go stale.
        self._joins: dict[tuple[str, tuple[Any, ...], int], str] = {}

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self._conn.cursor()
            cursor.row_factory = sqlite3.Row
            return cursor.execute(sql, params).fetchall()

    def select(self, where: str, params: Sequence[Any], *, order: str = "",
               join: str = "JOIN", limit: int = -1, offset: int = 0) -> list[ImageRecord]:
        order = order or "i.created_at DESC, i.id DESC"
        sql = (f"{SELECT_IMAGES} FROM images i {join} runs r ON r.id = i.run_id "
               f"{where} ORDER BY {order} LIMIT ? OFFSET ?")
        return [image_record(row, self._root)
                for row in self.rows(sql, [*params, limit, offset])]

    def search(self, filters: Filters, limit: int, offset: int) -> list[ImageRecord]:
        where, params = filters.where()
        join = self._join_for(filters, limit)
        return self.select(where, params, join=join, limit=limit, offset=offset)

    def _join_for(self, filters: Filters, limit: int) -> str:
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
            matching = self.rows(f"SELECT count(*) FROM runs r {where}", params)[0][0]
            total = self.rows("SELECT count(*) FROM runs")[0][0]
            if len(self._joins) >= 64:
                self._joins.clear()
            self._joins[key] = "JOIN" if 5 * matching * matching < limit * total else "CROSS JOIN"
        return self._joins[key]

    def count(self, filters: Filters) -> int:
        if filters.live is False:
            # The gallery's default. Joining every image to its run to test the flag costs
            # ~30 ms at 100k images; the live ones are few (from their partial index).
            everything = filters.without_live()
            return self.count(everything) - self.count(Filters(
                run=[*everything.run, ("r.live = 1", [])], image=everything.image, live=True))
        where, params = filters.where()
        # Every image has its run (foreign key), so without run filters the join adds nothing
        # but cost: counting 100k images takes ~1 ms alone and ~30 ms joined.
        source = "images i JOIN runs r ON r.id = i.run_id" if filters.run else "images i"
        return int(self.rows(f"SELECT count(*) FROM {source} {where}", params)[0][0])

    def get(self, image_id: int) -> ImageRecord | None:
        found = self.select("WHERE i.id = ?", [image_id])
        return found[0] if found else None

    def run_images(self, run_id: str) -> list[ImageRecord]:
        return self.select("WHERE i.run_id = ?", [run_id], order="i.id")

    def recent_prompts(self, limit: int) -> list[str]:
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

    def distinct_models(self) -> list[str]:
        rows = self.rows("SELECT DISTINCT model FROM runs WHERE model != '' ORDER BY model")
        return [row[0] for row in rows]

    def distinct_backends(self) -> list[str]:
        rows = self.rows("SELECT DISTINCT backend FROM runs ORDER BY backend")
        return [row[0] for row in rows]

    def totals(self, since: datetime | None) -> Totals:
        bound = iso(since) if since is not None else ""
        images = self.rows("SELECT count(*) FROM images WHERE created_at >= ?", [bound])[0][0]
        seconds, usd = self.rows(
            "SELECT coalesce(sum(total_s), 0), coalesce(sum(cost_usd), 0) FROM runs "
            "WHERE created_at >= ?", [bound],
        )[0]
        return Totals(images=int(images), seconds=float(seconds), usd=float(usd))

    def run_rows(self, since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
        bound = iso(since) if since is not None else ""
        end = iso(until) if until is not None else "9999"
        rows = self.rows(
            "SELECT id, created_at, backend, model, device, count, width, height, steps, "
            f"{', '.join(TIMING_COLUMNS)}, cost_usd, cost_basis, cost_estimated, "
            "estimate_usd FROM runs WHERE created_at >= ? AND created_at < ? "
            "ORDER BY created_at", [bound, end])
        return [dict(row) for row in rows]

    def input_of_run(self, run_id: str) -> str | None:
        """The relative path of the image a run started from (img2img, inpaint, edit)."""
        found = self.rows("SELECT init_image_path FROM runs WHERE id = ?", [run_id])
        return found[0][0] if found else None

    def input_in_use(self, rel: str) -> bool:
        """Whether a run still starts from the init image at `rel`."""
        return bool(self.rows("SELECT 1 FROM runs WHERE init_image_path = ? LIMIT 1", [rel]))

    def known_paths(self) -> set[str]:
        """Every file a row refers to: the images and the init images of their runs."""
        with self._lock:
            known = {row[0] for row in self.rows("SELECT path FROM images")}
            known.update(row[0] for row in self.rows(
                "SELECT init_image_path FROM runs WHERE init_image_path IS NOT NULL"
            ))
        return known
