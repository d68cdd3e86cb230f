"""The speed profiles (exact, fast, fastest) as the window and Settings offer them: a compact
combo whose every choice explains its trade-off, shared by the parameters panel and the
Generation page so both read the same."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QSizePolicy, QWidget

from backends.types import SPEEDS

SPEED_LABELS: dict[str, str] = {"exact": "Exact", "fast": "Fast", "fastest": "Fastest"}
SPEED_TIPS: dict[str, str] = {
    "exact": "Exact: the numerics Studio has always used. The same seed gives the same "
             "pixels as before. The slowest choice.",
    "fast": "Fast: bf16, the best attention kernel, fused projections and a compiled model. "
            "The image changes only negligibly. The first run at a new size compiles once "
            "(shown while loading).",
    "fastest": "Fastest: Fast plus step caching, and FP8 on GPUs that have it. Small changes "
               "you can see on close inspection; the image's details list what was applied.",
}


def speed_label(speed: str) -> str:
    """"Fast" for "fast"; an unknown name as it is."""
    return SPEED_LABELS.get(speed, speed)


class SpeedCombo(QComboBox):
    """Exact / Fast / Fastest. Each item has its trade-off as a tooltip, and the combo's own
    tooltip follows the current choice."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for index, name in enumerate(SPEEDS):
            self.addItem(SPEED_LABELS[name], name)
            self.setItemData(index, SPEED_TIPS[name], Qt.ItemDataRole.ToolTipRole)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.currentIndexChanged.connect(self._show_tip)
        self._show_tip()

    def speed(self) -> str:
        return self.currentData() or SPEEDS[0]

    def set_speed(self, speed: str) -> None:
        """Choose `speed`; an unknown name chooses Exact (what older images were made with)."""
        self.setCurrentIndex(max(0, self.findData(speed)))

    def _show_tip(self) -> None:
        self.setToolTip(SPEED_TIPS.get(self.speed(), ""))
