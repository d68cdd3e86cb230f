"""The Generation page's Speed: the default profile the window starts each run with."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox

from studio.settings.store import SettingsStore
from studio.ui.settings.dialog import SettingsDialog


def test_the_default_speed_shows_and_saves(qtbot) -> None:
    store = SettingsStore()
    assert store.settings.speed == "fast"
    dialog = SettingsDialog(store, None)
    qtbot.addWidget(dialog)
    dialog.show()
    page = dialog.generation_page
    assert page.speed.currentText() == "Fast"
    assert "compiles once" in page.speed.toolTip()

    page.speed.set_speed("fastest")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Apply).click()
    assert store.settings.speed == "fastest"
    page.speed.set_speed("exact")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert store.settings.speed == "exact"
    assert SettingsStore().settings.speed == "exact"  # saved, not only in memory
