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


def test_the_sweep_notice_says_what_was_put_right_and_nothing_otherwise() -> None:
    from studio.library.orphans import OrphanSweep
    from studio.ui.window.status_bar import sweep_text

    assert sweep_text(None) == "" and sweep_text(OrphanSweep()) == ""
    assert sweep_text(OrphanSweep(foreign=("holiday.png",))) == ""  # left alone every time
    assert sweep_text(OrphanSweep(reimported=("a.png", "b.png", "c.png"), moved=("d.png",))) \
        == ("Library: recovered 3 images an interrupted save left; moved 1 file it could not "
            "read to orphans/.")
    assert sweep_text(OrphanSweep(temp_removed=1, failed="disk I/O error")) == (
        "Library: removed 1 half-written temp file; looking for them stopped: disk I/O error.")


def test_a_library_whose_sweep_moved_a_file_shows_a_notice_that_closes(
        qtbot, context, tmp_path) -> None:
    import os
    import time

    from PIL import Image

    from studio.library import Library

    bar = QStatusBar()
    qtbot.addWidget(bar)
    bar.show()
    status = WindowStatus(context, bar)
    assert status.sweep_notice.isHidden()  # a clean library: nothing to say

    root = tmp_path / "other"
    left = root / "2024-05-01" / "20240501-090000_abcdef12_0_7.png"  # Studio's layout
    left.parent.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(left)  # no metadata to rebuild its rows from
    old = time.time() - 3600
    os.utime(left, (old, old))
    original = context.library_notifier.library
    other = Library.open(root)
    try:
        assert len(other.last_sweep.moved) == 1
        context.library_notifier.attach(other)  # what Settings does on a new folder
        assert status.sweep_notice.isVisible()
        assert status.sweep_notice.label.text() == (
            "Library: moved 1 file it could not read to orphans/.")
        assert "orphans/ folder" in status.sweep_notice.label.toolTip()
        status.sweep_notice.close_button.click()
        assert status.sweep_notice.isHidden()
    finally:
        context.library_notifier.attach(original)
        other.close()
