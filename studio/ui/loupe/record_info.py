"""How one image was made, as the loupe's side panel reads: prompt, parameters (the model's
family and licence, its LoRAs, its speed profile with what it applied), timing, cost and
origin. Text only; the actions live with the
panel that owns this widget."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QFormLayout, QGridLayout, QLabel, QVBoxLayout, QWidget

from studio.formatting import format_share_seconds
from studio.library import ImageRecord
from studio.ui.loupe import record_text
from studio.ui.loupe.timing_bar import Swatch, TimingBar
from studio.ui.theme import WARNING_COLOR

_PARAMETER_ROWS = (
    ("model", "Model"), ("family", "Family"), ("licence", "Licence"),
    ("commercial", "Commercial use"), ("mode", "Mode"), ("seed", "Seed"), ("steps", "Steps"),
    ("guidance", "CFG scale"), ("sampler", "Sampler"), ("size", "Size"),
    ("count", "Images in run"), ("loras", "LoRAs"), ("speed", "Speed"),
    ("strength", "Strength"),
)
_ORIGIN_ROWS = (("backend", "Backend"), ("device", "Device"), ("created", "Created"))
_TIMING_ROWS = (*(label for _, label in record_text.TIMING_PARTS), record_text.OTHER_LABEL)
TOTAL_LABEL = "Total"


def muted(label: QLabel) -> QLabel:
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def value_label(wrap: bool = False) -> QLabel:
    label = QLabel()
    # Prompts are user text: never let "<b>" or "<img>" in one be read as markup.
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(wrap)
    return label


def section_title(text: str) -> QLabel:
    label = QLabel(text.upper())
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 0.85)
    font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 108)
    label.setFont(font)
    label.setContentsMargins(0, 10, 0, 2)
    return muted(label)


def _bold(label: QLabel) -> None:
    font = label.font()
    font.setBold(True)
    label.setFont(font)


class RecordInfo(QWidget):
    """The labelled values of one ImageRecord. `value_labels` is keyed by field key
    (prompt, negative, model, seed, …, load, inference, total, cost, cost_basis, estimate)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value_labels: dict[str, QLabel] = {}
        self._timing_rows: dict[str, list[QWidget]] = {}
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)

        column.addWidget(section_title("Prompt"))
        self.value_labels["prompt"] = value_label(wrap=True)
        column.addWidget(self.value_labels["prompt"])
        self.value_labels["negative"] = muted(value_label(wrap=True))
        column.addWidget(self.value_labels["negative"])

        column.addWidget(section_title("Parameters"))
        self._parameters = self._form(column, _PARAMETER_ROWS)

        self._timing_title = section_title("Timing")
        column.addWidget(self._timing_title)
        # Each image's own share of its run, the run's total beside it.
        self.value_labels["per_image"] = value_label()
        _bold(self.value_labels["per_image"])
        column.addWidget(self.value_labels["per_image"])
        self.timing_bar = TimingBar()
        column.addWidget(self.timing_bar)
        column.addLayout(self._timing_grid())

        column.addWidget(section_title("Cost"))
        for key in ("cost", "cost_basis", "estimate"):
            self.value_labels[key] = value_label(wrap=True)
            column.addWidget(self.value_labels[key])
        muted(self.value_labels["cost_basis"])

        column.addWidget(section_title("Made by"))
        self._form(column, _ORIGIN_ROWS)
        column.addStretch()

    def text(self, key: str) -> str:
        return self.value_labels[key].text()

    def _form(self, column: QVBoxLayout, rows: tuple[tuple[str, str], ...]) -> QFormLayout:
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(2)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, title in rows:
            self.value_labels[key] = value_label(wrap=True)
            if key == "speed":
                form.addRow(muted(QLabel(title)), self._speed_field())
            else:
                form.addRow(muted(QLabel(title)), self.value_labels[key])
        column.addLayout(form)
        return form

    def _speed_field(self) -> QWidget:
        """The profile, with what it applied and what fell back muted beneath it."""
        field = QWidget()
        stack = QVBoxLayout(field)
        stack.setContentsMargins(0, 0, 0, 0)
        stack.setSpacing(0)
        notes = self.value_labels["speed_notes"] = muted(value_label(wrap=True))
        font = notes.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        notes.setFont(font)
        stack.addWidget(self.value_labels["speed"])
        stack.addWidget(notes)
        return field

    def _timing_grid(self) -> QGridLayout:
        grid = QGridLayout()
        grid.setContentsMargins(0, 4, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        for row, title in enumerate((*_TIMING_ROWS, TOTAL_LABEL)):
            key = title.lower()
            name, seconds, share = QLabel(title), value_label(), muted(value_label())
            seconds.setAlignment(Qt.AlignmentFlag.AlignRight)
            share.setAlignment(Qt.AlignmentFlag.AlignRight)
            if title == TOTAL_LABEL:
                _bold(name)
                _bold(seconds)
            else:
                muted(name)
                grid.addWidget(Swatch(title), row, 0, Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(name, row, 1)
            grid.addWidget(seconds, row, 2)
            grid.addWidget(share, row, 3)
            self.value_labels[key] = seconds
            self.value_labels[f"{key}_share"] = share
            self._timing_rows[key] = [name, seconds, share]
        grid.setColumnStretch(4, 1)
        return grid

    def _set(self, key: str, text: str, visible: bool = True) -> None:
        self.value_labels[key].setText(text)
        self.value_labels[key].setVisible(visible)

    def show_record(self, record: ImageRecord) -> None:
        self._set("prompt", record.prompt)
        self._set("negative", f"Negative: {record.negative_prompt}",
                  visible=bool(record.negative_prompt))

        fields = record_text.parameter_fields(record)
        for field in fields + record_text.origin_fields(record):
            self._set(field.key, field.value)
        shown = {field.key for field in fields}
        for row, (key, _) in enumerate(_PARAMETER_ROWS):
            self._parameters.setRowVisible(row, key in shown)
        notes = record_text.accelerations_text(record)
        self._set("speed_notes", notes, visible=bool(notes) and "speed" in shown)
        self.value_labels["speed"].setToolTip(notes)
        # A licence that forbids commercial use must not read like any other value.
        self.value_labels["commercial"].setStyleSheet(
            f"color: {WARNING_COLOR}; font-weight: 600" if record.commercial_use is False
            else "")

        self._show_timings(record)

        self._set("cost", record_text.cost_text(record.cost))
        self._set("cost_basis", record.cost.basis, visible=bool(record.cost.basis))
        estimate = record_text.estimate_text(record)
        self._set("estimate", estimate, visible=bool(estimate))

    def _show_timings(self, record: ImageRecord) -> None:
        count = int(record.request.get("count", 1) or 1)
        # Timings belong to the run; with several images they are not per image.
        self._timing_title.setText(
            "TIMING" if count == 1 else f"TIMING · WHOLE RUN OF {count} IMAGES"
        )
        timings = record.timings
        self._set("per_image", format_share_seconds(timings.total_s, count), visible=count > 1)
        self.timing_bar.set_timings(timings)
        parts = dict(record_text.timing_parts(timings))
        whole = max(timings.total_s, sum(parts.values()))
        for title in _TIMING_ROWS:
            key = title.lower()
            seconds = parts.get(title)
            for widget in self._timing_rows[key]:
                widget.setVisible(seconds is not None)
            if seconds is not None:
                self._set(key, record_text.format_seconds(seconds))
                self._set(f"{key}_share", f"{seconds / whole:.0%}" if whole else "")
        self._set("total", record_text.format_seconds(timings.total_s))
        self._set("total_share", "")
