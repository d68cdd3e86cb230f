"""The one error the library raises, worded for the designer who has to act on it.

SQLite and the file system fail in a handful of ways a person can do something about: another
program holds the database, the file is damaged, the disk is full, the folder is read-only.
`library_errors` turns those into `LibraryError` with a sentence that says which, keeping the
original exception as `__cause__` for the log.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backends.redaction import redact


class LibraryError(Exception):
    """The library cannot be opened or used as it is on disk. Its message is redacted (no
    AWS secrets), as it is shown and may be stored."""

    def __init__(self, message: str = "") -> None:
        super().__init__(redact(message))


_LOCKED = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_NO_WRITE = {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM}
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}


def describe(exc: sqlite3.Error | OSError, db_path: Path) -> str:
    """Why the library failed, in words; the detail the exception gave is kept at the end."""
    folder = db_path.parent
    if isinstance(exc, OSError):
        if exc.errno in _DISK_FULL:
            return (f"the disk holding the library ({folder}) is full; "
                    "free some space and try again")
        if exc.errno in _NO_PERMISSION:
            return (f"the library folder {folder} cannot be written "
                    f"({exc.strerror or exc}); check its permissions")
        where = f" ({exc.filename})" if exc.filename else ""
        return (f"a file in the library could not be written or removed{where}: "
                f"{exc.strerror or exc}")
    # Extended result codes carry the primary code in their low byte.
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc)
    if code in _LOCKED or "locked" in text:
        return (f"the history database {db_path} is locked by another program "
                "(another Studio, a backup or sync tool); try again in a moment")
    if code in _DAMAGED or "malformed" in text or "not a database" in text:
        return (f"the history database {db_path} is damaged ({text}); restore it from a "
                "backup, or move it aside and Studio will start an empty history")
    if code == sqlite3.SQLITE_FULL or "disk is full" in text:
        return (f"the disk holding the library ({folder}) is full; "
                "free some space and try again")
    if code in _NO_WRITE or "readonly" in text:
        return (f"the history database {db_path} is read-only; "
                "check the permissions of the library folder")
    if code == sqlite3.SQLITE_CANTOPEN or "unable to open" in text:
        return (f"the history database {db_path} cannot be opened; "
                "check that the library folder exists and can be written")
    if code == sqlite3.SQLITE_IOERR:
        return (f"reading or writing the history database {db_path} failed ({text}); "
                "check the disk it is on")
    return f"the history database {db_path} said: {text}"


def library_error(exc: sqlite3.Error | OSError, db_path: Path, doing: str) -> LibraryError:
    """`LibraryError("Could not <doing>: <why>")`, chained to `exc`."""
    error = LibraryError(f"Could not {doing}: {describe(exc, db_path)}.")
    error.__cause__ = exc
    return error


@contextmanager
def library_errors(db_path: Path, doing: str) -> Iterator[None]:
    """Raise SQLite and file-system errors inside as one readable `LibraryError`."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise library_error(exc, db_path, doing) from exc
