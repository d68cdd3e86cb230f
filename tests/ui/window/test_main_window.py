"""The Studio window driven through its real widgets with a tiny local model."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest

from studio.library import Library
from studio.ui.gallery.pane import cost_badge, latency_badge
from tests.library.results import make_result
from tests.ui.record_factory import record_image

WAIT_MS = 60_000


def _generate(qtbot, window, prompt: str = "a ceramic mug on oak"):
    window.prompt_panel.set_prompt(prompt)
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as finished:
        QTest.keyClick(window.prompt_panel.prompt_edit, Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)
    return finished.args


def test_generate_puts_a_tile_with_latency_and_cost_badges_in_the_grid(qtbot, window) -> None:
    job, result, records = _generate(qtbot, window)
    qtbot.waitUntil(lambda: window.gallery.model.rowCount() == 1)
    record = window.gallery.model.record_at(window.gallery.model.index(0))
    assert record.id == records[0].id and record.prompt == "a ceramic mug on oak"
    assert latency_badge(record).endswith("s") and "$" in cost_badge(record)
    assert "Session: 1 images" in window.totals_status.text()
    assert window.params_panel.seed_edit.text() == str(result.request.seed) == str(record.seed)


def test_the_estimate_is_shown_before_generating(qtbot, window) -> None:
    window.prompt_panel.set_prompt("a lamp")
    qtbot.waitUntil(lambda: "Estimate" in window.estimate_label.text())
    assert "kWh" in window.estimate_label.toolTip()


def test_escape_cancels_the_running_generation(qtbot, window) -> None:
    window.params_panel.steps_spin.setValue(400)
    window.prompt_panel.set_prompt("a long run")
    jobs = window.context.jobs
    with qtbot.waitSignal(jobs.progress, timeout=WAIT_MS,
                          check_params_cb=lambda job, event: event.phase == "denoise"):
        window.generate()
    with qtbot.waitSignal(jobs.cancelled, timeout=WAIT_MS):
        QTest.keyClick(window, Qt.Key.Key_Escape)
    assert window.gallery.model.rowCount() == 0


def test_two_queued_requests_both_finish_and_each_can_be_cancelled(qtbot, window) -> None:
    window.prompt_panel.set_prompt("first")
    first = window.generate()
    window.prompt_panel.set_prompt("second")
    second = window.generate()
    third_prompt = "third, cancelled while queued"
    window.prompt_panel.set_prompt(third_prompt)
    third = window.generate()
    assert len(window.queue_panel.rows) == 3
    window.queue_panel.rows[third.id].cancel_button.click()
    qtbot.waitUntil(lambda: {first.state, second.state, third.state}
                    <= {"finished", "cancelled"}, timeout=WAIT_MS)
    assert (first.state, second.state, third.state) == ("finished", "finished", "cancelled")
    qtbot.waitUntil(lambda: window.gallery.model.rowCount() == 2)


def test_the_event_loop_keeps_running_during_a_generation(qtbot, window) -> None:
    ticks = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(1))
    window.params_panel.steps_spin.setValue(60)
    window.prompt_panel.set_prompt("responsiveness")
    timer.start()
    job = window.generate()
    qtbot.waitUntil(lambda: job.state == "running", timeout=WAIT_MS)
    ticks_at_start = len(ticks)
    qtbot.waitUntil(lambda: job.state == "finished", timeout=WAIT_MS)
    timer.stop()
    # The GUI thread handled timer events while the worker was denoising.
    assert len(ticks) - ticks_at_start >= 3


def test_errors_show_as_a_message_not_a_crash(qtbot, window, tmp_path) -> None:
    window.prompt_panel.set_prompt("")
    window.generate()
    assert "Write a prompt" in window.message_label.text()
    window._update_settings(local=window.context.settings.settings.local.__class__(
        model=str(tmp_path / "missing"), device="cpu"))
    window.prompt_panel.set_prompt("x")
    with qtbot.waitSignal(window.context.jobs.failed, timeout=WAIT_MS):
        window.generate()
    assert "was not found" in window.message_label.text()


def test_dropping_a_studio_png_restores_its_parameters(qtbot, window) -> None:
    window.params_panel.steps_spin.setValue(4)
    window.params_panel.guidance_spin.setValue(5.5)
    window.prompt_panel.set_negative("low quality")
    _, _, records = _generate(qtbot, window, "restore me")
    window.prompt_panel.set_prompt("something else")
    window.prompt_panel.set_negative("")
    window.params_panel.steps_spin.setValue(20)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(records[0].path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.prompt_panel.prompt() == "restore me"
    assert window.prompt_panel.negative() == "low quality"
    assert window.params_panel.steps_spin.value() == 4
    assert window.params_panel.guidance_spin.value() == 5.5
    assert window.params_panel.seed_edit.text() == str(records[0].seed)
    assert window.params_panel.seed_lock.isChecked()


def test_dropping_an_a1111_png_restores_its_parameters(window, tmp_path) -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("parameters", "red shoes\nNegative prompt: text\nSteps: 12, Sampler: Euler a, "
                                "CFG scale: 6, Seed: 99, Size: 512x768, Model: sd15")
    path = tmp_path / "a1111.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert window.restore_from_png(path)
    assert window.params_panel.steps_spin.value() == 12
    assert window.params_panel.sampler_combo.currentData() == "euler_a"
    assert (window.params_panel.width_spin.value(), window.params_panel.height_spin.value()) \
        == (512, 768)
    not_png = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(not_png)
    assert not window.restore_from_png(not_png)
    assert window.message_label.text()


def test_iterating_on_a_result(qtbot, window) -> None:
    _, _, records = _generate(qtbot, window, "base")
    record = records[0]
    window.column.keep_seed(record)
    assert window.params_panel.seed_edit.text() == str(record.seed)
    assert window.params_panel.seed_lock.isChecked()
    window.column.use_as_init_image(record)
    assert window.params_panel.init_image is not None
    request = window.current_request()
    assert request.mode == "img2img" and request.seed == record.seed
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as finished:
        window.seed_variations(record, 3)
    result = finished.args[1]
    assert len(result.images) == 3 and result.request.prompt == "base"


def test_compare_opens_for_two_selected_images(qtbot, window) -> None:
    _generate(qtbot, window, "one")
    _generate(qtbot, window, "two")
    qtbot.waitUntil(lambda: window.gallery.model.rowCount() == 2)
    window.gallery.view.selectAll()
    window.compare_selected()
    assert len(window.compare_dialogs) == 1
    assert window.compare_dialogs[0].isVisible()


def test_a_new_user_without_a_model_is_told_what_to_do(open_window) -> None:
    window = open_window()
    assert window.banner.isVisible()
    assert "No model chosen yet" in window.banner.label.text()


def test_opening_the_window_does_not_import_torch(tiny_settings) -> None:
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from studio.context import StudioContext\n"
        "from studio.ui.window.main_window import MainWindow\n"
        "context = StudioContext.create()\n"
        "window = MainWindow(context); window.show(); app.processEvents()\n"
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))\n"
        "context.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_backend_and_device_show_in_the_status_bar(window) -> None:
    assert window.backend_status.text().startswith("Local · CPU")


def test_the_cloud_only_install_opens_and_explains_the_local_extra(tiny_settings) -> None:
    # A finder that refuses torch and diffusers stands in for an install without them.
    code = (
        "import sys, importlib.abc\n"
        "class NoTorch(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'diffusers'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from studio.context import StudioContext\n"
        "from studio.ui.window.main_window import MainWindow\n"
        "context = StudioContext.create()\n"
        "window = MainWindow(context); window.show(); app.processEvents()\n"
        "print(window.banner.isVisible(), window.banner.label.text())\n"
        "context.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("True")
    assert "needs the 'local' extra" in out.stdout and "pip install 'studio[local]'" in out.stdout


# --- the panes follow the library, nothing relays -------------------------------------------


@pytest.fixture
def bare_window(qtbot, studio_home):
    """The window of a first start (no model), with its real context and library."""
    from studio.context import StudioContext
    from studio.ui.window.main_window import MainWindow

    context = StudioContext.create()
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    yield window
    context.close()


def _prompts(window) -> list[str]:
    model = window.gallery.model
    return [model.record_at(row).prompt for row in range(model.rowCount())]


def test_an_image_recorded_through_the_library_appears_in_the_grid(bare_window) -> None:
    record_image(bare_window.context.library, "recorded by some other path")
    assert _prompts(bare_window) == ["recorded by some other path"]


def test_deleting_in_the_loupe_takes_the_tile_off_the_grid(qtbot, bare_window,
                                                          monkeypatch) -> None:
    library = bare_window.context.library
    keep = record_image(library, "keep me")
    gone = record_image(library, "delete me")
    bare_window.gallery.view.select_ids([gone.id])
    assert bare_window.detail.record == gone
    monkeypatch.setattr(bare_window.detail.image_actions, "_confirm_delete", lambda shown: True)
    bare_window.detail.image_actions.delete_action.trigger()
    assert [r.id for r in bare_window.gallery.model.records()] == [keep.id]
    assert bare_window.detail.record is None and library.get(gone.id) is None


def test_a_favourite_in_the_loupe_shows_on_the_tile(bare_window) -> None:
    record = record_image(bare_window.context.library)
    bare_window.gallery.view.select_ids([record.id])
    bare_window.detail.image_actions.favourite_action.trigger()
    assert bare_window.gallery.model.record_at(0).favourite


@pytest.mark.parametrize("window_hears_first", [False, True])
def test_a_new_library_folder_reloads_grid_and_loupe(bare_window, tmp_path,
                                                     window_hears_first: bool) -> None:
    context, store = bare_window.context, bare_window.context.settings
    first = record_image(context.library, "in the first folder")
    bare_window.gallery.view.select_ids([first.id])
    assert bare_window.detail.record == first
    with Library.open(tmp_path / "second") as second:
        record_image(second, "in the second folder")
    if window_hears_first:  # the context's own handler now runs after every other one
        store.changed.disconnect(context._on_settings_changed)
        store.changed.connect(context._on_settings_changed)

    store.update(store.settings.replace(library_folder=str(tmp_path / "second")))
    assert context.library.root == tmp_path / "second"
    assert _prompts(bare_window) == ["in the second folder"]
    assert bare_window.detail.record is None
    record_image(context.library, "recorded after the switch")
    assert _prompts(bare_window) == ["recorded after the switch", "in the second folder"]


def test_todays_totals_follow_the_library(bare_window) -> None:
    library = bare_window.context.library
    assert "Today: 0 images" in bare_window.totals_status.text()
    records = library.record(make_result(count=2, created_at=datetime.now(UTC)))
    assert "Today: 2 images" in bare_window.totals_status.text()
    library.delete(records[0].id)
    assert "Today: 1 images" in bare_window.totals_status.text()


def test_a_library_folder_that_cannot_be_opened_keeps_the_current_one(qtbot, bare_window,
                                                                      tmp_path) -> None:
    context, store = bare_window.context, bare_window.context.settings
    kept = record_image(context.library, "still here")
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("not a folder")
    store.update(store.settings.replace(library_folder=str(not_a_folder)))
    qtbot.waitUntil(lambda: "could not be opened" in bare_window.column.message_label.text())
    assert context.library.get(kept.id) is not None
    assert _prompts(bare_window) == ["still here"]


def test_fields_a_backend_does_not_use_are_disabled(bare_window) -> None:
    store, params = bare_window.context.settings, bare_window.params_panel
    assert params.steps_spin.isEnabled() and params.sampler_combo.isEnabled()
    assert params.guidance_spin.isEnabled()
    store.update(store.settings.replace(backend="bedrock"))
    assert not params.steps_spin.isEnabled() and not params.sampler_combo.isEnabled()
    assert not params.guidance_spin.isEnabled()
    assert "Amazon Bedrock does not use this setting" in params.steps_spin.toolTip()
    assert params.model_combo.currentText() == store.settings.bedrock.model
