"""Starting the desktop app. Importing this pulls in Qt, never torch."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from studio import __version__
from studio.paths import resources_dir, studio_home

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from studio.ui.theme import ThemeFollower

log = logging.getLogger("studio")


def run(argv: Sequence[str] = ()) -> int:
    """Open the main window; PNG paths in argv restore their parameters.

    A failure to start shows a message window and logs the traceback: a double-clicked app
    has no terminal to print one in.
    """
    from studio.ui.qt_platform import (
        missing_from_load_error,
        missing_libraries_message,
        platform_problem,
    )

    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        missing = missing_from_load_error(str(exc))
        if missing:  # Qt for Python is there; a system library it loads is not
            print(f"studio: {missing_libraries_message(missing, 'Qt for Python')}",
                  file=sys.stderr)
        else:
            print(f"studio: the desktop app needs Qt for Python ({exc}). Install it with: "
                  "pip install 'studio[ui]'", file=sys.stderr)
        return 1
    if QApplication.instance() is None:
        # Qt aborts the process when its platform plugin cannot load: look first.
        problem = platform_problem()
        if problem:
            print(f"studio: {problem}", file=sys.stderr)
            _log_problem(problem)
            return 1
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    try:
        from studio.context import StudioContext
        from studio.ui.main_thread_gc import MainThreadGarbageCollector
        from studio.ui.window.file_open import FileOpenFilter
        from studio.ui.window.main_window import MainWindow

        _log_to_file()
        prepare_application(app)
        opened = FileOpenFilter(app)  # installed before exec: macOS sends launch files early
        app.installEventFilter(opened)
        sys.excepthook = _show_unexpected_error
        context = StudioContext.create()
        window = MainWindow(context)
        window.show()
        for path in argv:
            opened.open(Path(path))
        opened.set_handler(window.restore_from_png)
    except Exception as exc:
        report_startup_failure(exc)
        return 1
    collector = MainThreadGarbageCollector(app)
    try:
        return app.exec()
    finally:
        context.close()
        collector.stop()


def prepare_application(app: QApplication) -> ThemeFollower:
    """Name, icon and theme: everything the app needs before its first window."""
    from PySide6.QtGui import QIcon

    from studio.ui.theme import follow_os_theme

    app.setApplicationName("Studio")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("studio")  # matches studio.desktop, so Wayland shows our icon
    icon = QIcon()
    for png in sorted((resources_dir() / "icons").glob("studio-*.png")):
        icon.addFile(str(png))
    app.setWindowIcon(icon)
    return follow_os_theme(app)


def startup_failure_box(error: BaseException) -> QMessageBox:
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Critical, "Studio could not start",
                      f"Studio could not start: {error}")
    box.setInformativeText(f"Details were written to {_log_path()}.")
    return box


def report_startup_failure(error: BaseException) -> None:
    log.error("Studio could not start:\n%s", "".join(traceback.format_exception(error)))
    startup_failure_box(error).exec()


def _log_path() -> Path | str:
    try:
        return studio_home() / "logs" / "studio.log"
    except OSError:
        return "the log (the data folder could not be created)"


def _log_problem(problem: str) -> None:
    """A double-clicked app has no terminal: the message goes to the log file too."""
    try:
        _log_to_file()
        log.error("%s", problem)
    except OSError:
        pass  # stderr has it


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
