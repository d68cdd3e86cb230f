"""The instruction dialog of "Edit with words…"."""

from __future__ import annotations

from studio.ui.loupe.edit_dialog import EditDialog


def test_ok_needs_an_instruction_and_a_note_shows_only_when_given(qtbot) -> None:
    dialog = EditDialog("mug_42.png")
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.note_label.isHidden() and not dialog.ok_button.isEnabled()
    dialog.instruction_edit.setPlainText("  put it on marble \n")
    assert dialog.ok_button.isEnabled()
    assert dialog.instruction() == "put it on marble"
    dialog.instruction_edit.clear()
    assert not dialog.ok_button.isEnabled()

    warned = EditDialog("mug_42.png", "FLUX.1 [dev] does not edit by words.")
    qtbot.addWidget(warned)
    warned.show()
    assert warned.note_label.isVisible()
    assert warned.note_label.text() == "FLUX.1 [dev] does not edit by words."
