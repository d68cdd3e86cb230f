"""The loupe: one image large, how it was made, and the actions to iterate on it.

The panel changes the library only for what is the image's own business (favourite,
delete). Everything that starts a generation is a signal the main window turns into a
request, so the panel never knows about the job queue or a backend.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QUrl, Signal, SignalInstance
from PySide6.QtGui import (
    QAction,
    QDesktopServices,
    QGuiApplication,
    QImage,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backends.types import MAX_COUNT
from studio.atomic import write_bytes_atomic
from studio.library.store import ImageRecord, Library, LibraryError
from studio.ui.flow_layout import FlowLayout
from studio.ui.loupe import record_text
from studio.ui.loupe.image_view import ImageView, read_image
from studio.ui.loupe.record_info import RecordInfo, muted

log = logging.getLogger(__name__)

EMPTY_TEXT = "Select an image to see how it was made"
DEFAULT_VARIATIONS = 4


def export_record(record: ImageRecord, target: Path) -> Path:
    """Copy the image's PNG, metadata chunks and all, to `target` (made a .png) atomically."""
    if target.suffix.lower() != ".png":
        target = target.with_name(target.name + ".png")
    write_bytes_atomic(target, record.path.read_bytes())
    return target


class DetailPanel(QWidget):
    """Shows one ImageRecord: the image, its parameters, timings and cost, and its actions."""

    reuse_requested = Signal(object)  # ImageRecord: load all its settings
    keep_seed_requested = Signal(object)  # ImageRecord: its seed, with a new prompt
    variations_requested = Signal(object, int)  # ImageRecord, how many seed variations
    init_image_requested = Signal(object)  # ImageRecord: use as img2img init image
    record_changed = Signal(object)  # the re-read ImageRecord after a change (favourite)
    record_deleted = Signal(int)  # image id
    exported = Signal(object, object)  # ImageRecord, Path written

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._record: ImageRecord | None = None
        self._export_dir: Path | None = None
        self._build_actions()
        self._build_ui()
        self.show_record(None)

    # --- public -------------------------------------------------------------------------

    @property
    def record(self) -> ImageRecord | None:
        return self._record

    @property
    def library(self) -> Library:
        return self._library

    def set_library(self, library: Library) -> None:
        """Switch libraries (a new folder in Settings); ids of the old one mean nothing now."""
        self._library = library
        self.show_record(None)

    def show_record(self, record: ImageRecord | None) -> None:
        self._record = record
        for action in self.record_actions():
            action.setEnabled(record is not None)
        self._variations.setEnabled(record is not None)
        if record is None:
            self.image_view.clear()
            self._stack.setCurrentWidget(self._empty)
            return
        self._stack.setCurrentWidget(self._content)
        view = self.image_view
        # Same file (a favourite toggled): keep the image and its zoom; else load it afresh.
        if view.path() != record.path or (view.image() is None and not view.is_loading()):
            view.set_path(record.path)
            view.reset_view()
        self.info.show_record(record)
        self._show_favourite(record.favourite)

    def record_actions(self) -> list[QAction]:
        return [
            self.reuse_action, self.keep_seed_action, self.variations_action,
            self.init_image_action, self.favourite_action, self.copy_action,
            self.export_action, self.open_folder_action, self.delete_action,
        ]

    def context_actions(self) -> list[QAction]:
        """The actions in menu order, separators included, for a gallery's context menu."""
        return list(self._menu_actions)

    @property
    def value_labels(self) -> dict[str, QLabel]:
        return self.info.value_labels

    @property
    def variation_count(self) -> int:
        return self._variations.value()

    def set_variation_count(self, count: int) -> None:
        self._variations.setValue(count)

    # --- building -----------------------------------------------------------------------

    def _action(self, text: str, tip: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.reuse_action = self._action(
            "Reuse settings", "Load this image's prompt and every setting, seed included",
            lambda: self._emit_with_record(self.reuse_requested))
        self.keep_seed_action = self._action(
            "Keep seed", "Keep this image's seed and settings; write a new prompt",
            lambda: self._emit_with_record(self.keep_seed_requested))
        self.variations_action = self._action(
            "Seed variations", "Make new images with the same settings and nearby seeds",
            self._request_variations)
        self.init_image_action = self._action(
            "Use as init image", "Start an image-to-image run from this image",
            lambda: self._emit_with_record(self.init_image_requested))
        self.favourite_action = self._action(
            "Favourite", "Mark or unmark this image as a favourite", self._toggle_favourite)
        self.favourite_action.setCheckable(True)
        self.copy_action = self._action(
            "Copy image", "Copy the full-size image to the clipboard", self.copy_image)
        self.export_action = self._action(
            "Export…", "Save a copy of the PNG, with its generation settings", self.export)
        self.open_folder_action = self._action(
            "Open folder", "Show the folder that holds this image", self.open_folder)
        self.delete_action = self._action(
            "Delete…", "Delete this image and its file from the library", self.delete)
        self.delete_action.setShortcut(Qt.Key.Key_Delete)
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(self.delete_action)

        separators = []
        for _ in range(2):
            separator = QAction(self)
            separator.setSeparator(True)
            separators.append(separator)
        self._menu_actions = [
            self.reuse_action, self.keep_seed_action, self.variations_action,
            self.init_image_action, separators[0], self.favourite_action, self.copy_action,
            self.export_action, self.open_folder_action, separators[1], self.delete_action,
        ]

    def _button(self, action: QAction) -> QToolButton:
        button = QToolButton()
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        button.setAutoRaise(True)
        return button

    def _build_ui(self) -> None:
        self._stack = QStackedWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)

        self._empty = muted(QLabel(EMPTY_TEXT))
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._stack.addWidget(self._empty)

        self.image_view = ImageView()
        self.image_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.image_view.addActions(self._menu_actions)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # Text wraps instead: a sideways scroll would hide the end of every prompt.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self._build_info())

        self._splitter = QSplitter(Qt.Orientation.Vertical)
        self._splitter.addWidget(self.image_view)
        self._splitter.addWidget(scroll)
        self._splitter.setStretchFactor(0, 3)
        self._splitter.setStretchFactor(1, 2)
        self._splitter.setChildrenCollapsible(False)
        self._content = self._splitter
        self._stack.addWidget(self._content)

    def _build_info(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(12, 8, 12, 12)
        column.setSpacing(4)

        iterate = FlowLayout()
        for action in (self.reuse_action, self.keep_seed_action):
            iterate.addWidget(self._button(action))
        self._variations = QSpinBox()
        self._variations.setRange(1, MAX_COUNT)
        self._variations.setValue(DEFAULT_VARIATIONS)
        self._variations.setPrefix("× ")
        self._variations.setToolTip("How many seed variations to make")
        variations = QWidget()  # the button and its count wrap as one
        pair = QHBoxLayout(variations)
        pair.setContentsMargins(0, 0, 0, 0)
        pair.setSpacing(2)
        pair.addWidget(self._button(self.variations_action))
        pair.addWidget(self._variations)
        iterate.addWidget(variations)
        iterate.addWidget(self._button(self.init_image_action))
        column.addLayout(iterate)

        files = FlowLayout()
        for action in (self.favourite_action, self.copy_action, self.export_action,
                       self.open_folder_action, self.delete_action):
            files.addWidget(self._button(action))
        column.addLayout(files)

        self.info = RecordInfo()
        column.addWidget(self.info)
        return page

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        # Lightroom-like: a wide panel puts the info beside the image, a tall one below it.
        wide = self.width() > self.height() * 1.3
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if orientation != self._splitter.orientation():
            self._splitter.setOrientation(orientation)
            # Fresh proportions only when the shape flips, so a dragged divider stays put.
            if wide:
                info = min(440, max(320, self.width() // 3))
                self._splitter.setSizes([self.width() - info, info])
            else:
                self._splitter.setSizes([self.height() * 3 // 5, self.height() * 2 // 5])
        super().resizeEvent(event)


    def _show_favourite(self, favourite: bool) -> None:
        self.favourite_action.blockSignals(True)
        self.favourite_action.setChecked(favourite)
        self.favourite_action.blockSignals(False)
        self.favourite_action.setText("★ Favourite" if favourite else "☆ Favourite")

    # --- actions ------------------------------------------------------------------------

    def _emit_with_record(self, signal: SignalInstance) -> None:
        if self._record is not None:
            signal.emit(self._record)

    def _request_variations(self) -> None:
        if self._record is not None:
            self.variations_requested.emit(self._record, self._variations.value())

    def _toggle_favourite(self) -> None:
        record = self._record
        if record is None:
            return
        wanted = self.favourite_action.isChecked()
        try:
            found = self._library.set_favourite(record.id, wanted)
            fresh = self._library.get(record.id) if found else None
        except (OSError, sqlite3.Error, LibraryError) as exc:
            log.exception("favourite failed for image %s", record.id)
            self._show_favourite(record.favourite)
            self._show_error("Could not change the favourite", f"The library said: {exc}")
            return
        if fresh is None:
            self._show_favourite(record.favourite)
            self._show_error("Image not found", "This image is no longer in the library.")
            return
        self._record = fresh
        self._show_favourite(fresh.favourite)
        self.record_changed.emit(fresh)

    def delete(self) -> None:
        record = self._record
        if record is None or not self._confirm_delete(record):
            return
        try:
            self._library.delete(record.id)
        except (OSError, sqlite3.Error, LibraryError) as exc:
            log.exception("delete failed for image %s", record.id)
            self._show_error("Could not delete the image", f"The library said: {exc}")
            return
        # The confirmation runs its own event loop: the panel may show another image by now.
        if self._record is not None and self._record.id == record.id:
            self.show_record(None)
        self.record_deleted.emit(record.id)

    def copy_image(self) -> None:
        record = self._record
        if record is None:
            return
        image = self._full_image(record)
        if image is None:
            return
        QGuiApplication.clipboard().setImage(image)

    def _full_image(self, record: ImageRecord) -> QImage | None:
        view = self.image_view
        shown = view.image()
        if view.path() == record.path and shown is not None and (
            shown.size() == view.original_size()
        ):
            return shown
        image, _, error = read_image(record.path, max_side=None)
        if error:
            self._show_error("Could not copy the image", f"{record.path}: {error}")
            return None
        return image

    def export(self) -> None:
        record = self._record
        if record is None:
            return
        if not record.path.is_file():
            self._show_error("Could not export the image",
                             f"The image file is missing: {record.path}")
            return
        target = self._ask_export_path(record)
        if target is None:
            return
        try:
            written = export_record(record, target)
        except OSError as exc:
            self._show_error("Could not export the image",
                             f"{target} could not be written: {exc.strerror or exc}")
            return
        self._export_dir = written.parent
        self.exported.emit(record, written)

    def open_folder(self) -> None:
        record = self._record
        if record is None:
            return
        folder = record.path.parent
        if not folder.is_dir() or not self._open_url(QUrl.fromLocalFile(str(folder))):
            self._show_error("Could not open the folder", f"{folder} could not be opened.")

    # --- hooks tests replace ------------------------------------------------------------

    def _confirm_delete(self, record: ImageRecord) -> bool:
        answer = QMessageBox.question(
            self, "Delete image",
            f"Delete this image and its file?\n\n{record.path.name}\n\nThis cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _ask_export_path(self, record: ImageRecord) -> Path | None:
        folder = self._export_dir or Path(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
            or Path.home()
        )
        name, _ = QFileDialog.getSaveFileName(
            self, "Export image", str(folder / record_text.suggested_filename(record)),
            "PNG image (*.png)",
        )
        return Path(name) if name else None

    def _open_url(self, url: QUrl) -> bool:
        return QDesktopServices.openUrl(url)

    def _show_error(self, title: str, text: str) -> None:
        # open(), not exec(): the message never starts a nested loop or blocks a caller.
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
