"""The window's menu bar: File, Edit, View and Help, each action wired to a window method."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QAction, QKeySequence


@dataclass(frozen=True)
class WindowActions:
    """The menu actions the window enables and disables as the selection changes."""

    compare: QAction
    compare_backends: QAction


def build_menus(window: Any) -> WindowActions:
    """`window` is the MainWindow (not imported here: it imports this module)."""
    def add(menu, text: str, slot, shortcut=None, **options) -> QAction:
        action = QAction(text, window, **options)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    add(file_menu, "&Open image parameters…", window._ask_png_to_restore,
        QKeySequence.StandardKey.Open)
    add(file_menu, "Use an &image file as init image…", window._ask_init_image)
    add(file_menu, "&Product photo: new scenes…", window.open_product_dialog,
        QKeySequence("Ctrl+P"))
    add(file_menu, "&Batch export from a catalog…", window.open_batch_dialog)
    file_menu.addSeparator()
    add(file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)

    edit_menu = bar.addMenu("&Edit")
    add(edit_menu, "&Settings…", window.open_settings, QKeySequence("Ctrl+,"))

    view_menu = bar.addMenu("&View")
    compare = add(view_menu, "&Compare selected", window.compare_selected,
                  QKeySequence("Ctrl+K"))
    compare_backends = add(view_menu, "Compare &backends…", window.compare_backends,
                           QKeySequence("Ctrl+Shift+K"))

    help_menu = bar.addMenu("&Help")
    add(help_menu, "&About Studio", lambda: _show_about(window),
        menuRole=QAction.MenuRole.AboutRole)
    return WindowActions(compare=compare, compare_backends=compare_backends)


def _show_about(window: Any) -> None:
    from studio.ui.about import AboutDialog

    AboutDialog(window).exec()
