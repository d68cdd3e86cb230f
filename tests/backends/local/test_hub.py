from __future__ import annotations

import pytest

from backends import BackendUnavailable, InvalidRequest
from backends.local.hub import _download_plan

SDXL_FILES = [
    "model_index.json", "sd_xl_base_1.0.safetensors",
    "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
    "unet/diffusion_pytorch_model.fp16.safetensors",
    "vae/config.json", "vae/diffusion_pytorch_model.safetensors",
    "vae/diffusion_pytorch_model.fp16.safetensors",
    "text_encoder/config.json", "text_encoder/model.safetensors",
    "text_encoder/model.fp16.safetensors", "text_encoder/pytorch_model.bin",
    "tokenizer/vocab.json", "tokenizer/merges.txt",
]


def test_gpu_downloads_only_the_fp16_weights_and_never_the_single_file() -> None:
    patterns, variant = _download_plan("org/sdxl", SDXL_FILES, prefer_fp16=True)
    assert variant == "fp16"
    assert "unet/*.fp16.safetensors" in patterns
    assert not any("sd_xl_base" in p or p.endswith(".bin") for p in patterns)
    assert "unet/diffusion_pytorch_model.safetensors" not in patterns


def test_cpu_downloads_full_precision_weights() -> None:
    patterns, variant = _download_plan("org/sdxl", SDXL_FILES, prefer_fp16=False)
    assert variant is None
    assert "unet/diffusion_pytorch_model.safetensors" in patterns
    assert not any(".fp16." in p for p in patterns)


def test_a_repo_with_pickle_only_weights_is_refused() -> None:
    files = ["model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.bin"]
    with pytest.raises(InvalidRequest, match="pickle"):
        _download_plan("org/old", files, prefer_fp16=True)


def test_a_repo_that_is_not_a_pipeline_points_at_its_checkpoint() -> None:
    with pytest.raises(BackendUnavailable, match="no model_index.json"):
        _download_plan("org/ckpt-only", ["model.safetensors"], prefer_fp16=False)
