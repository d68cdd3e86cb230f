"""Prompt templates, the variant matrix and the plan they make together."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.errors import InvalidRequest
from studio.batch.catalog import load_catalog
from studio.batch.matrix import Axis, Estimate, variants
from studio.batch.plan import parse_templates, plan_items
from studio.batch.presets import get_preset
from studio.batch.templates import Template, TemplateError, preview
from studio.formatting import format_duration

KNOWN = ["sku", "title", "color", "material"]


def test_render_fills_placeholders_case_insensitively_and_tidies_empty_fields() -> None:
    template = Template.parse("a {Color} {title} in {material}, {{literal}}", KNOWN)
    assert template.fields == ("color", "title", "material")
    assert template.render({"color": "red", "title": "tee", "material": "cotton"}) == \
        "a red tee in cotton, {literal}"
    assert Template.parse("{title}, {color}, studio", KNOWN).render({"title": "tee"}) == \
        "tee, studio"
    assert Template.parse("{title}", KNOWN).render({"title": "tee"}, ["marble", ""]) == \
        "tee, marble"


def test_unknown_placeholder_lists_the_known_columns() -> None:
    with pytest.raises(TemplateError) as caught:
        Template.parse("a {colour} {fabric} thing", KNOWN)
    message = str(caught.value)
    assert "unknown columns {colour}, {fabric}" in message
    assert "known columns: sku, title, color, material" in message
    assert isinstance(caught.value, InvalidRequest)


@pytest.mark.parametrize("text", ["a {title", "a title}", "{title!r}", "{title:>10}", "{}"])
def test_malformed_templates(text: str) -> None:
    with pytest.raises(TemplateError):
        Template.parse(text, KNOWN)


def test_axes_and_seeds() -> None:
    axis = Axis.parse("Background=white studio| marble counter |white studio")
    assert axis == Axis("background", ("white studio", "marble counter"))
    matrix = variants([axis, Axis.parse("style=minimal|bold")], seeds=2, base_seed=41)
    assert len(matrix) == 8
    assert [v.name for v in matrix[:3]] == ["white-studio_minimal_s1", "white-studio_minimal_s2",
                                            "white-studio_bold_s1"]
    assert [v.seed for v in matrix[:2]] == [41, 42]
    assert [v.name for v in variants([], 3, 0)] == ["s1", "s2", "s3"]
    with pytest.raises(InvalidRequest, match="looks like"):
        Axis.parse("background")
    with pytest.raises(InvalidRequest):
        variants([axis], seeds=0, base_seed=1)
    with pytest.raises(InvalidRequest, match="own name"):
        variants([axis, axis], seeds=1, base_seed=1)


def test_plan_and_preview(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("sku,title,color\nA/1,Tote,tan\nB2,Mug,grey\n", encoding="utf-8")
    catalog = load_catalog(path)
    axes = [Axis.parse("background=white studio|marble")]
    template, negative = parse_templates(catalog, axes, "a {color} {title}", "blurry {title}")
    assert preview(template, catalog.products) == ["A/1: a tan Tote", "B2: a grey Mug"]
    items = plan_items(catalog, template, negative, axes, 2, 7, get_preset("amazon-main"))
    assert len(items) == 8
    first = items[0]
    assert first.file == "A-1/A-1_white-studio_s1.jpg"
    assert first.prompt.startswith("a tan Tote, white studio, product alone on a seamless pure")
    assert first.negative_prompt == "blurry Tote"
    assert [i.seed for i in items[:2]] == [7, 8]
    in_template, _ = parse_templates(catalog, axes, "{title} on {background}", "")
    assert plan_items(catalog, in_template, negative, axes, 1, 0, None)[1].prompt == \
        "Tote on marble"


def test_estimate_text() -> None:
    assert "120 images · estimated $4.80" in Estimate(120, 4.8, 3700, "x", "y").describe()
    assert "about 1 h 01 min" in Estimate(120, 4.8, 3700, "x", "y").describe()
    assert "unknown" in Estimate(1, 0, None, "x", "y").describe()
    assert format_duration(75) == "1 min 15 s"


@pytest.mark.parametrize("text,values,expected", [
    ("{title} by {vendor}, product photo", {"title": "Title"}, "Title, product photo"),
    ("{title} by {vendor}, product photo", {"title": "Tee", "vendor": "Acme"},
     "Tee by Acme, product photo"),
    ("{title} in {color} by {vendor}", {"title": "Beanie", "vendor": "Acme"}, "Beanie by Acme"),
    ("{title} in {color} by {vendor}", {"title": "Beanie"}, "Beanie"),
    ("a {color} {title}", {"title": "tee"}, "a tee"),  # an adjective: the words around stay
    ("{title} ({color})", {"title": "tee"}, "tee"),
    ("{title} - {color} | studio", {"title": "tee"}, "tee | studio"),
    ("{title}, size {size}, {color}", {"title": "tee", "color": "red"}, "tee, red"),
    ("{title}, Size: {size}", {"title": "tee"}, "tee"),
    ("{title} with a {logo}, studio", {"title": "tee"}, "tee, studio"),
    ("{title} in {color} and {material}, studio", {"title": "tee", "color": "red"},
     "tee in red, studio"),
    ("{title} in {color} and {material}, studio", {"title": "tee", "material": "wool"},
     "tee in wool, studio"),
    ("{title} in {color} and {material}, studio", {"title": "tee"}, "tee, studio"),
    ("{color} and {material} {title}", {"title": "tee", "color": "red"}, "red tee"),
    ("sand and sea behind {title} {color}", {"title": "tee"}, "sand and sea behind tee"),
    ("{title} made of {material}", {"title": "tee", "material": " "}, "tee"),
])
def test_empty_fields_take_their_lead_in_words_and_punctuation(
        text: str, values: dict[str, str], expected: str) -> None:
    known = ["title", "vendor", "color", "size", "material", "logo"]
    assert Template.parse(text, known).render(values) == expected


def test_tidying_keeps_what_the_template_wrote() -> None:
    known = ["title", "color"]
    assert Template.parse("{title}: {color}; studio (soft light)", known).render(
        {"title": "tee", "color": "red"}) == "tee: red; studio (soft light)"
    assert Template.parse("photo of {title} on {color}", known).render({"title": "tee"}) == \
        "photo of tee"
    assert Template.parse("{title}", known).render({"title": "tee"}, ["in a {kitchen}"]) == \
        "tee, in a {kitchen}"


template_words = st.sampled_from(["a", "the", "by", "in", "with", "and", "photo", "studio",
                                  ",", ", ", " - ", " | ", "(", ")", ": ", "size", "on"])


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(st.one_of(template_words, st.sampled_from(["{title}", "{color}",
                                                                  "{vendor}"])),
                       min_size=1, max_size=10),
       values=st.fixed_dictionaries({name: st.sampled_from(["", " ", "Red", "Acme Co"])
                                     for name in ("title", "color", "vendor")}))
def test_any_template_renders_without_dangling_punctuation_and_keeps_every_value(
        pieces: list[str], values: dict[str, str]) -> None:
    text = " ".join(pieces)
    prompt = Template.parse(text, ["title", "color", "vendor"]).render(values)
    assert "  " not in prompt and ",," not in prompt.replace(" ", "")
    assert prompt == prompt.strip() and not prompt.startswith((",", ";", "|", "-"))
    assert not prompt.endswith((",", ";", "|", "-", ":"))
    for name in ("title", "color", "vendor"):
        if values[name].strip() and f"{{{name}}}" in text:
            assert values[name] in prompt
