"""The Settings dialog: sections on the left, one page each on the right, OK / Cancel / Apply.

It edits a copy and hands the result to the SettingsStore, which saves it and emits
`changed`; everyone who cares (backends, library, status bar) reacts from there, so nothing
needs a restart. It is safe to keep open beside the main window (`show()`/`open()`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.backend_kinds import test_connection
from studio.settings.store import SettingsStore
from studio.settings.values import Settings
from studio.ui.settings.aws_pages import BedrockPage, SageMakerPage
from studio.ui.settings.connection import TestConnection
from studio.ui.settings.cost_page import CostsPage
from studio.ui.settings.form import ERROR_COLOR, SettingsPage
from studio.ui.settings.pages import GenerationPage, LibraryPage, LocalPage


def default_test_connection(settings: Settings) -> str:
    """Build the backend `settings` select and ask it to prove it can be reached.

    Runs on the dialog's worker thread; whatever it raises is shown as the answer.
    """
    return test_connection(settings)


class SettingsDialog(QDialog):
    def __init__(self, store: SettingsStore, test_connection: TestConnection | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(820, 580)
        self._store = store
        self._loaded = store.settings
        test = test_connection or default_test_connection

        self.generation_page = GenerationPage()
        self.local_page = LocalPage()
        self.sagemaker_page = SageMakerPage(test, lambda: self._store.settings)
        self.bedrock_page = BedrockPage(test, lambda: self._store.settings)
        self.library_page = LibraryPage()
        self.costs_page = CostsPage()
        # Generation comes first: the backend it picks decides what the others require.
        self.pages: tuple[SettingsPage, ...] = (self.generation_page, self.local_page,
                                                self.sagemaker_page, self.bedrock_page,
                                                self.library_page, self.costs_page)

        self.sections = QListWidget()
        self.sections.setFixedWidth(180)
        self.sections.setSpacing(3)
        self.stack = QStackedWidget()
        for page in self.pages:
            self.sections.addItem(page.title)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(page)
            self.stack.addWidget(scroll)
        self.sections.currentRowChanged.connect(self.stack.setCurrentIndex)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {ERROR_COLOR};")
        self.status.hide()
        Button = QDialogButtonBox.StandardButton
        self.buttons = QDialogButtonBox(Button.Ok | Button.Cancel | Button.Apply)
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(Button.Apply).clicked.connect(self.apply)

        body = QHBoxLayout()
        body.addWidget(self.sections)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

        self._reset()
        self.sections.setCurrentRow(0)

    def page(self, key: str) -> SettingsPage:
        return next(page for page in self.pages if page.key == key)

    def show_page(self, key: str) -> None:
        """Select a section: 'generation', 'local', 'sagemaker', 'bedrock' or 'library'."""
        self.sections.setCurrentRow(self.pages.index(self.page(key)))

    def current_page(self) -> SettingsPage:
        return self.pages[self.stack.currentIndex()]

    def apply(self) -> bool:
        """Validate every page and save; False (with the problems shown) when not saved."""
        self._show_status("")
        edited = self._loaded
        for page in self.pages:
            edited = page.collect(edited)
        broken = [page for page in self.pages if page.has_errors]
        if broken:
            self.show_page(broken[0].key)
            broken[0].focus_first_error()
            self._show_status("Fix the marked fields first: "
                              f"{', '.join(page.title for page in broken)}.")
            return False
        # Only what was edited here is applied, so a change made elsewhere while the dialog
        # was open (the model picker, say) is not silently reverted.
        settings = _merge_edits(self._loaded, edited, self._store.settings)
        try:
            self._store.update(settings)
        except OSError as exc:
            self._show_status(f"Settings could not be saved: {exc.strerror or exc}.")
            return False
        self._load(self._store.settings)
        return True

    def showEvent(self, event: QShowEvent) -> None:
        # Reopening shows what is saved now: edits left by Cancel are gone.
        if not event.spontaneous():
            self._reset()
        super().showEvent(event)

    def _ok(self) -> None:
        if self.apply():
            self.accept()

    def _reset(self) -> None:
        self._load(self._store.settings)
        for page in self.pages:
            page.form.clear_errors()
        for page in (self.sagemaker_page, self.bedrock_page):
            page.tester.reset()
        self._show_status("")

    def _load(self, settings: Settings) -> None:
        self._loaded = settings
        for page in self.pages:
            page.load(settings)

    def _show_status(self, message: str) -> None:
        self.status.setText(message)
        self.status.setVisible(bool(message))


def _merge_edits(loaded: Any, edited: Any, current: Any) -> Any:
    """`current`, with every field that differs between `loaded` and `edited` taken from
    `edited`; nested settings sections are merged field by field."""
    changes: dict[str, Any] = {}
    for item in dataclasses.fields(loaded):
        before, after, now = (getattr(x, item.name) for x in (loaded, edited, current))
        if dataclasses.is_dataclass(before):
            merged = _merge_edits(before, after, now)
            if merged != now:
                changes[item.name] = merged
        elif after != before:
            changes[item.name] = after
    return dataclasses.replace(current, **changes) if changes else current
