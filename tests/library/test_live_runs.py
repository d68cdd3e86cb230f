"""Live mode's runs in the library: marked, filtered on request, counted everywhere, and an
older library (schema 2, before the mark) opens and gains the column."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from studio.costs.budget import BudgetExceeded
from studio.costs.lost_attempts import LostAttempts
from studio.costs.spending import SpendingGuard, today_totals
from studio.costs.stats import group_runs
from studio.library import Library
from studio.library.schema import SCHEMA_VERSION
from tests.library.results import T0, make_result


def _fill(lib: Library) -> None:
    lib.record(make_result("a plain red mug", count=2, usd=0.10, created_at=T0))
    lib.record(make_result("a live red mug", count=1, usd=0.03,
                           created_at=T0 + timedelta(minutes=1)), live=True)
    lib.record(make_result("a live blue mug", count=1, usd=0.05,
                           created_at=T0 + timedelta(minutes=2)), live=True)


def test_a_live_run_is_marked_and_the_rest_is_not(lib: Library) -> None:
    _fill(lib)
    by_prompt = {record.prompt: record.live for record in lib.search(limit=10)}
    assert by_prompt == {"a plain red mug": False, "a live red mug": True,
                         "a live blue mug": True}


def test_search_and_count_filter_on_live(lib: Library) -> None:
    _fill(lib)
    assert lib.count() == 4
    assert lib.count(live=False) == 2
    assert lib.count(live=True) == 2
    assert {r.prompt for r in lib.search(live=False)} == {"a plain red mug"}
    assert [r.prompt for r in lib.search(live=True)] == ["a live blue mug", "a live red mug"]
    # With the other filters: text, ids, favourites.
    assert lib.count("red", live=True) == 1 and lib.count("red", live=False) == 2
    plain = lib.search(live=False)
    assert lib.count(ids=[plain[0].id], live=False) == 1
    assert lib.count(ids=[plain[0].id], live=True) == 0
    lib.set_favourite(lib.search(live=True)[0].id, True)
    assert lib.count(favourites_only=True, live=False) == 0
    assert lib.count(favourites_only=True, live=True) == 1


def test_keyset_paging_with_live_hidden_visits_every_other_image(lib: Library) -> None:
    for minute in range(6):
        lib.record(make_result(f"shot {minute}", count=1, seed=minute,
                               created_at=T0 + timedelta(minutes=minute)),
                   live=minute % 2 == 0)
    seen, after = [], None
    while page := lib.search(live=False, after=after, limit=2):
        seen.extend(record.prompt for record in page)
        after = page[-1]
    assert seen == ["shot 5", "shot 3", "shot 1"]


def test_live_runs_count_in_totals_spending_and_stats(lib: Library, tmp_path: Path) -> None:
    _fill(lib)
    totals = lib.totals()
    assert totals.images == 4
    assert round(totals.usd, 6) == 0.18
    today = today_totals(lib, now=T0 + timedelta(hours=1))
    assert today.images == 4 and round(today.usd, 6) == 0.18
    runs = lib.run_rows()
    assert len(runs) == 3
    (summary,) = group_runs(runs, None)
    assert summary.images == 4 and round(summary.usd, 6) == 0.18


def test_live_runs_count_against_the_daily_cap(lib: Library) -> None:
    now = datetime.now(UTC)
    lib.record(make_result("typed live", count=1, usd=0.30, created_at=now), live=True)
    guard = SpendingGuard(lambda: lib, lambda: 0.50, LostAttempts(lib.root / "lost.db"))
    assert round(guard.spent_today(), 6) == 0.30
    with pytest.raises(BudgetExceeded):
        guard.check(0.25)
    guard.check(0.15)


def _schema_2_library(root: Path) -> Path:
    """A library as Studio wrote it before live runs were marked: the same tables, no
    `live` column, user_version 2."""
    db = root / "studio.db"
    with Library.open(root) as old:
        old.record(make_result("made before live mode", count=1))
    with sqlite3.connect(db) as conn:
        conn.execute("DROP INDEX IF EXISTS idx_runs_live")
        conn.execute("ALTER TABLE runs DROP COLUMN live")
        conn.execute("PRAGMA user_version = 2")
    with sqlite3.connect(db) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        assert "live" not in columns
    return db


def test_a_schema_2_library_opens_and_gains_the_live_column(tmp_path: Path) -> None:
    db = _schema_2_library(tmp_path / "lib")
    with Library.open(tmp_path / "lib") as library:
        (old,) = library.search()
        assert old.prompt == "made before live mode" and old.live is False
        assert library.count(live=False) == 1 and library.count(live=True) == 0
        library.record(make_result("typed live", count=1), live=True)
        assert library.count(live=True) == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        assert "live" in columns
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(runs)")}
        assert "idx_runs_live" in indexes
