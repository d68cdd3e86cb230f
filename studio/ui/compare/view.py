"""Two to four results side by side, where a designer decides between models or backends.

Each image sits in an equal column above its parameters, latency and cost; rows whose
values differ between the columns are emphasised, so what changed is seen at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from studio.library import ImageRecord
from studio.ui.loupe import record_text
from studio.ui.loupe.image_view import ImageView
from studio.ui.loupe.record_info import muted, value_label

MIN_RECORDS, MAX_RECORDS = 2, 4
COLUMN_NAMES = "ABCD"
EMPTY_TEXT = "Select 2 to 4 images in the gallery, then Compare."
# Small accent badges are the one place a fixed colour is worth it: they must read the
# same in every theme, and white on these stays legible on light and dark backgrounds.
_BADGE_COLOURS = {"Fastest": "#2e7d32", "Cheapest": "#9a5b00"}
_LONGEST_LABEL = "Negative prompt"
_SPACING = 12

Row = tuple[str, list[str], bool]


def check_count(records: Sequence[ImageRecord]) -> None:
    if not MIN_RECORDS <= len(records) <= MAX_RECORDS:
        raise ValueError(
            f"Compare shows {MIN_RECORDS} to {MAX_RECORDS} images side by side; "
            f"{len(records)} {'is' if len(records) == 1 else 'are'} selected."
        )


def _strength(record: ImageRecord) -> str:
    strength = record.request.get("strength")
    return f"{float(strength):g}" if record.mode != "txt2img" and strength is not None else "—"


def compare_rows(records: Sequence[ImageRecord]) -> list[Row]:
    """(label, one value per record, whether the values differ) for every compared field.

    Rows that would be empty for every record (no negative prompts, no network time) are
    left out; a row present for some records shows "—" for the others.
    """
    check_count(records)
    table: list[tuple[str, list[str]]] = []

    def add(label: str, value: Callable[[ImageRecord], str]) -> None:
        table.append((label, [value(record) for record in records]))

    add("Prompt", lambda r: r.prompt)
    if any(r.negative_prompt for r in records):
        add("Negative prompt", lambda r: r.negative_prompt or "—")
    add("Model", lambda r: r.model or "—")
    if any(r.licence for r in records):
        add("Licence", lambda r: r.licence or "—")
    add("Backend", lambda r: r.backend)
    add("Device", lambda r: r.device or "—")
    add("Mode", lambda r: r.mode)
    add("Seed", lambda r: str(r.seed))
    add("Steps", record_text.steps_text)
    add("CFG scale", record_text.guidance_text)
    add("Sampler", record_text.sampler_label)
    add("Size", record_text.size_text)
    add("Images in run", lambda r: str(r.request.get("count", 1)))
    if any(r.request.get("loras") for r in records):
        add("LoRAs", lambda r: record_text.loras_text(r) or "—")
    if any(record_text.speed_text(r) for r in records):
        add("Speed", lambda r: record_text.speed_text(r) or "—")
    if any(r.mode != "txt2img" for r in records):
        add("Strength", _strength)
    add("Latency", lambda r: record_text.format_seconds(r.timings.total_s))
    parts = [dict(record_text.timing_parts(r.timings)) for r in records]
    for _, label in (*record_text.TIMING_PARTS, ("", record_text.OTHER_LABEL)):
        seconds = [part.get(label, 0.0) for part in parts]
        if any(seconds):
            table.append((label, [record_text.format_seconds(s) for s in seconds]))
    add("Cost", lambda r: record_text.cost_text(r.cost))
    add("Cost basis", lambda r: r.cost.basis or "—")
    return [(label, values, len(set(values)) > 1) for label, values in table]


def _lowest(values: list[float]) -> list[int]:
    low = min(values)
    return [i for i, value in enumerate(values) if math.isclose(value, low, abs_tol=1e-9)]


def best_columns(records: Sequence[ImageRecord]) -> tuple[list[int], list[int]]:
    """The indexes of the fastest and of the cheapest records (several on a tie)."""
    check_count(records)
    return (_lowest([r.timings.total_s for r in records]),
            _lowest([r.cost.usd for r in records]))


def _names(indexes: list[int]) -> str:
    return " and ".join(COLUMN_NAMES[i] for i in indexes)


def compare_summary(records: Sequence[ImageRecord]) -> str:
    """One line: which is fastest (and by how much) and which is cheapest."""
    fastest, cheapest = best_columns(records)
    seconds = [r.timings.total_s for r in records]
    usd = [r.cost.usd for r in records]
    if len(fastest) == len(records):
        speed = f"All took {record_text.format_seconds(seconds[0])}"
    else:
        speed = f"Fastest: {_names(fastest)} ({record_text.format_seconds(seconds[fastest[0]])}"
        if seconds[fastest[0]] > 0:
            speed += f", {max(seconds) / seconds[fastest[0]]:.1f}× quicker than the slowest"
        speed += ")"
    if len(cheapest) == len(records):
        money = f"all cost {record_text.format_usd(usd[0])} per image"
    else:
        money = (f"Cheapest: {_names(cheapest)} "
                 f"({record_text.format_usd(usd[cheapest[0]])} per image)")
    return f"{speed} · {money}"


def _badge(text: str) -> QLabel:
    badge = QLabel(text)
    badge.setStyleSheet(
        f"QLabel {{ background: {_BADGE_COLOURS[text]}; color: white; border-radius: 3px;"
        " padding: 1px 6px; font-weight: 600; }"
    )
    return badge


class _Column(QWidget):
    """One compared image: its letter, model and backend, badges, and the image itself."""

    def __init__(self, letter: str) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        header = QHBoxLayout()
        self.letter = QLabel(letter)
        font = self.letter.font()
        font.setBold(True)
        self.letter.setFont(font)
        self.title = muted(QLabel())
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setMinimumWidth(20)
        self.badges = {name: _badge(name) for name in _BADGE_COLOURS}
        header.addWidget(self.letter)
        header.addWidget(self.title, 1)
        for badge in self.badges.values():
            header.addWidget(badge)
        header_row = QWidget()
        header_row.setLayout(header)
        header.setContentsMargins(0, 0, 0, 0)
        # As tall as a badge whether or not one shows, so the images line up across columns.
        header_row.setFixedHeight(max(badge.sizeHint().height()
                                      for badge in self.badges.values()))
        layout.addWidget(header_row)
        self.view = ImageView()
        layout.addWidget(self.view, 1)

    def show_record(self, record: ImageRecord, fastest: bool, cheapest: bool) -> None:
        text = f"{record.model} · {record.backend}"
        self.title.setText(text)
        self.title.setToolTip(f"{text} · {record.device}\n{record.path}")
        self.badges["Fastest"].setVisible(fastest)
        self.badges["Cheapest"].setVisible(cheapest)
        self.view.set_path(record.path)
        self.view.reset_view()


class CompareView(QWidget):
    """Up to four images in equal columns with their parameters, latency and cost beneath.

    Zoom and pan follow from one image to the others while "together" is ticked.
    """

    records_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._records: list[ImageRecord] = []
        self.rows: list[Row] = []
        self.row_labels: dict[str, QLabel] = {}
        self.cells: dict[str, list[QLabel]] = {}
        bold = QFont(self.font())
        bold.setBold(True)
        self._label_width = QFontMetrics(bold).horizontalAdvance(_LONGEST_LABEL) + 8

        self._columns = [_Column(letter) for letter in COLUMN_NAMES[:MAX_RECORDS]]
        self.image_views = [column.view for column in self._columns]
        for view in self.image_views:
            view.view_changed.connect(partial(self._follow, view))

        self._stack = QStackedWidget()
        self._empty = muted(QLabel(EMPTY_TEXT))
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack.addWidget(self._empty)

        self._table = QScrollArea()
        self._table.setWidgetResizable(True)
        self._table.setFrameShape(QScrollArea.Shape.NoFrame)
        # Always on, so the value columns below stay exactly under the image columns.
        self._table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self._images_row())
        splitter.addWidget(self._table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([600, 400])  # rescaled to the real height when first shown
        self._stack.addWidget(splitter)
        self._content = splitter

        self.summary_label = QLabel()
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.sync_check = QCheckBox("Zoom and pan together")
        self.sync_check.setChecked(True)
        footer = QHBoxLayout()
        footer.addWidget(self.summary_label, 1)
        footer.addWidget(self.sync_check)

        layout = QVBoxLayout(self)
        layout.addWidget(self._stack, 1)
        layout.addLayout(footer)

    def _images_row(self) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        scrollbar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        layout.setContentsMargins(0, 0, scrollbar, 0)
        layout.setSpacing(_SPACING)
        # A box layout puts no spacing beside a spacer item, so the spacer carries it.
        layout.addSpacing(self._label_width + _SPACING)
        for column in self._columns:
            layout.addWidget(column, 1)
        return row

    # --- public -------------------------------------------------------------------------

    def records(self) -> list[ImageRecord]:
        return list(self._records)

    def column_count(self) -> int:
        return len(self._records)

    def set_records(self, records: Sequence[ImageRecord]) -> None:
        """Show 2 to 4 records; raises ValueError (and changes nothing) for any other count."""
        check_count(records)
        rows = compare_rows(records)
        fastest, cheapest = best_columns(records)
        self._records = list(records)
        self.rows = rows
        for index, column in enumerate(self._columns):
            if index < len(records):
                column.show_record(records[index], index in fastest, index in cheapest)
                column.setVisible(True)
            else:
                column.view.clear()
                column.setVisible(False)
        self._table.setWidget(self._grid(rows))
        self.summary_label.setText(compare_summary(records))
        self._stack.setCurrentWidget(self._content)
        self.records_changed.emit()

    def clear(self) -> None:
        self._records, self.rows = [], []
        self.row_labels, self.cells = {}, {}
        for column in self._columns:
            column.view.clear()
        self.summary_label.clear()
        self._stack.setCurrentWidget(self._empty)
        self.records_changed.emit()

    # --- building -----------------------------------------------------------------------

    def _grid(self, rows: list[Row]) -> QWidget:
        grid_widget = QWidget()
        grid = QGridLayout(grid_widget)
        grid.setContentsMargins(0, 8, 0, 8)
        grid.setHorizontalSpacing(_SPACING)
        grid.setVerticalSpacing(4)
        grid.setColumnMinimumWidth(0, self._label_width)
        self.row_labels, self.cells = {}, {}
        for row, (label, values, differs) in enumerate(rows):
            name = QLabel(label)
            name.setFixedWidth(self._label_width)
            name.setWordWrap(True)
            cells = [value_label(wrap=True) for _ in values]
            for cell, value in zip(cells, values, strict=True):
                cell.setText(value)
                cell.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            if differs:
                for widget in (name, *cells):
                    font = widget.font()
                    font.setBold(True)
                    widget.setFont(font)
                for cell in cells:
                    cell.setForegroundRole(QPalette.ColorRole.Link)
                name.setToolTip("Differs between the images")
            else:
                muted(name)
            grid.addWidget(name, row, 0, Qt.AlignmentFlag.AlignTop)
            for column, cell in enumerate(cells, start=1):
                grid.addWidget(cell, row, column)
            self.row_labels[label] = name
            self.cells[label] = cells
        for column in range(1, len(rows[0][1]) + 1 if rows else 1):
            grid.setColumnStretch(column, 1)
        grid.setRowStretch(len(rows), 1)
        return grid_widget

    def _follow(self, source: ImageView, zoom: float | None, x: float, y: float) -> None:
        if not self.sync_check.isChecked():
            return
        for view in self.image_views[: len(self._records)]:
            if view is not source:
                view.set_view_state(zoom, x, y)


class CompareDialog(QDialog):
    """A non-modal window around a CompareView: open it with show(), not exec()."""

    def __init__(
        self, parent: QWidget | None = None, records: Sequence[ImageRecord] | None = None
    ) -> None:
        if records is not None:
            check_count(records)
        super().__init__(parent)
        self.setModal(False)
        self.setWindowTitle("Compare")
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.setSizeGripEnabled(True)
        self.view = CompareView()
        self.view.records_changed.connect(self._retitle)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
        self.resize(1280, 860)
        if records is not None:
            self.set_records(records)

    def set_records(self, records: Sequence[ImageRecord]) -> None:
        self.view.set_records(records)

    def _retitle(self) -> None:
        count = self.view.column_count()
        self.setWindowTitle(f"Compare {count} images" if count else "Compare")
