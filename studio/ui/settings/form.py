"""The parts every settings page is built from: a form whose fields carry a hint and an
error line, a page base class, and the small parsers the pages share."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from studio.settings.values import Settings

ERROR_COLOR = "#c62828"
COMPACT_WIDTHS = (140, 200)  # min, max


def hint_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    font = label.font()
    font.setPointSizeF(max(font.pointSizeF() - 1, 7.0))
    label.setFont(font)
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText,
                     palette.color(QPalette.ColorRole.PlaceholderText))
    label.setPalette(palette)
    return label


def notice_label(text: str) -> QLabel:
    """A framed message at the top of a page, for something the user has to act on."""
    label = QLabel(text)
    label.setObjectName("settingsNotice")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setFrameShape(QFrame.Shape.StyledPanel)
    label.setMargin(8)
    label.setStyleSheet(f"QLabel#settingsNotice {{ border: 1px solid {ERROR_COLOR}; "
                        "border-radius: 4px; }")
    return label


class Form(QFormLayout):
    """Label / field rows; each field can have a hint under it and an error shown on demand.

    Errors are keyed by the widget the user has to fix, so a page can report a problem
    without knowing how the row was laid out.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self._errors: dict[QWidget, QLabel] = {}

    def add_field(self, label: str, field: QWidget, *, hint: str = "",
                  key: QWidget | None = None, compact: bool = False) -> QLabel | None:
        """Add a row; `key` is the widget errors refer to when `field` is a container.

        `compact` keeps short values (numbers, prices) from stretching across the page.
        Returns the hint label, so a page can keep it current.
        """
        key = key or field
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        if compact:
            field.setMinimumWidth(COMPACT_WIDTHS[0])
            field.setMaximumWidth(COMPACT_WIDTHS[1])
            layout.addWidget(field, 0, Qt.AlignmentFlag.AlignLeft)
        else:
            layout.addWidget(field)
        error = QLabel()
        error.setWordWrap(True)
        error.setStyleSheet(f"color: {ERROR_COLOR};")
        error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        error.hide()
        layout.addWidget(error)
        hint_widget = hint_label(hint) if hint else None
        if hint_widget is not None:
            layout.addWidget(hint_widget)
        caption = QLabel(label)
        caption.setBuddy(key)
        self.addRow(caption, column)
        self._errors[key] = error
        return hint_widget

    def show_error(self, key: QWidget, message: str) -> None:
        error = self._errors[key]
        error.setText(message)
        error.show()

    def error_text(self, key: QWidget) -> str:
        error = self._errors[key]
        return error.text() if not error.isHidden() else ""

    def clear_errors(self) -> None:
        for error in self._errors.values():
            error.clear()
            error.hide()

    def first_error_field(self) -> QWidget | None:
        return next((key for key, error in self._errors.items() if not error.isHidden()), None)

    def focus_first_error(self) -> None:
        field = self.first_error_field()
        if field is not None:
            field.setFocus(Qt.FocusReason.OtherFocusReason)


class SettingsPage(QWidget):
    """One section of the dialog. `load` shows settings; `collect` reads them back.

    `collect` returns `settings` with this page's values and shows any problem next to its
    field; the caller checks `has_errors` before using the result.
    """

    key = ""
    title = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        heading = QLabel(self.title)
        font = QFont(heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        heading.setFont(font)
        self._layout.addWidget(heading)
        self.form = Form()
        self._layout.addLayout(self.form)
        self._layout.addStretch(1)

    def add_notice(self, notice: QWidget) -> None:
        """Put `notice` between the heading and the form."""
        self._layout.insertWidget(1, notice)

    def add_below(self, widget: QWidget) -> None:
        """Put `widget` under the form, above the stretch that keeps rows at the top."""
        self._layout.insertWidget(self._layout.count() - 1, widget)

    def load(self, settings: Settings) -> None:
        raise NotImplementedError

    def collect(self, settings: Settings) -> Settings:
        self.form.clear_errors()
        return self._collect(settings)

    def _collect(self, settings: Settings) -> Settings:
        raise NotImplementedError

    @property
    def has_errors(self) -> bool:
        return self.form.first_error_field() is not None

    def focus_first_error(self) -> None:
        self.form.focus_first_error()


def parse_number(text: str) -> float | None:
    """A blank field is None. Accepts a leading '$' and a decimal comma; raises ValueError."""
    text = text.strip().removeprefix("$").strip()
    if not text:
        return None
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def editable_combo(items: list[str], placeholder: str = "") -> QComboBox:
    """A combo that suggests `items` but takes any text; typing never adds to the list."""
    combo = QComboBox()
    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    combo.addItems(items)
    line_edit = combo.lineEdit()
    if line_edit is not None and placeholder:
        line_edit.setPlaceholderText(placeholder)
    combo.setEditText("")
    return combo


def set_combo_data(combo: QComboBox, data: object) -> None:
    index = combo.findData(data)
    combo.setCurrentIndex(max(index, 0))
