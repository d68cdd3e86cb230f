"""An image taken from a file: a thumbnail, Choose… and a clear button (a mask, a style image);
a PNG, JPEG or WebP dropped on it is taken too."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from backends.errors import BackendError
from backends.types import load_image
from studio.ui.qt_images import pil_to_qimage

IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.webp)"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
THUMB_SIDE = 48


def dropped_images(mime: QMimeData) -> list[Path]:
    """The local PNG, JPEG and WebP files among what is being dragged or dropped."""
    paths = (Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile())
    return [path for path in paths if path.suffix.lower() in IMAGE_SUFFIXES]


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
        self.setAcceptDrops(True)
        self.set_image(None)

    def ask(self) -> None:
        path = self._ask_path()
        if path:
            self.load(path)

    def load(self, path: str | Path) -> None:
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

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if dropped_images(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        images = dropped_images(event.mimeData())
        if images:
            self.load(images[0])
            event.acceptProposedAction()

    def _ask_path(self) -> str:
        path, _ = QFileDialog.getOpenFileName(self, f"Choose the {self.role}", "", IMAGE_FILES)
        return path
