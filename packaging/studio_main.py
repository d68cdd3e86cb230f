"""The packaged app's entry point: the `studio` command, frozen by PyInstaller."""

from __future__ import annotations

import multiprocessing
import os
import sys


def _give_windowed_app_a_stdout() -> None:
    """A windowed Windows .exe starts with no stdout; borrow the console that launched it
    (so `Studio.exe --smoke-test` prints in cmd), or write nowhere rather than crash."""
    if sys.stdout is not None and sys.stderr is not None:
        return
    stream = None
    if sys.platform == "win32":
        try:
            import ctypes

            if ctypes.windll.kernel32.AttachConsole(-1):  # ATTACH_PARENT_PROCESS
                stream = open("CONOUT$", "w", encoding="utf-8")  # noqa: SIM115
        except OSError:
            stream = None
    stream = stream or open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    sys.stdout = sys.stdout or stream
    sys.stderr = sys.stderr or stream


def main() -> int:
    multiprocessing.freeze_support()
    _give_windowed_app_a_stdout()
    from studio.cli.main import main as studio_main

    return studio_main()


if __name__ == "__main__":
    sys.exit(main())
