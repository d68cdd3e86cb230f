"""The detail panel on an empty library, shown at a size where every row fits."""

from __future__ import annotations

import pytest

from studio.library import Library
from studio.ui.loupe.detail_panel import DetailPanel


@pytest.fixture
def panel(qtbot, lib: Library) -> DetailPanel:
    widget = DetailPanel(lib)
    qtbot.addWidget(widget)
    widget.resize(500, 900)
    widget.show()
    return widget
