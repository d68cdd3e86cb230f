"""LoRAs in the parameters panel: shown where the backend applies them, added from a file or a
hub id, weighted, removed, sent in the request and restored from a record or an A1111 PNG."""

from __future__ import annotations

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from backends.types import MAX_LORAS, LoraRef
from studio.settings.values import Settings
from studio.ui.window.lora_list import LoraList
from studio.ui.window.params_panel import ParamsPanel
from tests.ui.record_factory import record_image


@pytest.fixture
def panel(qtbot) -> ParamsPanel:
    widget = ParamsPanel()
    qtbot.addWidget(widget)
    widget.show()
    widget.set_settings(Settings(backend="local"))
    return widget


def test_loras_show_only_where_the_backend_applies_them(panel: ParamsPanel) -> None:
    assert panel.lora_list.isVisible()
    panel.lora_list.add(LoraRef("owner/style", 0.8))
    panel.set_settings(Settings(backend="bedrock"))
    assert not panel.lora_list.isVisible()
    # Kept for a switch back, but never sent to a backend that refuses LoRAs.
    assert panel.build_request("a mug", "").loras == ()
    panel.set_settings(Settings(backend="sagemaker"))
    assert not panel.lora_list.isVisible()
    panel.set_settings(Settings(backend="local"))
    assert panel.build_request("a mug", "").loras == (LoraRef("owner/style", 0.8),)


def test_add_by_file_and_hub_id_weigh_and_remove(qtbot, panel: ParamsPanel, tmp_path,
                                                 monkeypatch) -> None:
    loras = panel.lora_list
    style = tmp_path / "watercolour.safetensors"
    style.write_bytes(b"not read by the window")
    monkeypatch.setattr(loras, "_ask_file", lambda: str(style))
    with qtbot.waitSignal(panel.changed):
        loras.browse_button.click()
    qtbot.keyClicks(loras.source_edit, "someone/detail-lora:0.6")
    loras.add_button.click()
    assert loras.source_edit.text() == ""
    assert [row.name for row in loras.rows] == ["watercolour", "someone/detail-lora"]
    assert loras.rows[0].name_label.toolTip() == str(style)

    loras.rows[0].weight_spin.setValue(1.25)
    request = panel.build_request("a mug", "")
    assert request.loras == (LoraRef(str(style), 1.25), LoraRef("someone/detail-lora", 0.6))

    loras.rows[0].remove_button.click()
    assert panel.build_request("a mug", "").loras == (LoraRef("someone/detail-lora", 0.6),)


def test_the_weight_spin_covers_minus_five_to_five(panel: ParamsPanel) -> None:
    panel.lora_list.add(LoraRef("owner/style"))
    spin = panel.lora_list.rows[0].weight_spin
    assert (spin.minimum(), spin.maximum(), spin.singleStep()) == (-5.0, 5.0, 0.05)
    spin.setValue(-2.35)
    assert panel.build_request("x", "").loras[0].weight == -2.35


def test_what_cannot_be_added_is_explained(qtbot, tmp_path) -> None:
    loras = LoraList()
    qtbot.addWidget(loras)
    loras.show()
    loras.source_edit.setText("not<a>lora")
    loras.add_typed()
    assert "not a LoRA" in loras.message_label.text() and loras.rows == []
    loras.source_edit.setText(str(tmp_path / "missing.safetensors"))
    loras.add_typed()
    assert "No LoRA file" in loras.message_label.text()
    loras.source_edit.setText("owner/style:x")
    loras.add_typed()
    assert "is not a weight" in loras.message_label.text()

    loras.source_edit.setText("owner/style")
    loras.add_typed()
    assert loras.message_label.isHidden()
    loras.add(LoraRef("owner/style", 0.5))  # the same LoRA again: its weight changes
    assert loras.loras() == (LoraRef("owner/style", 0.5),)

    for index in range(1, MAX_LORAS):
        loras.add(LoraRef(f"owner/lora-{index}"))
    assert len(loras.rows) == MAX_LORAS
    assert not loras.add_button.isEnabled() and not loras.browse_button.isEnabled()
    loras.rows[-1].remove_button.click()
    assert loras.add_button.isEnabled()


def test_reusing_a_record_restores_its_loras(window) -> None:
    library = window.context.library
    with_loras = record_image(library, "styled", loras=(LoraRef("owner/style", 0.8),
                                                        LoraRef("/loras/detail.safetensors")))
    without = record_image(library, "plain")
    lora_list = window.params_panel.lora_list

    window.column.reuse_settings(with_loras)
    assert lora_list.loras() == (LoraRef("owner/style", 0.8),
                                 LoraRef("/loras/detail.safetensors", 1.0))
    assert [row.name for row in lora_list.rows] == ["owner/style", "detail"]
    window.column.reuse_settings(without)
    assert lora_list.loras() == ()


def test_an_a1111_png_with_lora_tags_restores_them(window, tmp_path) -> None:
    info = PngInfo()
    info.add_text("parameters", "red shoes <lora:film_grain:0.7> <lora:detail:1.2>\n"
                                "Steps: 12, Sampler: Euler a, Seed: 99, Size: 512x768")
    path = tmp_path / "a1111-lora.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert window.restore_from_png(path)
    assert window.prompt_panel.prompt() == "red shoes"
    assert window.params_panel.lora_list.loras() == (LoraRef("film_grain", 0.7),
                                                     LoraRef("detail", 1.2))
    window.prompt_panel.set_prompt("red shoes")
    assert window.current_request().loras == (LoraRef("film_grain", 0.7),
                                              LoraRef("detail", 1.2))
