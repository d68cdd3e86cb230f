"""The Studio window: prompt and parameters on the left, the grid in the middle, the loupe on
the right, the queue under the Generate button, totals in the status bar.

The grid, the loupe and the status bar follow the library themselves (through the context's
`library_notifier`), so the window relays nothing between them. The left column, the menus,
the status bar and what the window takes from files live in their own modules beside this
one."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMenu, QSplitter, QVBoxLayout, QWidget

from backends.errors import BackendError
from backends.types import GenerationRequest, GenerationResult, load_image
from studio.backend_kinds import kind, label_of, tasks_of
from studio.context import StudioContext
from studio.costs.budget import BudgetExceeded
from studio.formatting import format_usd
from studio.generation.job_queue import Job
from studio.library import ImageRecord, LibraryError
from studio.settings.values import Settings
from studio.ui.compare.backends_dialog import CompareBackendsDialog
from studio.ui.compare.view import CompareDialog
from studio.ui.gallery.pane import GalleryPane
from studio.ui.gallery.thumbnails import ThumbnailCache
from studio.ui.gallery.transfer import copied_message
from studio.ui.loupe.detail_panel import DetailPanel
from studio.ui.settings.dialog import SettingsDialog, default_test_connection
from studio.ui.window.edit_words import edit_support
from studio.ui.window.file_inputs import FileInputsWindow
from studio.ui.window.first_run import FirstRunBanner
from studio.ui.window.generate_column import GenerateColumn
from studio.ui.window.live_bar import LiveMode
from studio.ui.window.menus import build_menus
from studio.ui.window.status_bar import WindowStatus
from studio.ui.window.task_panel import image_tasks
from studio.ui.window.window_size import fit_to_screen, splitter_sizes


def model_profile_may_appear(settings: Settings) -> bool:
    """Whether a run can make the chosen model's family known (a local model's first run
    downloads its config files); remote backends have no family profiles."""
    return settings.backend == "local" and bool(settings.local.model)


class MainWindow(FileInputsWindow):
    def __init__(self, context: StudioContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Studio")
        self.setAcceptDrops(True)
        fit_to_screen(self)
        self.compare_dialogs: list[CompareDialog] = []
        self.settings_dialog: SettingsDialog | None = None

        self.column = GenerateColumn(context)
        self.prompt_panel = self.column.prompt_panel
        self.params_panel = self.column.params_panel
        self.generate_button = self.column.generate_button
        self.cancel_button = self.column.cancel_button
        self.estimate_label = self.column.estimate_label
        self.message_label = self.column.message_label
        self.queue_panel = self.column.queue_panel

        self.thumbnails = ThumbnailCache()
        self.gallery = GalleryPane(context.library_notifier, self.thumbnails)
        self.detail = DetailPanel(context.library_notifier)
        self.banner = FirstRunBanner()
        self.banner.settings_requested.connect(self.open_settings_at)

        self._build_layout()
        actions = build_menus(self)
        self.compare_action = actions.compare
        self.compare_backends_action = actions.compare_backends
        self.status = WindowStatus(context, self.statusBar())
        self.backend_status = self.status.backend_label
        self.totals_status = self.status.totals_label
        self._connect()
        settings = context.settings.settings
        self.params_panel.set_defaults(settings)
        self._on_settings_changed(settings)
        self.column.update_estimate()
        # After the panels' own wiring, so live mode sees the model the panels show.
        self.live = LiveMode(context, self.column, self.detail, self.submit, self)

    # -- layout ---------------------------------------------------------------------------

    def _build_layout(self) -> None:
        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.addWidget(self.banner)
        center_layout.addWidget(self.gallery, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.column)
        splitter.addWidget(center)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes(splitter_sizes(self.width()))
        splitter.setCollapsible(0, False)
        self.setCentralWidget(splitter)
        self.gallery.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.gallery.view.customContextMenuRequested.connect(self._show_tile_menu)

    def _connect(self) -> None:
        self.context.library_notifier.failed.connect(self.show_message)
        context = self.context
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self.generate,
                      context=Qt.ShortcutContext.ApplicationShortcut)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=self.cancel_running)
        for copied in (self.gallery.view.copied, self.detail.copied):  # Ctrl+C, grid or loupe
            copied.connect(
                lambda count: self.statusBar().showMessage(copied_message(count), 5000))
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button.clicked.connect(self.cancel_running)
        self.params_panel.backend_chosen.connect(
            lambda name: self._update_settings(backend=name))
        self.params_panel.model_chosen.connect(self._choose_model)
        context.jobs.finished.connect(self._on_job_finished)
        context.jobs.failed.connect(self._on_job_failed)
        context.settings.changed.connect(self._on_settings_changed)
        self.gallery.selection_changed.connect(self._on_selection)
        self.detail.reuse_requested.connect(self.column.reuse_settings)
        self.detail.keep_seed_requested.connect(self.column.keep_seed)
        self.detail.variations_requested.connect(self.seed_variations)
        self.detail.init_image_requested.connect(self.column.use_as_init_image)
        self.detail.task_requested.connect(self.run_task)
        self.detail.edit_requested.connect(self.edit_with_words)
        self.column.task_panel.input_image_wanted.connect(self._ask_init_image)

    # -- generating -----------------------------------------------------------------------

    def current_request(self) -> GenerationRequest:
        return self.column.request()

    def generate(self) -> Job | None:
        return self._generate_current()

    def run_task(self, record: ImageRecord, task_name: str) -> Job | None:
        """An image's task menu: the image becomes the task's input and the task is chosen;
        one that needs nothing more (remove background, the upscales) is queued at once,
        for one image."""
        try:
            ready = self.column.prepare_task(record, task_name)
        except BackendError as exc:
            self.show_message(str(exc))
            return None
        return self._generate_current(count=1) if ready else None

    def edit_with_words(self, record: ImageRecord, instruction: str) -> Job | None:
        """Edit an image by an instruction on the current backend, with the current
        parameters; a model that cannot edit by words refuses, and the message shows."""
        try:
            image = load_image(record.path, role="image to edit")
            request = self.column.edit_request(image, instruction)
            backend = self.context.backends.current()
        except BackendError as exc:
            self.show_message(str(exc))
            return None
        return self.submit(request, backend)

    def _generate_current(self, count: int | None = None) -> Job | None:
        try:
            request = self.current_request()
            if count is not None:
                request = request.replace(count=count)
            backend = self.column.backend()
        except BackendError as exc:
            self.show_message(str(exc))
            return None
        return self.submit(request, backend)

    def submit(self, request: GenerationRequest, backend=None, *,
               live: bool = False) -> Job | None:
        backend = backend or self.context.backends.current()
        info = backend.describe()
        if not info.available:
            self.show_message(info.detail)
            return None
        self.show_message("")
        try:
            job = self.context.jobs.submit(request, backend, live=live)
        except BudgetExceeded as exc:
            self.show_message(str(exc))
            return None
        return job

    def cancel_running(self) -> None:
        for job in self.context.jobs.active_jobs():
            if job.state == "running":
                self.context.jobs.cancel(job.id)

    def _on_job_finished(self, job: Job, result: GenerationResult, records: list) -> None:
        # The gallery hears of the records from the library itself.
        self.params_panel.show_used_seed(result.request.seed)
        self.statusBar().showMessage(
            f"{len(records)} image(s) in {result.timings.total_s:.1f} s for "
            f"{format_usd(result.cost.usd)}", 8000)
        self.status.show_backend()
        settings = self.context.settings.settings
        if self.params_panel.profile is None and model_profile_may_appear(settings):
            # A hub model's first run fetched its config files: its family is known now.
            self.params_panel.forget_profile()
            self._on_settings_changed(settings)

    def _on_job_failed(self, job: Job, message: str) -> None:
        self.show_message(message)

    def show_message(self, text: str) -> None:
        self.column.show_message(text)

    # -- iterating on a result ------------------------------------------------------------

    def seed_variations(self, record, count: int) -> Job | None:
        """N new seeds for a result, on the backend and model that made it."""
        try:
            request = self._request_of(record).replace(seed=None, count=count)
            backend = self.context.backends.get(record.backend)
        except (BackendError, LibraryError) as exc:
            self.show_message(str(exc))
            return None
        return self.submit(request, backend)

    def _request_of(self, record) -> GenerationRequest:
        """The request that made `record`, with the image it started from where the run kept
        it (an edit or image-to-image varies from the same image, not from nothing)."""
        data = {k: v for k, v in record.request.items() if k != "edit"}
        source = self.context.library.input_image_path(record)
        if source is None or record.request.get("mode") not in ("img2img", "edit"):
            return GenerationRequest.from_dict(data)  # an edit without its image cannot repeat
        return GenerationRequest.from_dict(data).replace(
            init_image=load_image(source, role="image it started from"),
            edit=bool(record.request.get("edit")))

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

    def _show_tile_menu(self, pos: QPoint) -> None:
        # A right-click selects the tile first, so the loupe's actions act on that image.
        if self.detail.record is None:
            return
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.setToolTipsVisible(True)  # a greyed action says why (Edit with words…)
        menu.addActions(self.detail.context_actions())
        menu.popup(self.gallery.view.viewport().mapToGlobal(pos))

    def open_product_dialog(self):
        """Import a product photo and generate scenes around it, through the job queue."""
        from studio.ui.product.dialog import ProductDialog

        if getattr(self, "product_dialog", None) is None:
            self.product_dialog = ProductDialog(
                self.context.backends.current,
                lambda: self.params_panel.build_request("scene", self.prompt_panel.negative()),
                self.submit, self, jobs=self.context.jobs)
            self.product_dialog.show_in_gallery.connect(self.gallery.show_ids)
        self.product_dialog.show()
        self.product_dialog.raise_()
        return self.product_dialog

    def open_batch_dialog(self):
        """Catalog × template × variants; the images join the gallery as they are made."""
        from studio.ui.batch.dialog import BatchDialog

        if getattr(self, "batch_dialog", None) is None:
            self.batch_dialog = BatchDialog(self.context, self)
            self.batch_dialog.show_in_gallery.connect(self.gallery.show_ids)
        self.batch_dialog.use_main_panel(self.batch_dialog.panel_values(self.params_panel))
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        return self.batch_dialog

    # -- settings -------------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(self.context.settings, default_test_connection,
                                                  self)
        self.settings_dialog.show()
        self.settings_dialog.raise_()
        return self.settings_dialog

    def open_settings_at(self, page: str) -> None:
        """Settings, on the page (`SettingsDialog.show_page` key) the first-run banner is
        about."""
        self.open_settings().show_page(page)

    def _choose_model(self, model: str) -> None:
        store = self.context.settings
        chosen = kind(store.settings.backend).with_model(store.settings, model)
        if chosen != store.settings:
            store.update(chosen)

    def _update_settings(self, **changes) -> None:
        store = self.context.settings
        store.update(store.settings.replace(**changes))

    def _on_settings_changed(self, settings: Settings) -> None:
        # The library, the backend and the totals follow the settings on their own.
        self.column.set_settings(settings)
        self.detail.set_tasks(f"{label_of(settings.backend)} task",
                              image_tasks(tasks_of(settings.backend)))
        self.detail.set_edit_support(*edit_support(settings, self.params_panel.profile))
        self.banner.update_for(settings, self.context.backends.current().describe())
        self.column.schedule_estimate()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.context.jobs.cancel_all()
        super().closeEvent(event)
