"""`studio --smoke-test`: can this installation start? Opens the main window offscreen, builds
every backend from default settings and asks it to describe itself. No network, no user data:
it runs in a throwaway data folder, so it is safe on a designer's machine and in CI."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from studio import __version__
from studio.build_info import build_flavour

Check = Callable[[], str]


def run_smoke_test(out=None) -> int:
    """Print one line per check; 0 when all pass, 1 (with the reason) when one fails."""
    out = out or sys.stdout
    # Offscreen: the smoke test must never flash a window, even on a desktop session.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    real_home = _real_data_folder()
    started = time.perf_counter()
    failures = 0
    print(f"Studio {__version__} smoke test ({build_flavour()} build, Python "
          f"{sys.version.split()[0]}, {sys.platform})", file=out)
    print(f"  user data folder: {real_home} (not touched by this test)", file=out)
    with tempfile.TemporaryDirectory(prefix="studio-smoke-") as home:
        previous = os.environ.get("STUDIO_HOME")
        os.environ["STUDIO_HOME"] = home
        try:
            for name, check in _checks():
                try:
                    print(f"  ok    {name}: {check()}", file=out, flush=True)
                except Exception as exc:  # report every failing check, then fail once
                    failures += 1
                    print(f"  FAIL  {name}: {type(exc).__name__}: {exc}", file=out, flush=True)
                    traceback.print_exc(file=sys.stderr)
        finally:
            if previous is None:
                os.environ.pop("STUDIO_HOME", None)
            else:
                os.environ["STUDIO_HOME"] = previous
    seconds = time.perf_counter() - started
    if failures:
        print(f"smoke test FAILED: {failures} check(s) failed ({seconds:.1f} s)", file=out)
        return 1
    print(f"smoke test passed ({seconds:.1f} s)", file=out)
    return 0


def _real_data_folder() -> str:
    override = os.environ.get("STUDIO_HOME")
    if override:
        return override
    from platformdirs import user_data_path

    return str(user_data_path("Studio", appauthor=False))


def _checks() -> list[tuple[str, Check]]:
    return [("resources", _check_resources), ("backends", _check_backends),
            ("components", _check_components), ("main window", _check_window)]


def _check_components() -> str:
    from studio.components import bundled_components

    components = bundled_components()
    absent = [c.name for c in components if not c.included]
    return (f"{len(components) - len(absent)} listed in About"
            + (f"; not included in this build: {', '.join(absent)}" if absent else ""))


def _check_resources() -> str:
    from studio.costs.pricing import price_file
    from studio.paths import resources_dir

    root = resources_dir()
    for name in ("bedrock", "sagemaker", "electricity"):
        price_file(name)
    icon = root / "icons" / "studio-256.png"
    if not icon.is_file():
        raise FileNotFoundError(f"the app icon is missing: {icon}")
    return str(root)


def _check_backends() -> str:
    from studio.backend_kinds import create_backend
    from studio.settings.values import BACKENDS, Settings

    described = []
    for name in BACKENDS:
        info = create_backend(Settings(backend=name)).describe()
        state = "available" if info.available else f"unavailable ({info.detail})"
        described.append(f"{name} {state}")
    return "; ".join(described)


def _check_window() -> str:
    from PySide6.QtWidgets import QApplication

    from studio.context import StudioContext
    from studio.ui.app import prepare_application
    from studio.ui.window.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    follower = prepare_application(app)  # type: ignore[arg-type]
    context = StudioContext.create(Path(os.environ["STUDIO_HOME"]) / "settings.json")
    try:
        window = MainWindow(context)
        window.show()
        app.processEvents()
        title = window.windowTitle()
        menus = [action.text().replace("&", "") for action in window.menuBar().actions()]
        window.close()
        app.processEvents()
    finally:
        context.close()
    if app.windowIcon().isNull():
        raise FileNotFoundError("the window icon could not be loaded")
    return (f"'{title}' opened on {app.platformName()} with menus {', '.join(menus)}; "
            f"{follower.current} theme")
