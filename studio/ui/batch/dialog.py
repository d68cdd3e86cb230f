"""The batch dialog: catalog, columns, template, axes, preset, preview, estimate, then a run
with progress, pause, resume and cancel. All the work is the core's (studio.batch), and
every image goes through the app's generation loop, so the daily cap, the session totals
and the gallery (through the library's notifications) see batch images like any other;
this only collects the choices and shows the events.

Model, size and steps are shown and editable (`generation_fields.py`), starting from the main
panel's values. Pause and Cancel answer at once: the button changes, and the status says
what they wait for (the images in flight) until nothing is."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from backends.errors import BackendError, InvalidRequest
from backends.types import GenerationRequest, random_seed
from studio.backend_kinds import commercial_use_warning, kind
from studio.batch.catalog import load_catalog, parse_mapping
from studio.batch.export import Exporter, check_new_output
from studio.batch.matrix import Axis
from studio.batch.plan import BatchSpec, PreparedBatch, estimate_batch, prepare_batch
from studio.batch.presets import get_preset, marketplace_presets
from studio.batch.runner import BatchEvent, BatchRunner, RunnerConfig, Summary
from studio.batch.signing import load_credentials
from studio.batch.store import BatchStore
from studio.formatting import format_duration, format_usd
from studio.settings.values import settings_from_dict
from studio.ui.batch.generation_fields import GenerationFields, GenerationValues
from studio.ui.batch.results import BatchResults


class _Bridge(QObject):
    event = Signal(object)  # BatchEvent, from the runner's threads
    finished = Signal(object)  # Summary


class BatchDialog(QDialog):
    """`show_in_gallery(ids, label)` asks the gallery to show only those images."""

    show_in_gallery = Signal(list, str)

    def __init__(self, context: Any, parent: QWidget | None = None,
                 store: BatchStore | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch export")
        self.context = context
        self.store = store or BatchStore()
        self.runner: BatchRunner | None = None
        self.summary: Summary | None = None
        self._thread: threading.Thread | None = None
        self._job_id: int | None = None  # the job running or last run
        self._stopping = ""  # "pause" or "cancel" while waiting for images in flight
        # While pausing or cancelling, how many images are still in flight, read twice a second.
        self._waiting = QTimer(self, interval=500)
        self._waiting.timeout.connect(self._show_waiting)
        self._bridge = _Bridge()
        self._bridge.event.connect(self._on_event)
        self._bridge.finished.connect(self._on_finished)

        self.catalog_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        catalog_row = QHBoxLayout()
        catalog_row.addWidget(self.catalog_edit)
        catalog_row.addWidget(browse)
        self.mapping_edit = QLineEdit(placeholderText='sku=Item Code; color=Shade')
        self.columns_label = QLabel("Pick a catalog to see its columns.")
        self.columns_label.setWordWrap(True)
        self.template_edit = QLineEdit(placeholderText="a {color} {title}, product photo")
        self.negative_edit = QLineEdit()
        self.axes_edit = QPlainTextEdit(placeholderText="background=white studio|marble counter")
        self.axes_edit.setMaximumHeight(70)
        self.seeds_spin = QSpinBox(minimum=1, maximum=16, value=1)
        self.generation = GenerationFields()
        self.generation.set_values(GenerationValues.from_settings(self._settings()),
                                   self._settings().backend)
        self.preset_combo = QComboBox()
        self.preset_combo.addItem("Keep the generated size (PNG)", None)
        for preset in marketplace_presets().values():
            self.preset_combo.addItem(preset.label, preset.name)
        self.out_edit = QLineEdit(placeholderText="an empty folder, or a path ending in .zip")
        self.preview_text = QPlainTextEdit(readOnly=True)
        self.results = BatchResults(self.store)
        self.results.show_in_gallery.connect(self.show_in_gallery)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.preview_text, "Preview")
        self.tabs.addTab(self.results, "Results")
        self.progress = QProgressBar()
        self.status = QLabel("")

        form = QFormLayout()
        form.addRow("Catalog", catalog_row)
        form.addRow("Map columns", self.mapping_edit)
        form.addRow("", self.columns_label)
        form.addRow("Prompt template", self.template_edit)
        form.addRow("Negative template", self.negative_edit)
        form.addRow("Axes (one a line)", self.axes_edit)
        form.addRow("Seeds per combination", self.seeds_spin)
        form.addRow("Model · size · steps", self.generation)
        form.addRow("Output preset", self.preset_combo)
        form.addRow("Export to", self.out_edit)

        self.preview_button = QPushButton("Preview")
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel")
        self.preview_button.clicked.connect(self.update_preview)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        for button in (self.preview_button, self.start_button, self.pause_button,
                       self.cancel_button):
            buttons.addWidget(button)
        self.pause_button.setEnabled(False)
        self.cancel_button.setEnabled(False)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    # --- planning -----------------------------------------------------------------------

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Catalog", "",
                                              "Catalogs (*.csv *.txt *.json *.jsonl)")
        if path:
            self.catalog_edit.setText(path)
            self.update_preview()

    def _settings(self) -> Any:
        return self.context.settings.settings

    def panel_values(self, panel: Any) -> GenerationValues:
        """The main window's parameters panel as the batch's starting values."""
        return GenerationValues.from_panel(panel, self._settings())

    def use_main_panel(self, values: GenerationValues) -> None:
        """Start from the main panel's values (when no batch is running)."""
        if self.runner is None:
            self.generation.set_values(values, self._settings().backend)

    def _chosen_settings(self) -> Any:
        """The settings with the model chosen here (for the licence warning)."""
        settings = self._settings()
        model = self.generation.values().model
        return kind(settings.backend).with_model(settings, model) if model else settings

    def spec(self) -> BatchSpec:
        """What the job will store and run, from the fields as they are."""
        settings = self._settings()
        preset_name = self.preset_combo.currentData()
        values = self.generation.values()
        width, height = values.width, values.height
        if preset_name:
            width, height = get_preset(preset_name).generation_size(max(width, height))
        axes = [Axis.parse(line) for line in self.axes_edit.toPlainText().splitlines()
                if line.strip()]
        pairs = [p.strip() for p in self.mapping_edit.text().split(";") if p.strip()]
        return BatchSpec(
            catalog=self.catalog_edit.text().strip(), out=self.out_edit.text().strip(),
            template=self.template_edit.text(), negative=self.negative_edit.text(),
            axes=[(a.name, list(a.values)) for a in axes], seeds=self.seeds_spin.value(),
            base_seed=random_seed(), preset=preset_name, mapping=parse_mapping(pairs),
            request={**values.request_fields(), "width": width, "height": height},
            settings=dataclasses.asdict(settings))

    def _prepare(self) -> PreparedBatch:
        spec = self.spec()
        if not spec.catalog:
            raise InvalidRequest("Pick a catalog first.")
        catalog = load_catalog(Path(spec.catalog), spec.mapping)
        self.columns_label.setText("Columns: " + ", ".join(f"{{{c}}}" for c in catalog.columns))
        preset = get_preset(spec.preset) if spec.preset else None
        return prepare_batch(catalog, spec, preset)

    def update_preview(self) -> PreparedBatch | None:
        try:
            prepared = self._prepare()
            backend = self.context.backends.current()
            request = GenerationRequest(prompt="batch", seed=0, **prepared.spec.request)
            estimate = estimate_batch(backend, request, prepared.items, self.context.library,
                                      prepared.spec.concurrency)
        except (BackendError, ValueError, OSError) as exc:
            self.preview_text.setPlainText(str(exc))
            self.start_button.setEnabled(False)
            return None
        warning = commercial_use_warning(self._chosen_settings())
        size = (request.width, request.height)
        lines = [*([f"⚠ {warning}", ""] if warning else []),
                 self.generation.values().describe(size),
                 f"{prepared.catalog.kind}: {len(prepared.catalog.products)} products",
                 *(f"skipped {p}" for p in prepared.catalog.problems), "",
                 *prepared.preview(), "", estimate.describe()]
        signing = self._settings().content_credentials
        if signing.enabled:
            lines.append(f"Content Credentials: every file signed with {signing.cert_path}")
        self.preview_text.setPlainText("\n".join(lines))
        self.start_button.setEnabled(self.runner is None)
        return prepared

    # --- running ------------------------------------------------------------------------

    def start(self) -> int | None:
        prepared = self.update_preview()
        if prepared is None:
            return None
        spec = prepared.spec
        out = Path(spec.out) if spec.out else None
        try:
            if out is None:
                raise InvalidRequest("Choose where to export (a folder or a .zip).")
            check_new_output(out)
            # Content Credentials from Settings: a key that cannot sign stops here.
            load_credentials(self._settings().content_credentials)
        except BackendError as exc:
            self.status.setText(str(exc))
            return None
        warning = commercial_use_warning(self._chosen_settings())
        if warning and not self._confirm_licence(warning):
            self.status.setText("Not started: the model's licence does not allow commercial "
                                "use. Choose another model in Settings, or start anyway.")
            return None
        job_id = self.store.create_job(spec.catalog, str(out), spec.to_dict(), prepared.items)
        self.run_job(job_id)
        return job_id

    def _confirm_licence(self, warning: str) -> bool:
        """Ask before a batch on a model whose licence forbids commercial use."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Non-commercial model",
                          f"{warning}\n\nStart the batch anyway?", parent=self)
        box.setObjectName("licenceWarning")
        start = box.addButton("Start anyway", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.exec()
        return box.clickedButton() is start

    def run_job(self, job_id: int) -> None:
        """Start (or continue) a stored job in the background."""
        info = self.store.job(job_id)
        spec = BatchSpec.from_dict(info.spec)
        preset = get_preset(spec.preset) if spec.preset else None
        request = GenerationRequest(prompt="batch", seed=spec.base_seed, **spec.request)
        try:  # the job's own settings: signed as it was started
            credentials = load_credentials(settings_from_dict(spec.settings).content_credentials)
        except BackendError as exc:
            self.status.setText(f"Batch job {job_id} not started: {exc}")
            return
        self.runner = BatchRunner(
            self.store, job_id, self.context.backends.current(), self.context.loop,
            request, preset, Exporter(job_id, Path(info.out)),
            RunnerConfig(concurrency=spec.concurrency, retries=spec.retries, c2pa=credentials),
            on_event=self._bridge.event.emit)
        self.progress.setRange(0, info.total)
        self.progress.setValue(info.counts["done"])
        self._stopping = ""
        self.start_button.setEnabled(False)
        self.pause_button.setEnabled(True)
        self.pause_button.setText("Pause")
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.status.setText(f"Batch job {job_id} running…")
        self._job_id = job_id
        self.results.set_job(job_id)
        runner = self.runner

        def work() -> None:
            self._bridge.finished.emit(runner.run())

        self._thread = threading.Thread(target=work, name="batch-dialog", daemon=True)
        self._thread.start()

    def toggle_pause(self) -> None:
        if self.runner is None or self._stopping == "cancel":
            return
        if self.runner.paused:
            self.runner.resume()
            self._stopping = ""
            self._waiting.stop()
            self.pause_button.setText("Pause")
            self.status.setText(f"Batch job {self._job_id} running again…")
        else:
            self.runner.pause()
            self._stopping = "pause"
            self.pause_button.setText("Resume")
            self._show_waiting()
            self._waiting.start()

    def cancel(self) -> None:
        if self.runner is None:
            return
        self.runner.resume()
        self.runner.cancel.cancel()
        if self._stopping != "cancel":
            self._stopping = "cancel"
            self.cancel_button.setEnabled(False)
            self.cancel_button.setText("Cancelling…")
            self.pause_button.setEnabled(False)
            self._show_waiting()
            self._waiting.start()

    def in_flight(self) -> int:
        """Images of this job being generated now (started, not yet recorded)."""
        if self._job_id is None:
            return 0
        try:
            return self.store.job(self._job_id).counts.get("running", 0)
        except (LookupError, OSError, ValueError):
            return 0

    def _show_waiting(self) -> None:
        """What Pause or Cancel is waiting for, until nothing is left in flight."""
        if not self._stopping:
            self._waiting.stop()
            return
        count = self.in_flight()
        doing = "Pausing" if self._stopping == "pause" else "Cancelling"
        if count:
            images = "1 image" if count == 1 else f"{count} images"
            self.status.setText(f"{doing} — waiting for {images} in flight to finish; "
                                "no new image starts.")
        elif self._stopping == "pause":
            self.status.setText("Paused: nothing in flight. Resume to go on, or Cancel.")
            self._waiting.stop()
        else:
            self.status.setText("Cancelling — nothing in flight; finishing up.")

    def _on_event(self, event: BatchEvent) -> None:
        self.progress.setValue(event.done)
        if self.results.job_id() == self._job_id:
            self.results.refresh()
        if self._stopping:  # the status says what Pause or Cancel waits for
            self._show_waiting()
            return
        eta = format_duration(event.eta_s) if event.eta_s is not None else "…"
        self.status.setText(f"{event.done}/{event.total} · {event.failed} failed · "
                            f"{format_usd(event.spent_usd)} · ETA {eta}"
                            + (f"\n{event.message}" if event.kind != "progress" else ""))

    def _on_finished(self, summary: Summary) -> None:
        self.summary = summary
        self.runner = None
        self._stopping = ""
        self._waiting.stop()
        self.cancel_button.setText("Cancel")
        self.results.reload_jobs()
        self.pause_button.setEnabled(False)
        self.pause_button.setText("Pause")
        self.cancel_button.setEnabled(False)
        self.start_button.setEnabled(True)
        if summary.state == "busy":  # another window or `studio batch --resume` holds it
            self.status.setText(f"Batch job {summary.job_id} was not resumed: "
                                f"{summary.message}")
            return
        failures = "".join(f"\nfailed {s} {v}: {r}" for s, v, r in summary.failures[:5])
        if summary.check_failures:
            failures += (f"\n{len(summary.check_failures)} images fail the marketplace checks "
                         "(see the manifest's checks column)")
        self.status.setText(f"Batch job {summary.job_id} {summary.state}: {summary.done}/"
                            f"{summary.total} images, {summary.failed} failed, "
                            f"{format_usd(summary.spent_usd)}{failures}"
                            + (f"\n{summary.message}" if summary.message else ""))

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.cancel()
        self.wait(30)
        super().closeEvent(event)
