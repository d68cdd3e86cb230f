"""An image taken from a file: a thumbnail, Choose… and a clear button (a mask, a style image)."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from backends.errors import BackendError
from backends.types import load_image
from studio.ui.qt_images import pil_to_qimage

IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.webp)"
THUMB_SIDE = 48


class ImageInput(QWidget):
    """Holds one PIL image chosen by the user; `failed` carries a readable reason."""

    changed = Signal()
    failed = Signal(str)

    def __init__(self, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.image: Image.Image | None = None
        self.thumb = QLabel()
        self.thumb.setFixedSize(THUMB_SIDE, THUMB_SIDE)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name_label = QLabel()
        self.choose_button = QPushButton("Choose…")
        self.choose_button.setToolTip(f"Choose the {role} from a PNG, JPEG or WebP file")
        self.choose_button.clicked.connect(self.ask)
        self.clear_button = QToolButton(text="✕")
        self.clear_button.setToolTip(f"Stop using this {role}")
        self.clear_button.clicked.connect(lambda: self.set_image(None))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.thumb)
        layout.addWidget(self.name_label, 1)
        layout.addWidget(self.choose_button)
        layout.addWidget(self.clear_button)
        self.set_image(None)

    def ask(self) -> None:
        path = self._ask_path()
        if not path:
            return
        try:
            image = load_image(path, role=self.role)
        except BackendError as exc:
            self.failed.emit(str(exc))
            return
        self.set_image(image)

    def set_image(self, image: Image.Image | None) -> None:
        self.image = image
        self.clear_button.setVisible(image is not None)
        if image is None:
            self.thumb.clear()
            self.name_label.setText(f"<i>no {self.role}</i>")
        else:
            thumb = image.copy()
            thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
            self.thumb.setPixmap(QPixmap.fromImage(pil_to_qimage(thumb)))
            self.name_label.setText(f"{image.width}×{image.height}")
        self.changed.emit()

    def _ask_path(self) -> str:
        path, _ = QFileDialog.getOpenFileName(self, f"Choose the {self.role}", "", IMAGE_FILES)
        return path
