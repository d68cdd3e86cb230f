"""Settings → Library & costs → Content Credentials, through the real dialog offscreen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from studio.settings.store import SettingsStore
from studio.settings.values import ContentCredentialsSettings
from studio.ui.settings.dialog import SettingsDialog
from tests.library.test_c2pa_signing import make_credentials

pytest.importorskip("c2pa")
Button = QDialogButtonBox.StandardButton


@pytest.fixture
def dialog(qtbot, studio_home: Path) -> SettingsDialog:
    store = SettingsStore()
    made = SettingsDialog(store, lambda settings: "ok")
    qtbot.addWidget(made)
    made.show()
    made.show_page("library")
    return made


def test_the_test_button_signs_with_good_files_and_explains_bad_ones(
        qtbot, dialog: SettingsDialog, tmp_path: Path) -> None:
    group = dialog.library_page.credentials
    qtbot.mouseClick(group.test_button, Qt.MouseButton.LeftButton)
    assert "Choose a certificate and a private key first" in group.result.text()
    cert, key = make_credentials(tmp_path)
    group.cert.setText(str(cert))
    group.key.setText(str(key))
    qtbot.mouseClick(group.test_button, Qt.MouseButton.LeftButton)
    assert group.result.text().startswith("These files sign.")
    assert "“Test signer”" in group.result.text()
    (tmp_path / "bad").mkdir()
    _, other_key = make_credentials(tmp_path / "bad", other_key=True)
    group.key.setText(str(other_key))
    qtbot.mouseClick(group.test_button, Qt.MouseButton.LeftButton)
    assert "C2PA signing failed" in group.result.text()
    group.key.setText("")
    qtbot.mouseClick(group.test_button, Qt.MouseButton.LeftButton)
    assert "the private key is missing" in group.result.text()


def test_ok_saves_both_paths_and_a_half_pair_is_marked_not_saved(
        qtbot, dialog: SettingsDialog, tmp_path: Path, studio_home: Path) -> None:
    group = dialog.library_page.credentials
    cert, key = make_credentials(tmp_path)
    group.cert.setText(str(cert))
    assert not dialog.apply()
    assert group.form.error_text(group.key) == "Give both files, or leave both blank."
    assert "Library & costs" in dialog.status.text()
    group.key.setText(str(tmp_path / "missing.key"))
    assert not dialog.apply()
    assert "No such file" in group.form.error_text(group.key)
    group.key.setText(str(key))
    qtbot.mouseClick(dialog.buttons.button(Button.Apply), Qt.MouseButton.LeftButton)
    saved = json.loads((studio_home / "settings.json").read_text())["content_credentials"]
    assert saved == {"cert_path": str(cert), "key_path": str(key)}
    assert "BEGIN" not in (studio_home / "settings.json").read_text()  # paths, never keys
    dialog.hide()
    dialog.show()
    assert group.cert.text() == str(cert) and not group.has_errors
    group.cert.setText("")
    group.key.setText("")
    assert dialog.apply()
    assert SettingsStore().settings.content_credentials == ContentCredentialsSettings()
