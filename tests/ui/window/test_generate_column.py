"""The left column: an error clears once it is fixed, by an edit that makes the request
valid or by a later run that succeeds; a failed run's row leaves the queue then too."""

from __future__ import annotations

from backends.types import LoraRef

WAIT_MS = 60_000


def test_an_invalid_request_error_clears_when_the_input_is_corrected(qtbot, window) -> None:
    window.prompt_panel.set_prompt("")
    assert window.generate() is None
    message = window.message_label.text()
    assert message and window.column.message_scroll.isVisible()
    window.column.update_estimate()  # nothing edited yet: the error stays
    assert window.message_label.text() == message
    window.prompt_panel.set_prompt("a ceramic mug on oak")
    qtbot.waitUntil(lambda: window.message_label.text() == "", timeout=5_000)
    assert not window.column.message_scroll.isVisible()


def test_an_edit_that_leaves_the_request_invalid_keeps_the_error(qtbot, window) -> None:
    window.prompt_panel.set_prompt("")
    window.generate()
    message = window.message_label.text()
    window.params_panel.count_spin.setValue(2)  # still no prompt
    window.column.update_estimate()
    assert window.message_label.text() == message


def test_a_failed_run_clears_when_a_later_run_succeeds(qtbot, window) -> None:
    params = window.params_panel
    params.lora_list.set_loras([LoraRef("/nonexistent/missing-lora.safetensors")])
    window.prompt_panel.set_prompt("a lamp")
    with qtbot.waitSignal(window.context.jobs.failed, timeout=WAIT_MS) as failed:
        failing = window.generate()
    assert failed.args[0] is failing
    row = window.queue_panel.rows[failing.id]
    assert row.state == "failed" and window.message_label.text()
    window.column.update_estimate()  # the failure is not an input error: it stays
    assert window.message_label.text() and failing.id in window.queue_panel.rows

    params.lora_list.set_loras([])
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS):
        window.generate()
    assert window.message_label.text() == ""
    assert failing.id not in window.queue_panel.rows
