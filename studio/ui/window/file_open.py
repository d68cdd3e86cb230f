"""Images the OS asks Studio to open: macOS sends a QFileOpenEvent (Finder double-click,
"Open With", a drop on the Dock icon) instead of putting the path on the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFileOpenEvent

from studio.library.foreign_png import IMAGE_SUFFIXES


class FileOpenFilter(QObject):
    """Collects file-open events; paths that arrive before the window exists wait for it."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pending: list[Path] = []
        self._handler: Callable[[Path], object] | None = None

    def set_handler(self, handler: Callable[[Path], object]) -> None:
        self._handler = handler
        pending, self.pending = self.pending, []
        for path in pending:
            handler(path)

    def open(self, path: Path) -> None:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            return
        if self._handler is None:
            self.pending.append(path)
        else:
            self._handler(path)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            self.open(Path(event.file()))
            return True
        return super().eventFilter(watched, event)
