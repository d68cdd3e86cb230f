"""Thumbnails of library images, made off the GUI thread and kept on disk and in memory.

A tile asks `get(record)`: a pixmap comes back at once when it is in memory, otherwise None,
and the thumbnail is read from the disk cache or rendered from the PNG on a worker thread;
`ready(image_id)` says when to ask again. Thumbnails are keyed by the PNG's sha256, so a
moved library keeps its cache and identical images share one file.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThread, QThreadPool, Signal
from PySide6.QtGui import QGuiApplication, QImage, QPixmap

from studio import paths
from studio.atomic import write_bytes_atomic
from studio.library import ImageRecord

THUMBNAIL_SIZE = 256  # longest side on disk, in pixels
# Longest side kept in memory: the gallery tile's inner size, so painting a tile is a copy
# rather than a smooth rescale (that rescale was ~40% of a frame), and memory goes further.
DISPLAY_SIZE = 168
MEMORY_ITEMS = 2000
# 2,000 square 168 px pixmaps take ~225 MB, four times that on a 2x screen: the byte bound
# keeps memory sane whatever the item bound says.
MEMORY_BYTES = 256 * 1024 * 1024
# Requests beyond this are forgotten oldest first: they were for tiles scrolled past, and a
# tile that shows again asks again.
MAX_QUEUED = 512
JPEG_QUALITY = 85


def default_folder() -> Path:
    return paths.studio_home() / "thumbnails"


def render_thumbnail(source: Path, size: int = THUMBNAIL_SIZE) -> bytes:
    """The JPEG thumbnail of the image at `source`, longest side at most `size`."""
    with Image.open(source) as image:
        image.draft("RGB", (size, size))  # only JPEG sources decode smaller; others ignore it
        # reducing_gap: a fast integer reduce() first, then a proper resample of the rest.
        image.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            # Cut-outs are shown on white, as a marketplace shows them.
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
        else:
            flat = image.convert("RGB")
    buffer = io.BytesIO()
    flat.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


class _Loader(QRunnable):
    """Drains the cache's queue, newest request first, then ends."""

    def __init__(self, cache: ThumbnailCache) -> None:
        super().__init__()
        self._cache = cache

    def run(self) -> None:
        cache = self._cache
        counted_out = False
        try:
            while (job := cache._next_job()) is not None:
                key, source = job
                image = cache._load(key, source)
                try:
                    cache._loaded.emit(key, image)
                except RuntimeError:
                    return  # the cache's Qt side is gone (app closing): nobody is waiting
            counted_out = True  # _next_job() did it, under the same lock as the empty queue
        finally:
            if not counted_out:
                cache._worker_done()


