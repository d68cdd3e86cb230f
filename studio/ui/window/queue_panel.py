"""The visible queue: one row per job with its progress, step preview and a cancel button."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backends.types import Progress
from studio.formatting import format_usd
from studio.generation.job_queue import Job, JobQueue
from studio.ui.elided_label import ElidedLabel
from studio.ui.qt_images import pil_to_qimage

DONE_ROW_LINGER_MS = 1500


class StatusLine(QLabel):
    """A row's status on one line, cut to the row's width, so a long message (a failure, a
    download) neither widens the column nor pushes the parameters out of view; the whole
    text is its tooltip (and a failure's is also in the window's message)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                                      max(self.width(), 40)))


class JobRow(QWidget):
    cancel_clicked = Signal(int)
    dismissed = Signal(int)

    def __init__(self, job: Job, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job_id = job.id
        self.preview = QLabel()
        self.preview.setFixedSize(40, 40)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # One line, cut to the column's width: a long prompt must not widen the column.
        self.title = ElidedLabel(f"#{job.id} {job.summary}", mode=Qt.TextElideMode.ElideRight)
        self.title.setToolTip(job.request.prompt)
        self.status = StatusLine(f"Queued · estimate {format_usd(job.estimate.usd)}")
        self.bar = QProgressBar(textVisible=False, maximumHeight=6, maximum=0)
        self.cancel_button = QToolButton(text="✕")
        self.cancel_button.setToolTip("Cancel this job")
        self.cancel_button.clicked.connect(self._on_cancel)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title)
        text.addWidget(self.bar)
        text.addWidget(self.status)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.preview)
        layout.addLayout(text, 1)
        layout.addWidget(self.cancel_button, alignment=Qt.AlignmentFlag.AlignTop)
        self.state = "queued"
        self.failed_at = 0.0

    def show_progress(self, event: Progress) -> None:
        self.state = "running"
        if event.phase == "denoise" and event.total:
            self.bar.setMaximum(event.total)
            self.bar.setValue(event.step)
        elif event.phase == "download" and event.total:
            self.bar.setMaximum(event.total)
            self.bar.setValue(event.step)
        else:
            self.bar.setMaximum(0)  # busy: loading a model has no steps to count
        self.status.setText(event.message or event.phase)
        if event.preview is not None:
            pixmap = QPixmap.fromImage(pil_to_qimage(event.preview))
            self.preview.setPixmap(pixmap.scaled(40, 40, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation))

    def show_started(self) -> None:
        self.state = "running"
        self.status.setText("Starting…")

    def show_failed(self, message: str) -> None:
        self.state = "failed"
        self.failed_at = time.perf_counter()
        self.bar.setMaximum(1)
        self.bar.setValue(0)
        self.status.setText(f"⚠ {message}")
        self.status.setStyleSheet("color: #d9534f")
        self.cancel_button.setToolTip("Dismiss")

    def _on_cancel(self) -> None:
        if self.state == "failed":
            self.dismissed.emit(self.job_id)
        else:
            self.status.setText("Cancelling…")
            self.cancel_clicked.emit(self.job_id)


class QueuePanel(QWidget):
    """Rows appear when a job is queued and leave when it ends; failures stay until dismissed."""

    def __init__(self, jobs: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.rows: dict[int, JobRow] = {}
        self.header = QLabel()
        self.cancel_all_button = QPushButton("Cancel all")
        self.cancel_all_button.clicked.connect(jobs.cancel_all)
        header = QHBoxLayout()
        header.addWidget(self.header, 1)
        header.addWidget(self.cancel_all_button)
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setSpacing(0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addLayout(self.rows_layout)
        jobs.queued.connect(self._on_queued)
        jobs.started.connect(lambda job: self._row(job) and self._row(job).show_started())
        jobs.progress.connect(self._on_progress)
        jobs.finished.connect(lambda job, result, records: self._finish(job.id))
        jobs.finished.connect(self._dismiss_fixed_failures)
        jobs.cancelled.connect(lambda job: self._finish(job.id))
        jobs.failed.connect(self._on_failed)
        self._update_header()

    def _row(self, job: Job) -> JobRow | None:
        return self.rows.get(job.id)

    def _on_queued(self, job: Job) -> None:
        row = JobRow(job)
        row.cancel_clicked.connect(self.jobs.cancel)
        row.dismissed.connect(self._remove)
        self.rows[job.id] = row
        self.rows_layout.addWidget(row)
        self._update_header()

    def _on_progress(self, job: Job, event: Progress) -> None:
        row = self._row(job)
        if row is not None:
            row.show_progress(event)

    def _on_failed(self, job: Job, message: str) -> None:
        row = self._row(job)
        if row is not None:
            row.show_failed(message)
        self._update_header()

    def _finish(self, job_id: int) -> None:
        row = self.rows.get(job_id)
        if row is None:
            return
        row.state = "done"
        row.cancel_button.setEnabled(False)
        row.bar.setMaximum(1)
        row.bar.setValue(1)
        # The panel as context: the timer dies with it if the window closes first.
        QTimer.singleShot(DONE_ROW_LINGER_MS, self, lambda: self._remove(job_id))
        self._update_header()

    def _dismiss_fixed_failures(self, job: Job, *_: object) -> None:
        """A run submitted after a failure succeeded: the failure was fixed, its row goes."""
        for row in list(self.rows.values()):
            if row.state == "failed" and row.failed_at < job.submitted_at:
                self._remove(row.job_id)

    def _remove(self, job_id: int) -> None:
        row = self.rows.pop(job_id, None)
        if row is not None:
            row.setParent(None)
            row.deleteLater()
        self._update_header()

    def active_count(self) -> int:
        return sum(1 for row in self.rows.values() if row.state in ("queued", "running"))

    def _update_header(self) -> None:
        active = self.active_count()
        self.header.setText(f"<b>Queue</b> · {active} active" if active else "<b>Queue</b> · idle")
        self.cancel_all_button.setEnabled(active > 0)
