"""Batch results grouped by SKU, and shown in the gallery: a tiny real batch, offscreen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from studio.ui.batch.results import IdsRole


def catalog(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "catalog.csv"
    path.write_text("sku,name\nT-1,tee\nM-2,mug\n", encoding="utf-8")
    return path


def run_batch(qtbot, dialog, tmp_path: Path) -> int:
    dialog.catalog_edit.setText(str(catalog(tmp_path)))
    dialog.template_edit.setText("a {name}")
    dialog.axes_edit.setPlainText("background=white|marble")
    dialog.out_edit.setText(str(tmp_path / "export"))
    job_id = dialog.start()
    assert job_id is not None
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=60_000)
    assert dialog.summary.state == "finished" and dialog.summary.done == 4
    return job_id


def test_results_group_by_sku_and_filter_the_gallery(qtbot, window, tmp_path):
    dialog = window.open_batch_dialog()
    job_id = run_batch(qtbot, dialog, tmp_path)
    results = dialog.results
    assert results.job_id() == job_id
    tree = results.tree
    assert tree.topLevelItemCount() == 2
    tee = results.sku_row("T-1")
    assert tee is not None and tee.text(1) == "2/2 done" and tee.childCount() == 2
    child = tee.child(0)
    assert child.text(0) == "white_s1" and child.text(1) == "done"
    assert child.text(4) == "T-1/T-1_white_s1.png"
    image_id = child.data(0, IdsRole)[0]

    # One failure shows in its SKU's count.
    mug_items = dialog.store.items(job_id)
    failing = next(item for item in mug_items if item.sku == "M-2")
    dialog.store.mark_failed(job_id, [failing.idx], "throttled")
    results.refresh()
    assert results.sku_row("M-2").text(1) == "1/2 done, 1 failed"
    tee = results.sku_row("T-1")  # the refresh built new rows
    child = tee.child(0)

    gallery = window.gallery
    assert gallery.model.rowCount() == 4
    emitted: list = []
    dialog.show_in_gallery.connect(lambda ids, label: emitted.append((ids, label)))
    tree.itemDoubleClicked.emit(child, 0)
    assert emitted == [([image_id], f"batch #{job_id} · SKU T-1 · white_s1")]
    assert [r.id for r in gallery.model.records()] == [image_id]
    assert gallery.model.total == 1
    assert not gallery.ids_chip.isHidden()
    assert f"batch #{job_id} · SKU T-1" in gallery.ids_chip.label.text()

    # A SKU row shows all its images; the other filters still apply on top.
    tree.itemDoubleClicked.emit(tee, 0)
    assert sorted(r.id for r in gallery.model.records()) == sorted(tee.data(0, IdsRole))
    gallery.filter_bar.search.setText("nothing-matches-this")
    gallery.filter_bar.flush()
    assert gallery.model.rowCount() == 0
    gallery.filter_bar.search.setText("")
    gallery.filter_bar.flush()
    assert gallery.model.rowCount() == 2

    qtbot.mouseClick(gallery.ids_chip.clear_button, Qt.MouseButton.LeftButton)
    assert gallery.ids_chip.isHidden() and gallery.shown_ids is None
    assert gallery.model.rowCount() == 4 and gallery.model.total == 4


def test_the_job_picker_lists_past_jobs(qtbot, tmp_path):
    from studio.batch.store import BatchStore, NewItem
    from studio.ui.batch.results import BatchResults

    store = BatchStore(tmp_path / "batches.db")

    def items(skus: str) -> list[NewItem]:
        return [NewItem(sku, v, "p", "", 1, f"{sku}/{sku}_{v}.png")
                for sku in skus.split() for v in ("a", "b")]

    first = store.create_job("one.csv", "out1", {}, items("A B C"))
    store.mark_failed(first, [0], "no more credit")
    results = BatchResults(store)
    qtbot.addWidget(results)
    second = store.create_job("two.csv", "out2", {}, items("Z"))
    results.reload_jobs()
    combo = results.job_combo
    assert [combo.itemData(i) for i in range(combo.count())] == [second, first]
    assert results.job_id() == first  # a reload keeps the job being looked at
    combo.setCurrentIndex(combo.findData(second))
    assert results.tree.topLevelItemCount() == 1
    combo.setCurrentIndex(combo.findData(first))
    assert results.tree.topLevelItemCount() == 3
    row = results.sku_row("A")
    assert row.text(1) == "0/2 done, 1 failed" and row.child(0).toolTip(1) == "no more credit"
    emitted: list = []
    results.show_in_gallery.connect(lambda ids, label: emitted.append(ids))
    results.tree.itemDoubleClicked.emit(row, 0)
    assert emitted == []  # nothing in the library yet
    store.close()


def test_images_added_while_showing_a_batch_respect_the_ids(qtbot, window, tmp_path):
    from tests.ui.record_factory import record_images

    library = window.context.library
    kept = record_images(library, "kept")[0]
    window.gallery.show_ids([kept.id], "batch #1 · SKU X")
    other = record_images(library, "other")[0]
    window.gallery.add_records([other])
    assert [r.id for r in window.gallery.model.records()] == [kept.id]
