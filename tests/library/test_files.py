"""The library's files: temp files swept, orphans/ left out, modes that follow the umask."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from studio.library.files import ORPHANS_DIR, ImageFiles


def files(root: Path) -> ImageFiles:
    return ImageFiles(root, threading.RLock(), lambda rel: False)


def test_stale_temp_files_are_removed_and_counted(tmp_path: Path) -> None:
    stale, fresh = tmp_path / "d" / ".tmp-old", tmp_path / ".tmp-new"
    stale.parent.mkdir()
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    os.utime(stale, (time.time() - 3600,) * 2)
    assert files(tmp_path).remove_stale_temp_files() == 1
    assert not stale.exists() and fresh.exists()


def test_pngs_leave_out_temp_files_and_the_orphans_folder(tmp_path: Path) -> None:
    for rel in ("a.png", "d/b.png", ".tmp-c.png", f"{ORPHANS_DIR}/d/e.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"png")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in files(tmp_path).pngs()) == [
        "a.png", "d/b.png"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_library_pngs_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        files(tmp_path).write("2024-05-01/x.png", b"png", [])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "2024-05-01" / "x.png").stat().st_mode) == 0o644
