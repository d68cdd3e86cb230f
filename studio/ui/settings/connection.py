"""The "Test connection" row: runs the injected check on a worker thread, so a slow or stuck
network call can never freeze the dialog, and shows its answer in place."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from studio.settings.values import Settings
from studio.ui.settings.form import ERROR_COLOR

TestConnection = Callable[[Settings], str]
OK_COLOR = "#2e7d32"


class ConnectionTester(QWidget):
    """A button, a busy bar and a result line.

    `settings_source` returns the settings to test, or None when the page has errors to fix
    first (the page shows them). Each run has a number: an answer that arrives after a
    timeout or a reset belongs to an abandoned run and is dropped.
    """

    timeout_s = 60.0
    _answered = Signal(int, bool, str)  # run, ok, message; emitted from the worker thread

    def __init__(self, test: TestConnection, settings_source: Callable[[], Settings | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._test = test
        self._settings_source = settings_source
        self._run = 0
        self._running = False

        self.button = QPushButton("Test connection")
        self.button.setAutoDefault(False)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: the check gives no progress
        self.busy.setTextVisible(False)
        self.busy.setMaximumWidth(120)
        self.busy.hide()
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.hide()

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(self.busy)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.result)

        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(self._on_timeout)
        self.button.clicked.connect(self.start)
        self._answered.connect(self._on_answer)

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        if self._running:
            return
        settings = self._settings_source()
        if settings is None:
            self._show("Fix the fields marked above, then test again.", ok=False)
            return
        self._run += 1
        self._running = True
        self.button.setEnabled(False)
        self.busy.show()
        self._show("Testing the connection…", ok=None)
        self._deadline.start(int(self.timeout_s * 1000))
        threading.Thread(target=self._work, args=(self._run, settings),
                         name="studio-test-connection", daemon=True).start()

    def reset(self) -> None:
        """Forget any run in flight and clear the answer (the dialog is being reopened)."""
        self._run += 1
        self._finish()
        self.result.clear()
        self.result.hide()

    def _work(self, run: int, settings: Settings) -> None:
        try:
            ok, message = True, str(self._test(settings))
        except Exception as exc:  # any failure is an answer to show, not a crash
            ok, message = False, str(exc) or type(exc).__name__
        try:
            self._answered.emit(run, ok, message)
        except RuntimeError:
            pass  # the dialog was destroyed while the check ran

    def _on_answer(self, run: int, ok: bool, message: str) -> None:
        if run != self._run:
            return
        self._finish()
        self._show(message, ok=ok)

    def _on_timeout(self) -> None:
        self._run += 1
        self._finish()
        self._show(f"No answer after {self.timeout_s:g} seconds. Check the endpoint URL, "
                   "region and network, then test again.", ok=False)

    def _finish(self) -> None:
        self._deadline.stop()
        self._running = False
        self.button.setEnabled(True)
        self.busy.hide()

    def _show(self, message: str, *, ok: bool | None) -> None:
        color = {True: OK_COLOR, False: ERROR_COLOR}.get(ok) if ok is not None else None
        self.result.setStyleSheet(f"color: {color};" if color else "")
        self.result.setText(message)
        self.result.show()
