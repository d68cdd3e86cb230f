"""The parameters panel greys out what the chosen backend or model does not use, and says
why in the tooltip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.settings.values import LocalSettings, Settings
from studio.ui.window.params_panel import ParamsPanel


def _flux_folder(tmp_path: Path, guidance_embeds: bool) -> Path:
    """A folder that reads as FLUX.1 [dev] (guidance embedded) or [schnell] (none)."""
    folder = tmp_path / ("flux-dev" if guidance_embeds else "flux-schnell")
    (folder / "transformer").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    (folder / "transformer" / "config.json").write_text(
        json.dumps({"guidance_embeds": guidance_embeds}))
    return folder


@pytest.fixture
def panel(qtbot) -> ParamsPanel:
    panel = ParamsPanel()
    qtbot.addWidget(panel)
    return panel


def test_a_model_distilled_without_guidance_greys_guidance_out(panel, tmp_path) -> None:
    schnell = Settings(backend="local",
                       local=LocalSettings(model=str(_flux_folder(tmp_path, False))))
    panel.set_settings(schnell)
    assert panel.profile is not None and panel.profile.guidance_kind == "none"
    assert not panel.guidance_spin.isEnabled()
    assert "does not use guidance" in panel.guidance_spin.toolTip()
    assert panel.steps_spin.isEnabled()  # a schnell still takes a number of steps

    dev = schnell.replace(local=LocalSettings(model=str(_flux_folder(tmp_path, True))))
    panel.set_settings(dev)
    assert panel.guidance_spin.isEnabled()
    assert "CFG" in panel.guidance_spin.toolTip()


def test_bedrock_greys_out_steps_sampler_and_guidance_and_says_why(panel) -> None:
    panel.set_settings(Settings(backend="bedrock"))
    for field in (panel.steps_spin, panel.sampler_combo, panel.guidance_spin):
        assert not field.isEnabled()
        assert "does not use this setting" in field.toolTip()
    assert panel.speed_combo.isHidden() and panel.lora_list.isHidden()
    panel.set_settings(Settings(backend="sagemaker"))
    assert panel.steps_spin.isEnabled() and panel.guidance_spin.isEnabled()


def test_the_size_preset_follows_the_sides_and_sets_them(panel) -> None:
    panel.width_spin.setValue(1024)
    panel.height_spin.setValue(1024)
    assert panel.size_combo.currentText() == "Square 1024 (SDXL)"
    panel.width_spin.setValue(1000)
    assert panel.size_combo.currentText() == "Custom"
    panel.size_combo.setCurrentIndex(panel.size_combo.findText("Portrait 832×1216"))
    assert (panel.width_spin.value(), panel.height_spin.value()) == (832, 1216)
