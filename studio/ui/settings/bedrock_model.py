"""The Bedrock model field: the models Studio can drive, by name and lifecycle, and a warning
under them for the id typed (a Legacy model, or a retired one and what replaces it)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from studio.backend_kinds import bedrock_model_choices, bedrock_model_warning
from studio.ui.settings.form import ERROR_COLOR, editable_combo


def choice_text(model_id: str, label: str, lifecycle: str) -> str:
    return f"{label} — {model_id} ({lifecycle})"


class BedrockModelField(QWidget):
    """An editable combo that lists the live models but always holds a model id."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo: QComboBox = editable_combo([], placeholder="a Bedrock model id")
        for model_id, label, lifecycle in bedrock_model_choices():
            self.combo.addItem(choice_text(model_id, label, lifecycle), model_id)
        self.combo.setCurrentIndex(-1)
        self.combo.setEditText("")
        self.warning = QLabel()
        self.warning.setObjectName("bedrockModelWarning")
        self.warning.setWordWrap(True)
        self.warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning.setStyleSheet(f"color: {ERROR_COLOR};")
        self.warning.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.combo)
        layout.addWidget(self.warning)
        # Picking a listed model shows its name in the list, but the field keeps the id.
        self.combo.currentIndexChanged.connect(self._show_id)
        self.combo.activated.connect(self._show_id)
        self.combo.editTextChanged.connect(self._show_warning)

    def model(self) -> str:
        text = self.combo.currentText().strip()
        index = self.combo.findText(text)
        return str(self.combo.itemData(index)) if index >= 0 else text

    def set_model(self, model_id: str) -> None:
        self.combo.setEditText(model_id)

    def _show_id(self, index: int) -> None:
        if index >= 0:
            self.combo.setEditText(str(self.combo.itemData(index)))

    def _show_warning(self) -> None:
        text = bedrock_model_warning(self.model()) if self.model() else ""
        self.warning.setText(text)
        self.warning.setVisible(bool(text))
