"""The parameters panel's Speed: from the default in Settings, into the request, hidden
where the backend has no speed profiles (Bedrock), and back from an image reused."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel

from studio.settings.values import Settings
from studio.ui.window.params_panel import ParamsPanel
from tests.ui.record_factory import record_image


@pytest.fixture
def panel(qtbot) -> ParamsPanel:
    widget = ParamsPanel()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_the_default_from_settings_and_the_choice_build_the_requests_speed(panel) -> None:
    settings = Settings(speed="fastest")
    panel.set_defaults(settings)
    panel.set_settings(settings)
    assert panel.speed_combo.isVisible() and panel.speed_combo.isEnabled()
    assert panel.speed_combo.currentText() == "Fastest"
    assert "FP8" in panel.speed_combo.toolTip()
    assert panel.build_request("a mug", "").speed == "fastest"

    panel.speed_combo.set_speed("exact")
    assert panel.build_request("a mug", "").speed == "exact"
    # Other settings changing (a model, the backend) keep the choice made in the window…
    panel.set_settings(settings.replace(default_width=512))
    assert panel.speed_combo.speed() == "exact"
    # …a new default from Settings replaces it.
    panel.set_settings(settings.replace(speed="fast"))
    assert panel.build_request("a mug", "").speed == "fast"


def test_bedrock_hides_and_disables_speed_and_sends_exact(panel) -> None:
    panel.set_defaults(Settings(speed="fast"))
    panel.set_settings(Settings(backend="bedrock", speed="fast"))
    assert not panel.speed_combo.isVisible() and not panel.speed_combo.isEnabled()
    label = next(w for w in panel.findChildren(QLabel) if w.text() == "Speed")
    assert label.isHidden()
    assert panel.build_request("a mug", "").speed == "exact"

    panel.set_settings(Settings(backend="sagemaker", speed="fast"))  # the choice was kept
    assert panel.speed_combo.isVisible() and panel.speed_combo.isEnabled()
    assert panel.build_request("a mug", "").speed == "fast"


def test_a_stored_request_restores_its_speed(panel) -> None:
    panel.set_settings(Settings(speed="fast"))
    panel.apply_request({"speed": "fastest", "width": 512, "height": 512})
    assert panel.build_request("a mug", "").speed == "fastest"
    panel.apply_request({"width": 512, "height": 512})  # made before speed profiles
    assert panel.build_request("a mug", "").speed == "exact"


def test_reusing_an_images_settings_restores_its_speed(window) -> None:
    params = window.params_panel
    assert params.speed_combo.speed() == window.context.settings.settings.speed == "fast"
    record = record_image(window.context.library, speed="fastest",
                          accelerations=("speed fastest: bf16",))
    window.column.reuse_settings(record)
    assert params.speed_combo.currentText() == "Fastest"
    assert window.current_request().speed == "fastest"
    window.column.reuse_settings(record_image(window.context.library, speed="exact"))
    assert window.current_request().speed == "exact"
