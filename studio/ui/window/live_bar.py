"""Live mode in the window: the *Live* toggle beside Generate, the line that counts what live
mode has made and spent this session, and the rules around them.

The toggle is greyed out, with the reason as its tooltip, on a model that is not few-step.
It starts off, and goes off when the backend switches to one that bills each image; turning
it on there asks once per backend and session. Each live image is a real run: it is kept in
the library like any other (the daily cap, the totals and `studio stats` count it), marked
as live so the grid hides it unless "Hide live" is unticked, and the newest one is shown in
the loupe.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QSignalBlocker
from PySide6.QtWidgets import QBoxLayout, QCheckBox, QLabel, QLayout, QMessageBox, QWidget

from backends.types import Backend, GenerationRequest
from studio.backend_kinds import kind
from studio.context import StudioContext
from studio.formatting import format_usd
from studio.generation.job_queue import Job
from studio.ui.loupe.detail_panel import DetailPanel
from studio.ui.window.generate_column import GenerateColumn
from studio.ui.window.live import LIVE_DELAY_MS, LiveController, SubmitLive
from studio.ui.window.live_support import LiveSupport, live_support

Confirm = Callable[[str], bool]


def ask(parent: QWidget) -> Confirm:
    def confirm(text: str) -> bool:
        answer = QMessageBox.question(
            parent, "Live mode on a billed backend", text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes
    return confirm


class LiveMode(QObject):
    """The toggle and the status line, wired to a `LiveController` on the window's queue.

    `submit` is the window's: it queues a request or says why it cannot, and takes
    `live=True` so the library marks the run as live mode's (the gallery hides those)."""

    def __init__(self, context: StudioContext, column: GenerateColumn, loupe: DetailPanel,
                 submit: SubmitLive, parent: QWidget, *, delay_ms: int = LIVE_DELAY_MS,
                 confirm: Confirm | None = None) -> None:
        super().__init__(parent)
        self.context, self.column = context, column
        self.confirm = confirm or ask(parent)
        self.toggle = QCheckBox("Live")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setVisible(False)
        def live_submit(request: GenerationRequest, backend: Backend) -> Job | None:
            return submit(request, backend, live=True)

        self.controller = LiveController(
            context.jobs, lambda: (column.request(), column.backend()), live_submit,
            delay_ms=delay_ms, parent=self)
        self.support = LiveSupport(False, "", False)
        self._backend = ""
        self._confirmed: set[str] = set()

        _place_beside(column.generate_button, self.toggle, self.status_label)
        self.toggle.toggled.connect(self._on_toggled)
        self.controller.shown.connect(loupe.show_record)
        self.controller.counted.connect(self._show_status)
        for signal in (column.prompt_panel.changed, column.params_panel.changed,
                       column.task_panel.changed):
            signal.connect(self.controller.changed)
        column.params_panel.changed.connect(self.refresh)
        column.task_panel.changed.connect(self.refresh)
        context.settings.changed.connect(self.refresh)
        self.refresh()

    @property
    def on(self) -> bool:
        return self.toggle.isChecked()

    def refresh(self, *_: object) -> None:
        """Follow the backend and the model: what live mode may do with them."""
        settings = self.context.settings.settings
        row = kind(settings.backend)
        params = self.column.params_panel
        task = self.column.task_panel.task()
        self.support = live_support(params.profile, row.capabilities, row.label,
                                    params.steps_spin.optional_value(),
                                    task.label if task is not None else "")
        if settings.backend != self._backend:
            self._backend = settings.backend
            if self.support.billed:
                self._set_checked(False)  # off by default where each image is billed
        self.controller.cancel_stale = not self.support.billed
        self.toggle.setEnabled(self.support.allowed)
        self.toggle.setToolTip(self.support.why)
        if not self.support.allowed:
            self._set_checked(False)
        self._show_status()

    def _on_toggled(self, checked: bool) -> None:
        if checked and self.support.billed and self._backend not in self._confirmed:
            label = kind(self._backend).label
            if not self.confirm(
                    f"Live mode sends a new request to {label} a moment after each change "
                    "you make, and each one is billed. Turn it on?"):
                self._set_checked(False)
                return
            self._confirmed.add(self._backend)
        self.controller.set_enabled(checked)
        self._show_status()

    def _set_checked(self, checked: bool) -> None:
        with QSignalBlocker(self.toggle):
            self.toggle.setChecked(checked)
        self.controller.set_enabled(checked)

    def _show_status(self) -> None:
        controller = self.controller
        shown = self.on or controller.images > 0
        self.status_label.setVisible(shown)
        if not shown:
            return
        images = "1 image" if controller.images == 1 else f"{controller.images} images"
        self.status_label.setText(
            f"Live · {images} · {format_usd(controller.usd)} this session")
        self.status_label.setToolTip(
            "What live mode made and spent since the window opened. Each live image is kept "
            "in the library and counted like any other; the grid hides them unless you untick "
            "“Hide live”.")


def _place_beside(button: QWidget, toggle: QWidget, line: QWidget) -> None:
    """`toggle` in the row that holds `button` (Generate), `line` under that row."""
    root = button.parentWidget().layout()
    found = _find_row(root, button)
    if found is None:  # the button sits in the column itself
        at = root.indexOf(button) + 1 if isinstance(root, QBoxLayout) else -1
        if at <= 0:
            root.addWidget(toggle)
            root.addWidget(line)
            return
        root.insertWidget(at, toggle)
        root.insertWidget(at + 1, line)
        return
    parent, row = found
    row.addWidget(toggle)
    if isinstance(parent, QBoxLayout):
        parent.insertWidget(parent.indexOf(row) + 1, line)
    else:
        row.addWidget(line)


def _find_row(layout: QLayout, widget: QWidget) -> tuple[QLayout, QBoxLayout] | None:
    """(the layout holding the row, the row) for the box layout that directly holds
    `widget`, searched depth-first from `layout`."""
    for index in range(layout.count()):
        child = layout.itemAt(index).layout()
        if child is None:
            continue
        if isinstance(child, QBoxLayout) and child.indexOf(widget) >= 0:
            return layout, child
        found = _find_row(child, widget)
        if found is not None:
            return found
    return None
