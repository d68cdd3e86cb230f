"""The prompt editor: multi-line prompt, a collapsible negative prompt, and recent prompts.

A model that takes no negative prompt (a guidance-distilled one such as FLUX.1) greys the
negative out and says why; its text is kept for a model that takes one, but not sent."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.formatting import short_prompt
from studio.ui.theme import WARNING_COLOR
from studio.ui.window.prompt_tokens import Counter

NEGATIVE_PLACEHOLDER = "What to avoid: blurry, watermark, extra objects…"
PROMPT_LINES = 4  # what the prompt box asks for; it grows where the column has room
PROMPT_MIN_HEIGHT = 64  # three lines: the least it shows


class PromptEdit(QPlainTextEdit):
    """The prompt box. Qt's text edits ask for about 190 px of height, which in the scrolling
    column would push the parameters out of a short window; this one asks for a few lines."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().sizeHint()
        margins = self.contentsMargins()
        lines = self.fontMetrics().lineSpacing() * PROMPT_LINES
        hint.setHeight(lines + margins.top() + margins.bottom()
                       + 2 * round(self.document().documentMargin()))
        return hint


class PromptPanel(QWidget):
    changed = Signal()

    def __init__(self, recent_prompts: Callable[[], list[str]], parent: QWidget | None = None):
        super().__init__(parent)
        self._recent_prompts = recent_prompts
        self.prompt_edit = PromptEdit()
        self.prompt_edit.setPlaceholderText(
            "Describe the image: a walnut desk organiser on a marble counter, soft daylight…")
        self.prompt_edit.setTabChangesFocus(True)
        self.prompt_edit.setMinimumHeight(PROMPT_MIN_HEIGHT)
        # How much of the prompt the model's text encoder reads, and a warning past that.
        self.token_label = QLabel()
        self.token_label.setWordWrap(True)
        self.token_label.setVisible(False)
        self._count_tokens: Counter | None = None
        self.negative_edit = QPlainTextEdit()
        self.negative_edit.setPlaceholderText(NEGATIVE_PLACEHOLDER)
        self.negative_edit.setTabChangesFocus(True)
        self.negative_edit.setMaximumHeight(70)
        self.negative_toggle = QToolButton(text="Negative prompt", checkable=True)
        self.negative_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.negative_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.negative_toggle.toggled.connect(self._show_negative)
        self.history_button = QToolButton(text="Recent")
        self.history_button.setToolTip("Recall a prompt you used before")
        self.history_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.history_menu = QMenu(self.history_button)
        self.history_menu.aboutToShow.connect(self._fill_history)
        self.history_button.setMenu(self.history_menu)

        header = QHBoxLayout()
        header.addWidget(QLabel("<b>Prompt</b>"))
        header.addStretch()
        header.addWidget(self.history_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.prompt_edit)
        layout.addWidget(self.token_label)
        layout.addWidget(self.negative_toggle, alignment=Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.negative_edit)
        self.negative_edit.setVisible(False)
        self.prompt_edit.textChanged.connect(self.changed)
        self.prompt_edit.textChanged.connect(self._show_tokens)
        self.negative_edit.textChanged.connect(self.changed)

    def prompt(self) -> str:
        return self.prompt_edit.toPlainText()

    def negative(self) -> str:
        """The negative prompt to send: none where the model takes none."""
        return self.negative_edit.toPlainText() if self.negative_allowed() else ""

    def negative_allowed(self) -> bool:
        return self.negative_edit.isEnabled()

    def set_negative_allowed(self, allowed: bool, why: str = "") -> None:
        """Grey the negative prompt out, with `why` as its tooltip, for a model without one."""
        self.negative_edit.setEnabled(allowed)
        self.negative_edit.setToolTip("" if allowed else why)
        self.negative_toggle.setToolTip("" if allowed else why)
        self.negative_edit.setPlaceholderText(NEGATIVE_PLACEHOLDER if allowed else why)
        self.changed.emit()

    def set_token_counter(self, count: Counter | None) -> None:
        """Count the prompt's tokens with `count` (None: the model's limit is unknown, and
        nothing is shown)."""
        self._count_tokens = count
        self._show_tokens()

    def _show_tokens(self) -> None:
        prompt = self.prompt()
        if self._count_tokens is None or not prompt.strip():
            self.token_label.setVisible(False)
            return
        count = self._count_tokens(prompt)
        self.token_label.setText(count.text())
        self.token_label.setToolTip(count.tooltip())
        self.token_label.setStyleSheet(f"color: {WARNING_COLOR}" if count.over
                                       else "color: palette(placeholder-text)")
        self.token_label.setVisible(True)

    def set_prompt(self, text: str) -> None:
        self.prompt_edit.setPlainText(text)

    def set_negative(self, text: str) -> None:
        self.negative_edit.setPlainText(text)
        if text:
            self.negative_toggle.setChecked(True)

    def _show_negative(self, shown: bool) -> None:
        self.negative_edit.setVisible(shown)
        self.negative_toggle.setArrowType(Qt.ArrowType.DownArrow if shown
                                          else Qt.ArrowType.RightArrow)

    def _fill_history(self) -> None:
        self.history_menu.clear()
        prompts = self._recent_prompts()
        if not prompts:
            self.history_menu.addAction("No prompts yet").setEnabled(False)
        for prompt in prompts:
            label = prompt.replace("\n", " ")
            action = self.history_menu.addAction(short_prompt(label, 80))
            action.setToolTip(prompt)
            action.triggered.connect(lambda _=False, p=prompt: self.set_prompt(p))
