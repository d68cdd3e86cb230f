"""Reading the detail panel's rows in tests."""

from __future__ import annotations

from studio.ui.loupe.detail_panel import DetailPanel


def shown(panel: DetailPanel, key: str) -> str | None:
    """A row's text while it is visible; None while it is hidden."""
    label = panel.value_labels[key]
    return label.text() if label.isVisible() else None
