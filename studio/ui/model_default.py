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


class OptionalSpinBox(QSpinBox):
    """Whole numbers from `minimum` to `maximum`, or None ("Model default")."""

    def __init__(self, minimum: int, maximum: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._real_minimum = minimum
        self._model_value: int | None = None
        self.setRange(minimum - 1, maximum)
        self.setSpecialValueText(MODEL_DEFAULT)
        self.setValue(self.minimum())

    def optional_value(self) -> int | None:
        value = self.value()
        return None if value < self._real_minimum else value

    def set_optional_value(self, value: int | None) -> None:
        self.setValue(self.minimum() if value is None else int(value))

    def is_model_default(self) -> bool:
        return self.optional_value() is None

    def set_model_value(self, value: int | None) -> None:
        """What "Model default" stands for on the chosen model (None: not known)."""
        self._model_value = value
        self.setSpecialValueText(model_default_text(value))
        self.updateGeometry()

    def model_value(self) -> int | None:
        return self._model_value

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt override
        if self.is_model_default() and steps > 0 and self._model_value is not None:
            self.setValue(self._model_value)
            return
        super().stepBy(steps)


class OptionalDoubleSpinBox(QDoubleSpinBox):
    """Numbers from `minimum` to `maximum`, or None ("Model default") one step below."""

    def __init__(self, minimum: float, maximum: float, step: float, decimals: int = 2,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._real_minimum = minimum
        self._model_value: float | None = None
        self.setDecimals(decimals)
        self.setSingleStep(step)
        self.setRange(minimum - step, maximum)
        self.setSpecialValueText(MODEL_DEFAULT)
        self.setValue(self.minimum())
        # A typed value between "Model default" and the real minimum means the default.
        self.valueChanged.connect(self._snap_below_range)

    def optional_value(self) -> float | None:
        value = self.value()
        return None if value < self._real_minimum else round(value, self.decimals())

    def set_optional_value(self, value: float | None) -> None:
        self.setValue(self.minimum() if value is None else float(value))

    def is_model_default(self) -> bool:
        return self.optional_value() is None

    def set_model_value(self, value: float | None) -> None:
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

    def _snap_below_range(self, value: float) -> None:
        if self.minimum() < value < self._real_minimum:
            self.setValue(self.minimum())
