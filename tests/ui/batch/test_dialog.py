"""The batch dialog on the tiny local model: preview, estimate, run, pause, cancel; and a
batch from the window runs through the app's generation loop (daily cap, session totals)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from studio.settings.values import CostSettings
from studio.ui.batch.dialog import BatchDialog
from tests.batch.fakes import FakeBackend


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
    assert re.search(r"6 images · estimated (< )?\$[0-9]", text)
    assert "skipped line 4" not in text  # BAD has a SKU; its empty fields are fine

    out = tmp_path / "export"
    dialog.out_edit.setText(str(out))
    job_id = dialog.start()
    assert job_id is not None
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=120_000)
    assert dialog.summary.state == "finished" and dialog.summary.done == 6
    assert context.library.count() == 6
    assert {r.prompt for r in context.library.search(None)} >= {"a red tee, white"}
    assert context.session.totals.images == 6  # batch images count in the session
    manifest = json.loads((out / "manifest.json").read_text())["images"]
    assert sorted(row["file"] for row in manifest)[0] == "BAD/BAD_marble_s1.jpg"
    assert "finished: 6/6 images" in dialog.status.text()


def test_pause_and_cancel_leave_a_resumable_job(qtbot, context, tmp_path):
    dialog = BatchDialog(context)
    qtbot.addWidget(dialog)
    dialog.catalog_edit.setText(str(catalog(tmp_path)))
    dialog.mapping_edit.setText("sku=Item Code")
    # BAD has an empty name: the SKU keeps its prompt from being empty (an empty one fails).
    dialog.template_edit.setText("{item_code}: a {name}")
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


def test_the_file_menu_opens_it_and_its_images_join_the_gallery(qtbot, window, context,
                                                                tmp_path):
    dialog = window.open_batch_dialog()
    assert dialog.isVisible() and window.open_batch_dialog() is dialog
    before = window.gallery.model.rowCount()
    dialog.catalog_edit.setText(str(catalog(tmp_path)))
    dialog.mapping_edit.setText("sku=Item Code")
    dialog.template_edit.setText("{item_code}: a {name}")
    dialog.out_edit.setText(str(tmp_path / "out"))
    assert dialog.start() is not None
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=120_000)
    assert dialog.summary.done == 3
    # Nothing relays them: the gallery hears the library.
    qtbot.waitUntil(lambda: window.gallery.model.rowCount() == before + 3, timeout=10_000)
    qtbot.waitUntil(lambda: "Session: 3 images" in window.totals_status.text(), timeout=10_000)


def test_a_batch_from_the_window_stops_at_the_daily_cap_and_counts_in_the_session(
        qtbot, window, context, tmp_path, monkeypatch):
    priced = FakeBackend(usd=0.04)
    monkeypatch.setattr(context.backends, "current", lambda: priced)
    store = context.settings
    store.update(store.settings.replace(costs=CostSettings(budget_usd_per_day=0.10)))
    dialog = window.open_batch_dialog()
    dialog.catalog_edit.setText(str(catalog(tmp_path)))
    dialog.mapping_edit.setText("sku=Item Code")
    dialog.template_edit.setText("a {name}")
    dialog.seeds_spin.setValue(2)  # 6 images at $0.04: only 2 fit under $0.10
    dialog.out_edit.setText(str(tmp_path / "capped"))
    assert dialog.start() is not None
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=60_000)
    summary = dialog.summary
    assert summary.state == "stopped" and summary.done == 2
    assert "budget" in summary.message and "budget" in dialog.status.text()
    assert len(priced.calls) == 2  # nothing past the cap was sent
    assert context.library.count() == 2
    qtbot.waitUntil(lambda: context.session.totals.images == 2, timeout=10_000)
    assert abs(context.session.totals.usd - 0.08) < 1e-9
    qtbot.waitUntil(lambda: "Session: 2 images" in window.totals_status.text(), timeout=10_000)
