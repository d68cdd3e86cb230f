"""Where a batch's files go: checked before the job starts, written with the user's umask."""

from __future__ import annotations

import csv
import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from backends.errors import InvalidRequest
from studio.batch.export import Exporter, check_new_output


def test_a_new_folder_or_zip_passes(tmp_path: Path) -> None:
    check_new_output(tmp_path / "new" / "export")
    check_new_output(tmp_path / "new" / "export.zip")
    assert list(tmp_path.iterdir()) == []  # checking writes nothing


@pytest.mark.parametrize("name", ["export", "export.zip"])
def test_an_out_under_a_file_is_refused_before_the_job(tmp_path: Path, name: str) -> None:
    (tmp_path / "catalog.csv").write_text("sku\n1\n")
    with pytest.raises(InvalidRequest, match="is a file, not a folder"):
        check_new_output(tmp_path / "catalog.csv" / name)


def test_a_folder_with_files_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / "old.png").write_bytes(b"x")
    with pytest.raises(InvalidRequest, match="not an empty folder"):
        check_new_output(tmp_path)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_exported_images_manifests_and_zips_follow_the_umask(tmp_path: Path,
                                                             studio_home: Path) -> None:
    old = os.umask(0o027)
    try:
        folder = Exporter(1, tmp_path / "out")
        folder.write("a.png", b"png")
        folder.finish([], {"id": 1})
        archive = Exporter(2, tmp_path / "out.zip")
        archive.write("b.png", b"png")
        archive.finish([], {"id": 2})
    finally:
        os.umask(old)
    for path in (tmp_path / "out" / "a.png", tmp_path / "out" / "manifest.csv",
                 tmp_path / "out.zip"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    with zipfile.ZipFile(tmp_path / "out.zip") as opened:
        assert "manifest.json" in opened.namelist()


def test_a_zip_holds_the_made_files_and_lists_the_failed_ones(tmp_path: Path,
                                                              studio_home: Path) -> None:
    from studio.batch.manifest import FailureRow, ManifestRow

    archive = Exporter(3, tmp_path / "out.zip")
    sha = archive.write("A1/A1_s1.png", b"png")
    made = ManifestRow("A1", "s1", "a tote", "", 5, "m", "local", 1.0, 0.01, "A1/A1_s1.png",
                       sha, 8, 8)
    unmade = ManifestRow("B2", "s1", "a cup", "", 6, "m", "local", 0.0, 0.0, "", "", 0, 0)
    failure = FailureRow("B2", "s1", "a cup", 6, "B2/B2_s1.png", "Refused.", 1, 0, 0.0)
    archive.finish([made, unmade], {"id": 3, "failures": [failure]})
    with zipfile.ZipFile(tmp_path / "out.zip") as opened:
        assert sorted(opened.namelist()) == ["A1/A1_s1.png", "manifest.csv", "manifest.json"]
        text = opened.read("manifest.csv").decode("utf-8-sig")
    first, second, last = csv.DictReader(io.StringIO(text))
    assert (first["sku"], first["status"], first["file"]) == ("A1", "made", "A1/A1_s1.png")
    assert (last["sku"], last["seed"], last["file"], last["status"], last["reason"]) == (
        "B2", "6", "", "failed", "Refused.")
