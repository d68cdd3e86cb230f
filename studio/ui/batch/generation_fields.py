"""What each batch image is generated with: model, size and steps, shown and editable in the
batch dialog, starting from the main panel's values (never a silent 1024² × 30 steps).

The sampler, guidance and speed follow the main panel as they are; the dialog's preview says
so in one line, with the size and steps, before anything is started.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QSpinBox, QWidget

from backends.types import SCHEDULERS
from studio.backend_kinds import kind, request_model

MIN_SIDE, MAX_SIDE, SIDE_STEP = 64, 4096, 8
MAX_STEPS = 150
MODEL_DEFAULT = "Model default"


@dataclass(frozen=True)
class GenerationValues:
    """The request fields a batch takes from the main panel (or its own edits)."""

    model: str = ""
    width: int = 1024
    height: int = 1024
    steps: int | None = None  # None: the model's own default
    guidance: float | None = None
    scheduler: str | None = None
    speed: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> GenerationValues:
        return cls(model=request_model(settings), width=settings.default_width,
                   height=settings.default_height, steps=settings.default_steps,
                   guidance=settings.default_guidance, speed=settings.speed)

    @classmethod
    def from_panel(cls, panel: Any, settings: Any) -> GenerationValues:
        """The main window's parameters panel as it is now (its fields, not a validated
        request, so an empty prompt does not stop the batch dialog from opening)."""
        values = cls.from_settings(settings)
        try:
            return replace(values, width=int(panel.width_spin.value()),
                           height=int(panel.height_spin.value()),
                           steps=panel.steps_spin.optional_value(),
                           guidance=panel.guidance_spin.optional_value(),
                           scheduler=panel.sampler_combo.currentData(),
                           speed=panel.speed())
        except (AttributeError, TypeError, ValueError):
            return values

    def request_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"model": self.model, "steps": self.steps,
                                  "guidance": self.guidance, "width": self.width,
                                  "height": self.height, "scheduler": self.scheduler}
        if self.speed:
            fields["speed"] = self.speed
        return fields

    def describe(self, size: tuple[int, int] | None = None) -> str:
        """"512×512 · 4 steps · model tiny-sd · sampler Euler a · guidance 7": what a run
        uses, with `size` where a preset generates at another size than the fields."""
        width, height = size or (self.width, self.height)
        steps = f"{self.steps} steps" if self.steps is not None else "the model's default steps"
        sampler = SCHEDULERS.get(self.scheduler or "", "default")
        guidance = f"{self.guidance:g}" if self.guidance is not None else "the model's default"
        model = self.model or "the endpoint's model"
        return (f"Each image: {width}×{height} · {steps} · model {model} · sampler {sampler} "
                f"· guidance {guidance}")


class GenerationFields(QWidget):
    """Model, width × height and steps for the batch; `values()` reads them back."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = GenerationValues()
        self.model_edit = QLineEdit()
        self.width_spin = _side_spin()
        self.height_spin = _side_spin()
        self.steps_spin = QSpinBox(minimum=0, maximum=MAX_STEPS)
        self.steps_spin.setSpecialValueText(MODEL_DEFAULT)  # 0 shows as "Model default"
        self.steps_spin.setToolTip("0: the model's own default number of steps")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.model_edit, 3)
        row.addWidget(self.width_spin)
        row.addWidget(QLabel("×"))
        row.addWidget(self.height_spin)
        row.addWidget(QLabel("Steps"))
        row.addWidget(self.steps_spin)

    def set_values(self, values: GenerationValues, backend: str) -> None:
        """Show `values`; the model field is off for a backend that serves one model."""
        self._base = values
        has_model = kind(backend).model_field is not None
        self.model_edit.setEnabled(has_model)
        self.model_edit.setText(values.model if has_model else "")
        self.model_edit.setPlaceholderText("" if has_model else "the endpoint's own model")
        self.width_spin.setValue(values.width)
        self.height_spin.setValue(values.height)
        self.steps_spin.setValue(values.steps or 0)

    def values(self) -> GenerationValues:
        steps = self.steps_spin.value()
        return replace(self._base, model=self.model_edit.text().strip(),
                       width=self.width_spin.value(), height=self.height_spin.value(),
                       steps=steps or None)


def _side_spin() -> QSpinBox:
    spin = QSpinBox(minimum=MIN_SIDE, maximum=MAX_SIDE, singleStep=SIDE_STEP)
    spin.setSuffix(" px")
    return spin
