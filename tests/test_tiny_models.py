"""The tiny pipelines of tests.tiny_models: each family saves, loads offline and generates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the 'local' extra is not installed")
pytest.importorskip("diffusers", reason="the 'local' extra is not installed")

from tests.tiny_models import (  # noqa: E402
    EDIT_FAMILIES,
    FAMILIES,
    INPAINT_FAMILIES,
    NEEDS_TORCHVISION,
    NO_TEXT2IMAGE_FAMILIES,
    build_pipeline,
    main,
    missing_requirement,
    save_tiny_pipeline,
)

SIZE = 64
# The latents a step callback sees at 64x64: UNets keep (B, C, H, W); the FLUX and Qwen
# transformers pack 2x2 patches into (B, tokens, 4C); SD3 and Z-Image patch inside.
LATENTS = {
    "sd1": (1, 4, 32, 32),
    "sd2": (1, 4, 32, 32),
    "sdxl": (1, 4, 32, 32),
    "sd3": (1, 16, 8, 8),
    "flux1": (1, 16, 64),
    "flux1-dev": (1, 16, 64),
    "flux1-fill": (1, 16, 64),
    "flux1-kontext": (1, 16, 64),
    "flux2-klein": (1, 16, 128),
    "flux2": (1, 16, 128),
    "qwen-image": (1, 16, 64),
    "qwen-image-edit": (1, 16, 64),
    "qwen-image-edit-plus": (1, 16, 64),
    "z-image": (1, 16, 8, 8),
}
# The Qwen edit pipelines VAE-encode their input at about 1024x1024 whatever it is: 3-7 s.
SLOW = ("qwen-image-edit", "qwen-image-edit-plus")


def _param(family: str):
    return pytest.param(family, id=family,
                        marks=[pytest.mark.slow] if family in SLOW else [])


@pytest.fixture(scope="module", params=[_param(f) for f in FAMILIES])
def saved(request, tmp_path_factory) -> tuple[str, Path]:
    """Each family built and saved once for this module."""
    family = request.param
    if reason := missing_requirement(family):
        pytest.skip(reason)
    folder = save_tiny_pipeline(tmp_path_factory.mktemp("tiny") / family, family=family)
    return family, folder


def _load(family: str, folder: Path):
    from diffusers import AutoPipelineForText2Image, DiffusionPipeline

    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    # diffusers' auto class maps no text-to-image pipeline to FLUX Fill or Qwen-Image-Edit.
    auto = DiffusionPipeline if family in NO_TEXT2IMAGE_FAMILIES else AutoPipelineForText2Image
    pipeline = auto.from_pretrained(folder, local_files_only=True)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def _call_kwargs(family: str) -> dict:
    import torch
    from PIL import Image

    kwargs = dict(prompt="a red apple on a wooden table", num_inference_steps=2,
                  height=SIZE, width=SIZE, generator=torch.Generator("cpu").manual_seed(0))
    if family in EDIT_FAMILIES or family in INPAINT_FAMILIES:
        kwargs["image"] = Image.new("RGB", (SIZE, SIZE), (200, 40, 40))
    if family in INPAINT_FAMILIES:
        mask = Image.new("L", (SIZE, SIZE), 0)
        mask.paste(255, (16, 16, 48, 48))
        kwargs["mask_image"] = mask
    if family == "flux1-kontext":
        kwargs["max_area"] = SIZE * SIZE  # Kontext renders at 1024x1024 unless told
    return kwargs


def test_folder_is_small_and_safetensors_only(saved):
    family, folder = saved
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert (folder / "model_index.json").is_file()
    assert any(p.suffix == ".safetensors" for p in files)
    assert not [p for p in files if p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".model")]
    assert sum(p.stat().st_size for p in files) < 5_000_000, family


def test_loads_offline_and_generates(saved):
    family, folder = saved
    pipeline = _load(family, folder)
    seen: list[tuple[int, ...]] = []

    def on_step_end(pipe, step, timestep, tensors):
        seen.append(tuple(tensors["latents"].shape))
        return tensors

    image = pipeline(**_call_kwargs(family), callback_on_step_end=on_step_end).images[0]

    assert image.size == (SIZE, SIZE)
    assert seen == [LATENTS[family]] * 2


def test_edit_and_fill_families_are_not_text2image_in_diffusers(saved):
    """Why _load uses DiffusionPipeline for them (as Studio does for edit/fill-only models)."""
    family, folder = saved
    if family not in NO_TEXT2IMAGE_FAMILIES:
        return
    from diffusers import AutoPipelineForText2Image

    with pytest.raises(ValueError, match="AutoPipeline can't find a pipeline"):
        AutoPipelineForText2Image.from_pretrained(folder, local_files_only=True)


def test_builds_are_deterministic():
    first = build_pipeline("flux1", seed=3).transformer.state_dict()
    second = build_pipeline("flux1", seed=3).transformer.state_dict()
    other = build_pipeline("flux1", seed=4).transformer.state_dict()
    assert all((first[k] == second[k]).all() for k in first)
    assert any((first[k] != other[k]).any() for k in first)


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown family"):
        build_pipeline("sd4")


def test_cli_writes_a_folder(tmp_path, capsys):
    main([str(tmp_path / "flux"), "--family", "flux1"])
    assert capsys.readouterr().out.strip() == str(tmp_path / "flux")
    assert '"FluxPipeline"' in (tmp_path / "flux" / "model_index.json").read_text()


def test_cli_keeps_the_sdxl_alias(tmp_path):
    main([str(tmp_path / "xl"), "--sdxl"])
    assert '"StableDiffusionXLPipeline"' in (tmp_path / "xl" / "model_index.json").read_text()


def test_families_needing_torchvision_say_so_without_it():
    import importlib.util

    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("torchvision is installed")
    for family in NEEDS_TORCHVISION:
        with pytest.raises(ImportError, match="torchvision"):
            build_pipeline(family)
