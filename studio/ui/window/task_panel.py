"""The task to run beyond plain generation (Bedrock's inpaint, remove background, upscales…):
a combo of the current backend kind's tasks, and only the inputs the chosen one uses.

The panel turns its fields into what the rest of the app already speaks: the request's
prompt, mask and count, and the backend set to the task through `backend_kinds.with_task`.
"""

from __future__ import annotations

from typing import Any

from PIL import Image
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QPushButton, QWidget

from backends.types import MAX_SIDE, MIN_SIDE, SIDE_MULTIPLE, Backend, GenerationRequest, TaskInfo
from studio.backend_kinds import with_task
from studio.ui.window.image_input import ImageInput
from studio.ui.window.task_fields import (
    MarginsEdit,
    OptionalCount,
    OptionalNumber,
    fill_style_presets,
    style_preset_combo,
)

# The first entry of the combo is plain generation (TaskInfo.plain): with or without an
# input image, following whether one is set.
PLAIN_FALLBACK = "Generate"
PROMPT_NOTES = {"required": "", "optional": " The prompt is optional.",
                "none": " It uses no prompt."}
ROW_LABELS = {
    "input": "Input image", "search": "Search for", "mask": "Mask", "grow_mask": "Grow mask",
    "creativity": "Creativity", "margins": "Add", "control_strength": "Control strength",
    "fidelity": "Fidelity", "style_image": "Style image", "style_strength": "Style strength",
    "composition_fidelity": "Composition", "change_strength": "Change strength",
    "style_preset": "Style preset",
}


def image_tasks(tasks: list[TaskInfo]) -> list[TaskInfo]:
    """The tasks that work on an existing image (what an image's context menu offers)."""
    return [task for task in tasks if task.image and not task.plain]


def request_size(image: Image.Image | None) -> tuple[int, int]:
    """A valid request size for a task, whose output size follows its input image."""
    if image is None:
        return 1024, 1024
    return _valid_side(image.width), _valid_side(image.height)


def _valid_side(side: int) -> int:
    side = min(max(side, MIN_SIDE), MAX_SIDE)
    return side - side % SIDE_MULTIPLE


