"""What a designer reads when the database or the disk refuses: one LibraryError, in words."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.library import Library, LibraryError, LibraryEvent
from studio.library.errors import describe
from tests.library.results import make_result


@pytest.fixture
def impatient(tmp_path: Path) -> Iterator[Library]:
    """A library that gives up on a lock after 50 ms instead of 10 s."""
    library = Library.open(tmp_path / "library", busy_timeout_s=0.05)
    yield library
    library.close()


@pytest.fixture
def other_program(impatient: Library) -> Iterator[sqlite3.Connection]:
    """Another program holding the database's write lock."""
    conn = sqlite3.connect(impatient.db_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    yield conn
    conn.execute("ROLLBACK")
    conn.close()


def test_a_locked_database_says_so(impatient: Library) -> None:
    record = impatient.record(make_result(count=1))[0]
    events: list[LibraryEvent] = []
    impatient.events.subscribe(events.append)
    conn = sqlite3.connect(impatient.db_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        for change in (lambda: impatient.set_favourite(record.id, True),
                       lambda: impatient.delete(record.id)):
            with pytest.raises(LibraryError) as raised:
                change()
            message = str(raised.value)
            assert "is locked by another program" in message and "try again" in message
            assert str(impatient.db_path) in message
            assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert events == []
    assert impatient.get(record.id) is not None and record.path.is_file()
    assert impatient.set_favourite(record.id, True)  # works again once the lock is gone


def test_recording_into_a_locked_database_leaves_no_files(
    impatient: Library, other_program: sqlite3.Connection
) -> None:
    with pytest.raises(LibraryError, match="Could not save the images in the library: the "
                                           "history database .* is locked"):
        impatient.record(make_result(count=2))
    assert list(impatient.root.rglob("*.png")) == []


def test_a_file_that_is_not_a_database_is_called_damaged(tmp_path: Path) -> None:
    root = tmp_path / "library"
    root.mkdir()
    (root / "studio.db").write_bytes(b"these are not the pages you are looking for" * 200)
    with pytest.raises(LibraryError, match="Could not open the library: the history "
                                           "database .* is damaged") as raised:
        Library.open(root)
    assert "move it aside" in str(raised.value)
    assert isinstance(raised.value.__cause__, sqlite3.DatabaseError)


def test_damaged_pages_are_called_damaged(tmp_path: Path) -> None:
    root = tmp_path / "library"
    with Library.open(root) as library:
        for n in range(20):
            library.record(make_result(f"prompt {n} " * 40, count=2, seed=n))
    db = root / "studio.db"
    page = 4096
    data = bytearray(db.read_bytes())
    assert len(data) > 4 * page
    data[2 * page:] = bytes(range(256)) * ((len(data) - 2 * page) // 256) + bytes(
        (len(data) - 2 * page) % 256)
    db.write_bytes(bytes(data))
    with pytest.raises(LibraryError, match="is damaged"):
        with Library.open(root) as library:
            library.search("prompt", limit=-1)
            library.totals()


def test_a_full_disk_says_so(lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(LibraryError, match=r"the disk holding the library \(.*\) is full; "
                                           "free some space") as raised:
        lib.record(make_result(count=1))
    assert isinstance(raised.value.__cause__, OSError)


@pytest.mark.parametrize(("error", "words"), [
    (sqlite3.OperationalError("database is locked"), "is locked by another program"),
    (sqlite3.DatabaseError("database disk image is malformed"), "is damaged"),
    (sqlite3.OperationalError("database or disk is full"), "is full"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "is read-only"),
    (sqlite3.OperationalError("unable to open database file"), "cannot be opened"),
    (sqlite3.OperationalError("no such table: runs"), "said: no such table: runs"),
    (PermissionError(errno.EACCES, "Permission denied"), "cannot be written"),
    (FileNotFoundError(errno.ENOENT, "No such file", "x.png"), "(x.png): No such file"),
])
def test_every_failure_has_words(error: Exception, words: str, tmp_path: Path) -> None:
    assert words in describe(error, tmp_path / "studio.db")  # type: ignore[arg-type]
