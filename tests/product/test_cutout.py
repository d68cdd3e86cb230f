"""Cut-out models through ONNX Runtime, on a tiny model in BiRefNet's format; else GrabCut."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from backends.errors import InvalidRequest
from studio import onnx_models
from studio.product import cutout
from studio.product.importing import decode_product_photo
from studio.product.masks import product_mask
from studio.product.project import ProductProject, load_project, save_project
from tests.product.photos import iou
from tests.tiny_onnx import cutout_row, cutout_weights, save_cutout_model, use_table

pytest.importorskip("onnxruntime")


def red_on_blue(size: tuple[int, int] = (200, 150)) -> tuple[Image.Image, Image.Image]:
    """(photo, truth): a red ellipse on a blue backdrop, which the tiny model tells apart."""
    photo = Image.new("RGB", size, (40, 60, 200))
    truth = Image.new("L", size, 0)
    box = (size[0] * 0.25, size[1] * 0.2, size[0] * 0.75, size[1] * 0.85)
    ImageDraw.Draw(photo).ellipse(box, fill=(210, 50, 40))
    ImageDraw.Draw(truth).ellipse(box, fill=255)
    return photo, truth


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def tiny_cutout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> onnx_models.OnnxModel:
    """The table's only cut-out model is the tiny one, fetched (placed where fetches go)."""
    use_table(monkeypatch, tmp_path, "cutout", [cutout_row()])
    model = onnx_models.find_model("cutout")
    save_cutout_model(model.path, side=32)
    return model


