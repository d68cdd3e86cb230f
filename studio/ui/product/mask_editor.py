"""The product photo with its mask shown over it, refined with a brush and an eraser.

Each stroke (press, drag, release) can be undone (Ctrl+Z; a stack of the last UNDO_LIMIT
strokes, each kept as the mask before it). Ctrl+wheel zooms about the cursor, `zoom_in`,
`zoom_out` and `fit` are there for buttons and +/-/0 keys; when zoomed in, a middle- or
right-button drag (or the wheel, Shift for sideways) moves the view.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QShortcut,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.ui.qt_images import pil_to_qimage

BACKGROUND_TINT = QColor(255, 40, 90, 110)  # over everything that is not product
# Strokes that can be undone: each keeps the mask before it, one bit a pixel (1.5 MB for a
# 12-megapixel photo).
UNDO_LIMIT = 30
MAX_ZOOM = 16.0
ZOOM_STEP = 1.25


class MaskEditor(QWidget):
    """Left-drag paints: the brush adds to the product (white), the eraser removes from it.

    The mask is kept at the photo's full size; the brush width is in screen pixels, so it
    feels the same at any zoom.
    """

    mask_edited = Signal()
    zoom_changed = Signal(float)  # 1.0: the whole photo fits
    undo_available = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.mode = "brush"
        self.brush_px = 24
        self.edited = False
        self._photo: QPixmap | None = None
        self._mask: QImage | None = None  # Grayscale8, 255 = product
        self._overlay: QImage | None = None  # the tint, transparent over the product
        self._last: QPointF | None = None
        self._undo: list[np.ndarray] = []  # the mask before each stroke, packed, oldest first
        self.zoom = 1.0
        self._centre: QPointF | None = None  # the photo point at the widget's centre
        self._pan_from: QPointF | None = None
        # Window-wide, so it works whatever has focus; a text box that has its own undo
        # keeps Ctrl+Z (Qt lets the focused editor override the shortcut).
        undo = QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self)
        undo.setContext(Qt.ShortcutContext.WindowShortcut)
        undo.activated.connect(self.undo)
        for keys, slot in ((QKeySequence.StandardKey.ZoomIn, self.zoom_in),
                           (QKeySequence.StandardKey.ZoomOut, self.zoom_out)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(480, 400)

    def set_photo(self, photo: Image.Image, mask: Image.Image) -> None:
        self._photo = QPixmap.fromImage(pil_to_qimage(photo))
        binary = np.where(np.asarray(mask.convert("L")) >= 128, 255, 0).astype(np.uint8)
        self._mask = _mask_image(binary)
        self._overlay = _tint_of(binary)
        self.edited = False
        self._undo.clear()
        self.undo_available.emit(False)
        self.fit()
        self.update()

    def mask(self) -> Image.Image | None:
        if self._mask is None:
            return None
        image = self._mask
        raw = bytes(image.constBits())[: image.sizeInBytes()]
        return Image.frombytes("L", (image.width(), image.height()), raw, "raw", "L",
                               image.bytesPerLine())

    # -- geometry ---------------------------------------------------------------------------

    def _fit_scale(self) -> float:
        return min(self.width() / self._mask.width(), self.height() / self._mask.height())

    def image_rect(self) -> QRectF:
        """Where the photo is drawn: fitted to the widget and centred at zoom 1; larger and
        centred on `_centre` when zoomed in."""
        if self._mask is None:
            return QRectF()
        width, height = self._mask.width(), self._mask.height()
        scale = self._fit_scale() * self.zoom
        centre = self._centre or QPointF(width / 2, height / 2)
        return QRectF(self.width() / 2 - centre.x() * scale,
                      self.height() / 2 - centre.y() * scale, width * scale, height * scale)

    # -- zoom -------------------------------------------------------------------------------

    def fit(self) -> None:
        """The whole photo in view."""
        self.zoom, self._centre = 1.0, None
        self.zoom_changed.emit(self.zoom)
        self.update()

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / ZOOM_STEP)

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to `zoom` (1 = fit, up to MAX_ZOOM), keeping the photo point under `anchor`
        (widget coordinates; the centre by default) where it is."""
        zoom = min(MAX_ZOOM, max(1.0, zoom))
        if zoom == 1.0:
            self.fit()
            return
        if self._mask is None or self.width() <= 0 or self.height() <= 0:
            self.zoom = zoom
            return
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        under = self.to_image(anchor)
        self.zoom = zoom
        scale = self._fit_scale() * zoom
        self._move_centre(QPointF(under.x() - (anchor.x() - self.width() / 2) / scale,
                                  under.y() - (anchor.y() - self.height() / 2) / scale))
        self.zoom_changed.emit(self.zoom)

    def _move_centre(self, centre: QPointF) -> None:
        """Centre the view on `centre` (photo pixels), never past the photo's edges."""
        width, height = self._mask.width(), self._mask.height()
        scale = self._fit_scale() * self.zoom
        half_w, half_h = self.width() / 2 / scale, self.height() / 2 / scale
        x = width / 2 if half_w * 2 >= width else min(max(centre.x(), half_w), width - half_w)
        y = height / 2 if half_h * 2 >= height else min(max(centre.y(), half_h),
                                                         height - half_h)
        self._centre = QPointF(x, y)
        self.update()

    def pan(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) screen pixels."""
        if self._mask is None:
            return
        scale = self._fit_scale() * self.zoom
        centre = self._centre or QPointF(self._mask.width() / 2, self._mask.height() / 2)
        self._move_centre(QPointF(centre.x() - dx / scale, centre.y() - dy / scale))

    # -- undo -------------------------------------------------------------------------------

    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo(self) -> bool:
        """Take back the last stroke; False when there is none."""
        if not self._undo or self._mask is None:
            return False
        height, width = self._mask.height(), self._mask.width()
        binary = np.unpackbits(self._undo.pop(), count=width * height).reshape(height, width)
        binary = binary.astype(np.uint8) * 255
        self._mask = _mask_image(binary)
        self._overlay = _tint_of(binary)
        self._last = None
        self.edited = bool(self._undo)
        self.undo_available.emit(bool(self._undo))
        self.mask_edited.emit()
        self.update()
        return True

    def _begin_stroke(self) -> None:
        self._undo.append(np.packbits(_mask_array(self._mask) >= 128))
        del self._undo[:-UNDO_LIMIT]
        self.undo_available.emit(True)

    def to_image(self, point: QPointF) -> QPointF:
        rect = self.image_rect()
        scale = self._mask.width() / rect.width()
        return QPointF((point.x() - rect.x()) * scale, (point.y() - rect.y()) * scale)

    # -- painting ---------------------------------------------------------------------------

    def stroke(self, start: QPointF, end: QPointF) -> None:
        """Paint one segment, in widget coordinates, onto the mask and its tint."""
        if self._mask is None:
            return
        a, b = self.to_image(start), self.to_image(end)
        width = max(1.0, self.brush_px * self._mask.width() / self.image_rect().width())
        product = self.mode == "brush"
        for target, colour in ((self._mask, QColor(255, 255, 255) if product else QColor(0, 0, 0)),
                               (self._overlay, QColor(0, 0, 0, 0) if product else BACKGROUND_TINT)):
            painter = QPainter(target)
            # No antialiasing: the mask stays strictly product or not, pixel by pixel.
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
            painter.setPen(QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                                Qt.PenJoinStyle.RoundJoin))
            if a == b:
                painter.drawPoint(a)
            else:
                painter.drawLine(a, b)
            painter.end()
        self.edited = True
        self.mask_edited.emit()
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._mask is None:
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._begin_stroke()
            self._last = event.position()
            self.stroke(self._last, self._last)
        elif event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.RightButton):
            self._pan_from = event.position()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._last is not None:
            self.stroke(self._last, event.position())
            self._last = event.position()
        elif self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.pan(delta.x(), delta.y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self._last = None
        self._pan_from = None

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        steps = event.angleDelta().y() / 120
        if self._mask is None or not steps:
            event.ignore()
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.set_zoom(self.zoom * ZOOM_STEP ** steps, event.position())
        elif event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.pan(steps * 40, 0)
        else:
            self.pan(0, steps * 40)
        event.accept()

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().resizeEvent(event)
        if self._mask is not None and self._centre is not None:
            self._move_centre(self._centre)  # keep the view inside the photo

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(48, 48, 48))
        if self._photo is None or self._overlay is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "Import a product photo (PNG, JPEG or WebP)")
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        rect = self.image_rect()
        painter.drawPixmap(rect, self._photo, QRectF(self._photo.rect()))
        painter.drawImage(rect, self._overlay, QRectF(self._overlay.rect()))
        painter.end()


def _mask_image(binary: np.ndarray) -> QImage:
    height, width = binary.shape
    data = np.ascontiguousarray(binary, np.uint8)
    return QImage(data.tobytes(), width, height, width, QImage.Format.Format_Grayscale8).copy()


def _mask_array(mask: QImage) -> np.ndarray:
    raw = np.frombuffer(bytes(mask.constBits())[: mask.sizeInBytes()], np.uint8)
    return raw.reshape(mask.height(), mask.bytesPerLine())[:, : mask.width()]


def _tint_of(binary: np.ndarray) -> QImage:
    """The overlay for a mask: the tint over what is not product, clear over the product."""
    height, width = binary.shape
    tint = np.zeros((height, width, 4), np.uint8)
    tint[binary < 128] = (BACKGROUND_TINT.red(), BACKGROUND_TINT.green(),
                          BACKGROUND_TINT.blue(), BACKGROUND_TINT.alpha())
    return pil_to_qimage(Image.fromarray(tint, "RGBA")).convertToFormat(
        QImage.Format.Format_ARGB32_Premultiplied)
