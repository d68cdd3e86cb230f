"""Guards the PySide6 pin: some releases corrupt reference counts on Python 3.11.

PySide6 6.12.0 drops a reference to True on every Signal.emit() and to None on every slot
that returns None; on Python 3.11 the process then aborts after a few thousand events.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(int)


def test_emitting_signals_keeps_reference_counts_intact(qapp) -> None:
    emitter = _Emitter()
    received: list[int] = []
    emitter.fired.connect(received.append)  # a slot returning None
    true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
    for i in range(500):
        emitter.fired.emit(i)
    assert len(received) == 500
    assert sys.getrefcount(True) - true_before > -50
    assert sys.getrefcount(None) - none_before > -50
