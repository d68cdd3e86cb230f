"""Spin boxes with a "Model default" state: their lowest position means None, "let the model
use its own value" (FLUX.1 schnell 4 steps, SDXL 30, Qwen-Image 50).

One position below the real range shows "Model default", or "Model default (4)" once the
model's own value is known. Stepping up from it starts at the model's value, so a designer
who wants one step more than the default gets it in one click.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox, QWidget

MODEL_DEFAULT = "Model default"


def model_default_text(value: float | None) -> str:
    return MODEL_DEFAULT if value is None else f"{MODEL_DEFAULT} ({value:g})"


class _ModelDefaultBox:
    """What both boxes share, mixed in before QSpinBox or QDoubleSpinBox: the position below
    `_real_minimum` is None, shown as "Model default (value)"."""

    _real_minimum: float
    _model_value: float | None

    def _start(self, minimum: float, bottom: float) -> None:
        self._real_minimum = minimum
        self._model_value = None
        self.setRange(bottom, self.maximum())
        self.setSpecialValueText(MODEL_DEFAULT)
        self.setValue(self.minimum())

    def _typed(self, value: float) -> float:
        """A value of the box's own type (int, or float rounded to its decimals)."""
        raise NotImplementedError

    def optional_value(self) -> float | None:
        """The value, or None at "Model default" (an int from OptionalSpinBox)."""
        value = self.value()
        return None if value < self._real_minimum else self._typed(value)

    def set_optional_value(self, value: float | None) -> None:
        self.setValue(self.minimum() if value is None else self._typed(value))

    def is_model_default(self) -> bool:
        return self.optional_value() is None

    def set_model_value(self, value: float | None) -> None:
        """What "Model default" stands for on the chosen model (None: not known)."""
        self._model_value = value
        self.setSpecialValueText(model_default_text(value))
        self.updateGeometry()

    def model_value(self) -> float | None:
        return self._model_value

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt override
        if self.is_model_default() and steps > 0 and self._model_value is not None:
            self.setValue(self._model_value)
            return
        super().stepBy(steps)


class OptionalSpinBox(_ModelDefaultBox, QSpinBox):
    """Whole numbers from `minimum` to `maximum`, or None ("Model default")."""

    def __init__(self, minimum: int, maximum: int, parent: QWidget | None = None) -> None:
        QSpinBox.__init__(self, parent)
        self.setMaximum(maximum)
        self._start(minimum, minimum - 1)

    def _typed(self, value: float) -> int:
        return int(value)


class OptionalDoubleSpinBox(_ModelDefaultBox, QDoubleSpinBox):
    """Numbers from `minimum` to `maximum`, or None ("Model default") one step below."""

    def __init__(self, minimum: float, maximum: float, step: float, decimals: int = 2,
                 parent: QWidget | None = None) -> None:
        QDoubleSpinBox.__init__(self, parent)
        self.setDecimals(decimals)
        self.setSingleStep(step)
        self.setMaximum(maximum)
        self._start(minimum, minimum - step)
        # A typed value between "Model default" and the real minimum means the default.
        self.valueChanged.connect(self._snap_below_range)

    def _typed(self, value: float) -> float:
        return round(float(value), self.decimals())

    def _snap_below_range(self, value: float) -> None:
        if self.minimum() < value < self._real_minimum:
            self.setValue(self.minimum())
