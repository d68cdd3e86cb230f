"""The app's garbage collection runs on the GUI thread only (studio/ui/main_thread_gc.py)."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject

from studio.ui.main_thread_gc import MainThreadGarbageCollector


class _Cycle:
    def __init__(self) -> None:
        self.me = self
        self.qt = QObject()


def test_a_cycle_holding_a_qt_object_is_freed_by_the_gui_thread_timer(qtbot) -> None:
    collector = MainThreadGarbageCollector(interval_ms=10)
    try:
        assert not gc.isenabled()
        gc.collect()
        cycle = _Cycle()
        gone = weakref.ref(cycle)
        del cycle
        # A worker thread allocating far past the threshold collects nothing now.
        worker = threading.Thread(target=lambda: [[] for _ in range(50_000)])
        worker.start()
        worker.join()
        assert gone() is not None
        # Past the first threshold, the next tick of the timer collects it.
        keep = [[] for _ in range(gc.get_threshold()[0] + 10)]
        qtbot.waitUntil(lambda: gone() is None, timeout=2000)
        del keep
    finally:
        collector.stop()
    assert gc.isenabled()


def test_nothing_is_collected_below_the_thresholds(qtbot) -> None:
    collector = MainThreadGarbageCollector(interval_ms=60_000)
    try:
        gc.collect()
        assert collector.check() == 0
    finally:
        collector.stop()
