"""A loupe for one image: decoded off the GUI thread, fit to the widget, zoom and pan.

PNG decoding of a large image takes long enough to stutter the UI, so files are read on a
small thread pool with QImageReader (QImage, unlike QPixmap, may be built off the GUI thread)
and handed back through a queued signal.
"""

from __future__ import annotations

import atexit
from pathlib import Path

from PySide6.QtCore import (
    QObject,
    QPointF,
    QRectF,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QColor,
    QImage,
    QImageReader,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

# Studio never makes an image wider or taller than this (backends.types.MAX_SIDE), so its own
# images load at full resolution; a larger foreign PNG is decoded straight to this size.
MAX_LOAD_SIDE = 4096
MIN_ZOOM, MAX_ZOOM = 0.05, 16.0
ZOOM_STEP = 1.25
_LOAD_THREADS = 2


def read_image(path: Path, max_side: int | None = MAX_LOAD_SIDE) -> tuple[QImage, QSize, str]:
    """(image, size on disk, error). Safe on any thread; the image is null when error is set."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    original = reader.size()
    if max_side and original.isValid() and max(original.width(), original.height()) > max_side:
        limit = QSize(max_side, max_side)
        reader.setScaledSize(original.scaled(limit, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return QImage(), original, reader.errorString() or "the file is not a readable image"
    return image, original if original.isValid() else image.size(), ""


class _Relay(QObject):
    done = Signal(object, QImage, QSize, str)  # ticket, image, size on disk, error


class _LoadTask(QRunnable):
    def __init__(self, ticket: object, path: Path, relay: _Relay) -> None:
        super().__init__()
        self._ticket, self._path, self._relay = ticket, path, relay

    def run(self) -> None:
        image, original, error = read_image(self._path)
        self._relay.done.emit(self._ticket, image, original, error)


_shared: tuple[_Relay, QThreadPool] | None = None


def _loader() -> tuple[_Relay, QThreadPool]:
    # One relay for every view, created on the GUI thread and never deleted, so a pool thread
    # can always emit on it even after the view that asked is gone.
    global _shared
    if _shared is None:
        pool = QThreadPool()
        pool.setMaxThreadCount(_LOAD_THREADS)
        # Finish decodes in flight before interpreter teardown can delete the relay.
        atexit.register(pool.waitForDone, 2000)
        _shared = (_Relay(), pool)
    return _shared


class ImageView(QWidget):
    """Shows one image scaled to fit; the wheel zooms, dragging pans, a double-click toggles
    between fit and 100 %. `view_changed` reports user zoom/pan so views can follow each other."""

    loaded = Signal()  # the image asked for by set_path is shown, or failed to load
    view_changed = Signal(object, float, float)  # zoom (None = fit), centre x, y in 0..1

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._path: Path | None = None
        self._image: QImage | None = None
        self._original = QSize()
        self._ticket: object | None = None
        self._placeholder = ""
        self._zoom: float | None = None
        self._center = QPointF(0.5, 0.5)
        self._drag_from: QPointF | None = None
        self._fit_cache: tuple[QSize, QPixmap] | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(96, 96)
        relay, _ = _loader()
        relay.done.connect(self._on_loaded)

    # --- content ------------------------------------------------------------------------

    def set_path(self, path: Path | None) -> None:
        """Load `path` in the background; the view shows "Loading…" until it arrives."""
        self._set_image(None)
        self._path = path
        self._ticket = None
        if path is None:
            self._placeholder = ""
        elif not path.is_file():
            self._placeholder = f"The image file is missing:\n{path}"
            self.loaded.emit()
        else:
            self._placeholder = "Loading…"
            self._ticket = ticket = object()
            relay, pool = _loader()
            pool.start(_LoadTask(ticket, path, relay))
        self.update()

    def set_image(self, image: QImage, original: QSize | None = None) -> None:
        self._ticket = None
        self._set_image(image, original)

    def clear(self, placeholder: str = "") -> None:
        self.set_path(None)
        self._placeholder = placeholder

    def path(self) -> Path | None:
        return self._path

    def image(self) -> QImage | None:
        return self._image

    def original_size(self) -> QSize:
        """The image's size on disk (the shown image may be smaller for a huge file)."""
        return QSize(self._original)

    def is_loading(self) -> bool:
        return self._ticket is not None

    def placeholder(self) -> str:
        return self._placeholder

    @Slot(object, QImage, QSize, str)
    def _on_loaded(self, ticket: object, image: QImage, original: QSize, error: str) -> None:
        if ticket is not self._ticket:
            return  # another view's image, or one this view no longer wants
        self._ticket = None
        if error:
            self._placeholder = f"The image could not be opened: {error}"
            self.update()
        else:
            self._set_image(image, original)
        self.loaded.emit()

    def _set_image(self, image: QImage | None, original: QSize | None = None) -> None:
        self._image = image if image is not None and not image.isNull() else None
        self._original = QSize(original) if original else (
            image.size() if self._image is not None else QSize()
        )
        self._fit_cache = None
        self._placeholder = ""
        self.update()

    # --- zoom and pan -------------------------------------------------------------------

    def view_state(self) -> tuple[float | None, float, float]:
        return self._zoom, self._center.x(), self._center.y()

    def set_view_state(self, zoom: float | None, x: float, y: float) -> None:
        """Apply another view's zoom/pan without echoing it back through view_changed."""
        self._zoom = None if zoom is None else min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self._center = QPointF(min(1.0, max(0.0, x)), min(1.0, max(0.0, y)))
        self.update()

    def reset_view(self) -> None:
        self.set_view_state(None, 0.5, 0.5)

    def _pixels_per_loaded_pixel(self) -> float:
        assert self._image is not None
        if self._zoom is None:
            return min(self.width() / self._image.width(), self.height() / self._image.height())
        # Zoom counts pixels of the file on disk and of the screen, so 100 % is 1:1 on HiDPI
        # too, even when a huge file was decoded smaller.
        on_disk = self._original.width() / self._image.width()
        return self._zoom * on_disk / self.devicePixelRatioF()

    def _effective_zoom(self) -> float:
        assert self._image is not None
        scale = self._pixels_per_loaded_pixel()
        return scale * self.devicePixelRatioF() * self._image.width() / self._original.width()

    def _target(self) -> QRectF:
        assert self._image is not None
        scale = self._pixels_per_loaded_pixel()
        width, height = self._image.width() * scale, self._image.height() * scale
        x = self._placed(self.width(), width, self._center.x())
        y = self._placed(self.height(), height, self._center.y())
        return QRectF(x, y, width, height)

    def _placed(self, room: float, extent: float, centre: float) -> float:
        if self._zoom is None or extent <= room:
            return (room - extent) / 2
        # Pan no further than the image's edge: no empty band beside a zoomed image.
        return min(0.0, max(room - extent, room / 2 - centre * extent))

    def _zoom_at(self, zoom: float | None, anchor: QPointF) -> None:
        """Zoom so the image point under `anchor` (widget coordinates) stays under it."""
        if not self._has_room():
            return
        target = self._target()
        point = QPointF((anchor.x() - target.x()) / target.width(),
                        (anchor.y() - target.y()) / target.height())
        self._zoom = None if zoom is None else min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        if self._zoom is not None:
            scale = self._pixels_per_loaded_pixel()
            width, height = self._image.width() * scale, self._image.height() * scale
            self._center = QPointF(point.x() - (anchor.x() - self.width() / 2) / width,
                                   point.y() - (anchor.y() - self.height() / 2) / height)
            self._settle_center()
        self.update()
        self.view_changed.emit(self._zoom, self._center.x(), self._center.y())

    def _has_room(self) -> bool:
        return self._image is not None and self.width() > 0 and self.height() > 0

    def _settle_center(self) -> None:
        # Store the centre actually shown, so a drag past the edge does not build up slack.
        target = self._target()
        self._center = QPointF(
            min(1.0, max(0.0, (self.width() / 2 - target.x()) / target.width())),
            min(1.0, max(0.0, (self.height() / 2 - target.y()) / target.height())),
        )

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        if not self._has_room() or not event.angleDelta().y():
            return super().wheelEvent(event)
        steps = event.angleDelta().y() / 120
        self._zoom_at(self._effective_zoom() * ZOOM_STEP**steps, event.position())
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if not self._has_room() or event.button() != Qt.MouseButton.LeftButton:
            return super().mouseDoubleClickEvent(event)
        self._zoom_at(1.0 if self._zoom is None else None, event.position())

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._zoom is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag_from is None or not self._has_room() or self._zoom is None:
            return super().mouseMoveEvent(event)
        delta = event.position() - self._drag_from
        self._drag_from = event.position()
        target = self._target()
        self._center -= QPointF(delta.x() / target.width(), delta.y() / target.height())
        self._settle_center()
        self.update()
        self.view_changed.emit(self._zoom, self._center.x(), self._center.y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag_from = None
        self.unsetCursor()
        super().mouseReleaseEvent(event)

    # --- painting -----------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        self._fit_cache = None
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        palette = self.palette()
        # A neutral surround a shade darker than the window, as in a photo editor's loupe.
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Window).darker(125))
        if self._image is None:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect().adjusted(12, 12, -12, -12),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._placeholder)
            return
        target = self._target()
        if self._zoom is None:
            painter.drawPixmap(target.topLeft(), self._fit_pixmap(target.size().toSize()))
        else:
            # Past 200 % show crisp pixels: that is what a designer zooms in to inspect.
            smooth = self._effective_zoom() < 2.0
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            painter.drawImage(target, self._image)
        self._paint_zoom_badge(painter, palette)

    def _fit_pixmap(self, size: QSize) -> QPixmap:
        assert self._image is not None
        ratio = self.devicePixelRatioF()
        device_size = QSize(max(1, round(size.width() * ratio)),
                            max(1, round(size.height() * ratio)))
        if self._fit_cache is None or self._fit_cache[0] != device_size:
            scaled = self._image.scaled(device_size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                        Qt.TransformationMode.SmoothTransformation)
            pixmap = QPixmap.fromImage(scaled)
            pixmap.setDevicePixelRatio(ratio)
            self._fit_cache = (device_size, pixmap)
        return self._fit_cache[1]

    def _paint_zoom_badge(self, painter: QPainter, palette: QPalette) -> None:
        text = "Fit" if self._zoom is None else f"{self._effective_zoom():.0%}"
        metrics = painter.fontMetrics()
        width, height = metrics.horizontalAdvance(text) + 12, metrics.height() + 4
        box = QRectF(self.width() - width - 8, self.height() - height - 8, width, height)
        backdrop = QColor(palette.color(QPalette.ColorRole.Window))
        backdrop.setAlpha(190)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(backdrop)
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
