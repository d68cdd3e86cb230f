"""The batch dialog on the tiny local model: preview, estimate, run, pause, cancel."""

from __future__ import annotations

import json
from pathlib import Path

from studio.ui.batch.dialog import BatchDialog


def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.csv"
    path.write_text("Item Code;Name;Shade\nT-1;tee;red\nM-2;mug;grey\nBAD;;\n", encoding="cp1252")
    return path


def test_batch_dialog_previews_runs_and_records_in_the_library(qtbot, context, tmp_path):
    dialog = BatchDialog(context)
    qtbot.addWidget(dialog)
    dialog.catalog_edit.setText(str(catalog(tmp_path)))
    dialog.mapping_edit.setText("sku=Item Code")
    dialog.template_edit.setText("a {shade} {nope}")
    dialog.update_preview()
    assert "unknown column {nope}" in dialog.preview_text.toPlainText()
    assert not dialog.start_button.isEnabled()

    dialog.template_edit.setText("a {shade} {name}")
    dialog.axes_edit.setPlainText("background=white|marble")
    dialog.preset_combo.setCurrentIndex(dialog.preset_combo.findData("ebay"))
    dialog.update_preview()
    text = dialog.preview_text.toPlainText()
    assert "{item_code}" in dialog.columns_label.text()
    assert "T-1 · white_s1: a red tee, white" in text
    assert "6 images · estimated $" in text
    assert "skipped line 4" not in text  # BAD has a SKU; its empty fields are fine

    out = tmp_path / "export"
    dialog.out_edit.setText(str(out))
    recorded: list = []
    dialog.recorded.connect(recorded.extend)
    job_id = dialog.start()
    assert job_id is not None
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=120_000)
    assert dialog.summary.state == "finished" and dialog.summary.done == 6
    assert len(recorded) == 6 and {r.prompt for r in recorded} >= {"a red tee, white"}
    assert context.library.count() == 6
    manifest = json.loads((out / "manifest.json").read_text())["images"]
    assert sorted(row["file"] for row in manifest)[0] == "BAD/BAD_marble_s1.jpg"
    assert "finished: 6/6 images" in dialog.status.text()


def test_pause_and_cancel_leave_a_resumable_job(qtbot, context, tmp_path):
    dialog = BatchDialog(context)
    qtbot.addWidget(dialog)
    dialog.catalog_edit.setText(str(catalog(tmp_path)))
    dialog.mapping_edit.setText("sku=Item Code")
    dialog.template_edit.setText("a {name}")
    dialog.seeds_spin.setValue(2)
    dialog.out_edit.setText(str(tmp_path / "out.zip"))
    job_id = dialog.start()
    dialog.toggle_pause()
    assert dialog.runner is not None and dialog.runner.paused
    assert dialog.pause_button.text() == "Resume"
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=120_000)
    assert dialog.summary.state == "cancelled"
    info = dialog.store.job(job_id)
    assert info.counts["running"] == 0 and info.counts["done"] < 6
    dialog.run_job(job_id)  # resume
    dialog.summary = None
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=120_000)
    assert dialog.summary.state == "finished" and dialog.summary.done == 6
    assert (tmp_path / "out.zip").is_file()


def test_the_file_menu_opens_it_and_its_images_join_the_gallery(qtbot, window, context):
    dialog = window.open_batch_dialog()
    assert dialog.isVisible() and window.open_batch_dialog() is dialog
    before = window.gallery.model.rowCount()
    dialog.recorded.emit([])  # connected to the gallery, which takes the records in
    assert window.gallery.model.rowCount() == before
