"""Atomic writes: whole files only, and the mode the user's umask asks for."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from studio.atomic import TEMP_PREFIX, current_umask, public_mode, write_bytes_atomic

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def umask() -> Iterator[Callable[[int], int]]:
    """Set the process umask for one test, then put the old one back."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o027, 0o640),
                                                (0o002, 0o664), (0o077, 0o600)])
def test_a_written_file_follows_the_umask(tmp_path: Path, umask, mask: int,
                                          expected: int) -> None:
    umask(mask)
    assert current_umask() == mask and public_mode() == expected
    target = tmp_path / "deep" / "image.png"
    write_bytes_atomic(target, b"pixels")
    assert target.read_bytes() == b"pixels"
    assert mode(target) == expected


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "settings.json"
    write_bytes_atomic(target, b"old")

    def refuse(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))
