"""Totals for this session of the app: images made, seconds spent generating, money spent."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from backends.types import GenerationResult


@dataclass(frozen=True)
class SessionTotals:
    images: int = 0
    seconds: float = 0.0
    usd: float = 0.0


class Session(QObject):
    """Adds up every recorded run of this app session; `add` is called from worker threads
    (the generation loop's listeners), and `changed` reaches GUI receivers as queued calls."""

    changed = Signal(object)  # SessionTotals

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.totals = SessionTotals()
        self.started = time.monotonic()
        self.images_by_backend: dict[str, int] = {}
        self._lock = threading.Lock()

    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def add(self, result: GenerationResult) -> None:
        with self._lock:
            self.images_by_backend[result.backend] = (
                self.images_by_backend.get(result.backend, 0) + len(result.images))
            t = self.totals
            self.totals = SessionTotals(t.images + len(result.images),
                                        t.seconds + result.timings.total_s,
                                        t.usd + result.cost.usd)
            totals = self.totals
        self.changed.emit(totals)
