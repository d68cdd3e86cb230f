"""Where a run's seconds went, drawn as one proportional stacked bar with matching swatches."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from backends.types import Timings
from studio.formatting import format_seconds
from studio.ui.loupe.record_text import OTHER_LABEL, timing_parts

# Hue offsets from the theme's highlight colour: inference, the part that matters most,
# wears the highlight itself; the rest sit far enough round the wheel to tell apart.
_HUE_OFFSETS = {"Inference": 0, "Load": 200, "Queue": 45, "Network": 140, "Decode": 95}


def part_color(label: str, palette: QPalette) -> QColor:
    """The colour of one timing part, derived from the palette so it suits light and dark."""
    if label not in _HUE_OFFSETS:
        return palette.color(QPalette.ColorRole.Mid)
    base = palette.color(QPalette.ColorRole.Highlight)
    hue = base.hsvHue() if base.hsvHue() >= 0 else 210  # a grey highlight has no hue
    return QColor.fromHsv(
        (hue + _HUE_OFFSETS[label]) % 360, max(base.hsvSaturation(), 110), max(base.value(), 170)
    )


class TimingBar(QWidget):
    """A thin bar split in proportion to load, queue, network, inference and decode time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._parts: list[tuple[str, float]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(200, 12)

    def set_timings(self, timings: Timings | None) -> None:
        self._parts = [part for part in timing_parts(timings) if part[1] > 0] if timings else []
        total = sum(seconds for _, seconds in self._parts)
        self.setToolTip("\n".join(
            f"{label}: {format_seconds(seconds)} ({seconds / total:.0%})"
            for label, seconds in self._parts
        ) if total else "No timing recorded")
        self.update()

    def parts(self) -> list[tuple[str, float]]:
        return list(self._parts)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        bar = QRectF(self.rect()).adjusted(0, 1, 0, -1)
        clip = QPainterPath()
        clip.addRoundedRect(bar, 3, 3)
        painter.setClipPath(clip)
        painter.fillRect(bar, palette.color(QPalette.ColorRole.AlternateBase))
        total = sum(seconds for _, seconds in self._parts)
        x = bar.left()
        for label, seconds in self._parts if total else []:
            width = bar.width() * seconds / total
            painter.fillRect(QRectF(x, bar.top(), width, bar.height()), part_color(label, palette))
            x += width


class Swatch(QWidget):
    """The small colour square beside a timing row, matching its segment in the bar."""

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._label = label
        self.setFixedSize(10, 10)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if self._label == OTHER_LABEL or self._label in _HUE_OFFSETS:
            painter = QPainter(self)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(part_color(self._label, self.palette()))
            painter.drawRoundedRect(QRectF(self.rect()), 2, 2)
