"""The one-line model card under the model field: family · licence · whether commercial use
is allowed, so a designer sees a non-commercial licence before making catalog images."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from backends.families import FamilyProfile
from studio.ui.elided_label import ElidedLabel
from studio.ui.theme import WARNING_COLOR

COMMERCIAL_OK = "commercial use allowed"
NON_COMMERCIAL = "non-commercial licence"


def model_card_text(profile: FamilyProfile) -> str:
    """The card as plain text ("FLUX.1 [schnell] · Apache-2.0 · commercial use allowed")."""
    return f"{profile.label} · {profile.licence} · {commercial_text(profile)}"


def commercial_text(profile: FamilyProfile) -> str:
    return COMMERCIAL_OK if profile.commercial else NON_COMMERCIAL


class ModelCard(QWidget):
    """The chosen model's family and licence on one line: the name part shortens to fit,
    the commercial-use part always shows (in the warning colour when not allowed)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile: FamilyProfile | None = None
        self.name_label = ElidedLabel(mode=Qt.TextElideMode.ElideRight)
        self.use_label = QLabel()
        self.use_label.setTextFormat(Qt.TextFormat.RichText)
        for label in (self.name_label, self.use_label):
            font = label.font()
            font.setPointSizeF(max(font.pointSizeF() - 1, 7.0))
            label.setFont(font)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.name_label, 1)
        layout.addWidget(self.use_label)

    def set_profile(self, profile: FamilyProfile | None) -> None:
        self.profile = profile
        if profile is None:
            self.name_label.set_full_text("")
            self.use_label.clear()
            self.setToolTip("")
            return
        self.name_label.set_full_text(f"{profile.label} · {profile.licence}")
        use = escape(commercial_text(profile))
        self.use_label.setText(
            f"&nbsp;· {use}" if profile.commercial
            else f'&nbsp;· <span style="color: {WARNING_COLOR}; font-weight: 600">{use}</span>')
        self.setToolTip(f"{profile.label}: {profile.licence}. {profile.licence_note}".strip())

    def plain_text(self) -> str:
        return model_card_text(self.profile) if self.profile is not None else ""
