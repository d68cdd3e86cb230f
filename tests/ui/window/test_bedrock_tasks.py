"""Bedrock's tasks in the window: the Task combo and its fields, the image menu, and jobs
that really run on the fake Bedrock (real boto3, the services' wire protocol on 127.0.0.1).
No torch: the window runs on Bedrock only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from backends.bedrock import BedrockBackend
from studio.settings.values import BedrockSettings, Settings, save_settings
from studio.ui.window.image_input import ImageInput
from tests.backends.bedrock.conftest import isolate_aws
from tests.backends.bedrock.fake_bedrock_server import FakeBedrock
from tests.ui.record_factory import record_image

WAIT_MS = 30_000
IMAGE_TASKS = 13  # the 15 tasks less text to image and image to image (the first entry)


@pytest.fixture
def fake_bedrock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrock]:
    isolate_aws(monkeypatch, tmp_path / "aws-home", credentials=True)
    server = FakeBedrock().start()
    yield server
    server.stop()


@pytest.fixture
def context(fake_bedrock: FakeBedrock):
    """The app on Bedrock against the fake server; conftest's `window` opens on it."""
    from studio.context import StudioContext

    save_settings(Settings(backend="bedrock",
                           bedrock=BedrockSettings(endpoint_url=fake_bedrock.url)))
    context = StudioContext.create()
    yield context
    context.close()


def _visible_rows(window) -> set[str]:
    panel = window.column.task_panel
    return {key for key, widget in panel.rows.items() if widget.isVisibleTo(panel)}


def _select(window, name: str) -> None:
    panel = window.column.task_panel
    panel.task_combo.setCurrentIndex(panel.task_combo.findData(name))


def _task_action(window, name: str):
    return next(action for action in window.detail.image_actions.task_actions()
                if action.data() == name)


def _show_in_loupe(qtbot, window, record) -> None:
    qtbot.waitUntil(lambda: window.gallery.model.row_of(record.id) is not None)
    window.gallery.view.select_ids([record.id])
    assert window.detail.record is not None and window.detail.record.id == record.id


def test_the_task_combo_is_offered_only_where_the_backend_has_tasks(window) -> None:
    panel = window.column.task_panel
    combo = panel.task_combo
    assert panel.isVisibleTo(window) and combo.count() == 1 + IMAGE_TASKS
    assert combo.itemText(0) == "Text to image" and combo.currentIndex() == 0
    assert combo.itemText(combo.findData("remove-background")) == "Remove background"
    assert "transparent" in combo.itemData(combo.findData("remove-background"), 3)  # tooltip
    assert _visible_rows(window) == set()

    window.params_panel.set_init_image(Image.new("RGB", (96, 64), "white"))
    assert combo.itemText(0) == "Image to image"

    store = window.context.settings
    store.update(store.settings.replace(backend="sagemaker"))
    assert not panel.isVisibleTo(window)
    assert not window.detail.image_actions.task_menu_action.isVisible()
    store.update(store.settings.replace(backend="bedrock"))
    assert panel.isVisibleTo(window) and combo.count() == 1 + IMAGE_TASKS


@pytest.mark.parametrize(("task", "rows"), [
    ("inpaint", {"input", "mask", "grow_mask", "style_preset"}),
    ("outpaint", {"input", "margins", "creativity", "style_preset"}),
    ("search-replace", {"input", "search", "grow_mask", "style_preset"}),
    ("remove-background", {"input"}),
    ("upscale-creative", {"input", "creativity", "style_preset"}),
    ("sketch", {"input", "control_strength", "style_preset"}),
    ("style-guide", {"input", "fidelity", "style_preset"}),
    ("style-transfer", {"input", "style_image", "style_strength", "composition_fidelity",
                        "change_strength"}),
])
def test_each_task_shows_only_its_own_fields(window, task: str, rows: set[str]) -> None:
    _select(window, task)
    assert _visible_rows(window) == rows
    window.params_panel.set_init_image(Image.new("RGB", (96, 64), "white"))
    assert _visible_rows(window) == rows - {"input"}  # the input image row is there now
    assert not window.params_panel.width_spin.isEnabled()  # the size follows the input
    _select(window, "")
    assert _visible_rows(window) == set() and window.params_panel.width_spin.isEnabled()


