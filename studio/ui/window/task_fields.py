"""The small inputs a task's own options use: numbers that may stay at the service's default,
the four outpaint margins, and the style preset."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QGridLayout, QLabel, QSpinBox, QWidget

DEFAULT_TEXT = "default"
MARGIN_SIDES = ("left", "right", "up", "down")
MAX_MARGIN = 2000
MARGIN_STEP = 64

class OptionalNumber(QDoubleSpinBox):
    """A number from `low` to `high`, or "default" (one step below `low`): the service
    chooses, and nothing is sent."""

    def __init__(self, low: float, high: float, step: float = 0.05, tip: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(2)
        self.setRange(low - step, high)
        self.setSingleStep(step)
        self.setSpecialValueText(DEFAULT_TEXT)
        self.setValue(self.minimum())
        self.setToolTip(tip)

    def optional_value(self) -> float | None:
        if self.value() <= self.minimum():
            return None
        return round(self.value(), self.decimals())


class OptionalCount(QSpinBox):
    """A whole number from `low` to `high`, or "default" (one below `low`)."""

    def __init__(self, low: int, high: int, tip: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(low - 1, high)
        self.setSpecialValueText(DEFAULT_TEXT)
        self.setValue(self.minimum())
        self.setToolTip(tip)

    def optional_value(self) -> int | None:
        return None if self.value() <= self.minimum() else self.value()


class MarginsEdit(QWidget):
    """Pixels Outpaint adds on each side of the image."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spins: dict[str, QSpinBox] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for index, side in enumerate(MARGIN_SIDES):
            spin = QSpinBox(minimum=0, maximum=MAX_MARGIN, singleStep=MARGIN_STEP)
            spin.setSuffix(" px")
            spin.setToolTip(f"Pixels to add on the {side} side (0 to {MAX_MARGIN})")
            spin.valueChanged.connect(self.changed)
            self.spins[side] = spin
            row, column = divmod(index, 2)
            grid.addWidget(QLabel(side.capitalize()), row, column * 2)
            grid.addWidget(spin, row, column * 2 + 1)

    def values(self) -> dict[str, int]:
        return {side: spin.value() for side, spin in self.spins.items()}

    def any(self) -> bool:
        return any(self.values().values())


def style_preset_combo() -> QComboBox:
    combo = QComboBox()
    combo.setToolTip("A style the service leans towards")
    fill_style_presets(combo, ())
    return combo


def fill_style_presets(combo: QComboBox, presets: tuple[str, ...]) -> None:
    """The presets the backend's tasks take, after "None"; the choice is kept if still there."""
    current = combo.currentData() or ""
    combo.blockSignals(True)
    combo.clear()
    combo.addItem("None (the model's own look)", "")
    for preset in presets:
        combo.addItem(preset, preset)
    combo.setCurrentIndex(max(combo.findData(current), 0))
    combo.blockSignals(False)
