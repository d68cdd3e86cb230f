"""The small dialog that asks what to change in an image ("Edit with words…")."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from studio.ui.theme import WARNING_COLOR

INTRO = ("Say what to change; the rest of the image stays as it is. For example: "
         "“put the mug on a marble counter”, “make the strap brown leather”.")


class EditDialog(QDialog):
    """A multi-line instruction with OK and Cancel; OK stays disabled while it is empty.

    `note` (a model that will refuse, say) shows above the text in the warning colour."""

    def __init__(self, image_name: str, note: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit with words")
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.image_label = QLabel(image_name)
        self.image_label.setTextFormat(Qt.TextFormat.PlainText)
        self.note_label = QLabel(note)
        self.note_label.setWordWrap(True)
        self.note_label.setTextFormat(Qt.TextFormat.PlainText)
        self.note_label.setStyleSheet(f"color: {WARNING_COLOR}")
        self.note_label.setVisible(bool(note))
        self.instruction_edit = QPlainTextEdit()
        self.instruction_edit.setPlaceholderText("make the background a marble counter")
        self.instruction_edit.setTabChangesFocus(True)
        self.instruction_edit.setMinimumHeight(80)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Edit")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.instruction_edit.textChanged.connect(self._update_ok)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.image_label)
        layout.addWidget(self.note_label)
        layout.addWidget(self.instruction_edit, 1)
        layout.addWidget(self.buttons)
        self.resize(420, 240)
        self._update_ok()

    def instruction(self) -> str:
        return self.instruction_edit.toPlainText().strip()

    def _update_ok(self) -> None:
        self.ok_button.setEnabled(bool(self.instruction()))
