"""Light and dark themes that follow the OS setting.

Fusion with an explicit palette looks the same on every platform, and unlike the native
styles it honours a dark palette on Windows too. The OS reports its scheme through
QStyleHints.colorScheme() (Qt 6.5+) and announces changes with colorSchemeChanged.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QApplication,
    QProxyStyle,
    QStyle,
    QStyleFactory,
    QStyleOption,
    QStyleOptionComplex,
    QWidget,
)

Role = QPalette.ColorRole
Group = QPalette.ColorGroup

LIGHT: dict[QPalette.ColorRole, str] = {
    Role.Window: "#f3f3f5", Role.WindowText: "#1f1f24", Role.Base: "#ffffff",
    Role.AlternateBase: "#eceef3", Role.ToolTipBase: "#ffffff", Role.ToolTipText: "#1f1f24",
    Role.PlaceholderText: "#8a8a93", Role.Text: "#1f1f24", Role.Button: "#e9e9ee",
    Role.ButtonText: "#1f1f24", Role.BrightText: "#ffffff", Role.Light: "#ffffff",
    Role.Midlight: "#e0e0e6", Role.Mid: "#b8b8c2", Role.Dark: "#9c9ca6", Role.Shadow: "#5a5a63",
    Role.Highlight: "#4f46e5", Role.HighlightedText: "#ffffff", Role.Link: "#4338ca",
    Role.LinkVisited: "#7c3aed",
}
DARK: dict[QPalette.ColorRole, str] = {
    Role.Window: "#202126", Role.WindowText: "#e8e8ed", Role.Base: "#17181c",
    Role.AlternateBase: "#2a2b31", Role.ToolTipBase: "#2a2b31", Role.ToolTipText: "#e8e8ed",
    Role.PlaceholderText: "#80808a", Role.Text: "#e8e8ed", Role.Button: "#2d2e34",
    Role.ButtonText: "#e8e8ed", Role.BrightText: "#ffffff", Role.Light: "#3a3b42",
    Role.Midlight: "#33343a", Role.Mid: "#26272c", Role.Dark: "#141518", Role.Shadow: "#000000",
    Role.Highlight: "#6366f1", Role.HighlightedText: "#ffffff", Role.Link: "#a5b4fc",
    Role.LinkVisited: "#c4b5fd",
}
DISABLED_TEXT = {"light": "#a3a3ad", "dark": "#6b6b75"}
# The edge of check boxes and radio buttons: Fusion draws it a shade darker than the window,
# which vanishes on a dark one. These keep a 3:1 contrast with the window (WCAG's minimum for
# the parts of a control), enabled and disabled.
INDICATOR_EDGE = {"light": "#7a7a85", "dark": "#a0a0ab"}
INDICATOR_EDGE_DISABLED = {"light": "#b8b8c2", "dark": "#5c5c66"}
# The frame of text fields, spin boxes and combo boxes on the dark palette, for the same
# reason (3:1 against the window); the light palette keeps Fusion's own.
FIELD_EDGE_DARK = "#7a7a86"
# Amber that reads on both palettes: a licence to check, not an error.
WARNING_COLOR = "#d97706"


def palette_for(scheme: str) -> QPalette:
    """'dark' or 'light' (anything else is light)."""
    name = "dark" if scheme == "dark" else "light"
    palette = QPalette()
    for role, color in (DARK if name == "dark" else LIGHT).items():
        palette.setColor(role, QColor(color))
    for role in (Role.WindowText, Role.Text, Role.ButtonText):
        palette.setColor(Group.Disabled, role, QColor(DISABLED_TEXT[name]))
    return palette


class LegibleStyle(QProxyStyle):
    """Fusion, with check box and radio button edges drawn in a colour that reads on the
    current palette (light or dark), and on the dark one the frames of fields too."""

    FIELDS = (QStyle.ComplexControl.CC_SpinBox, QStyle.ComplexControl.CC_ComboBox)

    INDICATORS = (QStyle.PrimitiveElement.PE_IndicatorCheckBox,
                  QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck,
                  QStyle.PrimitiveElement.PE_IndicatorRadioButton)

    def __init__(self, scheme: str = "light") -> None:
        super().__init__(QStyleFactory.create("Fusion"))
        self.scheme = scheme

    def drawPrimitive(self, element: QStyle.PrimitiveElement,  # noqa: N802 - Qt override
                      option: QStyleOption, painter: QPainter,
                      widget: QWidget | None = None) -> None:
        super().drawPrimitive(element, option, painter, widget)
        if (element == QStyle.PrimitiveElement.PE_PanelLineEdit and self.scheme == "dark"
                and getattr(option, "lineWidth", 0) > 0):  # a framed line edit
            self._draw_field_edge(option, painter)
        if element not in self.INDICATORS:
            return
        enabled = bool(option.state & QStyle.StateFlag.State_Enabled)
        edge = (INDICATOR_EDGE if enabled else INDICATOR_EDGE_DISABLED)[self.scheme]
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(edge), 1.2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        box = option.rect.toRectF().adjusted(0.6, 0.6, -0.6, -0.6)
        if element == QStyle.PrimitiveElement.PE_IndicatorRadioButton:
            painter.drawEllipse(box)
        else:
            painter.drawRoundedRect(box, 1.5, 1.5)
        painter.restore()


    def drawComplexControl(self, control: QStyle.ComplexControl,  # noqa: N802 - Qt override
                           option: QStyleOptionComplex, painter: QPainter,
                           widget: QWidget | None = None) -> None:
        super().drawComplexControl(control, option, painter, widget)
        if control in self.FIELDS and self.scheme == "dark" and getattr(option, "frame", True):
            self._draw_field_edge(option, painter)

    @staticmethod
    def _draw_field_edge(option: QStyleOption, painter: QPainter) -> None:
        enabled = bool(option.state & QStyle.StateFlag.State_Enabled)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(FIELD_EDGE_DARK if enabled
                                   else INDICATOR_EDGE_DISABLED["dark"]), 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(option.rect.toRectF().adjusted(0.5, 0.5, -0.5, -0.5), 2, 2)
        painter.restore()


def scheme_name(scheme: Qt.ColorScheme) -> str:
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


class ThemeFollower(QObject):
    """Keeps the application's palette in step with the OS light/dark setting."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.app = app
        self.current = ""
        self.style = LegibleStyle()
        app.setStyle(self.style)
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(self.apply)
        self.apply(hints.colorScheme())

    def apply(self, scheme: Qt.ColorScheme) -> None:
        name = scheme_name(scheme)
        if name == self.current:
            return
        self.current = name
        self.style.scheme = name
        self.app.setPalette(palette_for(name))


def follow_os_theme(app: QApplication) -> ThemeFollower:
    # Parented to the app, so it lives as long as the app does.
    return ThemeFollower(app)
