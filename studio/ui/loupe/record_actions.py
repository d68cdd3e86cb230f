"""What the loupe can do with the image it shows: iterate on it, mark it, copy, export, delete.

The actions change the library only for what is the image's own business (favourite,
delete); the library announces the change and every pane, this one included, updates from
that announcement. Everything that starts a generation is a signal the main window turns
into a request, so the actions never know about the job queue or a backend.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, QUrl, Signal, SignalInstance
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QSpinBox, QWidget

from backends.types import MAX_COUNT, TaskInfo
from studio.atomic import write_bytes_atomic
from studio.library import ImageRecord, LibraryError
from studio.library.notifier import LibraryNotifier
from studio.ui.gallery.transfer import image_mime_data
from studio.ui.loupe import record_text
from studio.ui.loupe.edit_dialog import EditDialog
from studio.ui.loupe.image_view import ImageView

log = logging.getLogger(__name__)

DEFAULT_VARIATIONS = 4
EDIT_TIP = "Change this image by an instruction, e.g. “make the background marble”"


def export_record(record: ImageRecord, target: Path) -> Path:
    """Copy the image's PNG, metadata chunks and all, to `target` (made a .png) atomically."""
    if target.suffix.lower() != ".png":
        target = target.with_name(target.name + ".png")
    write_bytes_atomic(target, record.path.read_bytes())
    return target