def test_preprocessing_and_output_mapping_match_a_numpy_computation(tiny_cutout) -> None:
    photo, _ = red_on_blue()
    probability = cutout.product_probability(photo, tiny_cutout)
    # The same steps by hand: resize to the model's input, ImageNet normalisation, the 1×1
    # convolution, a sigmoid.
    small = np.asarray(photo.resize((32, 32), Image.Resampling.BILINEAR), np.float32) / 255
    normal = (small - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    weight, bias = cutout_weights()
    logits = normal @ weight.reshape(3) + bias[0]
    assert probability.shape == (32, 32)
    assert np.allclose(probability, 1 / (1 + np.exp(-logits)), atol=1e-5)


def test_the_mask_is_at_the_photo_size_and_finds_the_product(tiny_cutout) -> None:
    photo, truth = red_on_blue((200, 150))
    mask = cutout.model_mask(photo, tiny_cutout)
    assert mask.size == photo.size and mask.mode == "L"
    assert set(np.unique(np.asarray(mask)).tolist()) <= {0, 255}
    assert iou(mask, truth) >= 0.9


def test_a_fetched_model_is_used_and_its_name_recorded(tiny_cutout, tmp_path) -> None:
    photo, truth = red_on_blue()
    mask, method = product_mask(decode_product_photo(png_bytes(photo)))
    assert method == "model:tiny-cutout" and iou(mask, truth) >= 0.9
    project = ProductProject(decode_product_photo(png_bytes(photo)), mask, method)
    folder = save_project(project, tmp_path / "products")
    assert load_project(folder).mask_origin == "model:tiny-cutout"


def test_a_dynamic_input_model_runs_at_the_tables_size(monkeypatch, tmp_path) -> None:
    use_table(monkeypatch, tmp_path, "cutout", [cutout_row(side=48)])
    model = onnx_models.find_model("cutout")
    save_cutout_model(model.path, side=None)
    assert cutout.product_probability(red_on_blue()[0], model).shape == (48, 48)


def test_minmax_and_probability_outputs() -> None:
    model = onnx_models.OnnxModel(**{**_row_fields("minmax")})
    plane = np.array([[[[2.0, 4.0], [6.0, 10.0]]]], np.float32)
    assert np.allclose(cutout.to_probability(plane, model), [[0, 0.25], [0.5, 1]])
    clipped = onnx_models.OnnxModel(**{**_row_fields("probability")})
    assert np.allclose(cutout.to_probability(plane / 5, clipped), [[0.4, 0.8], [1, 1]])
    with pytest.raises(InvalidRequest, match="1×1×H×W"):
        cutout.to_probability(np.zeros((1, 3, 4, 4), np.float32), model)


def _row_fields(output: str) -> dict:
    return dict(kind="cutout", name="m", label="m", repo="r/m", file="m.onnx", licence="MIT",
                size_mb=1, mean=(0, 0, 0), std=(1, 1, 1), output=output)


def test_without_a_model_grabcut_is_used_and_named_once(monkeypatch, tmp_path, caplog) -> None:
    use_table(monkeypatch, tmp_path, "cutout", [cutout_row()])  # listed, not fetched
    monkeypatch.setattr(cutout, "_hint_given", False)
    photo, truth = red_on_blue()
    with caplog.at_level(logging.WARNING, logger="studio.product.cutout"):
        mask, method = product_mask(decode_product_photo(png_bytes(photo)))
        product_mask(decode_product_photo(png_bytes(photo)))
    assert method == "grabcut" and iou(mask, truth) >= 0.9
    hints = [r.getMessage() for r in caplog.records if "GrabCut" in r.getMessage()]
    assert hints == [cutout.GRABCUT_HINT]


def test_the_shipped_table_has_birefnet_lite_first() -> None:
    model = onnx_models.find_model("cutout")
    assert (model.name, model.repo, model.file, model.licence) == (
        "birefnet-lite", "onnx-community/BiRefNet_lite-ONNX", "onnx/model.onnx", "MIT")
    assert model.input_size == (1024, 1024) and model.output == "logits"
    assert not model.is_fetched()  # a fresh STUDIO_HOME: nothing is downloaded by itself
    with pytest.raises(InvalidRequest, match="studio product cutout-model fetch birefnet-lite"):
        onnx_models.session_for(model)


@pytest.mark.parametrize(("content", "what"), [
    (b"\x80\x02}q\x00", "pickle"),
    (b"PK\x03\x04rest", "zip"),
    (b"version https://git-lfs.github.com/spec/v1\n", "Git LFS pointer"),
    ((12).to_bytes(8, "little") + b'{"a": "b"}  ', "safetensors"),
])
def test_files_that_are_not_onnx_are_refused_before_loading(tiny_cutout, content, what) -> None:
    tiny_cutout.path.write_bytes(content)
    with pytest.raises(InvalidRequest, match=what):
        cutout.model_mask(red_on_blue()[0], tiny_cutout)


def test_a_table_row_that_is_not_onnx_is_refused(monkeypatch, tmp_path) -> None:
    row = {**cutout_row(), "file": "model.safetensors"}
    with pytest.raises(InvalidRequest, match="ONNX models only"):
        use_table(monkeypatch, tmp_path, "cutout", [row])
        onnx_models.find_model("cutout")


def test_a_corrupt_model_file_gives_a_clear_error(tiny_cutout) -> None:
    data = tiny_cutout.path.read_bytes()
    tiny_cutout.path.write_bytes(data[: len(data) // 2] + b"\xff" * 7)
    with pytest.raises(InvalidRequest, match=r"damaged or not a valid ONNX model.*--force"):
        product_mask(decode_product_photo(png_bytes(red_on_blue()[0])))


def test_fetching_offline_says_the_hub_cannot_be_reached(monkeypatch, tmp_path) -> None:
    from backends.errors import BackendUnavailable

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = onnx_models.find_model("cutout")
    with pytest.raises(BackendUnavailable, match="cannot be reached"):
        onnx_models.fetch_model(model)
    assert not model.is_fetched() and not list(model.path.parent.glob(".fetch-*"))


def test_importing_the_product_core_does_not_load_onnxruntime() -> None:
    code = ("import sys, studio.product, studio.product.cutout, studio.batch.presets, "
            "studio.cli.product; "
            "heavy = {'onnxruntime', 'huggingface_hub', 'cv2'} & set(sys.modules); "
            "sys.exit(f'imported {heavy}' if heavy else 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr + run.stdout


def test_any_photo_size_gets_a_binary_mask_of_its_own_size(tiny_cutout) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=20, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(width=st.integers(1, 300), height=st.integers(1, 300),
           mode=st.sampled_from(["RGB", "L", "RGBA", "CMYK"]))
    def sized(width: int, height: int, mode: str) -> None:
        photo = red_on_blue((width, height))[0].convert(mode)
        mask = cutout.model_mask(photo, tiny_cutout)
        assert mask.size == (width, height) and mask.mode == "L"
        assert set(np.unique(np.asarray(mask)).tolist()) <= {0, 255}

    sized()
