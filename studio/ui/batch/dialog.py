"""The batch dialog: catalog, columns, template, axes, preset, preview, estimate, then a run
with progress, pause, resume and cancel. All the work is the core's (studio.batch), and
every image goes through the app's generation loop, so the daily cap, the session totals
and the gallery (through the library's notifications) see batch images like any other;
this only collects the choices and shows the events.

Model, size and steps are shown and editable (`generation_fields.py`), starting from the main
panel's values. Pause and Cancel answer at once: the button changes, and the status says
what they wait for (the images in flight) until nothing is.

On SageMaker the engine is a choice (`engine_fields.py`): the real-time endpoint item by
item, or the asynchronous endpoint through S3 (studio.batch.async_setup checks the bucket and
the endpoint before the job exists; the job keeps its mode, so running it again polls what is
in flight and never submits it twice). Batch Transform runs from the command line only."""

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
from studio.batch.async_setup import (
    ASYNC,
    DEFAULT_POLL_S,
    AsyncSetup,
    async_runner,
    async_settings,
    check_async,
    fleet_line,
    job_mode,
    open_async,
    photos_refusal,
    save_mode,
)
from studio.batch.catalog import load_catalog, parse_mapping
from studio.batch.export import Exporter, check_new_output
from studio.batch.matrix import Axis
from studio.batch.plan import BatchSpec, PreparedBatch, estimate_batch, prepare_batch
from studio.batch.presets import get_preset, marketplace_presets
from studio.batch.products import product_photo_column
from studio.batch.runner import BatchEvent, BatchRunner, RunnerConfig, Summary
from studio.batch.signing import load_credentials
from studio.batch.store import BatchStore
from studio.formatting import format_duration, format_usd
from studio.settings.values import settings_from_dict
from studio.ui.batch.engine_fields import EngineFields, in_window_words
from studio.ui.batch.generation_fields import GenerationFields, GenerationValues
from studio.ui.batch.results import BatchResults


class _Bridge(QObject):
    event = Signal(object)  # BatchEvent, from the runner's threads
    finished = Signal(object)  # Summary


