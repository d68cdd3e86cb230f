"""The Studio window: prompt and parameters on the left, the grid in the middle, the loupe on
the right, the queue under the Generate button, totals in the status bar."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from backends.errors import BackendError, InvalidRequest
from backends.types import GenerationRequest, GenerationResult, load_image
from studio.context import StudioContext
from studio.costs.budget import BudgetExceeded
from studio.costs.session_totals import SessionTotals
from studio.costs.spending import today_totals
from studio.formatting import format_usd
from studio.generation.job_queue import Job
from studio.library.png_metadata import request_from_png
from studio.settings.values import Settings
from studio.ui.compare.backends_dialog import CompareBackendsDialog
from studio.ui.compare.view import CompareDialog
from studio.ui.gallery.pane import GalleryPane
from studio.ui.gallery.thumbnails import ThumbnailCache
from studio.ui.loupe.detail_panel import DetailPanel
from studio.ui.settings.dialog import SettingsDialog, default_test_connection
from studio.ui.window.cost_status import burn_text, estimate_button_text, totals_text
from studio.ui.window.first_run import FirstRunBanner
from studio.ui.window.params_panel import ParamsPanel
from studio.ui.window.prompt_panel import PromptPanel
from studio.ui.window.queue_panel import QueuePanel

ESTIMATE_DELAY_MS = 300


class MainWindow(QMainWindow):
    def __init__(self, context: StudioContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Studio")
        self.setAcceptDrops(True)
        self.resize(1500, 900)
        self.compare_dialogs: list[CompareDialog] = []
        self.settings_dialog: SettingsDialog | None = None

        self.prompt_panel = PromptPanel(lambda: self.context.library.recent_prompts(30))
        self.params_panel = ParamsPanel()
        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(True)
        self.generate_button.setToolTip("Generate (Ctrl+Enter)")
        self.generate_button.setMinimumHeight(36)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the running generation (Esc)")
        self.estimate_label = QLabel()
        self.estimate_label.setWordWrap(True)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #d9534f")
        self.queue_panel = QueuePanel(context.jobs)

        self.thumbnails = ThumbnailCache()
        self.gallery = GalleryPane(context.library, self.thumbnails)
        self.detail = DetailPanel(context.library)
        self.banner = FirstRunBanner()
        self.banner.settings_requested.connect(self.open_settings)

        self._estimate_timer = QTimer(self, singleShot=True, interval=ESTIMATE_DELAY_MS)
        self._estimate_timer.timeout.connect(self.update_estimate)
        self._build_layout()
        self._build_menus()
        self._build_status_bar()
        self._connect()
        settings = context.settings.settings
        self.params_panel.set_defaults(settings)
        self._on_settings_changed(settings)
        self.update_estimate()

    # -- layout ---------------------------------------------------------------------------

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button, 2)
        buttons.addWidget(self.cancel_button, 1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.prompt_panel)
        left_layout.addWidget(self.params_panel)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.estimate_label)
        left_layout.addWidget(self.message_label)
        left_layout.addWidget(self.queue_panel)
        left_layout.addStretch()
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(left)
        scroll.setMinimumWidth(340)

        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.addWidget(self.banner)
        center_layout.addWidget(self.gallery, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(center)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 760, 380])
        self.setCentralWidget(splitter)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_png = QAction("&Open PNG parameters…", self, shortcut=QKeySequence.StandardKey.Open)
        open_png.triggered.connect(self._ask_png_to_restore)
        file_menu.addAction(open_png)
        init_image = QAction("Use an &image file as init image…", self)
        init_image.triggered.connect(self._ask_init_image)
        file_menu.addAction(init_image)
        product = QAction("&Product photo: new scenes…", self, shortcut=QKeySequence("Ctrl+P"))
        product.triggered.connect(self.open_product_dialog)
        file_menu.addAction(product)
        batch = QAction("&Batch export from a catalog…", self)
        batch.triggered.connect(self.open_batch_dialog)
        file_menu.addAction(batch)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        settings_action = QAction("&Settings…", self, shortcut=QKeySequence("Ctrl+,"))
        settings_action.triggered.connect(self.open_settings)
        edit_menu.addAction(settings_action)
        view_menu = self.menuBar().addMenu("&View")
        self.compare_action = QAction("&Compare selected", self, shortcut=QKeySequence("Ctrl+K"))
        self.compare_action.triggered.connect(self.compare_selected)
        view_menu.addAction(self.compare_action)
        self.compare_backends_action = QAction("Compare &backends…", self,
                                               shortcut=QKeySequence("Ctrl+Shift+K"))
        self.compare_backends_action.triggered.connect(self.compare_backends)
        view_menu.addAction(self.compare_backends_action)
        help_menu = self.menuBar().addMenu("&Help")
        about_action = QAction("&About Studio", self, menuRole=QAction.MenuRole.AboutRole)
        about_action.triggered.connect(self.show_about)
        help_menu.addAction(about_action)

    def show_about(self) -> None:
        from studio.ui.about import AboutDialog

        AboutDialog(self).exec()

    def _build_status_bar(self) -> None:
        self.backend_status = QLabel()
        self.totals_status = QLabel()
        self.statusBar().addWidget(self.backend_status)
        self.statusBar().addPermanentWidget(self.totals_status)
        self._show_totals(self.context.session.totals)

    def _connect(self) -> None:
        context = self.context
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self.generate,
                      context=Qt.ShortcutContext.ApplicationShortcut)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=self.cancel_running)
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button.clicked.connect(self.cancel_running)
        self.prompt_panel.changed.connect(self._schedule_estimate)
        self.params_panel.changed.connect(self._schedule_estimate)
        self.params_panel.backend_chosen.connect(
            lambda name: self._update_settings(backend=name))
        self.params_panel.model_chosen.connect(self._choose_model)
        context.jobs.finished.connect(self._on_job_finished)
        context.jobs.failed.connect(self._on_job_failed)
        context.session.changed.connect(self._show_totals)
        context.settings.changed.connect(self._on_settings_changed)
        self.gallery.selection_changed.connect(self._on_selection)
        self.detail.reuse_requested.connect(self.reuse_settings)
        self.detail.keep_seed_requested.connect(self.keep_seed)
        self.detail.variations_requested.connect(self.seed_variations)
        self.detail.init_image_requested.connect(self.use_as_init_image)
        self.detail.record_changed.connect(self.gallery.update_record)
        self.detail.record_deleted.connect(self.gallery.remove)

    # -- generating -----------------------------------------------------------------------

    def current_request(self) -> GenerationRequest:
        return self.params_panel.build_request(self.prompt_panel.prompt(),
                                               self.prompt_panel.negative())

    def generate(self) -> Job | None:
        try:
            request = self.current_request()
            backend = self.context.backends.current()
        except BackendError as exc:
            self.show_message(str(exc))
            return None
        return self.submit(request, backend)

    def submit(self, request: GenerationRequest, backend=None) -> Job | None:
        backend = backend or self.context.backends.current()
        info = backend.describe()
        if not info.available:
            self.show_message(info.detail)
            return None
        self.show_message("")
        try:
            job = self.context.jobs.submit(request, backend)
        except BudgetExceeded as exc:
            self.show_message(str(exc))
            return None
        return job

    def cancel_running(self) -> None:
        for job in self.context.jobs.active_jobs():
            if job.state == "running":
                self.context.jobs.cancel(job.id)

    def _on_job_finished(self, job: Job, result: GenerationResult, records: list) -> None:
        self.gallery.add_records(records)
        self.params_panel.show_used_seed(result.request.seed)
        self.statusBar().showMessage(
            f"{len(records)} image(s) in {result.timings.total_s:.1f} s for "
            f"{format_usd(result.cost.usd)}", 8000)
        self._show_backend()

    def _on_job_failed(self, job: Job, message: str) -> None:
        self.show_message(message)

    def show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    # -- estimate -------------------------------------------------------------------------

    def _schedule_estimate(self) -> None:
        self._estimate_timer.start()

    def update_estimate(self) -> None:
        self.generate_button.setText("Generate")  # until an estimate for this request is known
        try:
            request = self.current_request()
            cost = self.context.backends.current().estimate_cost(request)
        except InvalidRequest as exc:
            self.estimate_label.setText(f"<i>{exc}</i>" if self.prompt_panel.prompt() else "")
            return
        except BackendError as exc:
            self.estimate_label.setText(f"<i>{exc}</i>")
            return
        self.estimate_label.setText(f"Estimate: <b>{format_usd(cost.usd)}</b>")
        self.generate_button.setText(estimate_button_text(cost.usd))
        self.estimate_label.setToolTip(cost.basis)
        self.generate_button.setToolTip(
            f"Generate (Ctrl+Enter) · estimate {format_usd(cost.usd)} — {cost.basis}")

    # -- iterating on a result ------------------------------------------------------------

    def reuse_settings(self, record) -> None:
        self.prompt_panel.set_prompt(record.prompt)
        self.prompt_panel.set_negative(record.negative_prompt)
        self.params_panel.apply_request({**record.request, "seed": record.seed, "count": 1})

    def keep_seed(self, record) -> None:
        self.params_panel.keep_seed(record.seed)
        self.prompt_panel.prompt_edit.setFocus()
        self.prompt_panel.prompt_edit.selectAll()

    def seed_variations(self, record, count: int) -> Job | None:
        """N new seeds for a result, on the backend and model that made it."""
        try:
            request = GenerationRequest.from_dict(record.request).replace(seed=None, count=count)
            backend = self.context.backends.get(record.backend)
        except BackendError as exc:
            self.show_message(str(exc))
            return None
        return self.submit(request, backend)

    def use_as_init_image(self, record) -> None:
        self.params_panel.set_init_image(load_image(record.path, role="source image"))
        self.params_panel.width_spin.setValue(record.width)
        self.params_panel.height_spin.setValue(record.height)

    def compare_selected(self) -> None:
        records = self.gallery.selected_records()
        if not 2 <= len(records) <= 4:
            self.show_message("Select two to four images in the grid to compare them "
                              "(Ctrl-click or Shift-click).")
            return
        dialog = CompareDialog(self)
        dialog.view.set_records(records)
        dialog.show()
        self.compare_dialogs.append(dialog)

    def compare_backends(self) -> CompareBackendsDialog | None:
        """The current prompt on several backends, then the results side by side."""
        try:
            request = self.current_request()
        except BackendError as exc:
            self.show_message(str(exc))
            return None
        dialog = CompareBackendsDialog(self.context, request, self)
        dialog.compared.connect(self.compare_dialogs.append)
        dialog.show()
        return dialog

    def _on_selection(self, records: list) -> None:
        self.detail.show_record(records[-1] if records else None)
        self.compare_action.setEnabled(2 <= len(records) <= 4)

    # -- restoring parameters from a PNG ---------------------------------------------------

    def restore_from_png(self, path: Path) -> bool:
        try:
            request = request_from_png(path)
        except BackendError as exc:
            self.show_message(str(exc))
            return False
        self.prompt_panel.set_prompt(request.prompt)
        self.prompt_panel.set_negative(request.negative_prompt)
        self.params_panel.apply_request(request.to_dict())
        self.show_message("")
        self.statusBar().showMessage(f"Restored the parameters of {path.name}", 8000)
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if any(url.toLocalFile().lower().endswith(".png") for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        for url in event.mimeData().urls():
            if url.toLocalFile().lower().endswith(".png"):
                self.restore_from_png(Path(url.toLocalFile()))
                event.acceptProposedAction()
                return

    def _ask_png_to_restore(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Restore parameters from a PNG", "",
                                              "PNG images (*.png)")
        if path:
            self.restore_from_png(Path(path))

    def open_product_dialog(self):
        """Import a product photo and generate scenes around it, through the job queue."""
        from studio.ui.product.dialog import ProductDialog

        if getattr(self, "product_dialog", None) is None:
            self.product_dialog = ProductDialog(
                self.context.backends.current,
                lambda: self.params_panel.build_request("scene", self.prompt_panel.negative()),
                self.submit, self)
        self.product_dialog.show()
        self.product_dialog.raise_()
        return self.product_dialog

    def open_batch_dialog(self):
        """Catalog × template × variants; the images join the gallery as they are made."""
        from studio.ui.batch.dialog import BatchDialog

        if getattr(self, "batch_dialog", None) is None:
            self.batch_dialog = BatchDialog(self.context, self)
            self.batch_dialog.recorded.connect(self.gallery.add_records)
            self.batch_dialog.show_in_gallery.connect(self.gallery.show_ids)
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        return self.batch_dialog

    def _ask_init_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an init image", "",
                                              "Images (*.png *.jpg *.jpeg *.webp)")
        if path:
            try:
                self.params_panel.set_init_image(load_image(path))
            except BackendError as exc:
                self.show_message(str(exc))

    # -- settings -------------------------------------------------------------------------

    def open_settings(self) -> None:
        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(self.context.settings, default_test_connection,
                                                  self)
        self.settings_dialog.show()
        self.settings_dialog.raise_()

    def _choose_model(self, model: str) -> None:
        settings = self.context.settings.settings
        if settings.backend == "local" and model != settings.local.model:
            self._update_settings(local=dataclasses.replace(settings.local, model=model))
        elif settings.backend == "bedrock" and model != settings.bedrock.model:
            self._update_settings(bedrock=dataclasses.replace(settings.bedrock, model=model))

    def _update_settings(self, **changes) -> None:
        store = self.context.settings
        store.update(store.settings.replace(**changes))

    def _on_settings_changed(self, settings: Settings) -> None:
        if self.gallery.library is not self.context.library:
            self.gallery.set_library(self.context.library)
            self.detail.set_library(self.context.library)
        self.params_panel.set_settings(settings)
        self.banner.update_for(settings, self.context.backends.current().describe())
        self._show_backend()
        self._show_totals(self.context.session.totals)
        self._schedule_estimate()

    def _show_backend(self) -> None:
        info = self.context.backends.current().describe()
        self.backend_status.setText(f"{info.label} · {info.device}"
                                    + ("" if info.available else " · unavailable"))
        self.backend_status.setToolTip(info.detail)

    def _show_totals(self, totals: SessionTotals) -> None:
        costs = self.context.settings.settings.costs
        self.totals_status.setText(totals_text(totals, today_totals(self.context.library),
                                               costs.budget_usd_per_day))
        session = self.context.session
        backend = self.context.backends.current()
        self.totals_status.setToolTip(burn_text(
            backend, session.elapsed_s(), session.images_by_backend.get(backend.name, 0)))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.context.jobs.cancel_all()
        super().closeEvent(event)
