"""Live mode with real widgets: a tiny SDXL folder named like SDXL Turbo (family detection
reads the Turbo variant from the name: 1 step by default) on the local backend, and the
Bedrock fake over real HTTP for a billed backend."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from studio.formatting import format_usd
from studio.settings.values import LocalSettings, Settings, save_settings
from tests.backends.bedrock.fake_bedrock_server import FakeBedrock

WAIT_MS = 60_000


@pytest.fixture(scope="session")
def tiny_turbo_path(tiny_sdxl_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "tiny-sdxl-turbo"
    shutil.copytree(tiny_sdxl_path, folder)
    return folder


@pytest.fixture
def turbo_window(qtbot, tiny_turbo_path):
    from studio.context import StudioContext
    from studio.ui.window.main_window import MainWindow

    save_settings(Settings(backend="local", default_width=64, default_height=64,
                           local=LocalSettings(model=str(tiny_turbo_path), device="cpu")))
    context = StudioContext.create()
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    yield window
    context.close()


def _record_queued(window) -> list:
    queued: list = []
    window.context.jobs.queued.connect(queued.append)
    return queued


def _prompt_box(window):
    return window.prompt_panel.prompt_edit


def test_live_is_offered_for_a_turbo_model_and_starts_off(turbo_window) -> None:
    live = turbo_window.live
    assert turbo_window.params_panel.profile.label == "SDXL Turbo"
    assert live.toggle.isEnabled() and not live.toggle.isChecked()
    assert "SDXL Turbo" in live.toggle.toolTip()
    assert not live.status_label.isVisible()


@pytest.mark.slow
def test_typing_three_times_quickly_makes_one_run_with_the_last_prompt(qtbot,
                                                                       turbo_window) -> None:
    window = turbo_window
    queued = _record_queued(window)
    window.live.toggle.setChecked(True)
    assert queued == []  # nothing to make from an empty prompt
    box = _prompt_box(window)
    box.setFocus()
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as finished:
        for words in ("a red", " fox", " in the snow"):
            qtbot.keyClicks(box, words)
    job, result, records = finished.args
    qtbot.wait(600)  # longer than the debounce: no late run follows
    assert [j.request.prompt for j in queued] == ["a red fox in the snow"]
    assert result.request.count == 1 and result.request.steps == 1  # SDXL Turbo's default
    assert window.detail.record is not None and window.detail.record.id == records[0].id
    assert window.context.library.count() == 1  # kept in the library like any other run
    # ... marked as live mode's, so the grid hides it and says so; the totals count it.
    assert records[0].live and window.context.library.count(live=True) == 1
    assert window.gallery.model.rowCount() == 0
    qtbot.waitUntil(lambda: window.gallery.filter_bar.count_label.text()
                    == "0 images · 1 live image hidden")
    assert window.context.library.totals().images == 1
    assert window.live.status_label.isVisible()
    assert window.live.status_label.text() == (
        f"Live · 1 image · {format_usd(result.cost.usd)} this session")


@pytest.mark.slow
def test_a_change_during_a_run_cancels_it_and_the_newest_is_shown(qtbot, turbo_window) -> None:
    window = turbo_window
    jobs = window.context.jobs
    # Many steps, so the first run is still denoising when the change comes.
    window.params_panel.steps_spin.set_optional_value(400)
    window.prompt_panel.set_prompt("a lighthouse")
    queued = _record_queued(window)
    with qtbot.waitSignal(jobs.progress, timeout=WAIT_MS,
                          check_params_cb=lambda job, p: p.phase == "denoise"):
        window.live.toggle.setChecked(True)
    first = queued[0]
    assert first.state == "running"
    box = _prompt_box(window)
    box.moveCursor(QTextCursor.MoveOperation.End)
    cancelled: list = []
    finished: list = []
    jobs.cancelled.connect(cancelled.append)
    jobs.finished.connect(lambda *args: finished.append(args))
    qtbot.keyClicks(box, " at dusk")
    window.params_panel.steps_spin.set_optional_value(2)  # the newest request: quick
    qtbot.waitUntil(lambda: bool(finished), timeout=WAIT_MS)
    assert cancelled == [first]
    [(job, result, records)] = finished
    assert job.request.prompt == "a lighthouse at dusk" and job.request.steps == 2
    assert len(queued) == 2  # the edits in between were dropped, not queued
    assert job.request.seed == first.request.seed  # the live seed stays put
    qtbot.waitUntil(lambda: window.detail.record is not None
                    and window.detail.record.id == records[0].id)
    assert window.context.library.count() == 1  # the cancelled run made nothing


@pytest.mark.slow
def test_an_edit_undone_keeps_the_run_and_turning_live_off_cancels_it(qtbot,
                                                                      turbo_window) -> None:
    window = turbo_window
    jobs = window.context.jobs
    window.params_panel.steps_spin.set_optional_value(400)
    window.prompt_panel.set_prompt("a lighthouse")
    with qtbot.waitSignal(jobs.progress, timeout=WAIT_MS,
                          check_params_cb=lambda job, p: p.phase == "denoise") as running:
        window.live.toggle.setChecked(True)
    box = _prompt_box(window)
    box.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(box, "x")
    qtbot.keyClick(box, Qt.Key.Key_Backspace)
    qtbot.wait(600)  # past the debounce: the request is what is running, so it goes on
    assert running.args[0].state == "running" and len(jobs.active_jobs()) == 1
    with qtbot.waitSignal(jobs.cancelled, timeout=WAIT_MS):
        window.live.toggle.setChecked(False)
    assert running.args[0].state == "cancelled"
    window.prompt_panel.set_prompt("a lighthouse at night")
    qtbot.wait(600)
    assert jobs.active_jobs() == []  # off means off


def test_live_is_greyed_out_for_a_model_that_is_not_few_step(window) -> None:
    # The `window` fixture's tiny model is an SD 1.x folder: 30 steps by default.
    live = window.live
    assert not live.toggle.isEnabled() and not live.toggle.isChecked()
    assert "30 steps" in live.toggle.toolTip() and "few-step" in live.toggle.toolTip()


def test_switching_to_a_slow_model_turns_live_off(qtbot, turbo_window, tiny_sd_path) -> None:
    window = turbo_window
    window.live.toggle.setChecked(True)
    store = window.context.settings
    store.update(store.settings.replace(local=LocalSettings(model=str(tiny_sd_path),
                                                            device="cpu")))
    assert not window.live.toggle.isChecked() and not window.live.toggle.isEnabled()
    assert not window.live.controller.enabled


class SlowBedrock(FakeBedrock):
    """The Bedrock fake, answering each image request only once `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.arrived = threading.Semaphore(0)

    def answer(self, path, headers, raw):
        self.arrived.release()
        self.release.wait(30)
        return super().answer(path, headers, raw)


@pytest.fixture
def bedrock_server():
    server = SlowBedrock().start()
    yield server
    server.release.set()
    server.stop()


def _switch_to_bedrock(window, server) -> None:
    store = window.context.settings
    bedrock = dataclasses.replace(store.settings.bedrock, endpoint_url=server.url)
    window.params_panel.width_spin.setValue(1024)
    window.params_panel.height_spin.setValue(1024)
    store.update(store.settings.replace(backend="bedrock", bedrock=bedrock))


def test_a_billed_backend_turns_live_off_and_asks_once(qtbot, turbo_window, aws_env,
                                                      bedrock_server) -> None:
    window = turbo_window
    asked: list[str] = []
    answers = iter([False, True])
    window.live.confirm = lambda text: asked.append(text) or next(answers)
    window.live.toggle.setChecked(True)  # on the local GPU: no question
    assert asked == [] and window.live.controller.enabled
    _switch_to_bedrock(window, bedrock_server)
    live = window.live
    assert not live.toggle.isChecked() and not live.controller.enabled  # off by default
    assert live.toggle.isEnabled() and "billed" in live.toggle.toolTip()

    live.toggle.setChecked(True)  # "Cancel"
    assert len(asked) == 1 and "billed" in asked[0] and "Amazon Bedrock" in asked[0]
    assert not live.toggle.isChecked() and not live.controller.enabled
    live.toggle.setChecked(True)  # "Yes"
    assert len(asked) == 2 and live.controller.enabled
    live.toggle.setChecked(False)
    live.toggle.setChecked(True)
    assert len(asked) == 2  # asked once per backend and session
    assert live.status_label.text() == "Live · 0 images · $0.00 this session"


def test_on_a_billed_backend_a_change_lets_the_paid_run_finish_then_runs_the_newest(
        qtbot, turbo_window, aws_env, bedrock_server) -> None:
    window = turbo_window
    jobs = window.context.jobs
    window.live.confirm = lambda text: True
    _switch_to_bedrock(window, bedrock_server)
    queued = _record_queued(window)
    shown: list = []
    window.live.controller.shown.connect(shown.append)
    window.prompt_panel.set_prompt("a teapot")
    window.live.toggle.setChecked(True)
    # The first request is in flight.
    qtbot.waitUntil(lambda: bedrock_server.arrived.acquire(blocking=False), timeout=WAIT_MS)
    cancelled: list = []
    jobs.cancelled.connect(cancelled.append)
    window.prompt_panel.set_prompt("a teapot on linen")
    qtbot.wait(600)  # past the debounce: the change is waiting for the paid run
    assert len(queued) == 1 and queued[0].state == "running"
    with qtbot.waitSignal(jobs.finished, timeout=WAIT_MS,
                          check_params_cb=lambda job, *_: job.request.prompt ==
                          "a teapot on linen"):
        bedrock_server.release.set()
    assert cancelled == []  # billed work is never thrown away
    assert [j.request.prompt for j in queued] == ["a teapot", "a teapot on linen"]
    qtbot.waitUntil(lambda: window.detail.record is not None
                    and window.detail.record.prompt == "a teapot on linen")
    # Both runs were billed, both are counted, and only the newest was shown.
    assert [record.prompt for record in shown] == ["a teapot on linen"]
    assert window.context.library.count() == 2
    assert window.live.controller.images == 2
    assert window.live.status_label.text() == "Live · 2 images · $0.16 this session"


def test_live_does_not_run_a_task(turbo_window, aws_env, bedrock_server) -> None:
    window = turbo_window
    window.live.confirm = lambda text: True
    _switch_to_bedrock(window, bedrock_server)
    window.live.toggle.setChecked(True)
    task = window.column.task_panel.select("remove-background")
    assert task is not None
    assert not window.live.toggle.isEnabled() and not window.live.controller.enabled
    assert task.label in window.live.toggle.toolTip()
    window.column.task_panel.select("")
    assert window.live.toggle.isEnabled() and not window.live.toggle.isChecked()


def test_the_question_on_a_billed_backend_is_a_real_dialog(turbo_window, aws_env,
                                                           monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    asked: list[str] = []

    def answer(parent, title, text, buttons, default):
        asked.append(f"{title}: {text}")
        assert default == QMessageBox.StandardButton.Cancel  # Enter does not start billing
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    store = turbo_window.context.settings
    store.update(store.settings.replace(backend="bedrock"))
    turbo_window.live.toggle.setChecked(True)
    assert len(asked) == 1 and asked[0].startswith("Live mode on a billed backend")
    assert turbo_window.live.controller.enabled
