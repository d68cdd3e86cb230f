"""The history browser's filter bar: prompt search, backend, model, favourites, date, and
whether live mode's images show (hidden by default: typing makes one a moment, and they would
bury everything else; the count says how many are hidden)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from PySide6.QtCore import QDate, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from studio.library import Library, LibraryError

SEARCH_DEBOUNCE_MS = 250
ANY_TIME, TODAY, LAST_7_DAYS, LAST_30_DAYS, CUSTOM_RANGE = (
    "Any time", "Today", "Last 7 days", "Last 30 days", "Custom range…",
)
DATE_CHOICES = (ANY_TIME, TODAY, LAST_7_DAYS, LAST_30_DAYS, CUSTOM_RANGE)
ALL_BACKENDS, ALL_MODELS = "All backends", "All models"


def date_range(choice: str, today: date, first: date | None = None,
               last: date | None = None) -> tuple[datetime | None, datetime | None]:
    """(since, until) as local datetimes for a date choice; days are whole calendar days,
    and a custom range includes both its first and its last day."""
    def start(day: date) -> datetime:
        return datetime.combine(day, time())

    if choice == TODAY:
        return start(today), None
    if choice == LAST_7_DAYS:
        return start(today - timedelta(days=6)), None
    if choice == LAST_30_DAYS:
        return start(today - timedelta(days=29)), None
    if choice == CUSTOM_RANGE and first is not None and last is not None:
        first, last = min(first, last), max(first, last)
        return start(first), start(last + timedelta(days=1))
    return None, None


def count_text(count: int, hidden_live: int = 0) -> str:
    shown = "1 image" if count == 1 else f"{count:,} images"
    if not hidden_live:
        return shown
    hidden = "1 live image" if hidden_live == 1 else f"{hidden_live:,} live images"
    return f"{shown} · {hidden} hidden"


class HistoryFilterBar(QWidget):
    """Emits `filters_changed(dict)` with GalleryModel.set_filters keywords, typing debounced."""

    filters_changed = Signal(dict)

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.search = QLineEdit(placeholderText="Search prompts", clearButtonEnabled=True)
        self.search.setObjectName("historySearch")
        self.backend_box = QComboBox()
        self.model_box = QComboBox()
        self.favourites = QToolButton(text="★ Favourites", checkable=True)
        self.favourites.setToolTip("Show favourites only")
        self.hide_live = QCheckBox("Hide live", checked=True)
        self.hide_live.setToolTip(
            "Hide the images live mode made as you typed. They stay in the library and count "
            "in the totals and spending; untick to see them.")
        self.date_box = QComboBox()
        self.date_box.addItems(list(DATE_CHOICES))
        self.first_day = QDateEdit(calendarPopup=True, displayFormat="yyyy-MM-dd")
        self.last_day = QDateEdit(calendarPopup=True, displayFormat="yyyy-MM-dd")
        today = QDate.currentDate()
        self.first_day.setDate(today.addDays(-7))
        self.last_day.setDate(today)
        self.count_label = QLabel()
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search, 3)
        for widget in (self.backend_box, self.model_box, self.favourites, self.hide_live,
                       self.date_box, self.first_day, self.last_day):
            layout.addWidget(widget)
        layout.addWidget(self.count_label, 1)

        self._debounce = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit_if_changed)
        self.search.textChanged.connect(self._debounce.start)
        self.search.returnPressed.connect(self._emit_if_changed)
        for box in (self.backend_box, self.model_box):
            box.currentIndexChanged.connect(self._emit_if_changed)
        self.favourites.toggled.connect(self._emit_if_changed)
        self.hide_live.toggled.connect(self._emit_if_changed)
        self.date_box.currentIndexChanged.connect(self._on_date_choice)
        self.first_day.dateChanged.connect(self._emit_if_changed)
        self.last_day.dateChanged.connect(self._emit_if_changed)

        # The images shown, when the gallery is limited to some (a batch's results).
        self.ids: list[int] | None = None
        self.reload_choices()
        self._on_date_choice()
        self._last = self.filters()

    def filters(self) -> dict[str, Any]:
        since, until = date_range(
            self.date_box.currentText(), date.today(),
            self.first_day.date().toPython(), self.last_day.date().toPython(),
        )
        return {
            "text": self.search.text().strip() or None,
            "backend": self.backend_box.currentData(),
            "model": self.model_box.currentData(),
            "favourites_only": self.favourites.isChecked(),
            "since": since,
            "until": until,
            "live": False if self.hide_live.isChecked() else None,
        }

    def set_library(self, library: Library) -> None:
        self.library = library
        self.reload_choices()

    def reload_choices(self) -> None:
        """Refill the backend and model lists from the library, keeping what is chosen."""
        self._fill(self.backend_box, ALL_BACKENDS, self.library.distinct_backends())
        self._fill(self.model_box, ALL_MODELS, self.library.distinct_models())
        self._emit_if_changed()

    def set_count(self, count: int) -> None:
        """Show `count` matching images, and how many live ones the filters hide."""
        self.count_label.setText(count_text(count, self.hidden_live_count()))

    def hidden_live_count(self) -> int:
        """Live images that would match the filters if "Hide live" were unticked."""
        if not self.hide_live.isChecked():
            return 0
        filters = {key: value for key, value in self.filters().items() if value is not None}
        try:
            return self.library.count(**{**filters, "live": True}, ids=self.ids)
        except LibraryError:
            return 0  # the count line is a courtesy; the grid says what went wrong

    def flush(self) -> None:
        """Apply typing now instead of after the debounce."""
        self._debounce.stop()
        self._emit_if_changed()

    @staticmethod
    def _fill(box: QComboBox, everything: str, values: list[str]) -> None:
        chosen = box.currentData()
        with QSignalBlocker(box):
            box.clear()
            box.addItem(everything, None)
            for value in values:
                box.addItem(value, value)
            # A choice that vanished (another library) falls back to everything.
            box.setCurrentIndex(max(0, box.findData(chosen)) if chosen is not None else 0)

    def _on_date_choice(self) -> None:
        custom = self.date_box.currentText() == CUSTOM_RANGE
        self.first_day.setVisible(custom)
        self.last_day.setVisible(custom)
        self._emit_if_changed()

    def _emit_if_changed(self) -> None:
        if not hasattr(self, "_last"):
            return  # still being built
        self._debounce.stop()
        filters = self.filters()
        if filters != self._last:
            self._last = filters
            self.filters_changed.emit(filters)
