"""Python's cyclic garbage collected on the GUI thread only.

Python runs a collection in whichever thread happens to allocate past the threshold: in
Studio that is often a generation worker or a boto3 thread. A collection there that frees a
cycle holding a Qt widget destroys the widget off the GUI thread, which Qt does not allow and
which ends in a segmentation fault. So automatic collection is off while the app runs, and a
timer on the GUI thread collects instead, a generation at a time, as the thresholds would
have (the recipe pyqtgraph and others use).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class MainThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)
        gc.disable()

    def check(self) -> int:
        """Collect the oldest generation whose count is past its threshold; what was freed."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                return gc.collect(generation)
        return 0

    def stop(self) -> None:
        """Automatic collection back on (at exit, and in tests)."""
        self._timer.stop()
        gc.enable()
