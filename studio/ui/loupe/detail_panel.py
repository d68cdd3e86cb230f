"""The loupe: one image large, how it was made, and the actions to iterate on it.

The panel shows; `RecordActions` acts. The panel follows the library through a
`LibraryNotifier`: a new favourite mark shows, a deleted image clears it, and a library
switch empties it, whoever made the change.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backends.types import TaskInfo
from studio.library import ImageRecord, Library
from studio.library.notifier import LibraryNotifier, notifier_for
from studio.ui.flow_layout import FlowLayout
from studio.ui.loupe.image_view import ImageView
from studio.ui.loupe.record_actions import DEFAULT_VARIATIONS, RecordActions, export_record
from studio.ui.loupe.record_info import RecordInfo, muted

__all__ = ["DEFAULT_VARIATIONS", "EMPTY_TEXT", "DetailPanel", "export_record"]

EMPTY_TEXT = "Select an image to see how it was made"


class DetailPanel(QWidget):
    """Shows one ImageRecord: the image, its parameters, timings and cost, and its actions."""

    reuse_requested = Signal(object)  # ImageRecord: load all its settings
    keep_seed_requested = Signal(object)  # ImageRecord: its seed, with a new prompt
    variations_requested = Signal(object, int)  # ImageRecord, how many seed variations
    init_image_requested = Signal(object)  # ImageRecord: use as img2img init image
    task_requested = Signal(object, str)  # ImageRecord, task name
    edit_requested = Signal(object, str)  # ImageRecord, instruction
    exported = Signal(object, object)  # ImageRecord, Path written
    copied = Signal(int)  # images put on the clipboard

    def __init__(self, library: Library | LibraryNotifier,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.notifier = notifier_for(library, self)
        self.image_view = ImageView()
        self.image_actions = RecordActions(self.notifier, self.image_view, self)
        for name in ("reuse_requested", "keep_seed_requested", "variations_requested",
                     "init_image_requested", "task_requested", "edit_requested", "exported",
                     "copied"):
            getattr(self.image_actions, name).connect(getattr(self, name))
        # Delete and Ctrl+C work wherever the focus is inside the panel.
        self.addAction(self.image_actions.delete_action)
        self.addAction(self.image_actions.copy_action)
        self._build_ui()
        self.notifier.changed.connect(self._on_changed)
        self.notifier.removed.connect(self._on_removed)
        self.notifier.switched.connect(self.set_library)
        self.show_record(None)

    # --- public -------------------------------------------------------------------------

    @property
    def record(self) -> ImageRecord | None:
        return self.image_actions.record

    @property
    def library(self) -> Library:
        return self.notifier.library

    def set_library(self, library: Library) -> None:
        """The notifier switched libraries (a new folder in Settings): ids of the old one
        mean nothing now."""
        self.show_record(None)

    def show_record(self, record: ImageRecord | None) -> None:
        self.image_actions.set_record(record)
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

    def record_actions(self) -> list[QAction]:
        return self.image_actions.record_actions()

    def context_actions(self) -> list[QAction]:
        """The actions in menu order, separators included, for a gallery's context menu."""
        return self.image_actions.context_actions()

    def set_tasks(self, title: str, tasks: list[TaskInfo]) -> None:
        """The tasks the image's menu offers (the current backend's edits, upscales…)."""
        self.image_actions.set_tasks(title, tasks)

    def set_edit_support(self, available: bool, note: str = "") -> None:
        """Whether "Edit with words…" is offered, and what it says (see RecordActions)."""
        self.image_actions.set_edit_support(available, note)

    @property
    def value_labels(self) -> dict[str, QLabel]:
        return self.info.value_labels

    @property
    def variation_count(self) -> int:
        return self.image_actions.variations_box.value()

    def set_variation_count(self, count: int) -> None:
        self.image_actions.variations_box.setValue(count)

    # --- following the library ----------------------------------------------------------

    def _on_changed(self, record: ImageRecord) -> None:
        shown = self.record
        if shown is not None and shown.id == record.id:
            self.show_record(record)

    def _on_removed(self, image_ids: list[int]) -> None:
        shown = self.record
        if shown is not None and shown.id in image_ids:
            self.show_record(None)

    # --- building -----------------------------------------------------------------------

    def _build_ui(self) -> None:
        self._stack = QStackedWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)

        self._empty = muted(QLabel(EMPTY_TEXT))
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._stack.addWidget(self._empty)

        self.image_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.image_view.addActions(self.image_actions.context_actions())

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
        actions = self.image_actions
        iterate = FlowLayout()
        for action in (actions.reuse_action, actions.keep_seed_action):
            iterate.addWidget(_button(action))
        variations = QWidget()  # the button and its count wrap as one
        pair = QHBoxLayout(variations)
        pair.setContentsMargins(0, 0, 0, 0)
        pair.setSpacing(2)
        pair.addWidget(_button(actions.variations_action))
        pair.addWidget(actions.variations_box)
        iterate.addWidget(variations)
        iterate.addWidget(_button(actions.init_image_action))
        iterate.addWidget(_button(actions.edit_action))
        column.addLayout(iterate)
        files = FlowLayout()
        for action in (actions.favourite_action, actions.copy_action, actions.export_action,
                       actions.open_folder_action, actions.delete_action):
            files.addWidget(_button(action))
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


def _button(action: QAction) -> QToolButton:
    button = QToolButton()
    button.setDefaultAction(action)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    button.setAutoRaise(True)
    return button
