"""Keeping the left column from being widened by what it shows.

A combo box sizes itself to its longest item (a hub id, a file path, a Bedrock model id), a
label to its longest line; in a scroll area either pushes the column past the window and
brings a horizontal scrollbar. Combo boxes here take their width from the layout instead,
and the full text stays in the tooltip and the drop-down."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import QComboBox, QScrollArea, QSizePolicy, QWidget

COMBO_MIN_CHARS = 8


def narrow_combos(root: QWidget) -> None:
    """Every combo box under `root` (and `root` itself) stops asking for its contents' width."""
    combos = root.findChildren(QComboBox)
    if isinstance(root, QComboBox):
        combos.append(root)
    for combo in combos:
        combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_MIN_CHARS)
        # Qt keeps the minimum size hint it worked out from the items before; an explicit
        # minimum width is what layouts then use instead.
        combo.setMinimumWidth(combo.sizeHint().width())
        policy = combo.sizePolicy()
        policy.setHorizontalPolicy(QSizePolicy.Policy.Expanding)
        combo.setSizePolicy(policy)


class VerticalScrollArea(QScrollArea):
    """Scrolls up and down only: the contents always get exactly the viewport's width, so
    nothing can hide behind a horizontal scrollbar. `max_hint_height` (0: none) makes it ask
    for no more than its contents' height up to that cap (a queue of a few rows)."""

    def __init__(self, contents: QWidget, parent: QWidget | None = None, *,
                 max_hint_height: int = 0) -> None:
        super().__init__(parent)
        self.max_hint_height = max_hint_height
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(contents)
        if max_hint_height:
            contents.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        # The contents' layout changed (a row shown or removed): our size hint follows it.
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().sizeHint()
        if self.max_hint_height and self.widget() is not None:
            wanted = self.widget().sizeHint().height() + 2 * self.frameWidth()
            hint.setHeight(min(wanted, self.max_hint_height))
        return hint

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().minimumSizeHint()
        if self.max_hint_height:
            hint.setHeight(min(self.sizeHint().height(), hint.height()))
        return hint
