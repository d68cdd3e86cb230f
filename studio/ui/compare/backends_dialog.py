""""Compare backends…": the current prompt on two to four backends, then side by side.

Each chosen backend gets the same request (same seed) through the job queue, so every run
is recorded in history with its estimate, and the budget cap applies. When all have
answered, the results open in the compare view, where the fastest and cheapest are marked.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from backends.errors import BackendError
from backends.types import GenerationRequest
from studio.backend_kinds import KINDS, label_of, request_model
from studio.context import StudioContext
from studio.costs.budget import BudgetExceeded
from studio.formatting import format_usd
from studio.ui.compare.view import MAX_RECORDS, MIN_RECORDS, CompareDialog


class CompareBackendsDialog(QDialog):
    compared = Signal(object)  # the CompareDialog it opened

    def __init__(self, context: StudioContext, request: GenerationRequest,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare backends")
        self.context = context
        self.request = request.with_resolved_seed()
        self.checks: dict[str, QCheckBox] = {}
        self.compare_dialog: CompareDialog | None = None
        self._jobs: dict[int, str] = {}
        self._records: dict[str, object] = {}
        self._failures: dict[str, str] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Run “{self.request.prompt[:60]}” (seed {self.request.seed}) "
                                "on each chosen backend, then compare them side by side."))
        current = context.settings.settings.backend
        for name, row in KINDS.items():
            box = QCheckBox(self._describe(name))
            available = self._available(name)
            box.setEnabled(available)
            # The chosen backend, plus this machine's (free) one to compare it with.
            box.setChecked(available and (name == current or row.capabilities.one_at_a_time))
            self.checks[name] = box
            layout.addWidget(box)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        Button = QDialogButtonBox.StandardButton
        self.buttons = QDialogButtonBox(Button.Ok | Button.Cancel)
        self.buttons.button(Button.Ok).setText("Run and compare")
        self.buttons.accepted.connect(self.run)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        context.jobs.finished.connect(self._on_finished)
        context.jobs.failed.connect(self._on_failed)
        context.jobs.cancelled.connect(lambda job: self._on_failed(job, "cancelled"))

    def chosen(self) -> list[str]:
        return [name for name, box in self.checks.items() if box.isChecked()]

    def run(self) -> bool:
        names = self.chosen()
        if not MIN_RECORDS <= len(names) <= MAX_RECORDS:
            self.status.setText(f"Choose {MIN_RECORDS} to {MAX_RECORDS} backends.")
            return False
        total = 0.0
        for name in names:
            try:
                backend = self.context.backends.get(name)
                request = self._request_for(name)
                job = self.context.jobs.submit(request, backend)
            except (BackendError, BudgetExceeded) as exc:
                self.status.setText(f"{label_of(name)}: {exc}")
                for job_id in self._jobs:
                    self.context.jobs.cancel(job_id)
                self._jobs.clear()
                return False
            self._jobs[job.id] = name
            total += job.estimate.usd
        self.status.setText(f"Running on {len(names)} backends (estimated {format_usd(total)}) …")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        return True

    def _request_for(self, name: str) -> GenerationRequest:
        settings = self.context.settings.settings.replace(backend=name)
        # LoRAs apply where the backend can load them; elsewhere the prompt runs without,
        # as steps and sampler are ignored where they mean nothing.
        loras = self.request.loras if KINDS[name].capabilities.loras else ()
        return self.request.replace(model=request_model(settings), loras=loras)

    def _describe(self, name: str) -> str:
        row = KINDS[name]
        return f"{row.label} ({row.target_text(self.context.settings.settings)})"

    def _available(self, name: str) -> bool:
        try:
            return self.context.backends.get(name).describe().available
        except BackendError:
            return False

    def _on_finished(self, job, result, records) -> None:
        name = self._jobs.get(job.id)
        if name is not None and records:
            self._records[name] = records[0]
            self._maybe_done()

    def _on_failed(self, job, message: str) -> None:
        name = self._jobs.get(job.id)
        if name is not None:
            self._failures[name] = message
            self._maybe_done()

    def _maybe_done(self) -> None:
        if len(self._records) + len(self._failures) < len(self._jobs):
            return
        problems = "; ".join(f"{label_of(n)}: {m}" for n, m in self._failures.items())
        records = [self._records[n] for n in self._jobs.values() if n in self._records]
        if len(records) < MIN_RECORDS:
            self.status.setText(f"Not enough results to compare. {problems}")
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
            self._jobs.clear()
            self._records.clear()
            self._failures.clear()
            return
        self.compare_dialog = CompareDialog(self.parentWidget(), records)
        self.compare_dialog.show()
        self.compared.emit(self.compare_dialog)
        self.status.setText(problems)
        self.accept()