class BatchDialog(QDialog):
    """`show_in_gallery(ids, label)` asks the gallery to show only those images."""

    show_in_gallery = Signal(list, str)
    # Between looks at an async batch's outputs in S3; kept with each job it starts.
    async_poll_s = DEFAULT_POLL_S

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
        self._async_job = False  # the job runs on the asynchronous endpoint
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
        self.engine = EngineFields()
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
        form.addRow("Engine", self.engine)
        self._form = form
        self._show_engine()

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

    def _show_engine(self) -> None:
        """The engine row on SageMaker only: any other backend runs item by item."""
        self.engine.set_backend(self._settings().backend)
        self._form.setRowVisible(self.engine, self.engine.offered())

    def update_preview(self) -> PreparedBatch | None:
        self._show_engine()
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
        setup = None
        if self.engine.is_async():  # S3 prefix, bucket, endpoint: before the job exists
            setup = self._check_async(prepared)
            if setup is None:
                return None
        warning = commercial_use_warning(self._chosen_settings())
        if warning and not self._confirm_licence(warning):
            self.status.setText("Not started: the model's licence does not allow commercial "
                                "use. Choose another model in Settings, or start anyway.")
            return None
        job_id = self.store.create_job(spec.catalog, str(out), spec.to_dict(), prepared.items)
        save_mode(self.store, job_id, setup)
        self.run_job(job_id, setup)
        return job_id

    def _check_async(self, prepared: PreparedBatch) -> AsyncSetup | None:
        """The asynchronous engine's S3 prefix, bucket and endpoint, checked before a job
        exists (the status says what is wrong; None then). The fleet line heads the preview."""
        settings = self._settings()
        try:
            photos = product_photo_column(prepared.catalog, "auto")
            if photos.column:
                raise InvalidRequest(f"{photos_refusal(photos.column)}. Choose the Real-time "
                                     "endpoint, or a catalog without product photos.")
            if not self.engine.s3_uri():
                raise InvalidRequest("The asynchronous endpoint needs an S3 prefix "
                                     "(s3://BUCKET/PREFIX) for its requests.")
            saved = async_settings(self.engine.s3_uri(), self.engine.timeout_s(),
                                   poll_s=self.async_poll_s)
            setup = check_async(open_async(saved, settings), self.context.backends.current())
        except BackendError as exc:
            self.status.setText(f"Not started: {in_window_words(str(exc))}")
            return None
        self.preview_text.setPlainText(f"{fleet_line(setup, settings)}\n\n"
                                       f"{self.preview_text.toPlainText()}")
        return setup

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

    def run_job(self, job_id: int, setup: AsyncSetup | None = None) -> None:
        """Start (or continue) a stored job in the background: an async job on the
        asynchronous endpoint (`setup` when just checked; else the runner checks it)."""
        info = self.store.job(job_id)
        spec = BatchSpec.from_dict(info.spec)
        preset = get_preset(spec.preset) if spec.preset else None
        request = GenerationRequest(prompt="batch", seed=spec.base_seed, **spec.request)
        mode = job_mode(self.store, job_id)
        if mode not in ("realtime", ASYNC):
            self.status.setText(f"Batch job {job_id} runs as Batch Transform: continue it "
                                f"from the command line (studio batch --resume {job_id}).")
            return
        if mode == ASYNC and self._settings().backend != "sagemaker":
            self.status.setText(f"Batch job {job_id} runs on an asynchronous SageMaker "
                                "endpoint: choose SageMaker in Settings to continue it.")
            return
        job_settings = settings_from_dict(spec.settings)
        try:  # the job's own settings: signed as it was started
            credentials = load_credentials(job_settings.content_credentials)
            runner_args: dict[str, Any] = {
                "backend": self.context.backends.current(), "loop": self.context.loop,
                "base_request": request, "preset": preset,
                "exporter": Exporter(job_id, Path(info.out)),
                "config": RunnerConfig(concurrency=spec.concurrency, retries=spec.retries,
                                       c2pa=credentials),
                "on_event": self._bridge.event.emit}
            self.runner = async_runner(self.store, job_id, job_settings, setup,
                                       **runner_args) or BatchRunner(self.store, job_id,
                                                                     **runner_args)
        except BackendError as exc:
            self.status.setText(f"Batch job {job_id} not started: {in_window_words(str(exc))}")
            return
        self._async_job = mode == ASYNC
        self.progress.setRange(0, info.total)
        self.progress.setValue(info.counts["done"])
        self._stopping = ""
        self.start_button.setEnabled(False)
        self.pause_button.setEnabled(True)
        self.pause_button.setText("Pause")
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.status.setText(f"Batch job {job_id} running"
                            f"{' on the asynchronous endpoint' if self._async_job else ''}…")
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
        """Images of this job being generated now (started, not yet recorded) that Pause or
        Cancel waits for. An async job's submitted requests count while pausing (they are
        still collected); a cancel leaves them at the endpoint (`at_endpoint`)."""
        counts = self._counts()
        count = counts.get("running", 0) + counts.get("submitting", 0)
        if self._async_job and self._stopping != "cancel":
            count += counts.get("submitted", 0)
        return count

    def at_endpoint(self) -> int:
        """An async job's requests submitted and not yet collected."""
        return self._counts().get("submitted", 0) if self._async_job else 0

    def _counts(self) -> dict[str, int]:
        if self._job_id is None:
            return {}
        try:
            return dict(self.store.job(self._job_id).counts)
        except (LookupError, OSError, ValueError):
            return {}

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
            self.status.setText("Cancelling — nothing in flight; finishing up."
                                + self._left_at_endpoint())

    def _left_at_endpoint(self) -> str:
        count = self.at_endpoint()
        if not count:
            return ""
        return (f"\n{count} request(s) already submitted stay in flight at the endpoint: run "
                "the job again to collect them (they are never submitted again).")

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
                            + (f"\n{summary.message}" if summary.message else "")
                            + self._left_at_endpoint())

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.cancel()
        self.wait(30)
        super().closeEvent(event)
