"""The Settings dialog, driven through its real widgets offscreen."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QLabel

from backends.errors import BackendUnavailable
from studio.settings.store import SettingsStore
from studio.settings.values import LocalSettings, Settings
from studio.ui.settings.connection import ConnectionTester
from studio.ui.settings.dialog import SettingsDialog, default_test_connection

Button = QDialogButtonBox.StandardButton


@pytest.fixture(autouse=True)
def aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two profiles in a private AWS config, so the real ~/.aws never leaks in."""
    config = tmp_path / "aws-config"
    config.write_text("[profile design]\nregion = us-west-2\n\n"
                      "[profile sso-dev]\nsso_session = corp\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return config


@pytest.fixture
def store() -> SettingsStore:
    return SettingsStore()


@pytest.fixture
def open_dialog(qtbot, store):
    def make(test_connection=None) -> SettingsDialog:
        dialog = SettingsDialog(store, test_connection)
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    return make


def click(qtbot, dialog: SettingsDialog, which: QDialogButtonBox.StandardButton) -> None:
    qtbot.mouseClick(dialog.buttons.button(which), Qt.MouseButton.LeftButton)


def choose(qtbot, radio) -> None:
    """Click where a user would: on the indicator, not the empty middle of a wide row."""
    qtbot.mouseClick(radio, Qt.MouseButton.LeftButton, pos=QPoint(6, radio.height() // 2))


def type_into(qtbot, line_edit, text: str) -> None:
    line_edit.clear()
    qtbot.keyClicks(line_edit, text)


def test_ok_saves_and_a_restart_reads_the_same_values(qtbot, open_dialog, store, studio_home,
                                                      tmp_path) -> None:
    dialog = open_dialog()
    gen, local = dialog.generation_page, dialog.local_page
    sm, br, lib = dialog.sagemaker_page, dialog.bedrock_page, dialog.library_page
    choose(qtbot, gen.backend_buttons["bedrock"])
    gen.steps.setValue(4)
    gen.guidance.setValue(1.5)
    gen.width.setValue(768)
    gen.height.setValue(512)
    type_into(qtbot, local.model, "stabilityai/sdxl-turbo")
    local.device.setCurrentIndex(local.device.findData("cuda"))
    type_into(qtbot, local.watts, "250")
    local.hardware.setValue(0.5)
    type_into(qtbot, sm.endpoint_name, "sdxl-inf2")
    sm.region.setEditText("us-west-2")
    sm.profile.setEditText("design")
    type_into(qtbot, sm.endpoint_url, "http://127.0.0.1:8080")
    sm.instance_type.setEditText("ml.inf2.xlarge")
    sm.instance_count.setValue(2)
    sm.payload_format.setCurrentIndex(sm.payload_format.findData("jumpstart"))
    br.model.setEditText("stability.sd3-5-large-v1:0")
    br.region.setEditText("us-west-2")
    br.profile.setEditText("sso-dev")
    type_into(qtbot, lib.folder, str(tmp_path / "images"))
    type_into(qtbot, lib.electricity, "0.31")

    click(qtbot, dialog, Button.Ok)

    assert not dialog.isVisible()
    saved = json.loads((studio_home / "settings.json").read_text())
    assert saved["backend"] == "bedrock" and saved["sagemaker"]["instance_count"] == 2
    restarted = SettingsStore().settings
    assert restarted == store.settings
    assert (restarted.default_steps, restarted.default_guidance) == (4, 1.5)
    assert (restarted.default_width, restarted.default_height) == (768, 512)
    assert restarted.local.model == "stabilityai/sdxl-turbo"
    assert restarted.local.device == "cuda" and restarted.local.device_watts == 250
    assert restarted.local.hardware_usd_per_hour == 0.5
    assert restarted.sagemaker.endpoint_name == "sdxl-inf2"
    assert restarted.sagemaker.endpoint_url == "http://127.0.0.1:8080"
    assert restarted.sagemaker.profile == "design" and restarted.sagemaker.region == "us-west-2"
    assert restarted.sagemaker.instance_type == "ml.inf2.xlarge"
    assert restarted.sagemaker.payload_format == "jumpstart"
    assert restarted.bedrock.model == "stability.sd3-5-large-v1:0"
    assert restarted.bedrock.profile == "sso-dev"
    assert restarted.library_folder == str(tmp_path / "images")
    assert (tmp_path / "images").is_dir()
    assert restarted.electricity_usd_per_kwh == 0.31


def test_cancel_discards_edits(qtbot, open_dialog, store, studio_home) -> None:
    dialog = open_dialog()
    dialog.generation_page.steps.setValue(9)
    type_into(qtbot, dialog.local_page.model, "someone/else")

    click(qtbot, dialog, Button.Cancel)

    assert not dialog.isVisible()
    assert store.settings == Settings()
    assert not (studio_home / "settings.json").exists()
    dialog.show()  # reopening shows what is saved, not the abandoned edits
    assert dialog.generation_page.steps.optional_value() is None  # the model's own
    assert dialog.generation_page.steps.text() == "Model default"
    assert dialog.local_page.model.text() == ""


def test_ok_without_edits_saves_nothing(qtbot, open_dialog, store, studio_home) -> None:
    dialog = open_dialog()
    changes: list[Settings] = []
    store.changed.connect(changes.append)

    click(qtbot, dialog, Button.Ok)

    assert not dialog.isVisible()
    assert changes == []
    assert not (studio_home / "settings.json").exists()


def test_invalid_values_are_explained_next_to_their_fields_and_nothing_is_saved(
        qtbot, open_dialog, store, studio_home, tmp_path) -> None:
    dialog = open_dialog()
    gen, local, lib, sm = (dialog.generation_page, dialog.local_page, dialog.library_page,
                           dialog.sagemaker_page)
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("")
    gen.width.setValue(1001)
    type_into(qtbot, local.watts, "lots")
    type_into(qtbot, local.model, str(tmp_path / "missing.safetensors"))
    type_into(qtbot, lib.folder, str(a_file / "library"))
    type_into(qtbot, lib.electricity, "17")
    type_into(qtbot, sm.endpoint_url, "ftp://example.com")
    sm.region.setEditText("Virginia")
    dialog.show_page("library")

    click(qtbot, dialog, Button.Ok)

    assert dialog.isVisible()
    assert dialog.current_page() is gen  # the first section with a problem is shown
    assert gen.form.error_text(gen.width) == ("The width must be a multiple of 8 pixels: "
                                              "1001 is not; try 1000 or 1008.")
    assert local.form.error_text(local.watts).startswith("Device watts must be a number")
    assert "was not found" in local.form.error_text(local.model)
    assert lib.form.error_text(lib.folder).startswith("The library folder cannot be created:")
    assert "not cents" in lib.form.error_text(lib.electricity)
    assert sm.form.error_text(sm.endpoint_url).startswith("The endpoint URL must start with")
    assert "regions look like us-east-1" in sm.form.error_text(sm.region)
    assert "Generation" in dialog.status.text() and "Library & costs" in dialog.status.text()
    assert store.settings == Settings()
    assert not (studio_home / "settings.json").exists()

    gen.width.setValue(1000)
    for line_edit in (local.watts, local.model, lib.folder, lib.electricity, sm.endpoint_url):
        line_edit.clear()
    sm.region.setEditText("")
    click(qtbot, dialog, Button.Apply)

    assert gen.form.error_text(gen.width) == "" and not dialog.status.isVisible()
    assert SettingsStore().settings.default_width == 1000


def test_switching_backend_emits_changed_once(qtbot, open_dialog, store) -> None:
    dialog = open_dialog()
    changes: list[Settings] = []
    store.changed.connect(changes.append)
    choose(qtbot, dialog.generation_page.backend_buttons["sagemaker"])

    click(qtbot, dialog, Button.Apply)  # SageMaker needs an endpoint name first
    assert changes == []
    assert dialog.current_page() is dialog.sagemaker_page
    assert dialog.sagemaker_page.form.error_text(
        dialog.sagemaker_page.endpoint_name).startswith("Enter the endpoint name")

    type_into(qtbot, dialog.sagemaker_page.endpoint_name, "sdxl-g5")
    click(qtbot, dialog, Button.Apply)
    click(qtbot, dialog, Button.Ok)  # nothing new: no second announcement

    assert len(changes) == 1
    assert changes[0].backend == "sagemaker" and changes[0].sagemaker.endpoint_name == "sdxl-g5"
    assert SettingsStore().settings.backend == "sagemaker"


def test_a_change_made_elsewhere_while_open_is_kept(qtbot, open_dialog, store) -> None:
    dialog = open_dialog()
    dialog.generation_page.steps.setValue(12)
    store.update(store.settings.replace(local=LocalSettings(model="a/b")))

    click(qtbot, dialog, Button.Ok)

    assert store.settings.default_steps == 12
    assert store.settings.local.model == "a/b"


def test_test_connection_runs_off_the_gui_thread(qtbot, open_dialog, store) -> None:
    calls: list[Settings] = []

    def slow_check(settings: Settings) -> str:
        calls.append(settings)
        time.sleep(1.0)
        return "Endpoint sdxl-g5 is InService on 1 × ml.g5.xlarge."

    dialog = open_dialog(slow_check)
    page = dialog.sagemaker_page
    dialog.show_page("sagemaker")
    type_into(qtbot, page.endpoint_name, "sdxl-g5")
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)

    qtbot.mouseClick(page.tester.button, Qt.MouseButton.LeftButton)
    # The click returned while the check sleeps: the busy state is showing, not the answer.
    assert page.tester.running and page.tester.busy.isVisible()
    assert not page.tester.button.isEnabled()
    assert page.tester.result.text() == "Testing the connection…"
    page.tester.start()  # a second request while one runs is ignored
    qtbot.mouseClick(page.tester.button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: not page.tester.running, timeout=5000)
    timer.stop()

    assert page.tester.result.text() == "Endpoint sdxl-g5 is InService on 1 × ml.g5.xlarge."
    assert len(ticks) >= 5  # the event loop kept turning while the check slept
    assert len(calls) == 1
    assert calls[0].backend == "sagemaker" and calls[0].sagemaker.endpoint_name == "sdxl-g5"
    assert page.tester.button.isEnabled() and not page.tester.busy.isVisible()
    assert store.settings == Settings()  # testing saves nothing


def test_test_connection_failure_shows_the_message(qtbot, open_dialog) -> None:
    def failing_check(settings: Settings) -> str:
        raise BackendUnavailable(f"No access to {settings.bedrock.model} in "
                                 f"{settings.bedrock.region}: grant it in the Bedrock console.")

    dialog = open_dialog(failing_check)
    page = dialog.bedrock_page
    page.model.setEditText("stability.stable-image-ultra-v1:1")

    qtbot.mouseClick(page.tester.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.tester.running, timeout=5000)

    assert page.tester.result.text() == ("No access to stability.stable-image-ultra-v1:1 in "
                                         "us-west-2: grant it in the Bedrock console.")
    assert dialog.isVisible()


def test_test_connection_checks_the_fields_first(qtbot, open_dialog) -> None:
    calls: list[Settings] = []
    dialog = open_dialog(lambda settings: calls.append(settings) or "ok")
    page = dialog.bedrock_page
    page.region.setEditText("Virginia")

    qtbot.mouseClick(page.tester.button, Qt.MouseButton.LeftButton)

    assert calls == [] and not page.tester.running
    assert "regions look like us-east-1" in page.form.error_text(page.region)
    assert page.tester.result.text().startswith("Fix the fields marked above")


def test_a_check_that_never_answers_is_abandoned(qtbot, open_dialog, monkeypatch) -> None:
    monkeypatch.setattr(ConnectionTester, "timeout_s", 0.2)
    release = threading.Event()

    def stuck_check(settings: Settings) -> str:
        release.wait(5)
        return "late answer"

    dialog = open_dialog(stuck_check)
    tester = dialog.bedrock_page.tester
    try:
        qtbot.mouseClick(tester.button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not tester.running, timeout=3000)
        assert tester.result.text().startswith("No answer after 0.2 seconds")
        assert tester.button.isEnabled()
    finally:
        release.set()
    qtbot.wait(100)
    assert tester.result.text().startswith("No answer")  # the late answer is dropped


def test_local_extra_notice(qtbot, open_dialog, monkeypatch) -> None:
    import backends.local

    monkeypatch.setattr(backends.local, "local_dependencies_missing", lambda: ["torch"])
    dialog = open_dialog()
    notice = dialog.local_page.notice

    assert notice.isVisibleTo(dialog.local_page)
    assert "Local generation needs the 'local' extra: pip install 'studio[local]'" in notice.text()
    assert "torch" in notice.text()
    assert dialog.generation_page.local_missing_hint.isVisibleTo(dialog.generation_page)
    type_into(qtbot, dialog.local_page.model, "stabilityai/sdxl-turbo")  # still usable
    click(qtbot, dialog, Button.Ok)
    assert SettingsStore().settings.local.model == "stabilityai/sdxl-turbo"


def test_no_local_notice_when_the_extra_is_installed(open_dialog, monkeypatch) -> None:
    import backends.local

    monkeypatch.setattr(backends.local, "local_dependencies_missing", lambda: [])
    dialog = open_dialog()
    assert not dialog.local_page.notice.isVisibleTo(dialog.local_page)


def test_profiles_come_from_the_aws_config(qtbot, open_dialog) -> None:
    dialog = open_dialog()
    page = dialog.sagemaker_page
    assert [page.profile.itemText(i) for i in range(page.profile.count())] == [
        "design", "sso-dev"]
    type_into(qtbot, page.endpoint_name, "sdxl-g5")
    page.profile.setEditText("nobody")

    click(qtbot, dialog, Button.Apply)

    assert "No AWS profile named 'nobody'" in page.form.error_text(page.profile)


def test_browse_buttons_fill_the_model(qtbot, open_dialog, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda *args, **kwargs: str(tmp_path / "sdxl"))
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *args, **kwargs: (str(tmp_path / "m.safetensors"), ""))
    dialog = open_dialog()
    page = dialog.local_page

    qtbot.mouseClick(page.browse_folder, Qt.MouseButton.LeftButton)
    assert page.model.text() == str(tmp_path / "sdxl")
    qtbot.mouseClick(page.browse_file, Qt.MouseButton.LeftButton)
    assert page.model.text() == str(tmp_path / "m.safetensors")


def test_electricity_placeholder_shows_the_price_book(qtbot) -> None:
    from studio.costs.pricing import electricity_price
    from studio.ui.settings.pages import LibraryPage

    price = electricity_price()
    page = LibraryPage()
    qtbot.addWidget(page)

    assert page.electricity.placeholderText().startswith(f"{price.value:g}")
    hints = " ".join(label.text() for label in page.findChildren(QLabel))
    assert price.source in hints and price.as_of in hints


def test_default_test_connection_asks_the_backend_table(monkeypatch) -> None:
    import dataclasses

    from studio import backend_kinds

    class Talkative:
        def test_connection(self) -> str:
            return "Bedrock answered: stability.sd3-5-large-v1:0 is available."

    with pytest.raises(BackendUnavailable, match="Not available yet"):
        default_test_connection(Settings(backend="local"))  # the local GPU has no such test
    bedrock = dataclasses.replace(backend_kinds.KINDS["bedrock"], build=lambda s: Talkative())
    monkeypatch.setitem(backend_kinds.KINDS, "bedrock", bedrock)
    assert default_test_connection(Settings(backend="bedrock")).startswith("Bedrock answered")


def test_opening_settings_does_not_import_torch(tmp_path) -> None:
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from studio.settings.store import SettingsStore\n"
        "from studio.ui.settings.dialog import SettingsDialog\n"
        "dialog = SettingsDialog(SettingsStore())\n"
        "dialog.show()\n"
        "app.processEvents()\n"
        "assert dialog.apply()\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
