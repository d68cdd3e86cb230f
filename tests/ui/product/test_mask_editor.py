"""The mask editor's undo (a stack of strokes, Ctrl+Z) and zoom (Ctrl+wheel, buttons, fit)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from studio.ui.product.dialog import ProductDialog
from studio.ui.product.mask_editor import MAX_ZOOM, UNDO_LIMIT, MaskEditor
from tests.product.photos import rgba_product


@pytest.fixture
def editor(qtbot) -> MaskEditor:
    widget = MaskEditor()
    qtbot.addWidget(widget)
    widget.resize(400, 320)
    widget.show()
    qtbot.waitExposed(widget)
    photo = Image.new("RGB", (200, 160), (120, 120, 120))
    mask = Image.new("L", (200, 160), 255)
    widget.set_photo(photo, mask)
    return widget


def _drag(widget: MaskEditor, start: QPointF, end: QPointF) -> None:
    QTest.mousePress(widget, Qt.MouseButton.LeftButton, pos=start.toPoint())
    QTest.mouseMove(widget, end.toPoint())
    QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=end.toPoint())


def _mask(widget: MaskEditor) -> np.ndarray:
    return np.asarray(widget.mask()).copy()


def test_each_stroke_is_undone_in_turn(editor: MaskEditor) -> None:
    editor.mode = "eraser"
    editor.brush_px = 10
    rect = editor.image_rect()
    before = _mask(editor)
    _drag(editor, rect.topLeft() + QPointF(20, 20), rect.topLeft() + QPointF(80, 20))
    after_one = _mask(editor)
    _drag(editor, rect.center(), rect.center() + QPointF(0, 50))
    assert not np.array_equal(_mask(editor), after_one) and editor.can_undo()
    assert editor.undo() and np.array_equal(_mask(editor), after_one)
    assert editor.undo() and np.array_equal(_mask(editor), before)
    assert not editor.undo() and not editor.can_undo() and not editor.edited


def test_ctrl_z_undoes_and_the_tint_follows_the_mask(editor: MaskEditor, qtbot) -> None:
    editor.mode = "eraser"
    rect = editor.image_rect()
    _drag(editor, rect.center(), rect.center() + QPointF(30, 0))
    erased = editor.grab().toImage().pixelColor(rect.center().toPoint())
    editor.setFocus()
    QTest.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (_mask(editor) == 255).all()
    restored = editor.grab().toImage().pixelColor(rect.center().toPoint())
    assert erased != restored and restored.red() == 120  # no tint over the product again


def test_the_stack_keeps_the_last_strokes_only(editor: MaskEditor) -> None:
    rect = editor.image_rect()
    for _ in range(UNDO_LIMIT + 5):
        _drag(editor, rect.center(), rect.center())
    undone = 0
    while editor.undo():
        undone += 1
    assert undone == UNDO_LIMIT


def test_ctrl_wheel_zooms_about_the_cursor_and_fit_shows_all(editor: MaskEditor) -> None:
    fitted = editor.image_rect()
    anchor = fitted.topLeft() + QPointF(50, 40)
    under = editor.to_image(anchor)
    wheel = QWheelEvent(anchor, editor.mapToGlobal(anchor), QPoint(), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(editor, wheel)
    assert editor.zoom == pytest.approx(1.25 ** 2)
    assert editor.image_rect().width() == pytest.approx(fitted.width() * 1.25 ** 2)
    moved = editor.to_image(anchor)
    assert (moved.x(), moved.y()) == pytest.approx((under.x(), under.y()), abs=0.5)
    for _ in range(40):
        editor.zoom_in()
    assert editor.zoom == MAX_ZOOM
    editor.fit()
    assert editor.zoom == 1 and editor.image_rect() == fitted


def test_strokes_land_where_the_cursor_is_when_zoomed(editor: MaskEditor) -> None:
    editor.mode = "eraser"
    editor.brush_px = 4
    editor.set_zoom(4.0)
    point = QPointF(200, 160)  # the widget's centre
    target = editor.to_image(point)
    _drag(editor, point, point)
    mask = _mask(editor)
    assert mask[int(target.y()), int(target.x())] == 0
    assert (mask == 0).sum() < 20  # a 4-pixel brush at 4× zoom is about one photo pixel


def test_the_dialog_offers_undo_and_zoom_buttons(qtbot, tmp_path) -> None:
    cutout, _ = rgba_product((96, 80))
    cutout.save(tmp_path / "mug.png")
    dialog = ProductDialog(lambda: None, lambda: None, lambda request, backend: None)
    qtbot.addWidget(dialog)
    dialog.resize(600, 700)
    dialog.show()
    assert dialog.load_photo(tmp_path / "mug.png")
    assert not dialog.undo_button.isEnabled()
    rect = dialog.editor.image_rect()
    _drag(dialog.editor, rect.center(), rect.center())
    assert dialog.undo_button.isEnabled() and dialog.mask_origin == "painted"
    dialog.undo_button.click()
    assert not dialog.undo_button.isEnabled() and dialog.mask_origin == "alpha"
    dialog.zoom_in_button.click()
    assert dialog.zoom_label.text() == "125%"
    dialog.fit_button.click()
    assert dialog.zoom_label.text() == "100%" and dialog.editor.zoom == 1


def test_undo_is_exact_on_a_photo_of_odd_size(qtbot) -> None:
    widget = MaskEditor()
    qtbot.addWidget(widget)
    widget.resize(300, 300)
    widget.show()
    rng = np.random.default_rng(3)
    mask = Image.fromarray((rng.random((61, 97)) > 0.5).astype(np.uint8) * 255, "L")
    widget.set_photo(Image.new("RGB", (97, 61)), mask)
    before = _mask(widget)
    widget.mode = "brush"
    rect = widget.image_rect()
    _drag(widget, rect.topLeft() + QPointF(5, 5), rect.bottomRight() - QPointF(5, 5))
    assert not np.array_equal(_mask(widget), before)
    assert widget.undo() and np.array_equal(_mask(widget), before)
