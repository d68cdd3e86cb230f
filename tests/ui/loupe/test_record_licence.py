"""The loupe shows a record's model family and licence (a warning where commercial use is not
allowed), its LoRAs, and "—" for steps and guidance left to the model."""

from __future__ import annotations

from backends.types import LoraRef
from studio.ui.loupe import record_text
from studio.ui.theme import WARNING_COLOR
from tests.ui.loupe.panel_rows import shown
from tests.ui.record_factory import record_image


def test_a_non_commercial_record_shows_family_licence_and_a_warning(panel, lib) -> None:
    record = record_image(
        lib, model="black-forest-labs/FLUX.1-dev", family="flux1",
        licence="FLUX.1 [dev] Non-Commercial License", commercial_use=False,
        steps=None, guidance=None, scheduler=None,
        loras=(LoraRef("/loras/film_grain.safetensors", 0.8), LoraRef("owner/detail", 1.2)))
    panel.show_record(record)
    assert shown(panel, "family") == "FLUX.1 [dev]"
    assert shown(panel, "licence") == "FLUX.1 [dev] Non-Commercial License"
    assert shown(panel, "commercial") == "not allowed"
    assert WARNING_COLOR in panel.value_labels["commercial"].styleSheet()
    assert shown(panel, "loras") == "film_grain × 0.8, owner/detail × 1.2"
    assert (shown(panel, "steps"), shown(panel, "guidance")) == ("—", "—")
    assert shown(panel, "sampler") == "Default"


def test_a_commercial_variant_reads_by_its_label(panel, lib) -> None:
    record = record_image(lib, family="flux1-schnell", licence="Apache-2.0",
                          commercial_use=True)
    panel.show_record(record)
    assert shown(panel, "family") == "FLUX.1 [schnell]"
    assert shown(panel, "commercial") == "allowed"
    assert WARNING_COLOR not in panel.value_labels["commercial"].styleSheet()
    assert shown(panel, "loras") is None


def test_a_record_without_a_family_shows_no_licence_rows(panel, lib) -> None:
    panel.show_record(record_image(lib, family="flux1", licence="x", commercial_use=False))
    panel.show_record(record_image(lib))  # cloud models and older rows record none
    for key in ("family", "licence", "commercial", "loras"):
        assert shown(panel, key) is None
    assert shown(panel, "steps") == "30"


def test_family_names_read_as_labels(lib) -> None:
    def family(name: str) -> str:
        return record_text.family_text(record_image(lib, family=name))

    assert family("qwen-image-edit-plus") == "Qwen-Image-Edit Plus"
    assert family("flux2-klein-9b") == "FLUX.2 [klein] 9B"
    assert family("sdxl") == "Stable Diffusion XL"
    assert family("someday-model") == "someday-model"  # a family this build does not know
