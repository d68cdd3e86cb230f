"""The app follows the OS light/dark setting with two Fusion palettes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

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
        assert qapp.style().name().lower() == "fusion"
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
