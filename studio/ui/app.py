"""Starting the desktop app. Importing this pulls in Qt, never torch."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from studio import __version__
from studio.paths import studio_home

log = logging.getLogger("studio")


def run(argv: Sequence[str] = ()) -> int:
    """Open the main window; PNG paths in argv restore their parameters."""
    from PySide6.QtWidgets import QApplication

    from studio.context import StudioContext
    from studio.ui.main_window import MainWindow

    _log_to_file()
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("Studio")
    app.setApplicationVersion(__version__)
    sys.excepthook = _show_unexpected_error
    context = StudioContext.create()
    window = MainWindow(context)
    window.show()
    for path in argv:
        if path.lower().endswith(".png"):
            window.restore_from_png(Path(path))
    try:
        return app.exec()
    finally:
        context.close()


def _log_to_file() -> None:
    logs = studio_home() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=logs / "studio.log", level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _show_unexpected_error(kind, error, trace) -> None:
    """An unexpected error becomes a message window; the traceback goes to the log file."""
    log.error("unexpected error:\n%s", "".join(traceback.format_exception(kind, error, trace)))
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Warning, "Studio",
                      f"Something went wrong: {error}\n\nDetails were written to "
                      f"{studio_home() / 'logs' / 'studio.log'}.")
    box.setModal(False)
    box.show()
