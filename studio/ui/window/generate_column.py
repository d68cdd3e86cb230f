"""The window's left column: what to make (prompt, parameters, the task where the backend
offers tasks), Generate and Cancel, what it will cost (estimated a moment after each edit),
what went wrong, and the queue.

The prompt and parameters scroll up and down in their own area; Generate, Cancel, the
estimate and the queue stay pinned under it, so they are on screen whatever the window's
height. Nothing in the column can make it wider (see `narrow.py`)."""

from __future__ import annotations

import time

from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from backends.errors import BackendError, InvalidRequest
from backends.types import Backend, Cost, GenerationRequest, load_image
from studio.backend_kinds import tasks_of
from studio.context import StudioContext
from studio.formatting import format_usd
from studio.generation.job_queue import Job
from studio.library import ImageRecord, LibraryError
from studio.settings.values import Settings
from studio.ui.window.cost_status import estimate_button_text
from studio.ui.window.edit_words import edit_size
from studio.ui.window.narrow import VerticalScrollArea, narrow_combos
from studio.ui.window.params_panel import ParamsPanel
from studio.ui.window.prompt_panel import PromptPanel
from studio.ui.window.prompt_tokens import counter_for, tokenizer_dir
from studio.ui.window.queue_panel import QueuePanel
from studio.ui.window.task_panel import TaskPanel, request_size

RECENT_PROMPTS = 30
ESTIMATE_DELAY_MS = 300
COLUMN_MIN_WIDTH = 340
COLUMN_MAX_WIDTH = 520  # wider only spreads the fields thin; the grid wants the room
QUEUE_MAX_HEIGHT = 150  # about three rows, then the queue scrolls
MESSAGE_MAX_HEIGHT = 64  # about four lines; a longer message scrolls, whole


