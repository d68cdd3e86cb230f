"""Tiny diffusers pipelines with random weights, for every model family Studio supports.

Built offline from configs: no weight, config or tokenizer comes from a hub (the tokenizers
are written locally, see tokenizers.py). Each saved folder is safetensors only, 0.4 to 3 MB,
and loads with `AutoPipelineForText2Image.from_pretrained(folder)` with HF_HUB_OFFLINE=1
(the fill- and edit-only families with `DiffusionPipeline.from_pretrained`: diffusers' auto
class maps no text-to-image pipeline to them). Every pipeline runs end to end on a CPU at
64x64 in about a second at most, except Qwen-Image-Edit[-Plus] (2-6 s: they VAE-encode
their input at 1024x1024). Those two and FLUX.2 [dev] need torchvision, which transformers 5
requires for their processors (see `missing_requirement`).

    python -m tests.tiny_models OUT_DIR [--family NAME]   # writes a loadable diffusers folder
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.tiny_models.flux import (
    build_flux1,
    build_flux1_dev,
    build_flux1_fill,
    build_flux1_kontext,
    build_flux2,
    build_flux2_klein,
)
from tests.tiny_models.qwen import (
    build_qwen_image,
    build_qwen_image_edit,
    build_qwen_image_edit_plus,
)
from tests.tiny_models.sd import build_sd2, build_sd3, build_sd15, build_sdxl
from tests.tiny_models.tokenizers import write_tiny_tokenizer
from tests.tiny_models.zimage import build_z_image

__all__ = [
    "BUILDERS", "EDIT_FAMILIES", "FAMILIES", "INPAINT_FAMILIES", "NEEDS_TORCHVISION",
    "NO_TEXT2IMAGE_FAMILIES",
    "build_pipeline", "build_sd15", "build_sdxl", "main", "missing_requirement",
    "save_tiny_pipeline", "write_tiny_tokenizer",
]

BUILDERS: dict[str, Callable[[int], Any]] = {
    "sd1": build_sd15,
    "sd2": build_sd2,
    "sdxl": build_sdxl,
    "sd3": build_sd3,
    "flux1": build_flux1,
    "flux1-dev": build_flux1_dev,
    "flux1-fill": build_flux1_fill,
    "flux1-kontext": build_flux1_kontext,
    "flux2-klein": build_flux2_klein,
    "flux2": build_flux2,
    "qwen-image": build_qwen_image,
    "qwen-image-edit": build_qwen_image_edit,
    "qwen-image-edit-plus": build_qwen_image_edit_plus,
    "z-image": build_z_image,
}
FAMILIES: tuple[str, ...] = tuple(BUILDERS)

# Families whose main pipeline takes `image=` (an edit, or FLUX.2's optional reference).
EDIT_FAMILIES = ("flux1-kontext", "flux2-klein", "flux2", "qwen-image-edit",
                 "qwen-image-edit-plus")
# Families whose main pipeline takes `image=` and `mask_image=`.
INPAINT_FAMILIES = ("flux1-fill",)
# Families diffusers' AutoPipelineForText2Image refuses (it maps no text-to-image pipeline
# to FluxFillPipeline or QwenImageEdit[Plus]Pipeline): load them with DiffusionPipeline.
NO_TEXT2IMAGE_FAMILIES = ("flux1-fill", "qwen-image-edit", "qwen-image-edit-plus")
# Families whose processor transformers 5 builds only with torchvision installed (the real
# models have the same requirement).
NEEDS_TORCHVISION = {
    "flux2": "PixtralProcessor",
    "qwen-image-edit": "Qwen2VLProcessor, for its video processor",
    "qwen-image-edit-plus": "Qwen2VLProcessor, for its video processor",
}


def missing_requirement(family: str) -> str | None:
    """Why `family` cannot be built in this environment, or None when it can."""
    import importlib.util

    if family in NEEDS_TORCHVISION and importlib.util.find_spec("torchvision") is None:
        return (f"{family}: transformers 5 builds its processor ("
                f"{NEEDS_TORCHVISION[family]}) only with torchvision, which is not installed")
    return None


def build_pipeline(family: str, seed: int = 0):
    """The tiny pipeline of `family` (one of FAMILIES), in memory, on the CPU, float32."""
    if family not in BUILDERS:
        raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
    if reason := missing_requirement(family):
        raise ImportError(reason)
    return BUILDERS[family](seed)


def save_tiny_pipeline(out_dir: Path, *, family: str = "sd1", sdxl: bool = False,
                       seed: int = 0) -> Path:
    """Write a diffusers folder (safetensors only) that `from_pretrained` loads offline.
    `sdxl=True` is the older spelling of `family="sdxl"`."""
    pipeline = build_pipeline("sdxl" if sdxl else family, seed)
    pipeline.save_pretrained(out_dir, safe_serialization=True)
    return out_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.tiny_models",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--family", choices=FAMILIES, default="sd1")
    parser.add_argument("--sdxl", action="store_true", help="the same as --family sdxl")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(save_tiny_pipeline(args.out_dir, family=args.family, sdxl=args.sdxl, seed=args.seed))
