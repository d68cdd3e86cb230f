"""Light and dark themes that follow the OS setting.

Fusion with an explicit palette looks the same on every platform, and unlike the native
styles it honours a dark palette on Windows too. The OS reports its scheme through
QStyleHints.colorScheme() (Qt 6.5+) and announces changes with colorSchemeChanged.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

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


def scheme_name(scheme: Qt.ColorScheme) -> str:
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


class ThemeFollower(QObject):
    """Keeps the application's palette in step with the OS light/dark setting."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.app = app
        self.current = ""
        app.setStyle("Fusion")
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(self.apply)
        self.apply(hints.colorScheme())

    def apply(self, scheme: Qt.ColorScheme) -> None:
        name = scheme_name(scheme)
        if name == self.current:
            return
        self.current = name
        self.app.setPalette(palette_for(name))


def follow_os_theme(app: QApplication) -> ThemeFollower:
    # Parented to the app, so it lives as long as the app does.
    return ThemeFollower(app)
