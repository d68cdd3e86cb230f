"""A real edit by words and a real LoRA from the window, on tiny models of those families."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from backends.types import LoraRef
from tests.ui.record_factory import record_image

WAIT_MS = 60_000


def _use_kontext(window, tiny_family_path) -> None:
    store = window.context.settings
    store.update(store.settings.replace(local=dataclasses.replace(
        store.settings.local, model=str(tiny_family_path("flux1-kontext")))))
    window.params_panel.steps_spin.setValue(2)


def test_an_edit_by_words_from_the_window_makes_an_edited_image(qtbot, window,
                                                                 tiny_family_path) -> None:
    _use_kontext(window, tiny_family_path)
    record = record_image(window.context.library, "a mug on oak", size=(64, 64))
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as finished:
        assert window.edit_with_words(record, "make the background a marble counter")
    _job, result, records = finished.args
    assert result.request.mode == "edit" and result.family == "flux1-kontext"
    assert records[0].mode == "edit" and records[0].prompt.startswith("make the background")
    assert records[0].licence == "FLUX.1 [dev] Non-Commercial License"


def test_a_lora_from_the_list_is_applied_and_recorded(qtbot, window, tiny_lora) -> None:
    lora = tiny_lora("sd1")
    window.params_panel.lora_list.add(LoraRef(str(lora), 0.8))
    window.prompt_panel.set_prompt("a ceramic mug on oak")
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as finished:
        QTest.keyClick(window.prompt_panel.prompt_edit, Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)
    _job, result, records = finished.args
    assert result.request.loras == (LoraRef(str(lora), 0.8),)
    assert records[0].request["loras"] == [{"source": str(lora), "name": "style", "weight": 0.8}]


def test_seed_variations_of_an_edit_edit_the_same_image_again(qtbot, window,
                                                             tiny_family_path) -> None:
    _use_kontext(window, tiny_family_path)
    record = record_image(window.context.library, "a mug on oak", size=(64, 64))
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as finished:
        window.edit_with_words(record, "make the background a marble counter")
    edited = finished.args[2][0]
    with qtbot.waitSignal(window.context.jobs.finished, timeout=WAIT_MS) as varied:
        assert window.seed_variations(edited, 2)
    request = varied.args[1].request
    assert request.mode == "edit" and request.count == 2
    assert request.init_image.size == (64, 64)
