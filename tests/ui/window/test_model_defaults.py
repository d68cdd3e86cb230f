"""Steps and guidance left at "Model default" (None in the request), what the window shows
about the chosen model's family (defaults, model card, negative prompt, samplers), and how a
stored request brings the state back."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from studio.settings.values import LocalSettings, Settings
from studio.ui.window.params_panel import ParamsPanel
from tests.ui.record_factory import record_image


@pytest.fixture
def panel(qtbot) -> ParamsPanel:
    widget = ParamsPanel()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def _sampler_labels(panel: ParamsPanel) -> list[str]:
    combo = panel.sampler_combo
    return [combo.itemText(i) for i in range(combo.count())]


def test_model_default_builds_none_and_a_value_builds_the_value(panel: ParamsPanel) -> None:
    panel.set_settings(Settings())
    panel.set_defaults(Settings())  # None in settings: the model's own
    assert panel.steps_spin.text() == "Model default"
    assert panel.guidance_spin.text() == "Model default"
    request = panel.build_request("a mug", "")
    assert (request.steps, request.guidance) == (None, None)

    panel.steps_spin.setValue(12)
    panel.guidance_spin.setValue(4.5)
    request = panel.build_request("a mug", "")
    assert (request.steps, request.guidance) == (12, 4.5)

    # One step down from the lowest real value is the model's default again.
    panel.steps_spin.setValue(1)
    panel.guidance_spin.setValue(0.0)
    panel.steps_spin.stepBy(-1)
    panel.guidance_spin.stepBy(-1)
    assert (panel.steps_spin.optional_value(), panel.guidance_spin.optional_value()) \
        == (None, None)


def test_settings_defaults_fill_the_fields(panel: ParamsPanel) -> None:
    panel.set_defaults(Settings(default_steps=8, default_guidance=2.5))
    assert (panel.steps_spin.value(), panel.guidance_spin.value()) == (8, 2.5)
    panel.set_defaults(Settings())
    assert panel.steps_spin.is_model_default() and panel.guidance_spin.is_model_default()


def test_a_known_family_shows_its_defaults_card_and_samplers(panel: ParamsPanel,
                                                            flux_dev_folder) -> None:
    settings = Settings(local=LocalSettings(model=str(flux_dev_folder)))
    panel.set_settings(settings)
    assert panel.profile is not None and panel.profile.label == "FLUX.1 [dev]"
    assert panel.steps_spin.text() == "Model default (28)"
    assert panel.guidance_spin.text() == "Model default (3.5)"
    assert "FLUX.1 [dev] takes 28 steps" in panel.steps_spin.toolTip()
    assert panel.model_card.isVisible()
    assert panel.model_card.plain_text() == (
        "FLUX.1 [dev] · FLUX.1 [dev] Non-Commercial License · non-commercial licence")
    assert "color:" in panel.model_card.use_label.text()  # the warning colour
    assert _sampler_labels(panel) == ["Model default", "Euler"]

    # Stepping up from "Model default" starts at the model's own value.
    panel.steps_spin.stepBy(1)
    assert panel.steps_spin.value() == 28

    # A backend without family profiles: no card, every sampler, plain "Model default".
    panel.set_settings(dataclasses.replace(settings, backend="sagemaker"))
    assert panel.profile is None and not panel.model_card.isVisible()
    assert panel.guidance_spin.text() == "Model default"
    assert len(_sampler_labels(panel)) > 2


def test_a_sampler_the_family_does_not_run_falls_back_to_the_default(
        panel: ParamsPanel, flux_dev_folder) -> None:
    panel.set_settings(Settings())
    panel.sampler_combo.setCurrentIndex(panel.sampler_combo.findData("dpm++_2m"))
    panel.set_settings(Settings(local=LocalSettings(model=str(flux_dev_folder))))
    assert panel.sampler_combo.currentData() is None
    panel.apply_request({"scheduler": "euler"})
    assert panel.sampler_combo.currentData() == "euler"


def test_reusing_a_record_restores_model_default(qtbot, window) -> None:
    library = window.context.library
    made_with_defaults = record_image(library, "defaults", steps=None, guidance=None)
    made_with_values = record_image(library, "values", steps=25, guidance=6.5)
    params = window.params_panel

    window.column.reuse_settings(made_with_values)
    assert (params.steps_spin.value(), params.guidance_spin.value()) == (25, 6.5)
    window.column.reuse_settings(made_with_defaults)
    assert params.steps_spin.is_model_default() and params.guidance_spin.is_model_default()
    assert params.steps_spin.text() == "Model default (30)"  # the tiny model is SD 1.x
    request = window.current_request()
    assert (request.steps, request.guidance) == (None, None)


def test_an_a1111_png_without_cfg_restores_the_model_default(window, tmp_path) -> None:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    window.params_panel.guidance_spin.setValue(9.0)
    info = PngInfo()
    info.add_text("parameters", "red shoes\nSteps: 12, Sampler: Euler a, Seed: 99, "
                                "Size: 512x768")
    path = tmp_path / "a1111.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert window.restore_from_png(path)
    assert window.params_panel.steps_spin.value() == 12
    assert window.params_panel.guidance_spin.is_model_default()


def test_the_model_card_and_negative_prompt_follow_the_model(qtbot, flux_window,
                                                             tiny_sd_path) -> None:
    window, store = flux_window, flux_window.context.settings
    params, prompt = window.params_panel, window.prompt_panel
    assert "non-commercial licence" in params.model_card.plain_text()
    # FLUX.1 is guidance-distilled: no negative prompt, and the tooltip says why.
    prompt.set_negative("blurry")
    assert not prompt.negative_edit.isEnabled()
    assert "takes no negative prompt" in prompt.negative_edit.toolTip()
    assert prompt.negative() == ""
    window.prompt_panel.set_prompt("a mug")
    assert window.current_request().negative_prompt == ""

    # A model that takes one (the tiny SD 1.x): the text typed before is sent again.
    store.update(store.settings.replace(local=LocalSettings(model=str(tiny_sd_path),
                                                            device="cpu")))
    assert prompt.negative_edit.isEnabled() and prompt.negative() == "blurry"
    assert params.model_card.plain_text() == (
        "Stable Diffusion 1.x · CreativeML OpenRAIL-M · commercial use allowed")
    assert params.steps_spin.text() == "Model default (30)"

    # Bedrock: no family profile, the fields it ignores greyed as before.
    store.update(store.settings.replace(backend="bedrock"))
    assert not params.model_card.isVisible() and prompt.negative_edit.isEnabled()
    assert not params.steps_spin.isEnabled()
    assert "Amazon Bedrock does not use this setting" in params.steps_spin.toolTip()


def test_typing_in_the_steps_field_leaves_the_model_default(qtbot, panel: ParamsPanel) -> None:
    panel.set_settings(Settings())
    panel.steps_spin.setFocus()
    panel.steps_spin.selectAll()
    QTest.keyClicks(panel.steps_spin, "7")
    QTest.keyClick(panel.steps_spin, Qt.Key.Key_Return)
    assert panel.steps_spin.optional_value() == 7
