"""The first window's size and place: as large as the design wants (1500×900) where the
screen allows, else the screen's free area less what a window manager adds around it."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

PREFERRED = QSize(1500, 900)
# A title bar and borders (about 30-40 px high on GNOME, KDE and Windows) sit outside the
# size we set; leave them room so the whole frame is on screen.
FRAME_ALLOWANCE = QSize(16, 48)
COLUMN_WIDTH = 360
DETAIL_SHARE = 0.25  # of the window's width, between these bounds
DETAIL_MIN, DETAIL_MAX = 300, 420


def first_window_size(available: QSize) -> QSize:
    """The size of a first window on a screen whose free area is `available`."""
    return QSize(min(PREFERRED.width(), available.width() - FRAME_ALLOWANCE.width()),
                 min(PREFERRED.height(), available.height() - FRAME_ALLOWANCE.height()))


def splitter_sizes(width: int) -> list[int]:
    """Widths of the left column, the grid and the loupe for a window `width` wide."""
    detail = max(DETAIL_MIN, min(DETAIL_MAX, round(width * DETAIL_SHARE)))
    return [COLUMN_WIDTH, max(0, width - COLUMN_WIDTH - detail), detail]


def centred(size: QSize, available: QRect) -> QRect:
    frame = QRect(0, 0, size.width(), size.height())
    frame.moveCenter(available.center())
    frame.moveTop(max(available.top(), frame.top()))
    frame.moveLeft(max(available.left(), frame.left()))
    return frame


def fit_to_screen(window: QWidget) -> QSize:
    """Size `window` for the screen it opens on and centre it there; returns the size."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    available = screen.availableGeometry()
    size = first_window_size(available.size())
    window.resize(size)
    window.move(centred(size + FRAME_ALLOWANCE, available).topLeft())  # the frame's corner
    return size
