""""Edit with words…" from an image's menu: asks for the instruction, then queues an edit of
that image on the current backend with the current parameters; greyed where the backend does
not edit by words."""

from __future__ import annotations

from PySide6.QtCore import Qt

from studio.ui.window.edit_words import edit_size, edit_support
from tests.ui.record_factory import record_image

WAIT_MS = 60_000


def _select(window, record) -> None:
    window.gallery.view.select_ids([record.id])
    assert window.detail.record == record


def test_the_edit_asks_for_an_instruction_and_queues_an_edit(qtbot, window) -> None:
    record = record_image(window.context.library, "a mug on oak", size=(104, 72))
    _select(window, record)
    actions = window.detail.image_actions
    assert actions.edit_action in window.detail.context_actions()
    assert actions.edit_action.isEnabled()
    window.params_panel.count_spin.setValue(2)

    actions.edit_action.trigger()
    dialog = actions.edit_dialog
    assert dialog is not None and dialog.isVisible()
    # The tiny model is SD 1.x: offered, but the dialog says which model to choose.
    assert "Stable Diffusion 1.x does not edit by words" in dialog.note_label.text()
    assert "Qwen-Image-Edit" in dialog.note_label.text()
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.instruction_edit, "   ")
    assert not dialog.ok_button.isEnabled()  # blanks are not an instruction
    qtbot.keyClicks(dialog.instruction_edit, "make the background marble")
    assert dialog.ok_button.isEnabled()

    jobs = window.context.jobs
    failures: list[str] = []
    jobs.failed.connect(lambda job, message: failures.append(message))
    with qtbot.waitSignal(jobs.queued, timeout=WAIT_MS) as queued:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    request = queued.args[0].request
    assert request.edit and request.mode == "edit"
    assert request.prompt == "make the background marble"
    assert request.init_image is not None and request.init_image.size == (104, 72)
    assert (request.width, request.height) == (96, 64)  # rounded down to multiples of 16
    assert request.count == 2 and request.mask is None  # the rest from the parameters

    # SD 1.x cannot edit by words: the backend refuses, the window says so.
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert "editing by words" in failures[0]
    qtbot.waitUntil(lambda: "editing by words" in window.message_label.text())


def test_cancel_queues_nothing(qtbot, window) -> None:
    record = record_image(window.context.library, size=(64, 64))
    _select(window, record)
    actions = window.detail.image_actions
    queued = []
    window.context.jobs.queued.connect(queued.append)
    dialog = actions.ask_edit()
    qtbot.keyClicks(dialog.instruction_edit, "make it blue")
    dialog.reject()
    assert queued == [] and not dialog.isVisible()


def test_an_image_file_gone_is_explained(qtbot, window) -> None:
    record = record_image(window.context.library, size=(64, 64))
    record.path.unlink()
    assert window.edit_with_words(record, "make it blue") is None
    assert "does not exist" in window.message_label.text()


def test_a_backend_that_does_not_edit_greys_the_action(qtbot, window) -> None:
    record = record_image(window.context.library, size=(64, 64))
    _select(window, record)
    store, action = window.context.settings, window.detail.image_actions.edit_action
    store.update(store.settings.replace(backend="bedrock"))
    assert not action.isEnabled()
    assert "Amazon Bedrock does not edit by words" in action.toolTip()
    assert window.detail.image_actions.ask_edit() is None
    store.update(store.settings.replace(backend="local"))
    assert action.isEnabled()


def test_edit_sizes_and_what_the_action_says(tiny_settings, flux_dev_folder) -> None:
    from backends.families import family_profile

    assert edit_size((1000, 777)) == (992, 768)
    assert edit_size((40, 5000)) == (64, 4096)
    kontext = family_profile("flux1", ("kontext",))
    assert edit_support(tiny_settings, kontext) == (True, "")
    offered, note = edit_support(tiny_settings, None)
    assert offered and "needs a model made for it" in note
    offered, note = edit_support(tiny_settings.replace(backend="sagemaker"), None)
    assert not offered and "SageMaker endpoint does not edit by words" in note
