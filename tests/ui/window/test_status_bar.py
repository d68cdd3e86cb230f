"""The status bar names the device really used, from the first second, without torch."""

from __future__ import annotations

import subprocess
import sys

from PySide6.QtWidgets import QStatusBar

from studio.costs.session_totals import SessionTotals
from studio.ui.window.cost_status import estimate_button_text, totals_text
from studio.ui.window.status_bar import WindowStatus


def test_the_device_is_named_before_any_run(qtbot, context) -> None:
    bar = QStatusBar()
    qtbot.addWidget(bar)
    status = WindowStatus(context, bar)
    assert status.backend_label.text() == "Local · CPU"
    assert "first run" not in status.backend_label.text()


def test_money_in_the_status_bar_has_sensible_digits() -> None:
    text = totals_text(SessionTotals(images=3, seconds=12.0, usd=3e-8), None, None)
    assert text == "Session: 3 images · 12.0 s · < $0.0001"


def test_describing_the_local_backend_does_not_import_torch(tiny_settings) -> None:
    code = ("import sys; from studio.backend_kinds import create_backend; "
            "from studio.settings.values import Settings, LocalSettings; "
            "b = create_backend(Settings(local=LocalSettings(model='x'))); "
            "print(b.describe().device, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "CPU False"


def test_the_generate_button_never_shows_eight_decimals() -> None:
    assert estimate_button_text(1e-8) == "Generate  < $0.0001"
    assert estimate_button_text(0.0031) == "Generate  ≈ $0.0031"
    assert estimate_button_text(0.25) == "Generate  ≈ $0.25"
