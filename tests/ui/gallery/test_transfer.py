"""Images out of the gallery: dragged to a file manager or a browser, copied with Ctrl+C."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, QUrl
from PySide6.QtGui import QDrag, QGuiApplication, QImage
from PySide6.QtTest import QTest

from studio.library import Library
from studio.ui.gallery.pane import GalleryPane
from studio.ui.gallery.thumbnails import ThumbnailCache
from studio.ui.gallery.transfer import GNOME_COPIED_FILES, copy_images, image_mime_data
from tests.ui.gallery.data import Row, insert_rows, tiny_png


@pytest.fixture
def thumbnails(tmp_path: Path, qapp) -> Iterator[ThumbnailCache]:
    cache = ThumbnailCache(tmp_path / "thumbs")
    yield cache
    cache.shutdown()


@pytest.fixture
def pane(qtbot, lib: Library, thumbnails: ThumbnailCache) -> GalleryPane:
    insert_rows(lib, [Row("red bag"), Row("blue shoe")], png=tiny_png((20, 40, 230), (12, 10)))
    gallery = GalleryPane(lib, thumbnails)
    qtbot.addWidget(gallery)
    gallery.resize(700, 500)
    gallery.show()
    qtbot.waitExposed(gallery)
    return gallery


def _select(pane: GalleryPane, *rows: int) -> None:
    selection = pane.view.selectionModel()
    for row in rows:
        selection.select(pane.model.index(row), QItemSelectionModel.SelectionFlag.Select)


def test_the_mime_data_carries_the_files_and_the_pixels(pane: GalleryPane) -> None:
    records = pane.model.records()
    mime = image_mime_data(records)
    assert mime is not None
    assert [url.toLocalFile() for url in mime.urls()] == [str(r.path) for r in records]
    assert all(url.scheme() == "file" for url in mime.urls())
    image = mime.imageData()
    assert isinstance(image, QImage) and (image.width(), image.height()) == (12, 10)
    assert image.pixelColor(3, 3).blue() == 230
    gnome = bytes(mime.data(GNOME_COPIED_FILES)).decode().splitlines()
    assert gnome == ["copy", *(QUrl.fromLocalFile(str(r.path)).toString() for r in records)]


def test_images_whose_file_is_gone_are_left_out(pane: GalleryPane) -> None:
    first, second = pane.model.records()
    first.path.unlink()
    mime = image_mime_data([first, second])
    assert mime is not None and [url.toLocalFile() for url in mime.urls()] == [str(second.path)]
    second.path.unlink()
    assert image_mime_data([first, second]) is None
    assert not copy_images([first, second])


def test_the_model_offers_tiles_as_copies(pane: GalleryPane) -> None:
    model = pane.model
    index = model.index(1)
    assert model.flags(index) & Qt.ItemFlag.ItemIsDragEnabled
    assert model.supportedDragActions() == Qt.DropAction.CopyAction
    mime = model.mimeData([index])
    assert [url.toLocalFile() for url in mime.urls()] == [str(model.record_at(1).path)]


def test_dragging_a_tile_starts_a_copy_drag_of_its_file(qtbot, pane: GalleryPane) -> None:
    started: list[tuple[list[str], bool]] = []

    def run_drag(drag: QDrag) -> Qt.DropAction:
        mime = drag.mimeData()
        started.append(([url.toLocalFile() for url in mime.urls()], mime.hasImage()))
        return Qt.DropAction.CopyAction

    pane.view.run_drag = run_drag  # the system's drag loop cannot run offscreen
    view = pane.view.viewport()
    start = pane.view.visualRect(pane.model.index(0)).center()
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, 6):
        QTest.mouseMove(view, start + QPoint(8 * step, 8 * step))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(40, 40))
    assert started == [([str(pane.model.record_at(0).path)], True)]


def test_ctrl_c_copies_the_selected_images(qtbot, pane: GalleryPane) -> None:
    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    _select(pane, 0, 1)
    pane.view.setFocus()
    with qtbot.waitSignal(pane.view.copied) as copied:
        QTest.keyClick(pane.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert copied.args == [2]
    mime = clipboard.mimeData()
    assert {url.toLocalFile() for url in mime.urls()} == {
        str(record.path) for record in pane.model.records()}
    image = clipboard.image()
    assert not image.isNull() and (image.width(), image.height()) == (12, 10)


def test_ctrl_c_with_nothing_selected_copies_nothing(qtbot, pane: GalleryPane) -> None:
    with qtbot.waitSignal(pane.view.copied) as copied:
        QTest.keyClick(pane.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert copied.args == [0]
