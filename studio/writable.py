"""Whether an output folder can be written, asked before any paid work is done."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from backends.errors import InvalidRequest
from studio.atomic import TEMP_PREFIX


def check_writable_folder(folder: Path, flag: str = "--out") -> None:
    """Refuse, with what to do, a folder that cannot be created or written to.

    The test is a real one: a temp file is created (and removed) in the folder, or in the
    nearest folder above it that exists, since permissions, read-only disks and ACLs all
    decide, and only the system knows. Nothing is left behind, not even the folder."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InvalidRequest(f"{flag} {str(folder)!r} cannot be created: {str(existing)!r} "
                             "is a file, not a folder. Choose another folder.")
    try:
        handle, probe = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}probe-", dir=existing)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise InvalidRequest(f"{flag} {str(folder)!r} cannot be written: Studio may not create "
                             f"files in {str(existing)!r} ({why}). Choose a folder you can "
                             "write to; nothing was generated.") from exc
    os.close(handle)
    Path(probe).unlink(missing_ok=True)
