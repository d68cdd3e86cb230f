"""Totals for this session of the app: images made, seconds spent generating, money spent."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from backends.types import GenerationResult


@dataclass(frozen=True)
class SessionTotals:
    images: int = 0
    seconds: float = 0.0
    usd: float = 0.0


class Session(QObject):
    changed = Signal(object)  # SessionTotals

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.totals = SessionTotals()

    def add(self, result: GenerationResult) -> None:
        t = self.totals
        self.totals = SessionTotals(t.images + len(result.images),
                                    t.seconds + result.timings.total_s, t.usd + result.cost.usd)
        self.changed.emit(self.totals)
