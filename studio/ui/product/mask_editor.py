"""The product photo with its mask shown over it, refined with a brush and an eraser."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.ui.qt_images import pil_to_qimage

BACKGROUND_TINT = QColor(255, 40, 90, 110)  # over everything that is not product


class MaskEditor(QWidget):
    """Left-drag paints: the brush adds to the product (white), the eraser removes from it.

    The mask is kept at the photo's full size; the brush width is in screen pixels, so it
    feels the same at any zoom.
    """

    mask_edited = Signal()

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

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(480, 400)

    def set_photo(self, photo: Image.Image, mask: Image.Image) -> None:
        self._photo = QPixmap.fromImage(pil_to_qimage(photo))
        binary = np.where(np.asarray(mask.convert("L")) >= 128, 255, 0).astype(np.uint8)
        height, width = binary.shape
        self._mask = QImage(binary.tobytes(), width, height, width,
                            QImage.Format.Format_Grayscale8).copy()
        tint = np.zeros((height, width, 4), np.uint8)
        tint[binary == 0] = (BACKGROUND_TINT.red(), BACKGROUND_TINT.green(),
                             BACKGROUND_TINT.blue(), BACKGROUND_TINT.alpha())
        self._overlay = pil_to_qimage(Image.fromarray(tint, "RGBA")).convertToFormat(
            QImage.Format.Format_ARGB32_Premultiplied)
        self.edited = False
        self.update()

    def mask(self) -> Image.Image | None:
        if self._mask is None:
            return None
        image = self._mask
        raw = bytes(image.constBits())[: image.sizeInBytes()]
        return Image.frombytes("L", (image.width(), image.height()), raw, "raw", "L",
                               image.bytesPerLine())

    # -- geometry ---------------------------------------------------------------------------

    def image_rect(self) -> QRectF:
        """Where the photo is drawn: fitted to the widget, centred."""
        if self._mask is None:
            return QRectF()
        width, height = self._mask.width(), self._mask.height()
        scale = min(self.width() / width, self.height() / height)
        drawn_w, drawn_h = width * scale, height * scale
        return QRectF((self.width() - drawn_w) / 2, (self.height() - drawn_h) / 2, drawn_w,
                      drawn_h)

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
        if event.button() == Qt.MouseButton.LeftButton and self._mask is not None:
            self._last = event.position()
            self.stroke(self._last, self._last)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._last is not None:
            self.stroke(self._last, event.position())
            self._last = event.position()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self._last = None

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