def test_remove_background_from_the_image_menu_queues_the_task(qtbot, window,
                                                              fake_bedrock) -> None:
    window.prompt_panel.set_prompt("a teapot")
    window.prompt_panel.set_negative("blurry")  # a task without a prompt takes neither
    window.params_panel.count_spin.setValue(3)
    source = record_image(window.context.library, "a teapot", size=(96, 64))
    _show_in_loupe(qtbot, window, source)
    assert window.detail.image_actions.task_menu.title() == "Amazon Bedrock task"
    offered = {action.data() for action in window.detail.image_actions.task_actions()}
    assert "remove-background" in offered and "text-to-image" not in offered

    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as finished:
        _task_action(window, "remove-background").trigger()
    job, result, records = finished.args

    assert isinstance(job.backend, BedrockBackend)
    assert job.backend.task.task == "remove-background"
    assert window.column.task_panel.task().name == "remove-background"
    assert window.params_panel.init_image is not None
    assert [call.model_id for call in fake_bedrock.calls] == [
        "us.stability.stable-image-remove-background-v1:0"]
    assert set(fake_bedrock.calls[0].body) == {"image", "output_format"}
    [record] = records
    assert (record.width, record.height) == (96, 64) and record.prompt == "Remove background"
    assert record.cost.usd == pytest.approx(0.07) and not record.cost.estimated


def test_a_task_that_needs_more_prepares_the_panel_then_runs(qtbot, window, fake_bedrock,
                                                            tmp_path, monkeypatch) -> None:
    source = record_image(window.context.library, "a teapot", size=(96, 64))
    _show_in_loupe(qtbot, window, source)
    panel = window.column.task_panel
    _task_action(window, "inpaint").trigger()

    assert panel.task().name == "inpaint" and not window.context.jobs.active_jobs()
    assert _visible_rows(window) == {"mask", "grow_mask", "style_preset"}
    qtbot.waitUntil(lambda: panel.mask_input.choose_button.hasFocus())

    mask = Image.new("L", (96, 64), 0)
    mask.paste(255, (20, 10, 60, 50))
    mask.save(tmp_path / "mask.png")
    monkeypatch.setattr(ImageInput, "_ask_path", lambda self: str(tmp_path / "mask.png"))
    panel.mask_input.choose_button.click()
    panel.numbers["grow_mask"].setValue(8)
    window.prompt_panel.set_prompt("a copper teapot")
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as finished:
        window.generate_button.click()

    body = fake_bedrock.calls[-1].body
    assert fake_bedrock.calls[-1].model_id == "us.stability.stable-image-inpaint-v1:0"
    assert body["prompt"] == "a copper teapot" and body["grow_mask"] == 8 and "mask" in body
    assert finished.args[2][0].prompt == "a copper teapot"


def test_search_text_gets_the_focus_and_the_estimate_prices_the_task(qtbot, window) -> None:
    source = record_image(window.context.library, "a teapot", size=(96, 64))
    _show_in_loupe(qtbot, window, source)
    _task_action(window, "search-replace").trigger()
    panel = window.column.task_panel
    qtbot.waitUntil(lambda: panel.search_edit.hasFocus())

    _select(window, "upscale-fast")
    window.column.update_estimate()
    assert "Estimate" in window.estimate_label.text()
    assert "fast upscale" in window.estimate_label.toolTip().lower()


def test_an_option_out_of_range_is_explained_not_sent(qtbot, window, fake_bedrock) -> None:
    window.params_panel.set_init_image(Image.new("RGB", (96, 64), "white"))
    _select(window, "upscale-creative")
    window.column.task_panel.numbers["creativity"].setValue(0.8)  # upscales take 0.1–0.5

    assert window.generate() is None
    assert "creativity must be from 0.1 to 0.5" in window.message_label.text()
    assert "Traceback" not in window.message_label.text() and fake_bedrock.calls == []


def test_an_optional_prompt_left_empty_is_not_sent(qtbot, window, fake_bedrock) -> None:
    window.params_panel.set_init_image(Image.new("RGB", (96, 64), "white"))
    _select(window, "outpaint")
    window.column.task_panel.margins.spins["right"].setValue(128)
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as finished:
        window.generate()
    body = fake_bedrock.calls[-1].body
    assert "prompt" not in body and body["right"] == 128
    [record] = finished.args[2]
    assert (record.width, record.height, record.prompt) == (224, 64, "Outpaint")


def test_plain_generation_still_runs_the_chosen_model(qtbot, window, fake_bedrock) -> None:
    window.params_panel.width_spin.setValue(1024)
    window.params_panel.height_spin.setValue(1024)
    window.prompt_panel.set_prompt("a teapot")
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as finished:
        window.generate()
    assert fake_bedrock.calls[-1].model_id == "stability.sd3-5-large-v1:0"
    assert finished.args[1].request.prompt == "a teapot"
    assert window.column.task_panel.task() is None
