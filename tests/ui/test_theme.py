"""The app follows the OS light/dark setting with two Fusion palettes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QStyle,
    QStyleOptionButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.theme import DARK, LIGHT, ThemeFollower, palette_for

Role = QPalette.ColorRole


def _window_colour(app: QApplication) -> str:
    return app.palette().color(Role.Window).name()


def test_the_palettes_differ_where_it_shows() -> None:
    light, dark = palette_for("light"), palette_for("dark")
    assert light.color(Role.Window).lightness() > 200 > dark.color(Role.Window).lightness()
    assert light.color(Role.Text).lightness() < 100 < dark.color(Role.Text).lightness()


def test_the_palette_follows_the_os_scheme_as_it_changes(qapp: QApplication) -> None:
    previous_palette, previous_style = qapp.palette(), qapp.style().name()
    follower = ThemeFollower(qapp)
    try:
        assert qapp.style().baseStyle().name().lower() == "fusion"
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert follower.current == "dark"
        assert _window_colour(qapp) == DARK[Role.Window]
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert follower.current == "light"
        assert _window_colour(qapp) == LIGHT[Role.Window]
    finally:
        QGuiApplication.styleHints().colorSchemeChanged.disconnect(follower.apply)
        follower.deleteLater()
        qapp.setStyle(previous_style)
        qapp.setPalette(previous_palette)


def test_an_unknown_scheme_is_light(qapp: QApplication) -> None:
    follower = ThemeFollower(qapp)
    try:
        follower.apply(Qt.ColorScheme.Unknown)
        assert follower.current == "light"
    finally:
        QGuiApplication.styleHints().colorSchemeChanged.disconnect(follower.apply)
        follower.deleteLater()


def _luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
    return (0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF()))


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio, 1 (none) to 21 (black on white)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _edge_contrast(image: QImage, button: QCheckBox | QRadioButton, background: QColor,
                   element: QStyle.SubElement) -> float:
    """The best contrast with the window along the middle row of the indicator's box: its
    left and right edges are on that row, whatever the shape."""
    option = QStyleOptionButton()
    button.initStyleOption(option)
    box = button.style().subElementRect(element, option, button)
    box.translate(button.pos())
    ratio = image.devicePixelRatio()
    y = round((box.top() + box.height() / 2) * ratio)
    return max(contrast(image.pixelColor(x, y), background)
               for x in range(round(box.left() * ratio), round((box.right() + 1) * ratio)))


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_check_boxes_and_radio_buttons_stand_out_from_the_window(qapp, qtbot, scheme) -> None:
    previous_palette, previous_style = qapp.palette(), qapp.style().name()
    follower = ThemeFollower(qapp)
    try:
        follower.apply(Qt.ColorScheme.Dark if scheme == "dark" else Qt.ColorScheme.Light)
        panel = QWidget()
        qtbot.addWidget(panel)
        layout = QVBoxLayout(panel)
        boxes = [QCheckBox("Lock"), QRadioButton("Pure white")]
        disabled = QCheckBox("Not here")
        disabled.setEnabled(False)
        for box in (*boxes, disabled):
            layout.addWidget(box)
        panel.show()
        qtbot.waitExposed(panel)
        image = panel.grab().toImage()
        window = qapp.palette().color(Role.Window)
        sub = QStyle.SubElement
        assert _edge_contrast(image, boxes[0], window, sub.SE_CheckBoxIndicator) >= 3
        assert _edge_contrast(image, boxes[1], window, sub.SE_RadioButtonIndicator) >= 3
        # Greyed out reads as greyed out, yet is still there.
        assert 1.3 <= _edge_contrast(image, disabled, window, sub.SE_CheckBoxIndicator) < 3
    finally:
        QGuiApplication.styleHints().colorSchemeChanged.disconnect(follower.apply)
        follower.deleteLater()
        qapp.setStyle(previous_style)
        qapp.setPalette(previous_palette)


def test_text_fields_spin_boxes_and_combo_boxes_have_visible_edges_in_dark(qapp, qtbot) -> None:
    previous_palette, previous_style = qapp.palette(), qapp.style().name()
    follower = ThemeFollower(qapp)
    try:
        follower.apply(Qt.ColorScheme.Dark)
        panel = QWidget()
        qtbot.addWidget(panel)
        layout = QVBoxLayout(panel)
        combo = QComboBox()
        combo.addItems(["Model default", "Euler"])
        fields = [QLineEdit("1234"), QSpinBox(), combo]
        for field in fields:
            layout.addWidget(field)
        panel.show()
        qtbot.waitExposed(panel)
        image = panel.grab().toImage()
        ratio = image.devicePixelRatio()
        window = qapp.palette().color(Role.Window)
        for field in fields:
            y = round((field.y() + field.height() / 2) * ratio)
            left = round(field.x() * ratio)
            edge = max(contrast(image.pixelColor(x, y), window) for x in range(left, left + 3))
            assert edge >= 3, type(field).__name__
    finally:
        QGuiApplication.styleHints().colorSchemeChanged.disconnect(follower.apply)
        follower.deleteLater()
        qapp.setStyle(previous_style)
        qapp.setPalette(previous_palette)