class TaskPanel(QWidget):
    changed = Signal()
    failed = Signal(str)  # a readable reason an input could not be used
    input_image_wanted = Signal()  # the task needs an input image and none is set

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks: dict[str, TaskInfo] = {}
        self._has_input = False
        self.task_combo = QComboBox()
        self.task_combo.setToolTip("What to do: generate, or edit, extend or upscale an image")
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.input_button = QPushButton("Choose an input image…")
        self.input_button.setToolTip("Or right-click an image in the grid or the loupe")
        self.input_button.clicked.connect(self.input_image_wanted)
        self.search_edit = QLineEdit(placeholderText="what to find, e.g. the red mug")
        self.mask_input = ImageInput("mask")
        self.mask_input.setToolTip("White where the image should change; the same size as the "
                                   "input image")
        self.style_input = ImageInput("style image")
        self.margins = MarginsEdit()
        self.style_preset_combo = style_preset_combo()
        self.numbers: dict[str, OptionalNumber | OptionalCount] = {
            "grow_mask": OptionalCount(0, 20, "Pixels to grow the mask's edges by, softening "
                                              "them (0–20)"),
            "creativity": OptionalNumber(0.1, 1.0, tip="How much the service may invent: "
                                                       "0.1–0.5 for upscales, 0.1–1 for "
                                                       "outpaint"),
            "control_strength": OptionalNumber(0.0, 1.0, tip="How closely to follow the "
                                                             "input's lines or structure (0–1)"),
            "fidelity": OptionalNumber(0.0, 1.0, tip="How closely to follow the input "
                                                     "image's style (0–1)"),
            "style_strength": OptionalNumber(0.0, 1.0, tip="How strongly to apply the style "
                                                           "image (0–1)"),
            "composition_fidelity": OptionalNumber(0.0, 1.0, tip="How much of the input's "
                                                                 "composition to keep (0–1)"),
            "change_strength": OptionalNumber(0.1, 1.0, tip="How much the input may change "
                                                            "(0.1–1)"),
        }
        # Each row, under the TaskInfo input or option name that shows it.
        self.rows: dict[str, QWidget] = {
            "input": self.input_button, "search": self.search_edit, "mask": self.mask_input,
            "grow_mask": self.numbers["grow_mask"], "creativity": self.numbers["creativity"],
            "margins": self.margins, "control_strength": self.numbers["control_strength"],
            "fidelity": self.numbers["fidelity"], "style_image": self.style_input,
            "style_strength": self.numbers["style_strength"],
            "composition_fidelity": self.numbers["composition_fidelity"],
            "change_strength": self.numbers["change_strength"],
            "style_preset": self.style_preset_combo,
        }
        self._form = QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.addRow("Task", self.task_combo)
        self._form.addRow("", self.description)
        for key, widget in self.rows.items():
            self._form.addRow(ROW_LABELS[key], widget)
        self._connect()
        self.set_tasks([])

    def _connect(self) -> None:
        self.task_combo.currentIndexChanged.connect(self._show_task)
        for signal in (self.search_edit.textChanged, self.mask_input.changed,
                       self.style_input.changed, self.margins.changed,
                       self.style_preset_combo.currentIndexChanged):
            signal.connect(self.changed)
        for spin in self.numbers.values():
            spin.valueChanged.connect(self.changed)
        for picker in (self.mask_input, self.style_input):
            picker.failed.connect(self.failed)

    # -- what is offered --------------------------------------------------------------------

    def set_tasks(self, tasks: list[TaskInfo]) -> None:
        """The tasks of the backend kind now chosen; none hides the panel."""
        current = self.task()
        self._tasks = {task.name: task for task in tasks}
        self.task_combo.blockSignals(True)
        self.task_combo.clear()
        self.task_combo.addItem(PLAIN_FALLBACK, "")
        for task in tasks:
            if not task.plain:
                self.task_combo.addItem(_capitalized(task.label), task.name)
                self.task_combo.setItemData(self.task_combo.count() - 1, task.description,
                                            Qt.ItemDataRole.ToolTipRole)
        index = self.task_combo.findData(current.name) if current is not None else 0
        self.task_combo.setCurrentIndex(max(index, 0))
        self.task_combo.blockSignals(False)
        fill_style_presets(self.style_preset_combo,
                           next((t.style_presets for t in tasks if t.style_presets), ()))
        self.setVisible(bool(tasks))
        self._show_task()

    def set_input_image(self, image: Image.Image | None) -> None:
        """The input image changed: the plain entry follows it, and a mask drawn for another
        image no longer applies."""
        self._has_input = image is not None
        self.mask_input.set_image(None)
        self._show_task()

    def select(self, name: str) -> TaskInfo | None:
        """Choose a task by name (a plain generation task chooses the first entry)."""
        known = self._tasks.get(name)
        index = self.task_combo.findData("" if known is not None and known.plain else name)
        if index < 0:
            return None
        self.task_combo.setCurrentIndex(index)
        return self.task()

    def task(self) -> TaskInfo | None:
        """The chosen task; None for plain generation."""
        return self._tasks.get(self.task_combo.currentData() or "")

    # -- what a request gets --------------------------------------------------------------

    def prompt_for(self, prompt: str, negative: str) -> tuple[str, str]:
        """The prompt and negative prompt the request carries. A request needs a prompt, so
        a task that takes none (or an optional one left empty) records its own label."""
        task = self.task()
        if task is None or task.prompt == "required":
            return prompt, negative
        if task.prompt == "none":
            return _capitalized(task.label), ""
        return (prompt, negative) if prompt.strip() else (_capitalized(task.label), negative)

    def finish_request(self, request: GenerationRequest) -> GenerationRequest:
        task = self.task()
        if task is None:
            return request
        changes: dict[str, Any] = {}
        if task.mask and self.mask_input.image is not None:
            changes["mask"] = self.mask_input.image
        if not task.seeded:
            changes["count"] = 1  # the service makes the same image every time
        return request.replace(**changes) if changes else request

    def backend_for(self, backend: Backend, prompt: str) -> Backend:
        """`backend` set to run the chosen task; unchanged for plain generation.

        Raises InvalidRequest (with what to change) for an option value out of range."""
        task = self.task()
        if task is None:
            return backend
        return with_task(backend, task.name, self.options(prompt))

    def options(self, prompt: str) -> dict[str, Any]:
        """The chosen task's options, by `with_task`'s names; those left at the default are
        left out, so the service decides."""
        task = self.task()
        if task is None:
            return {}
        options: dict[str, Any] = {}
        if task.search:
            options["search"] = self.search_edit.text().strip()
        if task.style_image and self.style_input.image is not None:
            options["style_image"] = self.style_input.image
        for name, spin in self.numbers.items():
            value = spin.optional_value()
            if name in task.options and value is not None:
                options[name] = value
        if "margins" in task.options:
            options["margins"] = self.margins.values()
        preset = self.style_preset_combo.currentData()
        if "style_preset" in task.options and preset:
            options["style_preset"] = preset
        if task.prompt == "optional":
            options["send_prompt"] = bool(prompt.strip())
        return options

    # -- what is still missing ------------------------------------------------------------

    def runs_at_once(self) -> bool:
        """True when the chosen task needs nothing beyond its input image (remove
        background, the upscales), so choosing it on an image can start it."""
        task = self.task()
        return task is not None and not (
            task.prompt == "required" or task.mask or task.search or task.style_image
            or "margins" in task.options)

    def missing_input(self) -> QWidget | None:
        """The first input the chosen task needs that is still empty, to focus."""
        task = self.task()
        if task is None:
            return None
        if task.image and not self._has_input:
            return self.input_button
        if task.mask and self.mask_input.image is None:
            return self.mask_input.choose_button
        if task.search and not self.search_edit.text().strip():
            return self.search_edit
        if task.style_image and self.style_input.image is None:
            return self.style_input.choose_button
        if "margins" in task.options and not self.margins.any():
            return self.margins.spins["left"]
        return None

    # -- showing --------------------------------------------------------------------------

    def _show_task(self) -> None:
        task = self.task()
        plain = next((t for t in self._tasks.values()
                      if t.plain and t.image == self._has_input), None)
        self.task_combo.setItemText(0, _capitalized(plain.label) if plain else PLAIN_FALLBACK)
        if plain is not None:
            self.task_combo.setItemData(0, plain.description, Qt.ItemDataRole.ToolTipRole)
        shown = task or plain
        self.description.setText(
            shown.description + PROMPT_NOTES.get(shown.prompt, "") if shown else "")
        wanted: set[str] = set()
        if task is not None:
            wanted = set(task.options) | {
                name for name, flag in (("mask", task.mask), ("search", task.search),
                                        ("style_image", task.style_image),
                                        ("input", task.image and not self._has_input))
                if flag}
        for key, widget in self.rows.items():
            self._form.setRowVisible(widget, key in wanted)
        self.changed.emit()


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
