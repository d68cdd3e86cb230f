"""Where a batch's files go: straight into a folder, or staged and zipped at the end.

Every file is written to a temp name and renamed, so a crash leaves either the whole file or
none. Names come from the job's items (planned once, when the job was made), so writing an
item again replaces its own file and can never add a second copy.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backends.errors import InvalidRequest
from studio import paths
from studio.atomic import TEMP_PREFIX, follow_umask, write_bytes_atomic
from studio.batch.manifest import ManifestRow, manifest_csv, manifest_json, write_manifests
from studio.writable import check_writable_folder


def is_zip(out: Path) -> bool:
    return out.suffix.lower() == ".zip"


def check_new_output(out: Path) -> None:
    """A new job never writes into someone else's files, and only starts (and spends) when
    its output can be written."""
    if is_zip(out):
        if out.exists():
            raise InvalidRequest(f"{str(out)!r} already exists; choose a new .zip name.")
        check_writable_folder(out.parent)
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidRequest(f"--out {str(out)!r} is not an empty folder; choose a new one "
                             "(resume a job with --resume ID).")
    check_writable_folder(out)


class Exporter:
    def __init__(self, job_id: int, out: Path) -> None:
        self.out = Path(out)
        self.zip = is_zip(self.out)
        self.folder = (paths.studio_home() / "batches" / str(job_id) / "files" if self.zip
                       else self.out)

    def sweep_temp(self) -> None:
        """Temp files a killed run left behind (this folder is the job's own)."""
        if self.folder.is_dir():
            for temp in self.folder.rglob(f"{TEMP_PREFIX}*"):
                temp.unlink(missing_ok=True)
        if self.zip and self.out.parent.is_dir():
            for temp in self.out.parent.glob(f"{TEMP_PREFIX}{self.out.stem}-*.zip"):
                temp.unlink(missing_ok=True)

    def write(self, rel: str, data: bytes) -> str:
        """Write one image; returns its sha256."""
        target = (self.folder / rel).resolve()
        if not target.is_relative_to(self.folder.resolve()):
            raise InvalidRequest(f"Refusing to write {rel!r} outside the export folder.")
        write_bytes_atomic(target, data)
        return hashlib.sha256(data).hexdigest()

    def finish(self, rows: Sequence[ManifestRow], job: dict[str, Any]) -> Path:
        """Manifests for every exported image; the ZIP (if asked for) built whole, then renamed
        into place."""
        if not self.zip:
            write_manifests(self.folder, rows, job)
            return self.out
        self.out.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{self.out.stem}-", suffix=".zip",
                                        dir=self.out.parent)
        follow_umask(handle)
        os.close(handle)
        try:
            # Images are already compressed: storing them is as small and much faster.
            with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_STORED) as archive:
                for row in rows:
                    if row.file:  # a failed item has no file: manifest.csv says why
                        archive.write(self.folder / row.file, row.file)
                archive.writestr("manifest.csv", manifest_csv(rows, job.get("failures", ())),
                                 compress_type=zipfile.ZIP_DEFLATED)
                archive.writestr("manifest.json", manifest_json(rows, job),
                                 compress_type=zipfile.ZIP_DEFLATED)
            with open(temp, "rb") as written:
                os.fsync(written.fileno())
            os.replace(temp, self.out)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return self.out