class GenerateColumn(QWidget):
    """The panels and buttons the window wires to generating; the window decides what runs."""

    def __init__(self, context: StudioContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.prompt_panel = PromptPanel(self.recent_prompts)
        self.params_panel = ParamsPanel()
        self.task_panel = TaskPanel()
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

        self.message_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_scroll = VerticalScrollArea(self.message_label,
                                                 max_hint_height=MESSAGE_MAX_HEIGHT)
        self.message_scroll.setSizePolicy(QSizePolicy.Policy.Preferred,
                                          QSizePolicy.Policy.Fixed)
        self.message_scroll.setVisible(False)

        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button, 2)
        buttons.addWidget(self.cancel_button, 1)
        fields = QWidget()
        fields_layout = QVBoxLayout(fields)
        fields_layout.setContentsMargins(0, 0, 4, 0)  # room beside the vertical scrollbar
        fields_layout.addWidget(self.prompt_panel)
        fields_layout.addWidget(self.params_panel)
        fields_layout.addWidget(self.task_panel)
        fields_layout.addStretch(0)
        fields_layout.setStretchFactor(self.prompt_panel, 1)  # spare height: the prompt box
        self.scroll = VerticalScrollArea(fields)
        self.queue_scroll = VerticalScrollArea(self.queue_panel,
                                               max_hint_height=QUEUE_MAX_HEIGHT)
        self.queue_scroll.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.estimate_label)
        layout.addWidget(self.message_scroll)
        layout.addWidget(self.queue_scroll)
        self.setMinimumWidth(COLUMN_MIN_WIDTH)
        self.setMaximumWidth(COLUMN_MAX_WIDTH)
        narrow_combos(self)

        self._estimate_timer = QTimer(self, singleShot=True, interval=ESTIMATE_DELAY_MS)
        self._estimate_timer.timeout.connect(self.update_estimate)
        self.prompt_panel.changed.connect(self.schedule_estimate)
        self.params_panel.changed.connect(self.schedule_estimate)
        self.task_panel.changed.connect(self.schedule_estimate)
        self.task_panel.changed.connect(self._follow_task)
        self.task_panel.changed.connect(lambda: narrow_combos(self.task_panel))
        self.task_panel.failed.connect(self.show_message)
        self.params_panel.init_image_changed.connect(
            lambda: self.task_panel.set_input_image(self.params_panel.init_image))
        # An error clears once fixed: by an edit after which the request is valid again, or
        # by a run submitted after it that succeeds.
        self._edits = self._edits_at_message = 0
        self._message_at = 0.0
        for panel in (self.prompt_panel, self.params_panel, self.task_panel):
            panel.changed.connect(self._count_edit)
        context.jobs.finished.connect(self._clear_message_after)

    def set_settings(self, settings: Settings) -> None:
        """Show the chosen backend, its model and its tasks (at start and on change)."""
        self.params_panel.set_settings(settings)
        self.task_panel.set_tasks(tasks_of(settings.backend))
        profile = self.params_panel.profile
        self.prompt_panel.set_token_counter(None if profile is None else counter_for(
            profile.family, tokenizer_dir(settings.local.model, profile.reference_repo)))
        if profile is not None and not profile.negative_prompt:
            self.prompt_panel.set_negative_allowed(
                False, f"{profile.label} takes no negative prompt: it is guidance-distilled. "
                       "Describe what you want instead.")
        else:
            self.prompt_panel.set_negative_allowed(True)

    def request(self) -> GenerationRequest:
        """The request the panels describe; raises InvalidRequest when it is not valid."""
        prompt, negative = self.task_panel.prompt_for(self.prompt_panel.prompt(),
                                                      self.prompt_panel.negative())
        task = self.task_panel.task()
        size = request_size(self.params_panel.init_image) if task is not None else None
        request = self.params_panel.build_request(prompt, negative, size=size)
        return self.task_panel.finish_request(request)

    def edit_request(self, image: Image.Image, instruction: str) -> GenerationRequest:
        """An edit by words of `image`: the instruction as the prompt, the image's size
        (rounded down to a multiple of 16), everything else from the panels.

        Raises InvalidRequest when the fields do not make a valid request."""
        request = self.params_panel.build_request(instruction, self.prompt_panel.negative(),
                                                  size=edit_size(image.size))
        return request.replace(init_image=image, mask=None, edit=True)

    def backend(self) -> Backend:
        """The backend a job runs on: the current one, set to the chosen task if any.

        Raises a BackendError (an option out of range, a backend that cannot be built)."""
        return self.task_panel.backend_for(self.context.backends.current(),
                                           self.prompt_panel.prompt())

    def recent_prompts(self) -> list[str]:
        try:
            return self.context.library.recent_prompts(RECENT_PROMPTS)
        except LibraryError as exc:
            self.show_message(str(exc))
            return []

    def show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_scroll.setVisible(bool(text))
        self._edits_at_message = self._edits
        self._message_at = time.perf_counter()

    def _count_edit(self) -> None:
        self._edits += 1

    def _clear_message_after(self, job: Job, *_: object) -> None:
        if self.message_label.text() and job.submitted_at > self._message_at:
            self.show_message("")

    def _clear_fixed_message(self) -> None:
        if self.message_label.text() and self._edits > self._edits_at_message:
            self.show_message("")

    def schedule_estimate(self) -> None:
        self._estimate_timer.start()

    def update_estimate(self) -> None:
        try:
            cost = self.backend().estimate_cost(self.request())
        except InvalidRequest as exc:
            # An empty prompt is not worth a complaint before anything is typed.
            typed = self.prompt_panel.prompt() or self.task_panel.task() is not None
            self.show_no_estimate(str(exc) if typed else "")
            return
        except BackendError as exc:
            self.show_no_estimate(str(exc))
            return
        self._clear_fixed_message()
        self.show_estimate(cost)

    def show_estimate(self, cost: Cost) -> None:
        self.estimate_label.setText(f"Estimate: <b>{format_usd(cost.usd)}</b>")
        self.generate_button.setText(estimate_button_text(cost.usd))
        self.estimate_label.setToolTip(cost.basis)
        self.generate_button.setToolTip(
            f"Generate (Ctrl+Enter) · estimate {format_usd(cost.usd)} — {cost.basis}")

    def show_no_estimate(self, why: str) -> None:
        """No estimate for this request (yet): say why, in italics ('' says nothing)."""
        self.generate_button.setText("Generate")
        self.estimate_label.setText(f"<i>{why}</i>" if why else "")

    # --- starting from an image of the history -----------------------------------------

    def reuse_settings(self, record: ImageRecord) -> None:
        """Everything the image was made with, its seed included, for one image."""
        self.prompt_panel.set_prompt(record.prompt)
        self.prompt_panel.set_negative(record.negative_prompt)
        self.params_panel.apply_request({**record.request, "seed": record.seed, "count": 1})

    def keep_seed(self, record: ImageRecord) -> None:
        """The image's seed, locked, and the prompt selected for writing a new one."""
        self.params_panel.keep_seed(record.seed)
        self.prompt_panel.prompt_edit.setFocus()
        self.prompt_panel.prompt_edit.selectAll()

    def use_as_init_image(self, record: ImageRecord) -> None:
        """The image as the init image of an image-to-image run, at its size."""
        self.params_panel.set_init_image(load_image(record.path, role="source image"))
        self.params_panel.width_spin.setValue(record.width)
        self.params_panel.height_spin.setValue(record.height)

    def prepare_task(self, record: ImageRecord, task_name: str) -> bool:
        """The image as the input of a task, the task chosen; True when it needs nothing
        more and can run now, else the first thing the user must fill has the focus.

        Raises InvalidRequest when the image cannot be read."""
        self.use_as_init_image(record)
        task = self.task_panel.select(task_name)
        if task is None:
            raise InvalidRequest(f"The current backend has no task {task_name!r}.")
        if self.task_panel.runs_at_once():
            return True
        missing = self.task_panel.missing_input()
        if missing is not None:
            missing.setFocus()
        else:
            self.prompt_panel.prompt_edit.setFocus()
            self.prompt_panel.prompt_edit.selectAll()
        return False

    def _follow_task(self) -> None:
        task = self.task_panel.task()
        self.params_panel.set_task_inputs(sized=task is None,
                                          seeded=task is None or task.seeded,
                                          strength=task is None)