class ThumbnailCache(QObject):
    """`get(record)` never blocks; `ready(image_id)` fires when a thumbnail arrives.

    Not thread-safe on its public side: call it from the GUI thread only.
    """

    ready = Signal(int)  # image id
    _loaded = Signal(str, QImage)  # from workers: sha256, image (null when it failed)

    def __init__(
        self,
        folder: Path | None = None,
        *,
        size: int = THUMBNAIL_SIZE,
        display_size: int | None = None,
        max_items: int = MEMORY_ITEMS,
        max_bytes: int = MEMORY_BYTES,
        threads: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.folder = Path(folder) if folder is not None else default_folder()
        self.size = size
        self.display_size = min(size, display_size or _screen_pixels(DISPLAY_SIZE))
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._memory: OrderedDict[str, QPixmap] = OrderedDict()
        self._memory_bytes = 0
        self._failed: set[str] = set()
        self._waiting: dict[str, set[int]] = {}  # sha256 -> image ids to tell
        # Shared with the workers, under _lock.
        self._lock = threading.Lock()
        self._queue: OrderedDict[str, Path] = OrderedDict()
        self._running: set[str] = set()
        self._workers = 0
        self._idle = threading.Condition(self._lock)
        # The shared pool, with our own cap: a pool of our own would be destroyed with this
        # object, waiting for its threads while the GUI thread holds the GIL they need.
        self.threads = threads or max(2, min(4, QThread.idealThreadCount() - 1))
        self._loaded.connect(self._on_loaded)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # --- public, GUI thread ---------------------------------------------------------------

    def get(self, record: ImageRecord) -> QPixmap | None:
        """The thumbnail if it is in memory; else None, and it is on its way."""
        key = record.sha256
        pixmap = self._memory.get(key)
        if pixmap is not None:
            self._memory.move_to_end(key)
            return pixmap
        if key in self._failed:
            return None
        self._waiting.setdefault(key, set()).add(record.id)
        with self._lock:
            if key in self._queue:
                self._queue.move_to_end(key)
            elif key not in self._running:
                self._queue[key] = record.path
                while len(self._queue) > MAX_QUEUED:
                    dropped, _ = self._queue.popitem(last=False)
                    self._waiting.pop(dropped, None)
            if self._queue and self._workers < self.threads:
                self._workers += 1
                QThreadPool.globalInstance().start(_Loader(self))
        return None

    def failed(self, record: ImageRecord) -> bool:
        """True when the image could not be read (missing or damaged file)."""
        return record.sha256 in self._failed

    def forget(self, record: ImageRecord) -> None:
        """Drop what is known about this image, in memory and on disk (after a delete)."""
        key = record.sha256
        self._drop(key)
        self._failed.discard(key)
        self._waiting.pop(key, None)
        with self._lock:
            self._queue.pop(key, None)
        (self.folder / f"{key}.jpg").unlink(missing_ok=True)

    def clear_memory(self) -> None:
        self._memory.clear()
        self._memory_bytes = 0
        self._failed.clear()

    def memory_usage(self) -> tuple[int, int]:
        """(thumbnails, bytes) held in memory."""
        return len(self._memory), self._memory_bytes

    def pending(self) -> int:
        """Thumbnails queued or being made."""
        with self._lock:
            return len(self._queue) + len(self._running)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Forget queued work and wait for the thumbnails being made (on window close)."""
        with self._lock:
            self._queue.clear()
            self._idle.wait_for(lambda: self._workers == 0, timeout_ms / 1000)

    # --- workers --------------------------------------------------------------------------

    def _next_job(self) -> tuple[str, Path] | None:
        with self._lock:
            if not self._queue:
                # Counted out here, not later: a request queued after this moment must see
                # a free worker slot, or it would wait for the next request to start one.
                self._workers -= 1
                self._idle.notify_all()
                return None
            # Newest first: the tiles on screen now asked last.
            key, source = self._queue.popitem(last=True)
            self._running.add(key)
            return key, source

    def _worker_done(self) -> None:
        with self._lock:
            self._workers -= 1
            self._idle.notify_all()

    def _load(self, key: str, source: Path) -> QImage:
        image = self._read(key, source)
        if max(image.width(), image.height()) > self.display_size:
            image = image.scaled(self.display_size, self.display_size,
                                 Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        return image

    def _read(self, key: str, source: Path) -> QImage:
        cached = self.folder / f"{key}.jpg"
        if cached.is_file():
            image = QImage(str(cached))
            if not image.isNull():
                return image
        try:
            data = render_thumbnail(source, self.size)
        except (OSError, ValueError, Image.DecompressionBombError):
            return QImage()
        try:
            write_bytes_atomic(cached, data)
        except OSError:
            pass  # a read-only or full disk only costs rendering it again next time
        image = QImage()
        image.loadFromData(data, "JPG")
        return image

    # --- arrivals, GUI thread -------------------------------------------------------------

    def _on_loaded(self, key: str, image: QImage) -> None:
        with self._lock:
            self._running.discard(key)
        if image.isNull():
            self._failed.add(key)
        else:
            self._store(key, QPixmap.fromImage(image))
        for image_id in sorted(self._waiting.pop(key, ())):
            self.ready.emit(image_id)

    def _store(self, key: str, pixmap: QPixmap) -> None:
        self._drop(key)
        self._memory[key] = pixmap
        self._memory_bytes += _bytes(pixmap)
        while self._memory and (
            len(self._memory) > self.max_items or self._memory_bytes > self.max_bytes
        ):
            _, evicted = self._memory.popitem(last=False)
            self._memory_bytes -= _bytes(evicted)

    def _drop(self, key: str) -> None:
        pixmap = self._memory.pop(key, None)
        if pixmap is not None:
            self._memory_bytes -= _bytes(pixmap)


def _screen_pixels(logical: int) -> int:
    """`logical` pixels on the primary screen, so thumbnails stay sharp on HiDPI."""
    screen = QGuiApplication.primaryScreen()
    return round(logical * (screen.devicePixelRatio() if screen is not None else 1.0))


def _bytes(pixmap: QPixmap) -> int:
    return pixmap.width() * pixmap.height() * max(1, pixmap.depth()) // 8
