"""The speed combo the window and Settings share: every profile, each with its trade-off."""

from __future__ import annotations

from PySide6.QtCore import Qt

from backends.types import SPEEDS
from studio.ui.speed import SPEED_TIPS, SpeedCombo, speed_label


def test_each_choice_explains_its_trade_off(qtbot) -> None:
    combo = SpeedCombo()
    qtbot.addWidget(combo)
    assert [combo.itemText(i) for i in range(combo.count())] == ["Exact", "Fast", "Fastest"]
    assert [combo.itemData(i) for i in range(combo.count())] == list(SPEEDS)
    tips = [combo.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(combo.count())]
    assert tips == [SPEED_TIPS[name] for name in SPEEDS]
    assert "same pixels" in tips[0]
    assert "compiles once" in tips[1]
    assert "FP8" in tips[2] and "close inspection" in tips[2]

    combo.set_speed("fastest")
    assert combo.speed() == "fastest" and combo.toolTip() == SPEED_TIPS["fastest"]
    combo.set_speed("warp")  # not a profile: what older images were made with
    assert combo.speed() == "exact" and combo.toolTip() == SPEED_TIPS["exact"]
    assert speed_label("fast") == "Fast" and speed_label("warp") == "warp"