class RecordActions(QObject):
    """The loupe's actions on one ImageRecord, as QActions for buttons and menus."""

    reuse_requested = Signal(object)  # ImageRecord: load all its settings
    keep_seed_requested = Signal(object)  # ImageRecord: its seed, with a new prompt
    variations_requested = Signal(object, int)  # ImageRecord, how many seed variations
    init_image_requested = Signal(object)  # ImageRecord: use as img2img init image
    task_requested = Signal(object, str)  # ImageRecord, task name: run a task on it
    edit_requested = Signal(object, str)  # ImageRecord, instruction: edit it by words
    exported = Signal(object, object)  # ImageRecord, Path written
    copied = Signal(int)  # images put on the clipboard (Ctrl+C or Copy image)

    def __init__(self, notifier: LibraryNotifier, image_view: ImageView,
                 window: QWidget) -> None:
        super().__init__(window)
        self._notifier = notifier
        self._image_view = image_view
        self._window = window  # what dialogs and messages are shown over
        self._record: ImageRecord | None = None
        self._export_dir: Path | None = None
        self._edit_available = False
        self._edit_note = ""
        self.edit_dialog: EditDialog | None = None
        self.variations_box = QSpinBox()
        self.variations_box.setRange(1, MAX_COUNT)
        self.variations_box.setValue(DEFAULT_VARIATIONS)
        self.variations_box.setPrefix("× ")
        self.variations_box.setToolTip("How many seed variations to make")
        self._build()
        self.set_record(None)

    @property
    def record(self) -> ImageRecord | None:
        return self._record

    def set_record(self, record: ImageRecord | None) -> None:
        self._record = record
        for action in self.record_actions():
            action.setEnabled(record is not None)
        self.variations_box.setEnabled(record is not None)
        self.task_menu_action.setEnabled(record is not None)
        self.edit_action.setEnabled(record is not None and self._edit_available)
        if record is not None:
            self.show_favourite(record.favourite)

    def set_edit_support(self, available: bool, note: str = "") -> None:
        """Whether the current backend edits by words. Not available: `note` says why (the
        greyed action's tooltip). Available: `note`, if any, warns in the dialog (a model
        that will refuse)."""
        self._edit_available = available
        self._edit_note = note
        self.edit_action.setEnabled(self._record is not None and available)
        tip = EDIT_TIP if available else note
        self.edit_action.setToolTip(tip)
        self.edit_action.setStatusTip(tip)

    def record_actions(self) -> list[QAction]:
        return [
            self.reuse_action, self.keep_seed_action, self.variations_action,
            self.init_image_action, self.favourite_action, self.copy_action,
            self.export_action, self.open_folder_action, self.delete_action,
        ]

    def context_actions(self) -> list[QAction]:
        """The actions in menu order, separators included."""
        return list(self._menu_actions)

    def set_tasks(self, title: str, tasks: list[TaskInfo]) -> None:
        """The tasks the current backend can run on an image, as a submenu titled `title`;
        none hides it."""
        self.task_menu.clear()
        self.task_menu.setTitle(title)
        for task in tasks:
            action = self.task_menu.addAction(task.label[:1].upper() + task.label[1:])
            action.setToolTip(task.description)
            action.setStatusTip(task.description)
            action.setData(task.name)
            action.triggered.connect(lambda _=False, name=task.name: self._request_task(name))
        # Hiding an action disables it (so Qt ignores it); showing it again does not.
        self.task_menu_action.setVisible(bool(tasks))
        self.task_menu_action.setEnabled(self._record is not None)

    def task_actions(self) -> list[QAction]:
        return self.task_menu.actions()

    def show_favourite(self, favourite: bool) -> None:
        self.favourite_action.blockSignals(True)
        self.favourite_action.setChecked(favourite)
        self.favourite_action.blockSignals(False)
        self.favourite_action.setText("★ Favourite" if favourite else "☆ Favourite")

    # --- building -----------------------------------------------------------------------

    def _action(self, text: str, tip: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _build(self) -> None:
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
        self.edit_action = self._action("Edit with words…", EDIT_TIP, self.ask_edit)
        self.edit_action.setEnabled(False)
        self.task_menu = QMenu("Task", self._window)
        self.task_menu.setToolTipsVisible(True)
        self.task_menu_action = self.task_menu.menuAction()
        self.task_menu_action.setVisible(False)
        self.favourite_action = self._action(
            "Favourite", "Mark or unmark this image as a favourite", self.toggle_favourite)
        self.favourite_action.setCheckable(True)
        self.copy_action = self._action(
            "Copy image", "Copy the image to the clipboard: the file and its full-size "
            "pixels (Ctrl+C)", self.copy_image)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.export_action = self._action(
            "Export…", "Save a copy of the PNG, with its generation settings", self.export)
        self.open_folder_action = self._action(
            "Open folder", "Show the folder that holds this image", self.open_folder)
        self.delete_action = self._action(
            "Delete…", "Delete this image and its file from the library", self.delete)
        self.delete_action.setShortcut(Qt.Key.Key_Delete)
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

        separators = []
        for _ in range(2):
            separator = QAction(self)
            separator.setSeparator(True)
            separators.append(separator)
        self._menu_actions = [
            self.reuse_action, self.keep_seed_action, self.variations_action,
            self.init_image_action, self.edit_action, self.task_menu_action, separators[0],
            self.favourite_action, self.copy_action, self.export_action,
            self.open_folder_action, separators[1], self.delete_action,
        ]

    # --- actions ------------------------------------------------------------------------

    def _emit_with_record(self, signal: SignalInstance) -> None:
        if self._record is not None:
            signal.emit(self._record)

    def _request_task(self, name: str) -> None:
        if self._record is not None:
            self.task_requested.emit(self._record, name)

    def ask_edit(self) -> EditDialog | None:
        """Ask for the instruction (window-modal, not blocking); OK emits edit_requested."""
        record = self._record
        if record is None or not self._edit_available:
            return None
        if self.edit_dialog is not None:
            self.edit_dialog.close()
            self.edit_dialog.deleteLater()
        dialog = EditDialog(record.path.name, self._edit_note, self._window)
        dialog.accepted.connect(
            lambda: self.edit_requested.emit(record, dialog.instruction()))
        self.edit_dialog = dialog
        dialog.open()
        return dialog

    def _request_variations(self) -> None:
        if self._record is not None:
            self.variations_requested.emit(self._record, self.variations_box.value())

    def toggle_favourite(self) -> None:
        record = self._record
        if record is None:
            return
        wanted = self.favourite_action.isChecked()
        try:
            found = self._notifier.library.set_favourite(record.id, wanted)
        except LibraryError as exc:
            log.warning("favourite failed for image %s", record.id, exc_info=True)
            self.show_favourite(record.favourite)
            self._show_error("Could not change the favourite", str(exc))
            return
        if not found:
            self.show_favourite(record.favourite)
            self._show_error("Image not found", "This image is no longer in the library.")
        # Found: the library's `changed` brings the stored record to every pane.

    def delete(self) -> None:
        record = self._record
        if record is None or not self._confirm_delete(record):
            return
        try:
            self._notifier.library.delete(record.id)
        except LibraryError as exc:
            log.warning("delete failed for image %s", record.id, exc_info=True)
            self._show_error("Could not delete the image", str(exc))
        # Deleted: the library's `removed` takes it off every pane.

    def copy_image(self) -> None:
        """The image on the clipboard as the gallery's Ctrl+C puts it: the file for file
        managers and browsers, the full-size pixels for editors and chats."""
        record = self._record
        if record is None:
            return
        mime = image_mime_data([record])
        if mime is None:
            self._show_error("Could not copy the image",
                             f"{record.path}: the file is missing or not a file.")
            return
        QGuiApplication.clipboard().setMimeData(mime)
        self.copied.emit(1)

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
            self._window, "Delete image",
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
            self._window, "Export image", str(folder / record_text.suggested_filename(record)),
            "PNG image (*.png)",
        )
        return Path(name) if name else None

    def _open_url(self, url: QUrl) -> bool:
        return QDesktopServices.openUrl(url)

    def _show_error(self, title: str, text: str) -> None:
        # open(), not exec(): the message never starts a nested loop or blocks a caller.
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self._window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

