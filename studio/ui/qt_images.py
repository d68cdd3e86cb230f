"""PIL ↔ Qt image conversion, done once here."""

from __future__ import annotations

from PIL import Image
from PySide6.QtGui import QImage


def pil_to_qimage(image: Image.Image) -> QImage:
    rgba = image.convert("RGBA")
    data = rgba.tobytes("raw", "RGBA")
    # copy(): the QImage must own its pixels once `data` goes away.
    return QImage(data, rgba.width, rgba.height, rgba.width * 4,
                  QImage.Format.Format_RGBA8888).copy()


def qimage_to_pil(image: QImage) -> Image.Image:
    converted = image.convertToFormat(QImage.Format.Format_RGBA8888)
    buffer = bytes(converted.constBits())[: converted.sizeInBytes()]
    return Image.frombytes("RGBA", (converted.width(), converted.height()), buffer, "raw",
                           "RGBA", converted.bytesPerLine()).convert("RGB")
