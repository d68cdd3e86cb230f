"""Marketplace checks: each rule passes a good image and fails a planted fault, saying what it
measured; a bad file is a failed rule, never an exception."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageDraw, PngImagePlugin

from studio.batch import checks
from studio.batch.checks import (
    RuleResult,
    check_image,
    checked_presets,
    image_files,
    lifestyle_alternative,
    rules_for,
    scene_conflicts,
)
from studio.batch.presets import OutputPreset, get_preset, marketplace_presets, srgb_profile

GENERIC = ["size", "format", "colour_profile"]


def save(image: Image.Image, fmt: str = "JPEG", profile: bytes | None = None,
         **options: object) -> bytes:
    buffer = io.BytesIO()
    if profile is None:
        profile = srgb_profile()
    if profile:
        options["icc_profile"] = profile
    if fmt == "JPEG":
        options.setdefault("quality", 92)
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def on_background(size: tuple[int, int], box: tuple[int, int, int, int],
                  background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    image = Image.new("RGB", size, background)
    ImageDraw.Draw(image).rectangle(box, fill=(30, 60, 200))
    return image


def photo(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A busy full-bleed picture: noise, no plain area anywhere."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def by_rule(results: list[RuleResult]) -> dict[str, RuleResult]:
    return {result.rule: result for result in results}


@pytest.fixture(scope="module")
def amazon_main_jpeg() -> bytes:
    """What the amazon-main preset exports for a product on an almost-white backdrop."""
    shot = on_background((1000, 1000), (50, 80, 949, 919), background=(250, 251, 249))
    return get_preset("amazon-main").encode(shot)


# --- Amazon main image ------------------------------------------------------------------------

def test_the_amazon_main_preset_s_own_export_passes_every_rule(amazon_main_jpeg: bytes) -> None:
    results = check_image(amazon_main_jpeg, "amazon-main")
    assert [r.rule for r in results] == [*GENERIC, "pure_white_border", "min_fill",
                                         "min_long_side"]
    assert all(r.passed for r in results), results
    found = by_rule(results)
    assert found["size"].detail == "2000×2000 px"
    assert found["format"].detail == "JPEG"
    assert "sRGB" in found["colour_profile"].detail
    assert found["pure_white_border"].detail == ("border: all 313,600 pixels pure white "
                                                 "(outer 40 px)")
    assert found["min_fill"].detail.startswith("product fills 90% of the frame")
    assert found["min_long_side"].detail == "longest side 2,000 px"


def test_a_grey_background_fails_the_pure_white_border() -> None:
    data = save(on_background((2000, 2000), (100, 100, 1899, 1899), background=(238, 238, 238)))
    found = by_rule(check_image(data, "amazon-main"))
    assert not found["pure_white_border"].passed
    assert found["pure_white_border"].detail == ("border: 313,600 pixels not pure white, "
                                                 "darkest 238 (outer 40 px)")
    assert found["size"].passed and found["format"].passed and found["min_fill"].passed


def test_a_few_off_white_pixels_in_the_border_are_counted() -> None:
    image = on_background((2000, 2000), (100, 100, 1899, 1899))
    image.paste((254, 255, 255), (0, 0, 10, 10))  # invisible, but not pure white
    found = by_rule(check_image(save(image, "PNG"), "amazon-main"))
    assert found["pure_white_border"].detail == ("border: 100 pixels not pure white, darkest 254 "
                                                 "(outer 40 px)")


def test_a_small_product_fails_the_fill_rule_with_its_measure() -> None:
    data = save(on_background((2000, 2000), (300, 500, 1699, 1499)), "PNG")  # 1400×1000
    found = by_rule(check_image(data, "amazon-main"))
    assert not found["min_fill"].passed
    assert found["min_fill"].detail == ("product fills 70% of the frame (1400×1000 px box), "
                                        "needs 85%")
    assert found["pure_white_border"].passed


def test_fill_is_measured_along_the_product_s_longer_side() -> None:
    tall_and_thin = on_background((2000, 2000), (900, 150, 1099, 1849))  # 200×1700: 85%
    found = by_rule(check_image(save(tall_and_thin), "amazon-main"))
    assert found["min_fill"].passed, found["min_fill"]
    assert found["min_fill"].detail.startswith("product fills 85% ")


def test_fill_rounds_down_so_a_near_miss_never_reads_as_enough() -> None:
    near = on_background((2000, 2000), (0, 0, 1691, 1691))  # 1692 px: 84.6%
    assert by_rule(check_image(save(near, "PNG"), "amazon-main"))["min_fill"].detail == (
        "product fills 84% of the frame (1692×1692 px box), needs 85%")


def test_jpeg_noise_near_white_is_not_product() -> None:
    image = on_background((2000, 2000), (100, 100, 1899, 1899))
    image.paste((252, 251, 253), (40, 40, 1960, 60))  # a faint streak inside the ring
    assert by_rule(check_image(save(image, "PNG"), "amazon-main"))["min_fill"].detail.startswith(
        "product fills 90% ")


def test_an_empty_white_frame_has_no_product() -> None:
    found = by_rule(check_image(save(Image.new("RGB", (2000, 2000), "white")), "amazon-main"))
    assert not found["min_fill"].passed
    assert found["min_fill"].detail == ("no product found: every pixel is white (≥ 250), "
                                        "needs 85%")


def test_a_small_image_fails_size_and_long_side() -> None:
    found = by_rule(check_image(save(on_background((800, 600), (20, 20, 779, 579))),
                                "amazon-main"))
    assert not found["size"].passed
    assert found["size"].detail == "800×600 px, needs 2000×2000"
    assert not found["min_long_side"].passed
    assert found["min_long_side"].detail == "longest side 800 px, needs at least 1,000"


# --- the generic rules -------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(marketplace_presets()))
def test_every_preset_s_own_export_passes_the_generic_rules(name: str) -> None:
    preset = get_preset(name)
    data = preset.encode(on_background((96, 64), (10, 10, 85, 53)))
    found = by_rule(check_image(data, preset))
    assert all(found[rule].passed for rule in GENERIC), found


def test_a_png_named_jpg_fails_the_format_rule(tmp_path: Path) -> None:
    path = tmp_path / "main.jpg"
    path.write_bytes(save(on_background((2000, 2000), (100, 100, 1899, 1899)), "PNG"))
    found = by_rule(check_image(path, "amazon-main"))
    assert not found["format"].passed
    assert found["format"].detail == "file is PNG (named .jpg), needs JPEG"
    assert found["pure_white_border"].passed  # the pixels are still checked


def test_the_format_is_read_from_the_content_not_the_name(tmp_path: Path) -> None:
    path = tmp_path / "main.png"
    path.write_bytes(save(on_background((1600, 1600), (10, 10, 1589, 1589))))
    found = by_rule(check_image(str(path), "ebay"))
    assert found["format"].passed
    assert found["format"].detail == "JPEG (named .png)"


def test_webp_for_the_webp_preset() -> None:
    data = save(on_background((1200, 1200), (10, 10, 1189, 1189)), "WEBP")
    assert all(r.passed for r in check_image(data, "web-webp"))
    assert by_rule(check_image(data, "shopify"))["format"].detail == "file is WEBP, needs JPEG"


def test_a_missing_profile_fails() -> None:
    data = save(on_background((1600, 1600), (10, 10, 1589, 1589)), profile=b"")
    found = by_rule(check_image(data, "ebay"))
    assert not found["colour_profile"].passed
    assert found["colour_profile"].detail == "no colour profile embedded, needs sRGB"


def test_a_profile_other_than_srgb_fails() -> None:
    xyz = ImageCms.ImageCmsProfile(ImageCms.createProfile("XYZ")).tobytes()
    data = save(on_background((1600, 1600), (10, 10, 1589, 1589)), profile=xyz)
    found = by_rule(check_image(data, "ebay"))
    assert not found["colour_profile"].passed
    assert found["colour_profile"].detail == ("embedded profile is “XYZ identity built-in”, "
                                              "needs sRGB")


def test_a_corrupt_profile_fails_without_raising() -> None:
    data = save(on_background((1600, 1600), (10, 10, 1589, 1589)), profile=b"not a profile" * 20)
    found = by_rule(check_image(data, "ebay"))
    assert found["colour_profile"] == RuleResult("colour_profile", False,
                                                 "the embedded ICC profile is unreadable")


def test_a_png_srgb_chunk_counts_as_srgb() -> None:
    preset = OutputPreset(name="png-square", label="PNG square", width=64, height=64,
                          format="png")
    chunk = PngImagePlugin.PngInfo()
    chunk.add(b"sRGB", b"\x00")
    data = save(Image.new("RGB", (64, 64), "white"), "PNG", profile=b"", pnginfo=chunk)
    assert by_rule(check_image(data, preset))["colour_profile"] == RuleResult(
        "colour_profile", True, "PNG sRGB chunk")
    assert [r.rule for r in check_image(data, preset)] == GENERIC  # no rules in checks.json


# --- eBay: no added borders ----------------------------------------------------------------

def test_a_planted_pad_fails_no_added_borders() -> None:
    canvas = Image.new("RGB", (1600, 1600), (128, 128, 128))
    canvas.paste(photo((1600, 1200)), (0, 200))
    found = by_rule(check_image(save(canvas), "ebay"))
    assert not found["no_added_borders"].passed
    # JPEG blurs the inner edge by up to one 16 px block: the strip measures a little thinner.
    assert re.fullmatch(r"added border: uniform strips of (18[4-9]|19\d|200) px \(#808080\) top, "
                        r"(18[4-9]|19\d|200) px \(#808080\) bottom",
                        found["no_added_borders"].detail), found["no_added_borders"].detail
    assert all(found[rule].passed for rule in GENERIC)


def test_a_frame_on_all_four_sides_fails() -> None:
    framed = photo((1600, 1600))
    ImageDraw.Draw(framed).rectangle((0, 0, 1599, 1599), outline=(20, 20, 20), width=120)
    detail = by_rule(check_image(save(framed, "PNG"), "ebay"))["no_added_borders"].detail
    assert detail == ("added border: uniform strips of 120 px (#141414) top, 120 px (#141414) "
                      "bottom, 120 px (#141414) left, 120 px (#141414) right")


def test_the_ebay_preset_s_own_padding_of_a_wide_photo_is_flagged() -> None:
    data = get_preset("ebay").encode(photo((1000, 600)))  # letterboxed in white
    found = by_rule(check_image(data, "ebay"))
    assert not found["no_added_borders"].passed
    assert "px (#FFFFFF) top" in found["no_added_borders"].detail


def test_a_product_on_a_plain_background_is_not_a_border() -> None:
    image = Image.new("RGB", (1600, 1600), "white")
    ImageDraw.Draw(image).ellipse((200, 100, 1400, 1500), fill=(200, 40, 40))
    found = by_rule(check_image(save(image), "ebay"))
    assert found["no_added_borders"].passed, found["no_added_borders"]


def test_a_full_bleed_photo_and_a_one_sided_strip_pass() -> None:
    assert all(r.passed for r in check_image(save(photo((1600, 1600))), "ebay"))
    one_side = photo((1600, 1600))
    one_side.paste((128, 128, 128), (0, 0, 1600, 100))
    found = by_rule(check_image(save(one_side, "PNG"), "ebay"))["no_added_borders"]
    assert found.passed
    assert found.detail == ("no uniform strips on opposite sides (a strip on one side only: "
                            "top 100 px (#808080))")


def test_a_one_pixel_line_is_not_a_strip() -> None:
    lined = photo((1600, 1600))
    ImageDraw.Draw(lined).rectangle((0, 0, 1599, 1599), outline=(0, 0, 0), width=1)
    assert by_rule(check_image(save(lined, "PNG"), "ebay"))["no_added_borders"].passed


def test_only_ebay_has_the_border_rule_and_shopify_only_the_generic_ones() -> None:
    canvas = Image.new("RGB", (2048, 2048), (128, 128, 128))
    canvas.paste(photo((2048, 1600)), (0, 224))
    assert [r.rule for r in check_image(save(canvas), "shopify")] == GENERIC


# --- bad files ---------------------------------------------------------------------------------

def test_an_unreadable_file_is_one_failed_rule(tmp_path: Path) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not an image")
    assert check_image(junk, "amazon-main") == [RuleResult(
        "readable", False, "cannot read the image: not an image file Pillow can read")]


def test_a_missing_file_is_one_failed_rule(tmp_path: Path) -> None:
    [result] = check_image(tmp_path / "gone.jpg", "ebay")
    assert result.rule == "readable" and not result.passed
    assert "no such file" in result.detail and "gone.jpg" in result.detail


def test_a_truncated_jpeg_is_one_failed_rule() -> None:
    data = save(photo((1600, 1600)))
    [result] = check_image(data[: len(data) // 2], "ebay")
    assert result.rule == "readable" and not result.passed
    assert result.detail.startswith("cannot read the image: ")


def test_odd_modes_are_measured() -> None:
    for image in [Image.new("L", (2000, 2000), 255), Image.new("1", (2000, 2000), 1),
                  Image.new("RGBA", (2000, 2000), (255, 255, 255, 0)),
                  Image.new("P", (2000, 2000)), Image.new("I;16", (2000, 2000))]:
        results = check_image(save(image, "PNG", profile=b""), "amazon-main")
        assert len(results) == 6
        assert all(isinstance(r.detail, str) and r.detail for r in results)
    transparent = by_rule(check_image(save(Image.new("RGBA", (2000, 2000), (255, 255, 255, 0)),
                                           "PNG"), "amazon-main"))
    assert not transparent["pure_white_border"].passed  # transparent is not white


PREFIXES = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
            b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"GIF89a"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from(PREFIXES), body=st.binary(max_size=512),
       preset=st.sampled_from(["amazon-main", "ebay", "web-webp"]))
def test_the_checker_never_raises_on_arbitrary_bytes(prefix: bytes, body: bytes,
                                                     preset: str) -> None:
    results = check_image(prefix + body, preset)
    assert results and all(isinstance(r, RuleResult) for r in results)
    assert all(isinstance(r.passed, bool) and r.detail for r in results)


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(min_value=0, max_value=2000), flip=st.integers(min_value=0, max_value=255))
def test_the_checker_never_raises_on_damaged_images(cut: int, flip: int) -> None:
    data = bytearray(save(Image.new("RGB", (40, 30), (200, 10, 10)), "PNG"))
    data[min(cut, len(data) - 1)] ^= flip
    results = check_image(bytes(data), "amazon-main")
    assert results and all(isinstance(r, RuleResult) for r in results)


# --- scene conflicts ---------------------------------------------------------------------------

def test_a_scene_on_a_pure_white_preset_is_flagged_with_the_lifestyle_preset() -> None:
    [message] = scene_conflicts("a ceramic mug on a marble counter", "amazon-main")
    assert "“marble”, “counter”" in message
    assert "amazon-main needs a pure white background" in message
    assert "use amazon-lifestyle" in message


def test_scenes_are_fine_where_the_preset_allows_them() -> None:
    assert scene_conflicts("a ceramic mug on a marble counter", "shopify") == []
    assert scene_conflicts("a ceramic mug on a marble counter", "amazon-lifestyle") == []


def test_plurals_and_accents_count_and_parts_of_words_do_not() -> None:
    [message] = scene_conflicts("Mugs on TABLES in a Café", get_preset("amazon-main"))
    assert "“tables”, “cafe”" in message
    assert scene_conflicts("a marbled notebook, woodpecker print, "
                           "on a seamless pure white background", "amazon-main") == []
    assert scene_conflicts(get_preset("amazon-main").prompt_suffix, "amazon-main") == []


def test_without_a_lifestyle_preset_the_advice_is_to_drop_the_scene(
        monkeypatch: pytest.MonkeyPatch) -> None:
    main = get_preset("amazon-main")
    monkeypatch.setattr(checks, "marketplace_presets", lambda: {"amazon-main": main})
    assert lifestyle_alternative(main) is None
    [message] = scene_conflicts("on the beaches", main)
    assert message == ("“beaches” puts the product in a scene, but amazon-main needs a pure "
                       "white background; drop the scene from the prompt.")


def test_a_lifestyle_preset_of_the_same_marketplace_is_preferred() -> None:
    alternative = lifestyle_alternative("amazon-main")
    assert alternative is not None and alternative.name == "amazon-lifestyle"


# --- the rules as data -------------------------------------------------------------------------

def test_checks_json_names_real_presets_and_covers_every_pure_white_one() -> None:
    presets = marketplace_presets()
    assert set(checked_presets()) <= set(presets)
    for preset in presets.values():
        if preset.pure_white:
            assert rules_for(preset).pure_white_border, preset.name
    assert rules_for("amazon-main").min_fill == 0.85
    assert rules_for("amazon-main").min_long_side == 1000
    assert rules_for("ebay").no_added_borders
    assert not rules_for("shopify").no_added_borders


def test_image_files_lists_images_in_subfolders_but_not_hidden_ones(tmp_path: Path) -> None:
    for name in ["b.JPG", "a.png", "c.webp", "d.jpeg", "notes.txt", ".tmp-e.jpg"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "SKU-1").mkdir()  # a batch export keeps each SKU in its own folder
    (tmp_path / "SKU-1" / "f.png").write_bytes(b"x")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "g.png").write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in image_files(tmp_path)] == [
        "SKU-1/f.png", "a.png", "b.JPG", "c.webp", "d.jpeg"]
