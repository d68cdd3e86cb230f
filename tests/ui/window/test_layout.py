"""The window's layout holds: on 1366×768 and 1920×1080 screens, with a 500-character prompt
in the queue, every control of the parameters panel, Generate and Cancel are in view, and
nothing widens the left column or gives it a horizontal scrollbar."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QSlider,
    QWidget,
)

from studio.ui.window.window_size import first_window_size, splitter_sizes

WAIT_MS = 60_000
TASKBAR = 40  # what a desktop's panel or taskbar takes off the screen's height
SCREENS = [QSize(1366, 768), QSize(1920, 1080)]
LONG_PROMPT = ("a walnut desk organiser on a marble counter, soft daylight, brass pen tray, "
               "linen backdrop, " * 8)[:500]
CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QSlider)


def _rect_in(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def visible_part(widget: QWidget, window: QWidget) -> QRect:
    """The part of `widget` a user can see: clipped by the window and by the viewport of
    every scroll area it sits in."""
    visible = _rect_in(widget, window) & window.rect()
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea):
            visible &= _rect_in(parent.viewport(), window)
        parent = parent.parentWidget()
    return visible


def hidden_controls(panel: QWidget, window: QWidget) -> list[str]:
    """The shown controls of `panel` that are not wholly in view."""
    controls = [widget for widget in panel.findChildren(QWidget)
                if isinstance(widget, CONTROLS) and widget.isVisibleTo(window)
                and not isinstance(widget.parentWidget(), CONTROLS)]  # a spin box's line edit
    assert len(controls) >= 10  # the panel's fields were found
    return [f"{type(widget).__name__} {getattr(widget, 'text', lambda: '')()!r} at "
            f"{_rect_in(widget, window)}"
            for widget in controls
            if visible_part(widget, window) != _rect_in(widget, window)]


def _size_for(window, screen: QSize) -> QSize:
    available = QSize(screen.width(), screen.height() - TASKBAR)
    window.resize(first_window_size(available))
    window.centralWidget().setSizes(splitter_sizes(window.width()))
    return available


@pytest.mark.parametrize("screen", SCREENS, ids=lambda size: f"{size.width()}x{size.height()}")
def test_every_parameter_and_cancel_stay_in_view_with_a_long_prompt_queued(
        qtbot, window, screen: QSize) -> None:
    available = _size_for(window, screen)
    qtbot.waitUntil(lambda: window.size() == first_window_size(available))
    assert window.width() <= available.width() and window.height() <= available.height()
    column = window.column
    width_before = column.width()

    window.params_panel.steps_spin.setValue(400)  # long enough to look at while it runs
    window.prompt_panel.set_prompt(LONG_PROMPT)
    job = window.generate()
    assert job is not None
    try:
        row = window.queue_panel.rows[job.id]
        qtbot.waitUntil(lambda: row.isVisible()
                        and column.queue_scroll.height() >= row.sizeHint().height())
        QApplication.processEvents()
        assert column.width() == width_before
        assert not column.scroll.horizontalScrollBar().isVisible()
        assert column.scroll.widget().width() <= column.scroll.viewport().width()
        assert hidden_controls(window.params_panel, window) == []
        for button in (window.generate_button, window.cancel_button, row.cancel_button):
            assert visible_part(button, window) == _rect_in(button, window), button.text()
        assert row.title.text().endswith("…") and len(row.title.text()) < len(LONG_PROMPT)
        assert row.title.toolTip() == LONG_PROMPT
    finally:
        window.context.jobs.cancel(job.id)
        qtbot.waitUntil(lambda: job.state in ("cancelled", "finished", "failed"),
                        timeout=WAIT_MS)


def test_long_names_and_messages_do_not_widen_the_column(qtbot, window) -> None:
    _size_for(window, SCREENS[0])
    QApplication.processEvents()
    width_before = window.column.width()
    window.params_panel.model_combo.setEditText("an-organisation/" + "a-very-long-model" * 12)
    window.show_message("Something went wrong with " + "a long detail, " * 30)
    QApplication.processEvents()
    assert window.column.width() == width_before
    assert window.column.scroll.widget().width() <= window.column.scroll.viewport().width()
    assert hidden_controls(window.params_panel, window) == []


@pytest.mark.parametrize(("available", "expected"), [
    (QSize(1366, 728), QSize(1350, 680)),
    (QSize(1920, 1040), QSize(1500, 900)),
    (QSize(1280, 800), QSize(1264, 752)),
])
def test_the_first_window_fits_the_screen_it_opens_on(available, expected) -> None:
    assert first_window_size(available) == expected


OPEN_WINDOW = """
from PySide6.QtWidgets import QApplication
from studio.context import StudioContext
from studio.ui.window.main_window import MainWindow
app = QApplication([])
context = StudioContext.create()
window = MainWindow(context)
window.show()
app.processEvents()
free, size = window.screen().availableGeometry(), window.size()
print(free.width(), free.height(), size.width(), size.height())
context.close()
"""


@pytest.mark.parametrize("screen", SCREENS, ids=lambda size: f"{size.width()}x{size.height()}")
def test_the_first_window_fits_the_screen_it_opens_on_in_a_fresh_app(
        tmp_path, screen: QSize) -> None:
    """A new app on a screen of that size (Qt's offscreen platform, told the screen's size)."""
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{
        "name": "screen", "x": 0, "y": 0, "width": screen.width(), "height": screen.height(),
        "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
           "STUDIO_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", OPEN_WINDOW], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    free_w, free_h, width, height = map(int, out[-4:])
    assert (free_w, free_h) == (screen.width(), screen.height())
    assert QSize(width, height) == first_window_size(QSize(free_w, free_h))


def test_the_grid_gets_the_room_the_column_and_loupe_leave() -> None:
    column, grid, loupe = splitter_sizes(1350)
    assert column + grid + loupe == 1350 and grid > column and grid > loupe
