"""What "Generate scenes" made: a thumbnail per image as its job finishes, what failed and
why, and buttons to see them in the gallery (and its loupe) or their folder."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.formatting import short_prompt
from studio.library import ImageRecord
from studio.ui.qt_images import pil_to_qimage

THUMB_PX = 96
_ID_ROLE = Qt.ItemDataRole.UserRole


class SceneResults(QWidget):
    """`show_in_gallery(ids, label)` asks the main window to show those images."""

    show_in_gallery = Signal(list, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records: list[ImageRecord] = []
        self.failures: list[tuple[str, str]] = []  # scene, why
        self.waiting: dict[int, str] = {}  # job id -> scene
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.thumbnails = QListWidget()
        self.thumbnails.setViewMode(QListView.ViewMode.IconMode)
        self.thumbnails.setIconSize(QSize(THUMB_PX, THUMB_PX))
        self.thumbnails.setFlow(QListView.Flow.LeftToRight)
        self.thumbnails.setWrapping(False)
        self.thumbnails.setFixedHeight(THUMB_PX + 44)
        self.thumbnails.setMovement(QListView.Movement.Static)
        self.thumbnails.itemDoubleClicked.connect(self._show_one)
        self.gallery_button = QPushButton("Show in gallery")
        self.gallery_button.setToolTip("Show only these scenes in the gallery; double-click a "
                                       "thumbnail for that one image")
        self.gallery_button.clicked.connect(self.show_all)
        self.folder_button = QPushButton("Open folder")
        self.folder_button.clicked.connect(self.open_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.gallery_button)
        buttons.addWidget(self.folder_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.thumbnails)
        self.setVisible(False)
        self._refresh()

    def start(self, jobs: dict[int, str]) -> None:
        """A new round of scenes: forget the last one's, wait for these jobs."""
        self.records, self.failures = [], []
        self.waiting = dict(jobs)
        self.thumbnails.clear()
        self.setVisible(bool(jobs))
        self._refresh()

    def job_finished(self, job_id: int, records: list[ImageRecord]) -> None:
        scene = self.waiting.pop(job_id, None)
        if scene is None:
            return
        for record in records:
            self.records.append(record)
            item = QListWidgetItem(_thumbnail(record.path), short_prompt(scene, 24))
            item.setData(_ID_ROLE, record.id)
            item.setToolTip(f"{scene} · seed {record.seed}")
            self.thumbnails.addItem(item)
        self._refresh()

    def job_failed(self, job_id: int, message: str) -> None:
        scene = self.waiting.pop(job_id, None)
        if scene is not None:
            self.failures.append((scene, message))
            self._refresh()

    def _refresh(self) -> None:
        made = len(self.records)
        parts = [f"{made} image{'s' if made != 1 else ''} made"]
        if self.waiting:
            parts.append(f"{len(self.waiting)} scene{'s' if len(self.waiting) != 1 else ''} "
                         "still generating")
        parts += [f"“{short_prompt(scene, 30)}” failed: {why}" for scene, why in self.failures]
        self.summary.setText(" · ".join(parts))
        self.gallery_button.setEnabled(made > 0)
        self.folder_button.setEnabled(made > 0)

    def show_all(self) -> None:
        if self.records:
            self.show_in_gallery.emit([r.id for r in self.records], "Product scenes")

    def _show_one(self, item: QListWidgetItem) -> None:
        self.show_in_gallery.emit([int(item.data(_ID_ROLE))], "Product scene")

    def folder(self) -> Path | None:
        return self.records[-1].path.parent if self.records else None

    def open_folder(self) -> bool:
        folder = self.folder()
        return folder is not None and QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def _thumbnail(path: Path) -> QIcon:
    try:
        with Image.open(path) as image:
            image.thumbnail((THUMB_PX, THUMB_PX))
            return QIcon(QPixmap.fromImage(pil_to_qimage(image.convert("RGB"))))
    except OSError:
        return QIcon()  # the file went away meanwhile: the caption still names the scene
