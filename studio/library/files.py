"""The library's files: PNGs written atomically, shared init images, and what a crash leaves.

Each PNG goes to a `.tmp-` file, which is fsynced and then renamed into place, and the
folder is fsynced too, before any row refers to it. A path a `record()` in flight is about
to commit is *claimed*: neither an orphan nor deletable until the claim is released.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from backends.types import Cost, GeneratedImage, GenerationResult
from studio.atomic import TEMP_PREFIX, write_bytes_atomic
from studio.library.png_metadata import a1111_parameters, encode_png, studio_json
from studio.library.xmp import Disclosure

INPUTS_DIR = "inputs"
ORPHANS_DIR = "orphans"  # where files no row refers to are moved (orphans.py)
# Only temp files this old are swept at open, so a second Library on the same folder (the
# CLI next to the app) cannot delete a file another process is about to rename.
STALE_TMP_AGE_S = 60.0


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable. Windows cannot open a folder; NTFS journals it."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ImageFiles:
    """Files under `root`. `referenced(rel)` says whether a row still refers to a file."""

    def __init__(self, root: Path, lock: threading.RLock,
                 referenced: Callable[[str], bool]) -> None:
        self.root = root
        self._lock = lock
        self._referenced = referenced
        self._pending: Counter[str] = Counter()  # relative paths claimed by record()s

    def claim(self, rel: str, claimed: list[str]) -> None:
        with self._lock:
            self._pending[rel] += 1
        claimed.append(rel)

    def release(self, claimed: list[str]) -> None:
        with self._lock:
            self._pending.subtract(claimed)
            self._pending += Counter()  # drops the zero counts

    def pending(self) -> set[str]:
        with self._lock:
            return set(self._pending)

    def in_use(self, rel: str) -> bool:
        with self._lock:
            return self._pending[rel] > 0 or self._referenced(rel)

    def write(self, rel: str, data: bytes, written: list[Path]) -> None:
        path = self.root / rel
        write_bytes_atomic(path, data)
        written.append(path)
        # The rename must reach the disk before the row commits, or a power cut could leave
        # a committed row whose file never arrived.
        fsync_dir(path.parent)

    def write_image(self, rel: str, result: GenerationResult, generated: GeneratedImage,
                    estimate: Cost | None, written: list[Path], claimed: list[str]) -> str:
        """Claim `rel` and write the image there as a PNG that carries how it was made
        (A1111 parameters, Studio's JSON and the AI disclosure as XMP: a generation,
        `trainedAlgorithmicMedia`); returns the PNG's sha256."""
        self.claim(rel, claimed)
        data = encode_png(
            generated.image,
            parameters=a1111_parameters(
                result.request, generated.seed,
                model=result.model, backend=result.backend, device=result.device,
            ),
            studio_json=studio_json(result, generated, estimate=estimate),
            disclosure=Disclosure(model=result.model, backend=result.backend,
                                  composite=result.composite),
        )
        self.write(rel, data, written)
        return hashlib.sha256(data).hexdigest()

    def save_input(self, image: Image.Image, written: list[Path], claimed: list[str]) -> str:
        """Store an init image once per content; its relative path."""
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = buffer.getvalue()
        rel = f"{INPUTS_DIR}/{hashlib.sha256(data).hexdigest()}.png"
        # Claimed before the exists() check, so another run's cleanup or delete() cannot
        # remove a shared input this run is about to reference.
        with self._lock:
            self.claim(rel, claimed)
            exists = (self.root / rel).is_file()
        if not exists:
            self.write(rel, data, written)
        return rel

    def undo(self, written: list[Path], claimed: list[str]) -> None:
        """Remove what a failed record() wrote, except a shared input another run relies on."""
        with self._lock:
            self.release(claimed)
            claimed.clear()
            for path in reversed(written):
                if not self.in_use(path.relative_to(self.root).as_posix()):
                    path.unlink(missing_ok=True)

    def remove_input_if_unused(self, rel: str) -> None:
        with self._lock:
            if not self.in_use(rel):
                (self.root / rel).unlink(missing_ok=True)

    def remove_stale_temp_files(self) -> int:
        """Remove the temp files a killed write left (those over a minute old); how many."""
        cutoff = time.time() - STALE_TMP_AGE_S
        removed = 0
        for tmp in self.root.rglob(f"{TEMP_PREFIX}*"):
            try:
                if tmp.is_file() and tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
        return removed

    def pngs(self) -> list[Path]:
        """Every finished PNG under the root (temp files and the orphans/ folder excluded)."""
        return [
            path for path in self.root.rglob("*.png")
            if path.relative_to(self.root).parts[0] != ORPHANS_DIR
            and not path.name.startswith(TEMP_PREFIX) and path.is_file()
        ]
