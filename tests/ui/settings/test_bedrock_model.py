"""Settings → Bedrock: the models Studio can drive, and a warning for a Legacy or retired one."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QComboBox

from studio.settings.bedrock_lifecycle import save_lifecycle_data
from studio.settings.values import BedrockSettings, Settings
from studio.ui.settings.aws_pages import BedrockPage

NOVA = "amazon.nova-canvas-v1:0"


@pytest.fixture
def page(qtbot, aws_env) -> BedrockPage:
    widget = BedrockPage(lambda settings: "ok", Settings)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def _items(combo: QComboBox) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_the_list_offers_live_models_by_name_and_lifecycle(page: BedrockPage) -> None:
    items = _items(page.model)
    assert items[0] == "Stable Diffusion 3.5 Large — stability.sd3-5-large-v1:0 (Active)"
    assert not any("nova" in item or "titan" in item for item in items)
    page.model.setCurrentIndex(1)  # picking a model by its name leaves its id in the field
    assert page.model.currentText() == "stability.stable-image-core-v1:1"
    collected = page.collect(Settings())
    assert not page.has_errors and collected.bedrock.model == "stability.stable-image-core-v1:1"


def test_a_retired_model_shows_its_end_of_life(qtbot, page: BedrockPage) -> None:
    page.load(Settings(bedrock=BedrockSettings(model=NOVA)))
    assert page.model_warning.isVisibleTo(page)
    text = page.model_warning.text()
    assert "Nova Canvas" in text and "end of life" in text and "2026-09-30" in text
    assert "stability.sd3-5-large-v1:0" in text  # the replacement

    page.model.lineEdit().clear()
    qtbot.keyClicks(page.model.lineEdit(), "stability.sd3-5-large-v1:0")
    assert not page.model_warning.isVisibleTo(page)


def test_a_legacy_model_is_marked_and_warned_about(qtbot, aws_env) -> None:
    save_lifecycle_data({"read_on": "2026-01-02", "models": [{
        "model_id": "stability.stable-image-core-v1:1", "label": "Stable Image Core",
        "status": "LEGACY", "legacy_on": "2026-01-01", "eol_on": "2099-01-01",
        "source": "a test", "read_on": "2026-01-02"}]})
    page = BedrockPage(lambda settings: "ok", Settings)
    qtbot.addWidget(page)
    page.show()

    assert "Stable Image Core — stability.stable-image-core-v1:1 (Legacy, end of life on " \
           "2099-01-01)" in _items(page.model)
    page.load(Settings(bedrock=BedrockSettings(model="stability.stable-image-core-v1:1")))
    assert "Legacy model" in page.model_warning.text()
    assert page.model_warning.isVisibleTo(page)
