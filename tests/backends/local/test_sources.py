from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from backends import BackendUnavailable, InvalidRequest
from backends.local.sources import resolve


def _write_safetensors(path: Path, keys: list[str] | dict[str, list[int]]) -> Path:
    shapes = keys if isinstance(keys, dict) else {k: [1] for k in keys}
    header = {k: {"dtype": "F32", "shape": shape, "data_offsets": [4 * i, 4 * i + 4]}
              for i, (k, shape) in enumerate(shapes.items())}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 4 * len(shapes))
    return path


def _diffusers_folder(root: Path, class_name: str, weight_name: str) -> Path:
    root.mkdir()
    (root / "model_index.json").write_text(json.dumps(
        {"_class_name": class_name, "unet": ["diffusers", "UNet2DConditionModel"]}))
    (root / "unet").mkdir()
    (root / "unet" / weight_name).write_bytes(b"weights")
    return root


@pytest.mark.parametrize("name", ["model.ckpt", "model.bin", "model.pt", "model.pth"])
def test_pickle_checkpoints_are_refused_before_anything_is_opened(tmp_path, name) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x80\x04 pickle bytes")
    with pytest.raises(InvalidRequest, match="pickle checkpoint"):
        resolve(str(path))


def test_a_folder_whose_weights_are_only_pickles_is_refused(tmp_path) -> None:
    folder = _diffusers_folder(tmp_path / "old-model", "StableDiffusionPipeline",
                               "diffusion_pytorch_model.bin")
    with pytest.raises(InvalidRequest, match="pickle"):
        resolve(str(folder))


def test_a_diffusers_folder_is_recognised_with_its_family(tmp_path) -> None:
    folder = _diffusers_folder(tmp_path / "my-sdxl-turbo", "StableDiffusionXLPipeline",
                               "diffusion_pytorch_model.safetensors")
    source = resolve(str(folder))
    assert (source.kind, source.family, source.variants) == ("folder", "sdxl", ("turbo",))
    assert source.profile.steps == 1 and source.profile.guidance == 0.0
    assert source.display_name == "my-sdxl-turbo"


def test_a_folder_without_model_index_is_explained(tmp_path) -> None:
    with pytest.raises(InvalidRequest, match="no model_index.json"):
        resolve(str(tmp_path))


@pytest.mark.parametrize(
    ("keys", "family"),
    [
        (["conditioner.embedders.1.model.ln_final.weight", "model.diffusion_model.x"], "sdxl"),
        (["cond_stage_model.model.ln_final.weight"], "sd2"),
        (["cond_stage_model.transformer.text_model.x", "model.diffusion_model.x"], "sd1"),
        (["something.else"], "unknown"),
    ],
)
def test_single_file_family_comes_from_its_tensor_names(tmp_path, keys, family) -> None:
    source = resolve(str(_write_safetensors(tmp_path / "checkpoint.safetensors", keys)))
    assert (source.kind, source.family) == ("single_file", family)


def test_a_truncated_safetensors_file_is_refused(tmp_path) -> None:
    path = tmp_path / "cut.safetensors"
    path.write_bytes(struct.pack("<Q", 500) + b"{")
    with pytest.raises(InvalidRequest, match="not a readable .safetensors"):
        resolve(str(path))


def test_hub_ids_and_missing_paths_are_told_apart(tmp_path) -> None:
    assert resolve("stabilityai/sdxl-turbo").kind == "hub"
    with pytest.raises(BackendUnavailable, match="was not found"):
        resolve(str(tmp_path / "missing-folder"))
    with pytest.raises(BackendUnavailable, match="was not found"):
        resolve("just-a-word")
    with pytest.raises(InvalidRequest, match="No model is selected"):
        resolve("  ")
