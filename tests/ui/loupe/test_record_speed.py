"""The loupe's Speed row: the profile, with what it applied and what fell back muted beneath
it (and as its tooltip); no row where nothing was accelerated (Bedrock, older images)."""

from __future__ import annotations

from studio.ui.compare.view import compare_rows
from studio.ui.loupe import record_text
from tests.ui.loupe.panel_rows import shown
from tests.ui.record_factory import record_image

NOTES = ("speed fastest: bf16", "attention: FlashAttention-3", "fused QKV projections",
         "not applied: fp8: needs torchao")


def test_the_speed_row_shows_the_profile_and_its_notes(panel, lib) -> None:
    panel.show_record(record_image(lib, speed="fastest", accelerations=NOTES))
    assert shown(panel, "speed") == "Fastest"
    assert shown(panel, "speed_notes") == "\n".join(NOTES)
    assert panel.value_labels["speed"].toolTip() == "\n".join(NOTES)


def test_an_exact_local_run_still_says_what_it_ran_with(panel, lib) -> None:
    panel.show_record(record_image(lib, speed="exact", accelerations=("speed exact: fp16",)))
    assert shown(panel, "speed") == "Exact"
    assert shown(panel, "speed_notes") == "speed exact: fp16"


def test_no_speed_row_where_nothing_was_accelerated(panel, lib) -> None:
    panel.show_record(record_image(lib, speed="fast", accelerations=NOTES))
    bedrock = record_image(lib, backend="bedrock")  # exact, and nothing recorded
    panel.show_record(bedrock)
    assert shown(panel, "speed") is None and shown(panel, "speed_notes") is None
    assert record_text.speed_text(bedrock) == ""


def test_compare_shows_speed_when_a_run_had_one(lib) -> None:
    fast = record_image(lib, speed="fast", accelerations=("speed fast: bf16",))
    cloud = record_image(lib, backend="bedrock")
    rows = {label: (values, differs) for label, values, differs in compare_rows([fast, cloud])}
    assert rows["Speed"] == (["Fast", "—"], True)
    assert "Speed" not in {label for label, _, _ in compare_rows([cloud, cloud])}
