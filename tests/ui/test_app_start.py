"""Starting the desktop app: file-open events, the icon, and a friendly startup failure."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QEvent, QUrl
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.ui import app as studio_app
from studio.ui.window.file_open import FileOpenFilter


def test_files_opened_before_the_window_exists_wait_for_it(qapp: QApplication) -> None:
    files = FileOpenFilter()
    qapp.installEventFilter(files)
    try:
        QApplication.sendEvent(qapp, QFileOpenEvent(QUrl.fromLocalFile("/tmp/a.png")))
        QApplication.sendEvent(qapp, QFileOpenEvent(QUrl.fromLocalFile("/tmp/notes.txt")))
        opened: list[Path] = []
        files.set_handler(opened.append)
        assert opened == [Path("/tmp/a.png")]
        QApplication.sendEvent(qapp, QFileOpenEvent(QUrl.fromLocalFile("/tmp/b.PNG")))
        assert opened == [Path("/tmp/a.png"), Path("/tmp/b.PNG")]
    finally:
        qapp.removeEventFilter(files)
    assert QEvent.Type.FileOpen  # the event type the filter listens for


def test_prepare_application_sets_the_icon_and_the_theme(qapp: QApplication) -> None:
    previous_palette, previous_style = qapp.palette(), qapp.style().name()
    try:
        follower = studio_app.prepare_application(qapp)
        assert not qapp.windowIcon().isNull()
        assert 256 in {size.width() for size in qapp.windowIcon().availableSizes()}
        assert follower.current in ("light", "dark")
        assert qapp.desktopFileName() == "studio"
    finally:
        qapp.setStyle(previous_style)
        qapp.setPalette(previous_palette)


def test_a_startup_failure_shows_a_message_not_a_traceback(qapp, monkeypatch, capsys) -> None:
    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append(self) or 0)

    def broken(*args, **kwargs):
        raise OSError("the library folder is read-only")

    monkeypatch.setattr("studio.context.StudioContext.create", broken)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    root = logging.getLogger()
    handlers, palette, style = list(root.handlers), qapp.palette(), qapp.style().name()
    try:
        assert studio_app.run([]) == 1
    finally:
        for handler in set(root.handlers) - set(handlers):
            root.removeHandler(handler)
            handler.close()
        qapp.setStyle(style)
        qapp.setPalette(palette)
    (box,) = shown
    assert "the library folder is read-only" in box.text()
    assert "studio.log" in box.informativeText()
    assert "Traceback" not in capsys.readouterr().err
