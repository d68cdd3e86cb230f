"""The library announces added, changed and removed images, after they are committed."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from studio.library import (
    Library,
    LibraryError,
    LibraryEvent,
    LibraryEvents,
    RecordChanged,
    RecordsAdded,
    RecordsRemoved,
)
from tests.library.results import make_result


def _listen(library: Library) -> list[LibraryEvent]:
    events: list[LibraryEvent] = []
    library.events.subscribe(events.append)
    return events


def _committed_ids(db_path: Path) -> set[int]:
    # Another connection sees only what is committed.
    with sqlite3.connect(db_path) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM images")}


def test_added_fires_after_the_commit_with_the_records(lib: Library) -> None:
    seen: list[tuple[RecordsAdded, set[int]]] = []

    def listener(event: LibraryEvent) -> None:
        assert isinstance(event, RecordsAdded)
        seen.append((event, _committed_ids(lib.db_path)))

    lib.events.subscribe(listener)
    records = lib.record(make_result(count=2))
    [(event, committed)] = seen
    assert list(event.records) == records
    assert {record.id for record in records} <= committed
    assert all(record.path.is_file() for record in event.records)


def test_changed_fires_with_the_stored_record(lib: Library) -> None:
    record = lib.record(make_result(count=1))[0]
    events = _listen(lib)
    assert lib.set_favourite(record.id, True)
    assert events == [RecordChanged(lib.get(record.id))]  # type: ignore[arg-type]
    assert events[0].record.favourite  # type: ignore[union-attr]
    assert not lib.set_favourite(999_999, True)
    assert len(events) == 1  # nothing changed, nothing said


def test_removed_fires_once_row_and_file_are_gone(lib: Library) -> None:
    first, second = lib.record(make_result(count=2))
    seen: list[tuple[LibraryEvent, bool, set[int]]] = []
    lib.events.subscribe(lambda event: seen.append(
        (event, first.path.exists(), _committed_ids(lib.db_path))))
    assert lib.delete(first.id)
    assert seen == [(RecordsRemoved((first.id,)), False, {second.id})]
    assert not lib.delete(first.id)
    assert len(seen) == 1


def test_a_failed_write_announces_nothing(lib: Library) -> None:
    events = _listen(lib)
    with sqlite3.connect(lib.db_path) as conn:
        conn.execute("CREATE TRIGGER fail BEFORE INSERT ON images "
                     "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
    with pytest.raises(LibraryError):
        lib.record(make_result(count=2))
    assert events == []


def test_a_listener_that_raises_breaks_nothing(lib: Library,
                                              caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: LibraryEvent) -> None:
        raise RuntimeError("listener bug")

    lib.events.subscribe(broken)
    events = _listen(lib)
    with caplog.at_level(logging.ERROR, logger="studio.library.events"):
        records = lib.record(make_result(count=1))
    assert len(records) == 1 and lib.count() == 1
    assert events == [RecordsAdded(tuple(records))]  # the next listener still heard it
    assert "listener bug" in caplog.text


def test_unsubscribe_stops_the_events(lib: Library) -> None:
    events: list[LibraryEvent] = []
    unsubscribe = lib.events.subscribe(events.append)
    lib.record(make_result(count=1))
    unsubscribe()
    unsubscribe()  # twice is harmless
    lib.record(make_result(count=1))
    assert len(events) == 1 and lib.events.listener_count == 0


def test_listeners_run_on_the_thread_that_made_the_change(lib: Library) -> None:
    threads: list[str] = []
    lib.events.subscribe(lambda event: threads.append(threading.current_thread().name))
    worker = threading.Thread(target=lambda: lib.record(make_result(count=1)), name="worker")
    worker.start()
    worker.join()
    assert threads == ["worker"]


def test_a_second_library_on_the_same_folder_is_heard(lib: Library, tmp_path: Path) -> None:
    events = _listen(lib)
    with Library(lib.root, lib.db_path) as second:  # the CLI in the app's process
        assert second.events is lib.events
        records = second.record(make_result(count=1))
    assert events == [RecordsAdded(tuple(records))]
    with Library.open(tmp_path / "elsewhere") as other:
        assert other.events is not lib.events
        other.record(make_result(count=1))
    assert len(events) == 1


def test_events_of_one_database_are_shared_while_in_use(tmp_path: Path) -> None:
    first = LibraryEvents.for_database(tmp_path / "a.db")
    assert LibraryEvents.for_database(tmp_path / "." / "a.db") is first
    assert LibraryEvents.for_database(tmp_path / "b.db") is not first
