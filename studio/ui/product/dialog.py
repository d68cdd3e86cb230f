"""The product-photo window: import, check and refine the mask, place, generate N scenes.

The dialog knows nothing of backends' internals: it is given the current backend, a request
template from the main window's parameters, and the main window's submit, so every scene
goes through the job queue and lands in the gallery with its latency and cost. Given the
job queue (`jobs`), it also shows what each round made (`results.py`) and offers to open it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from backends.errors import BackendError, InvalidRequest
from backends.types import GenerationRequest
from studio.product import Placement, ProductSceneBackend, place_product
from studio.product.importing import ProductPhoto, load_product_photo
from studio.product.masks import product_mask
from studio.product.placement import MAX_HARMONISE, MIN_HARMONISE, POSITIONS
from studio.product.project import ProductProject, find_project, save_project
from studio.size_presets import size_presets
from studio.ui.product.cutout_fetch import CutoutFetch
from studio.ui.product.mask_editor import MaskEditor
from studio.ui.product.results import SceneResults

ORIGIN_TEXT = {"alpha": "from the photo's transparency", "auto": "found automatically",
               "grabcut": "found by GrabCut (the offline fallback; a cut-out model finds "
                          "products better)",
               "file": "from a mask file", "painted": "refined by hand"}
HARMONISE_TIP = ("After each scene is made, run a second, light image-to-image pass over it so "
                 "light and contact settle around the product; the product's pixels stay "
                 "exact. It costs a second generation per image (about the strength × a full "
                 "one in time and money).")


class ProductDialog(QDialog):
    """`submit(request, backend)` queues one generation and returns the job (or None);
    `jobs` (the JobQueue) reports them finished or failed, for the results row.
    `show_in_gallery(ids, label)` asks the main window to show the scenes made."""

    submitted = Signal(int)  # how many generations were queued
    show_in_gallery = Signal(list, str)

    def __init__(self, backend: Callable[[], Any],
                 template: Callable[[], GenerationRequest],
                 submit: Callable[[GenerationRequest, Any], Any],
                 parent: QWidget | None = None, *, jobs: Any = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Product photo: keep the product, change the scene")
        self._backend, self._template, self._submit = backend, template, submit
        self.photo: ProductPhoto | None = None
        self.mask_origin = ""
        self._loaded_origin = ""
        self.editor = MaskEditor()
        self.editor.mask_edited.connect(self._on_edited)
        self.origin_label = QLabel("No photo yet.")
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #d9534f")
        import_button = QPushButton("Import photo…")
        import_button.clicked.connect(self._ask_photo)
        self.reset_button = QPushButton("Automatic mask")
        self.reset_button.setToolTip("Replace the mask with the automatic (or alpha) one")
        self.reset_button.clicked.connect(self.reset_mask)
        self.cutout_fetch = CutoutFetch()  # offered while the mask is GrabCut's
        self.cutout_fetch.fetched.connect(lambda _method: self.reset_mask())
        self.cutout_fetch.hide()
        self.brush = QRadioButton("Brush (add product)")
        self.eraser = QRadioButton("Eraser (remove)")
        self.brush.setChecked(True)
        tools = QButtonGroup(self)
        for button in (self.brush, self.eraser):
            tools.addButton(button)
            button.toggled.connect(self._on_tool)
        self.brush_size = QSlider(Qt.Orientation.Horizontal, minimum=2, maximum=120, value=24)
        self.brush_size.valueChanged.connect(lambda v: setattr(self.editor, "brush_px", v))
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Take back the last stroke (Ctrl+Z)")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.editor.undo)
        self.editor.undo_available.connect(self.undo_button.setEnabled)
        self.zoom_out_button = QPushButton("−")
        self.zoom_out_button.setToolTip("Zoom out (Ctrl+wheel, or -)")
        self.zoom_out_button.clicked.connect(self.editor.zoom_out)
        self.zoom_in_button = QPushButton("+")
        self.zoom_in_button.setToolTip("Zoom in (Ctrl+wheel, or +); drag with the middle or "
                                       "right button to move around")
        self.zoom_in_button.clicked.connect(self.editor.zoom_in)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Show the whole photo")
        self.fit_button.clicked.connect(self.editor.fit)
        self.zoom_label = QLabel("100%")
        self.editor.zoom_changed.connect(
            lambda zoom: self.zoom_label.setText(f"{zoom * 100:.0f}%"))
        for button in (self.zoom_out_button, self.zoom_in_button):
            button.setFixedWidth(button.fontMetrics().horizontalAdvance("+") + 24)

        self.scenes_edit = QPlainTextEdit()
        self.scenes_edit.setMaximumHeight(96)
        self.scenes_edit.setPlaceholderText("One scene per line, e.g.\non a marble counter\n"
                                            "in a sunny café\non a pure white sweep")
        self.preset_combo = QComboBox()
        self.preset_combo.addItem("Size from the parameters", None)
        for preset in size_presets():
            self.preset_combo.addItem(preset.name, (preset.width, preset.height))
        self.fill_spin = QDoubleSpinBox(minimum=0.05, maximum=1.0, singleStep=0.05, value=0.85)
        self.position_combo = QComboBox()
        self.position_combo.addItems(list(POSITIONS))
        self.shadow_check = QCheckBox("Soft contact shadow")
        self.harmonise_check = QCheckBox("Harmonise")
        self.harmonise_check.setToolTip(HARMONISE_TIP)
        self.harmonise_spin = QDoubleSpinBox(minimum=MIN_HARMONISE, maximum=MAX_HARMONISE,
                                             singleStep=0.05, value=0.3)
        self.harmonise_spin.setToolTip("Strength of the harmonising pass: 0.2–0.4 keeps the "
                                       "scene and settles light and contact")
        self.harmonise_spin.setEnabled(False)
        self.harmonise_check.toggled.connect(self.harmonise_spin.setEnabled)
        self.per_scene_spin = QSpinBox(minimum=1, maximum=16, value=1)
        self.generate_button = QPushButton("Generate scenes")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate)
        self.results = SceneResults()
        self.results.show_in_gallery.connect(self.show_in_gallery)
        if jobs is not None:
            jobs.finished.connect(lambda job, _result, records:
                                  self.results.job_finished(job.id, records))
            jobs.failed.connect(lambda job, message: self.results.job_failed(job.id, message))
            jobs.cancelled.connect(lambda job: self.results.job_failed(job.id, "cancelled"))
        self._build_layout(import_button)

    def _build_layout(self, import_button: QPushButton) -> None:
        top = QHBoxLayout()
        top.addWidget(import_button)
        top.addWidget(self.reset_button)
        top.addWidget(self.origin_label, 1)
        tools = QHBoxLayout()
        tools.addWidget(self.brush)
        tools.addWidget(self.eraser)
        tools.addWidget(QLabel("Size"))
        tools.addWidget(self.brush_size, 1)
        tools.addWidget(self.undo_button)
        tools.addWidget(self.zoom_out_button)
        tools.addWidget(self.zoom_label)
        tools.addWidget(self.zoom_in_button)
        tools.addWidget(self.fit_button)
        form = QFormLayout()
        form.addRow("Scenes", self.scenes_edit)
        form.addRow("Size preset", self.preset_combo)
        form.addRow("Fill", self.fill_spin)
        form.addRow("Position", self.position_combo)
        form.addRow("", self.shadow_check)
        harmonise_row = QHBoxLayout()
        harmonise_row.addWidget(self.harmonise_check)
        harmonise_row.addWidget(self.harmonise_spin)
        harmonise_row.addStretch(1)
        form.addRow("", harmonise_row)
        form.addRow("Images per scene", self.per_scene_spin)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.cutout_fetch)
        layout.addWidget(self.editor, 1)
        layout.addLayout(tools)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(self.generate_button)
        layout.addWidget(self.results)

    # -- the photo and its mask -------------------------------------------------------------

    def _ask_photo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Product photo", "",
                                              "Images (*.png *.jpg *.jpeg *.webp)")
        if path:
            self.load_photo(Path(path))

    def load_photo(self, path: Path) -> bool:
        """Import a photo; a mask refined earlier for the same photo comes back with it."""
        try:
            photo = load_product_photo(path)
            saved = find_project(photo)
            if saved is not None:
                mask, origin = saved.mask, saved.mask_origin
                self.scenes_edit.setPlainText("\n".join(saved.scenes))
            else:
                mask, origin = product_mask(photo)
        except BackendError as exc:
            self.show_message(str(exc))
            return False
        self.photo = photo
        self._set_mask(mask, origin)
        return True

    def reset_mask(self) -> None:
        if self.photo is None:
            return
        try:
            mask, origin = product_mask(self.photo)
        except BackendError as exc:
            self.show_message(str(exc))
            return
        self._set_mask(mask, origin)

    def _set_mask(self, mask, origin: str) -> None:
        self.mask_origin = self._loaded_origin = origin
        self.editor.set_photo(self.photo.image, mask)
        self._show_origin()
        self.show_message("")

    def _on_edited(self) -> None:
        # Every stroke undone: the mask is again the one it was loaded as.
        self.mask_origin = "painted" if self.editor.edited else self._loaded_origin
        self._show_origin()

    def _show_origin(self) -> None:
        width, height = self.photo.size
        self.origin_label.setText(f"{self.photo.name} · {width}×{height} · mask "
                                  f"{origin_text(self.mask_origin)}")
        # A fetched model re-runs the mask, so it is offered only while nothing is painted.
        self.cutout_fetch.setVisible(self.mask_origin == "grabcut" or self.cutout_fetch.running)

    def _on_tool(self) -> None:
        self.editor.mode = "brush" if self.brush.isChecked() else "eraser"

    def show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    # -- generating -------------------------------------------------------------------------

    def scenes(self) -> list[str]:
        return [line.strip() for line in self.scenes_edit.toPlainText().splitlines()
                if line.strip()]

    def placement(self) -> Placement:
        harmonise = round(self.harmonise_spin.value(), 3) if self.harmonise_check.isChecked() \
            else 0.0
        return Placement(fill=round(self.fill_spin.value(), 3),
                         position=self.position_combo.currentText(),
                         shadow=self.shadow_check.isChecked(), harmonise=harmonise)

    def generate(self) -> int:
        """Queue one generation per scene (each with 'images per scene' seeds)."""
        try:
            return self._generate()
        except BackendError as exc:
            self.show_message(str(exc))
            return 0

    def _generate(self) -> int:
        if self.photo is None:
            raise InvalidRequest("Import a product photo first.")
        scenes = self.scenes()
        if not scenes:
            raise InvalidRequest("Write at least one scene, one per line.")
        mask = self.editor.mask()
        placement = self.placement()
        template = self._template()
        size = self.preset_combo.currentData() or (template.width, template.height)
        placed = place_product(self.photo, mask, size, placement)
        save_project(ProductProject(self.photo, mask, self.mask_origin, placement,
                                    tuple(scenes)))
        backend = ProductSceneBackend(self._backend(), placed)
        queued = 0
        waiting: dict[int, str] = {}
        for scene in scenes:
            request = placed.request(
                scene, negative_prompt=template.negative_prompt, model=template.model,
                seed=template.seed, steps=template.steps, guidance=template.guidance,
                scheduler=template.scheduler, count=self.per_scene_spin.value())
            job = self._submit(request, backend)
            if job is not None:
                queued += 1
                if isinstance(getattr(job, "id", None), int):
                    waiting[job.id] = scene
        self.results.start(waiting)
        self.show_message("")
        self.submitted.emit(queued)
        return queued


def origin_text(origin: str) -> str:
    """How the mask was made, in words: 'model:birefnet-lite' is the cut-out model's."""
    if origin.startswith("model:"):
        return f"found by the cut-out model {origin.removeprefix('model:')}"
    return ORIGIN_TEXT.get(origin, origin)
