"""The Generation page's steps and guidance: "Model default" saves None, a value saves the
value, and the chosen model's own defaults show in the field."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox

from studio.settings.store import SettingsStore
from studio.settings.values import LocalSettings
from studio.ui.settings.dialog import SettingsDialog


def _dialog(qtbot, store: SettingsStore) -> SettingsDialog:
    dialog = SettingsDialog(store, None)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_model_default_saves_none_and_values_save_values(qtbot) -> None:
    store = SettingsStore()
    dialog = _dialog(qtbot, store)
    page = dialog.generation_page
    assert page.steps.text() == "Model default" and page.guidance.text() == "Model default"
    page.steps.setValue(6)
    page.guidance.setValue(2.0)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Apply).click()
    assert (store.settings.default_steps, store.settings.default_guidance) == (6, 2.0)

    page.steps.set_optional_value(None)
    page.guidance.stepBy(-10)  # down to the bottom: the model's default again
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert (store.settings.default_steps, store.settings.default_guidance) == (None, None)
    assert SettingsStore().settings.default_steps is None


def test_the_chosen_models_defaults_show(qtbot, flux_dev_folder) -> None:
    store = SettingsStore()
    store.update(store.settings.replace(local=LocalSettings(model=str(flux_dev_folder))))
    page = _dialog(qtbot, store).generation_page
    assert page.steps.text() == "Model default (28)"
    assert page.guidance.text() == "Model default (3.5)"
