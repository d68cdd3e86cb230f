"""Upscaling a scene to a preset's size: a tiny ONNX upscaler in tiles, or Lanczos; recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backends.errors import InvalidRequest
from studio import onnx_models
from studio.batch.presets import OutputPreset, get_preset
from studio.batch.upscale import (
    Upscaled,
    choose_upscaler,
    needed_scale,
    upscale_fields,
    upscale_scene,
    upscale_with,
)
from tests.tiny_onnx import save_upscaler_model, upscaler_row, use_table

pytest.importorskip("onnxruntime")


def noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), np.uint8), "RGB")


@pytest.fixture
def upscalers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """upscalers(ROW, …): make those the upscaler table; each built and fetched by its row's
    builder arguments."""

    def install(*rows: tuple[dict, dict]) -> list[onnx_models.OnnxModel]:
        use_table(monkeypatch, tmp_path, "upscaler", [row for row, _ in rows])
        models = list(onnx_models.model_table("upscaler"))
        for model, (_, build) in zip(models, rows, strict=True):
            if build is not None:
                save_upscaler_model(model.path, **build)
        return models

    return install


def test_needed_scale_follows_the_fit() -> None:
    assert needed_scale((512, 256), (2048, 2048), "pad") == 4.0
    assert needed_scale((512, 256), (2048, 2048), "crop") == 8.0
    assert needed_scale((2048, 2048), (1000, 1000), "pad") < 1
    with pytest.raises(InvalidRequest, match="fit"):
        needed_scale((1, 1), (2, 2), "stretch")


def test_without_an_upscaler_lanczos_does_it_and_says_so() -> None:
    image, how = upscale_scene(noise((64, 64)), 4.0)
    assert how == Upscaled("lanczos", 4.0) and image.size == (64, 64)
    fitted, how = get_preset("shopify").fit_scene(noise((512, 512)))
    assert fitted.size == (2048, 2048) and how == Upscaled("lanczos", 4.0)
    _, how = get_preset("shopify").fit_scene(noise((2048, 2048)))
    assert how.method == "none"


def test_a_fetched_upscaler_enlarges_by_its_factor(upscalers) -> None:
    (model,) = upscalers((upscaler_row(), {"scale": 2}))
    image = noise((40, 24))
    out = upscale_with(image, model)
    # The tiny model copies each pixel into its 2×2 block: nearest-neighbour, exactly.
    assert np.array_equal(np.asarray(out),
                          np.asarray(image.resize((80, 48), Image.Resampling.NEAREST)))
    upscaled, how = upscale_scene(image, 3.0)
    assert how == Upscaled("model:tiny-x2", 3.0) and upscaled.size == (80, 48)


def test_tiles_meet_without_seams(upscalers) -> None:
    (copy, context) = upscalers(
        (upscaler_row("copy-x2", tile=8, file="copy.onnx"), {"scale": 2}),
        (upscaler_row("context-x2", tile=8, file="context.onnx"), {"scale": 2, "kernel": 3}))
    image = noise((45, 30), seed=3)
    # No spatial context: tiled equals untiled exactly.
    assert np.array_equal(np.asarray(upscale_with(image, copy, tile=8)),
                          np.asarray(upscale_with(image, copy, tile=256)))
    # A 3×3 model: the margin gives each tile its neighbours, so the seams vanish too (within
    # float rounding of one level)…
    tiled = np.asarray(upscale_with(image, context, tile=8), np.int16)
    whole = np.asarray(upscale_with(image, context, tile=256), np.int16)
    assert np.abs(tiled - whole).max() <= 1
    # …and without a margin they show: the check above can fail.
    bare = np.asarray(upscale_with(image, context, tile=8, margin=0), np.int16)
    assert np.abs(bare - whole).max() > 8


def test_a_fixed_size_model_is_fed_tiles_of_its_own_size(upscalers) -> None:
    (fixed, free) = upscalers(
        (upscaler_row("fixed-x2", file="fixed.onnx"), {"scale": 2, "kernel": 3, "side": 20}),
        (upscaler_row("free-x2", file="free.onnx"), {"scale": 2, "kernel": 3}))
    image = noise((50, 33), seed=5)
    a = np.asarray(upscale_with(image, fixed), np.int16)
    b = np.asarray(upscale_with(image, free), np.int16)
    assert a.shape == (66, 100, 3) and np.abs(a - b).max() <= 1


def test_the_upscaler_that_reaches_the_factor_is_chosen(upscalers) -> None:
    upscalers((upscaler_row("x2", scale=2, file="x2.onnx"), {"scale": 2}),
              (upscaler_row("x4", scale=4, file="x4.onnx"), {"scale": 4}),
              (upscaler_row("x8", scale=8, file="x8.onnx"), None))  # listed, not fetched
    assert choose_upscaler(1.5).name == "x2"
    assert choose_upscaler(2.5).name == "x4"
    assert choose_upscaler(10).name == "x4"


def test_a_model_whose_output_is_not_its_scale_is_refused(upscalers) -> None:
    (model,) = upscalers((upscaler_row("liar", scale=4, file="liar.onnx"), {"scale": 2}))
    with pytest.raises(InvalidRequest, match=r"expected 1×3×.*×4"):
        upscale_with(noise((20, 20)), model)


def test_a_corrupt_upscaler_file_gives_a_clear_error(upscalers) -> None:
    (model,) = upscalers((upscaler_row(), {"scale": 2}))
    model.path.write_bytes(b"\x08\x07" + b"\x00garbage" * 10)
    with pytest.raises(InvalidRequest, match="studio product upscaler fetch tiny-x2 --force"):
        get_preset("shopify").fit_scene(noise((512, 512)))


def test_product_pixels_stay_exact_after_a_model_upscale(upscalers, tmp_path: Path) -> None:
    from studio.product.importing import decode_product_photo
    from studio.product.placement import Placement, place_product

    upscalers((upscaler_row(), {"scale": 2, "kernel": 3}))
    photo = noise((60, 80), seed=9)
    mask = Image.new("L", photo.size, 0)
    mask.paste(255, (10, 10, 50, 70))
    buffer = tmp_path / "photo.png"
    photo.save(buffer)
    placed = place_product(decode_product_photo(buffer.read_bytes()), mask, (400, 400),
                           Placement())
    preset = OutputPreset("png-main", "PNG main", 400, 400, format="png", pure_white=True)
    scene, how = preset.fit_scene(Image.new("RGB", (200, 200), (252, 252, 252)))
    assert how == Upscaled("model:tiny-x2", 2.0)
    final = preset.final_with_product(scene, placed)
    inside = np.asarray(placed.mask) >= 128
    assert np.array_equal(np.asarray(final)[inside], np.asarray(placed.source)[inside])


def test_the_record_goes_through_the_stored_checks() -> None:
    stored = json.dumps([{"rule": "size", "passed": True, "detail": "ok"},
                         Upscaled("model:realesrgan-x4plus", 4.0).to_check()])
    assert upscale_fields(stored) == {"upscaled_by": "model:realesrgan-x4plus",
                                      "upscale_factor": 4.0}
    assert upscale_fields("") == {"upscaled_by": "", "upscale_factor": 0.0}
    assert upscale_fields("not json") == {"upscaled_by": "", "upscale_factor": 0.0}


def test_the_shipped_upscalers_are_onnx_with_permissive_licences() -> None:
    models = onnx_models.model_table("upscaler")
    assert {m.scale for m in models} >= {2, 4}
    for model in models:
        assert model.file.endswith(".onnx") and model.licence == "BSD-3-Clause"
        assert not model.is_fetched()


@pytest.mark.parametrize("fetched", [False, True])
def test_the_manifest_records_how_each_export_was_enlarged(upscalers, tmp_path: Path,
                                                            fetched: bool) -> None:
    from studio.batch.store import BatchStore
    from studio.library import Library
    from tests.batch.fakes import FakeBackend, make_job, make_runner

    if fetched:
        upscalers((upscaler_row(), {"scale": 2}))
    preset = get_preset("ebay")
    store, library = BatchStore(), Library.open(tmp_path / "library")
    job_id, out = make_job(tmp_path, store, products=1, seeds=1, preset=preset)
    summary = make_runner(store, job_id, out, FakeBackend(), library, preset=preset).run()
    assert summary.state == "finished"
    rows = json.loads((out / "manifest.json").read_text())["images"]
    with Image.open(library.get(1).path) as made:
        factor = round(needed_scale(made.size, (preset.width, preset.height), preset.fit), 4)
    method = "model:tiny-x2" if fetched else "lanczos"
    assert rows and {(r["upscaled_by"], r["upscale_factor"]) for r in rows} == {(method, factor)}
    assert all(r["checks"] == "pass" or "upscale" not in r["checks"] for r in rows)
    header, first = (out / "manifest.csv").read_text(encoding="utf-8-sig").splitlines()[:2]
    assert "upscaled_by,upscale_factor" in header and f"{method},{factor}" in first


def test_a_half_precision_upscaler_is_fed_half_floats(upscalers, tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    (model,) = upscalers((upscaler_row(), {"scale": 2}))
    graph = onnx.load(str(model.path))
    cast_in = helper.make_node("Cast", ["input16"], ["input"], to=TensorProto.FLOAT)
    graph.graph.node.insert(0, cast_in)
    graph.graph.input[0].name = "input16"
    graph.graph.input[0].type.tensor_type.elem_type = TensorProto.FLOAT16
    onnx.save(graph, str(model.path))
    image = noise((12, 10))
    out = upscale_with(image, model)
    assert np.array_equal(np.asarray(out),
                          np.asarray(image.resize((24, 20), Image.Resampling.NEAREST)))


def test_any_image_and_tile_size_tiles_exactly(upscalers) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    (model,) = upscalers((upscaler_row(), {"scale": 2}))

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(width=st.integers(1, 40), height=st.integers(1, 40), tile=st.integers(1, 24),
           margin=st.integers(0, 20))
    def tiles_agree(width: int, height: int, tile: int, margin: int) -> None:
        image = noise((width, height), seed=width * 41 + height)
        out = upscale_with(image, model, tile=tile, margin=margin)
        assert np.array_equal(np.asarray(out), np.asarray(
            image.resize((2 * width, 2 * height), Image.Resampling.NEAREST)))

    tiles_agree()


def test_the_choice_of_upscaler_is_checked_and_followed(upscalers) -> None:
    from studio.batch.upscale import check_upscaler_choice

    (fetched, absent) = upscalers((upscaler_row(), {"scale": 2}),
                                  (upscaler_row("other-x4", scale=4, file="other.onnx"), None))
    assert check_upscaler_choice(" Auto ") == "auto"
    assert check_upscaler_choice("lanczos") == "lanczos"
    assert check_upscaler_choice("TINY-X2") == fetched.name
    with pytest.raises(InvalidRequest, match="'other-x4' is not fetched.*upscaler fetch other-x4"):
        check_upscaler_choice("other-x4")
    with pytest.raises(InvalidRequest, match="No upscaler model 'nope'"):
        check_upscaler_choice("nope")
    image = noise((40, 24))
    _, how = upscale_scene(image, 3.0, "lanczos")
    assert how == Upscaled("lanczos", 3.0)
    _, how = upscale_scene(image, 3.0, fetched.name)
    assert how == Upscaled("model:tiny-x2", 3.0)
    preset = get_preset("shopify")
    _, how = OutputPreset(**{**preset.__dict__, "upscaler": "lanczos"}).fit_scene(
        noise((512, 512)))
    assert how.method == "lanczos"
    _, how = preset.fit_scene(noise((512, 512)))
    assert how.method == "model:tiny-x2"  # auto: the fetched one


def test_studio_batch_upscaler_lanczos_is_stored_with_the_job_and_a_missing_name_refused(
        upscalers, tmp_path: Path, studio_home: Path, tiny_sd_path: Path, capsys) -> None:
    from studio.batch.store import BatchStore
    from studio.cli.main import main

    upscalers((upscaler_row(), {"scale": 2}))
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("sku,title\nU-1,a cup\n", encoding="utf-8")
    base = ["batch", str(catalog), "--template", "{title}", "--model", str(tiny_sd_path),
            "--width", "64", "--height", "64", "--steps", "2", "--device", "cpu",
            "--preset", "web-webp"]
    assert main([*base, "--upscaler", "missing-x4", "--out", str(tmp_path / "a")]) == 2
    assert "No upscaler model 'missing-x4'" in capsys.readouterr().err
    assert BatchStore().jobs() == []
    out = tmp_path / "b"
    assert main([*base, "--upscaler", "lanczos", "--out", str(out)]) == 0
    (row,) = json.loads((out / "manifest.json").read_text())["images"]
    assert row["upscaled_by"] == "lanczos"  # although an upscaler is fetched
    assert BatchStore().jobs()[0].spec["upscaler"] == "lanczos"
