"""The batch dialog shows and sets model, size and steps (from the main panel's values), and
Pause and Cancel answer at once, saying what they wait for."""

from __future__ import annotations

from pathlib import Path

from studio.ui.batch.dialog import BatchDialog
from studio.ui.batch.generation_fields import MODEL_DEFAULT, GenerationValues
from tests.batch.fakes import FakeBackend


def catalog(tmp_path: Path, rows: int = 3) -> Path:
    path = tmp_path / "catalog.csv"
    lines = ["sku,name"] + [f"S-{n},thing {n}" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _filled(dialog: BatchDialog, tmp_path: Path, rows: int = 3) -> None:
    dialog.catalog_edit.setText(str(catalog(tmp_path, rows)))
    dialog.template_edit.setText("a {name}")
    dialog.out_edit.setText(str(tmp_path / "out"))


def test_it_starts_from_the_main_panels_size_steps_and_model(qtbot, window, tmp_path) -> None:
    panel = window.params_panel
    panel.width_spin.setValue(128)
    panel.height_spin.setValue(96)
    panel.steps_spin.setValue(2)
    dialog = window.open_batch_dialog()
    fields = dialog.generation
    assert (fields.width_spin.value(), fields.height_spin.value()) == (128, 96)
    assert fields.steps_spin.value() == 2
    assert fields.model_edit.text() == window.context.settings.settings.local.model
    _filled(dialog, tmp_path)
    dialog.update_preview()
    assert "Each image: 128×96 · 2 steps · model " in dialog.preview_text.toPlainText()
    spec = dialog.spec()  # what the job will store and run
    assert (spec.request["width"], spec.request["height"], spec.request["steps"]) == (128, 96, 2)


def test_size_and_steps_set_in_the_dialog_are_what_runs(qtbot, context, tmp_path) -> None:
    dialog = BatchDialog(context)
    qtbot.addWidget(dialog)
    dialog.use_main_panel(GenerationValues(model=context.settings.settings.local.model,
                                           width=64, height=64, steps=None))
    assert dialog.generation.steps_spin.text() == MODEL_DEFAULT
    dialog.generation.width_spin.setValue(72)
    dialog.generation.steps_spin.setValue(1)
    _filled(dialog, tmp_path, rows=1)
    assert dialog.start() is not None
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=120_000)
    assert dialog.summary.state == "finished"
    record = context.library.search(None)[0]
    assert (record.width, record.height, record.request["steps"]) == (72, 64, 1)


def test_pause_and_cancel_answer_at_once_and_say_what_they_wait_for(qtbot, context, tmp_path,
                                                                    monkeypatch) -> None:
    slow = FakeBackend(usd=0.0, delay_s=1.5)
    monkeypatch.setattr(context.backends, "current", lambda: slow)
    dialog = BatchDialog(context)
    qtbot.addWidget(dialog)
    _filled(dialog, tmp_path, rows=6)
    assert dialog.start() is not None
    qtbot.waitUntil(lambda: dialog.in_flight() >= 1, timeout=10_000)

    dialog.toggle_pause()
    assert dialog.pause_button.text() == "Resume"  # at once, not after the image
    text = dialog.status.text()
    assert text.startswith("Pausing — waiting for ") and "in flight to finish" in text
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Paused: nothing in flight"),
                    timeout=15_000)
    calls = len(slow.calls)

    dialog.toggle_pause()  # resume
    assert dialog.pause_button.text() == "Pause" and "running again" in dialog.status.text()
    qtbot.waitUntil(lambda: len(slow.calls) > calls, timeout=10_000)

    dialog.cancel()
    assert not dialog.cancel_button.isEnabled() and dialog.cancel_button.text() == "Cancelling…"
    assert not dialog.pause_button.isEnabled()
    assert dialog.status.text().startswith("Cancelling — ")
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=15_000)
    assert dialog.summary.state == "cancelled"
    assert dialog.cancel_button.text() == "Cancel" and dialog.start_button.isEnabled()


def test_a_job_held_elsewhere_is_not_resumed_and_says_why(qtbot, context, tmp_path,
                                                         monkeypatch) -> None:
    monkeypatch.setattr(context.backends, "current", lambda: FakeBackend(usd=0.0))
    dialog = BatchDialog(context)
    qtbot.addWidget(dialog)
    _filled(dialog, tmp_path, rows=1)
    prepared = dialog.update_preview()
    spec = prepared.spec
    job_id = dialog.store.create_job(spec.catalog, spec.out, spec.to_dict(), prepared.items)
    dialog.store.claim(job_id, "held-by-the-cli")  # a live holder: this very process
    dialog.run_job(job_id)
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=10_000)
    assert dialog.summary.state == "busy"
    assert dialog.status.text().startswith(f"Batch job {job_id} was not resumed: ")
    assert "another Studio window or process" in dialog.status.text()
