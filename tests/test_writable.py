"""Output folders are checked for writing before any work is paid for."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backends.errors import InvalidRequest
from studio.writable import check_writable_folder


def test_a_new_folder_under_a_writable_one_passes_and_is_not_created(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    check_writable_folder(folder)
    assert not (tmp_path / "a").exists()
    assert list(tmp_path.iterdir()) == []  # the probe file is gone too


def test_a_folder_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InvalidRequest, match="'notes.txt'|is a file, not a folder"):
        check_writable_folder(tmp_path / "notes.txt" / "out")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root may write to a read-only folder")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(InvalidRequest, match="cannot be written.*nothing was generated"):
            check_writable_folder(locked / "out", "--out")
    finally:
        locked.chmod(0o700)


def test_a_folder_in_proc_is_refused() -> None:
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc here")
    with pytest.raises(InvalidRequest, match="cannot be written"):
        check_writable_folder(Path("/proc/self/studio-out"))
