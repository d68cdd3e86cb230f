"""The LoRAs to stack on the local model: one row each with its weight, added from a
.safetensors file or by typing a hub id (`owner/name`, optionally `:WEIGHT`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backends.errors import InvalidRequest
from backends.types import MAX_LORA_WEIGHT, MAX_LORAS, LoraRef
from studio.ui.elided_label import ElidedLabel

WEIGHT_STEP = 0.05


class LoraRow(QWidget):
    """One LoRA: its name (the source in the tooltip), its weight and a remove button."""

    changed = Signal()
    remove_requested = Signal(object)  # this row

    def __init__(self, lora: LoraRef, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = lora.source
        self.name_label = ElidedLabel(lora.name)
        self.name_label.setToolTip(lora.source)
        self.weight_spin = QDoubleSpinBox(minimum=-MAX_LORA_WEIGHT, maximum=MAX_LORA_WEIGHT,
                                          singleStep=WEIGHT_STEP, decimals=2)
        self.weight_spin.setValue(lora.weight)
        self.weight_spin.setToolTip("How strongly the LoRA applies (1 as trained, 0 not at all, "
                                    "negative to push away from it)")
        self.remove_button = QToolButton(text="✕")
        self.remove_button.setToolTip(f"Remove {lora.name}")
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        self.weight_spin.valueChanged.connect(self.changed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.name_label, 1)
        layout.addWidget(self.weight_spin)
        layout.addWidget(self.remove_button)

    def lora(self) -> LoraRef:
        return LoraRef(self.source, round(self.weight_spin.value(), 2))

    @property
    def name(self) -> str:
        return self.name_label.full_text


class LoraList(QWidget):
    """`loras()` is what the request gets; `set_loras` restores a stored request's."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[LoraRow] = []
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("hub id or .safetensors path")
        self.source_edit.setToolTip("A LoRA from the Hugging Face hub (owner/name) or a "
                                    ".safetensors file; add ':0.8' for another weight than 1")
        self.source_edit.returnPressed.connect(self.add_typed)
        self.add_button = QToolButton(text="Add")
        self.add_button.setToolTip("Add the LoRA typed on the left")
        self.add_button.clicked.connect(self.add_typed)
        self.browse_button = QToolButton(text="File…")
        self.browse_button.setToolTip("Add a LoRA from a .safetensors file")
        self.browse_button.clicked.connect(self.add_from_file)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #d9534f")
        self.message_label.hide()

        self._rows_layout = QVBoxLayout()
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setSpacing(2)
        add_row = QHBoxLayout()
        add_row.setSpacing(4)
        add_row.addWidget(self.source_edit, 1)
        add_row.addWidget(self.add_button)
        add_row.addWidget(self.browse_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._rows_layout)
        layout.addLayout(add_row)
        layout.addWidget(self.message_label)

    def loras(self) -> tuple[LoraRef, ...]:
        return tuple(row.lora() for row in self.rows)

    def set_loras(self, loras: Iterable[LoraRef]) -> None:
        for row in list(self.rows):
            self._remove(row, announce=False)
        for lora in list(loras)[:MAX_LORAS]:
            self._append(lora)
        self.show_message("")
        self._update_add()
        self.changed.emit()

    def add(self, lora: LoraRef) -> None:
        """Add `lora`; one already listed (by name) takes the new weight instead."""
        existing = next((row for row in self.rows if row.name == lora.name), None)
        if existing is not None:
            existing.weight_spin.setValue(lora.weight)
            self.show_message("")
            return
        if len(self.rows) >= MAX_LORAS:
            self.show_message(f"At most {MAX_LORAS} LoRAs can be stacked; remove one first.")
            return
        self._append(lora)
        self.show_message("")
        self._update_add()
        self.changed.emit()

    def add_typed(self) -> None:
        text = self.source_edit.text().strip()
        if not text:
            return
        try:
            lora = LoraRef.parse(text)
        except InvalidRequest as exc:
            self.show_message(str(exc))
            return
        path = Path(lora.source).expanduser()
        if path.suffix.lower() == ".safetensors" and not path.is_file():
            self.show_message(f"No LoRA file at {lora.source}.")
            return
        self.source_edit.clear()
        self.add(lora)

    def add_from_file(self) -> None:
        path = self._ask_file()
        if path:
            self.add(LoraRef(path))

    def show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    # --- hooks tests replace ------------------------------------------------------------

    def _ask_file(self) -> str:
        path, _ = QFileDialog.getOpenFileName(self, "Add a LoRA", "",
                                              "LoRA weights (*.safetensors)")
        return path

    # --- helpers ------------------------------------------------------------------------

    def _append(self, lora: LoraRef) -> None:
        row = LoraRow(lora)
        row.changed.connect(self.changed)
        row.remove_requested.connect(self._remove)
        self.rows.append(row)
        self._rows_layout.addWidget(row)

    def _remove(self, row: LoraRow, announce: bool = True) -> None:
        self.rows.remove(row)
        self._rows_layout.removeWidget(row)
        row.deleteLater()
        if announce:
            self._update_add()
            self.changed.emit()

    def _update_add(self) -> None:
        full = len(self.rows) >= MAX_LORAS
        for widget in (self.source_edit, self.add_button, self.browse_button):
            widget.setEnabled(not full)
