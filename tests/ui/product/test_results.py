"""After "Generate scenes" the dialog shows what was made and offers to open it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from studio.ui.product.results import SceneResults
from tests.ui.product.window_dialog import window_dialog_with_bottle
from tests.ui.record_factory import record_images

WAIT_MS = 60_000


def test_scenes_made_in_the_window_show_as_thumbnails_and_open_in_the_gallery(
        qtbot, window, tmp_path) -> None:
    dialog, _ = window_dialog_with_bottle(window, tmp_path)
    dialog.scenes_edit.setPlainText("on a marble counter\nin a sunny café")
    assert dialog.generate() == 2
    results = dialog.results
    assert results.isVisible() and "2 scenes still generating" in results.summary.text()
    assert not results.gallery_button.isEnabled()
    qtbot.waitUntil(lambda: results.thumbnails.count() == 2, timeout=WAIT_MS)
    assert results.summary.text() == "2 images made"
    assert {results.thumbnails.item(i).text() for i in range(2)} == {
        "on a marble counter", "in a sunny café"}
    assert not results.thumbnails.item(0).icon().isNull()
    assert results.folder() == results.records[0].path.parent
    with qtbot.waitSignal(dialog.show_in_gallery) as shown:
        results.gallery_button.click()
    ids = [record.id for record in results.records]
    assert shown.args == [ids, "Product scenes"]
    qtbot.waitUntil(lambda: window.gallery.model.rowCount() == 2)
    assert "Product scenes" in window.gallery.ids_chip.label.text()


def test_a_failed_scene_says_why_and_a_new_round_starts_clean(qtbot, lib) -> None:
    results = SceneResults()
    qtbot.addWidget(results)
    results.start({1: "on marble", 2: "in a café"})
    records = record_images(lib, count=2)
    results.job_finished(1, records)
    results.job_failed(2, "The endpoint refused the request.")
    results.job_finished(99, records)  # another window's job: not ours
    assert results.thumbnails.count() == 2
    assert results.summary.text() == ("2 images made · “in a café” failed: The endpoint "
                                      "refused the request.")
    with qtbot.waitSignal(results.show_in_gallery) as shown:
        item = results.thumbnails.item(1)
        results.thumbnails.itemDoubleClicked.emit(item)
    assert shown.args == [[records[1].id], "Product scene"]
    assert item.data(Qt.ItemDataRole.UserRole) == records[1].id
    results.start({3: "on a sweep"})
    assert results.thumbnails.count() == 0 and results.summary.text().startswith("0 images")
