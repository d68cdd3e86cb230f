"""The banner that tells a new user what to do before the first image can be made."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from backends.types import BackendInfo
from studio.backend_kinds import KINDS, kind
from studio.settings.values import Settings


def first_run_message(settings: Settings, info: BackendInfo) -> str:
    """What stands between the user and a first image, or "" when nothing does."""
    row = kind(settings.backend)
    if not info.available:
        others = [other.label for other in KINDS.values() if other is not row]
        if row.capabilities.one_at_a_time and others:  # this machine can't: the cloud can
            return f"{info.detail} Or switch to {' or '.join(others)} in Settings."
        return info.detail
    return row.setup_problem(settings)


def first_run_page(settings: Settings, info: BackendInfo) -> str:
    """The Settings page that fixes what the banner says: where the backend is chosen when
    the banner suggests switching to another, else the chosen backend's own page."""
    row = kind(settings.backend)
    if not info.available and row.capabilities.one_at_a_time and len(KINDS) > 1:
        return "generation"
    return row.name


class FirstRunBanner(QFrame):
    settings_requested = Signal(str)  # the key of the Settings page to open

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("FirstRunBanner { background: palette(alternate-base); }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.button = QPushButton("Open Settings…")
        self.page = "generation"
        self.button.clicked.connect(lambda: self.settings_requested.emit(self.page))
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.setVisible(False)

    def update_for(self, settings: Settings, info: BackendInfo) -> None:
        message = first_run_message(settings, info)
        self.page = first_run_page(settings, info)
        self.label.setText(message)
        self.setVisible(bool(message))
