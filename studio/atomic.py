"""Writing a file so that readers see the old content or the new, never half of either."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

TEMP_PREFIX = ".tmp-"

_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process's umask. Linux shows it in /proc; elsewhere it can only be read by setting
    it, which is done under a lock and undone at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def public_mode() -> int:
    """The mode a plain open() would give a new file: 0o666 less the umask."""
    return 0o666 & ~current_umask()


def follow_umask(fd: int) -> None:
    """mkstemp makes files 0600 whatever the umask; give the file the mode open() would, so
    exported images can be shared as the user's other files are. No-op where there is no
    fchmod (Windows: modes do not apply)."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, public_mode())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename over the target. The file
    gets the mode open() would give it (the umask is followed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp:
            follow_umask(temp.fileno())
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
