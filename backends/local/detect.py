"""Which family (and variant) a model belongs to, from its configs or its tensor names.

Never from the file name alone: a folder says it in model_index.json (the pipeline class)
and its components' configs; a single .safetensors file says it in its tensor names and
shapes. Only the speed variants (SDXL Turbo, Lightning, SD 3.5 Turbo), which change no
tensor, are read from the name, and only once the family is known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

UNKNOWN = "unknown"
ConfigReader = Callable[[str], dict[str, Any] | None]

# diffusers pipeline class (model_index.json's _class_name) -> (family, variants)
PIPELINE_FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "StableDiffusionPipeline": ("sd1", ()),
    "StableDiffusionImg2ImgPipeline": ("sd1", ()),
    "StableDiffusionInpaintPipeline": ("sd1", ()),
    "StableDiffusionXLPipeline": ("sdxl", ()),
    "StableDiffusionXLImg2ImgPipeline": ("sdxl", ()),
    "StableDiffusionXLInpaintPipeline": ("sdxl", ()),
    "StableDiffusion3Pipeline": ("sd3", ()),
    "StableDiffusion3Img2ImgPipeline": ("sd3", ()),
    "StableDiffusion3InpaintPipeline": ("sd3", ()),
    "FluxPipeline": ("flux1", ()),
    "FluxImg2ImgPipeline": ("flux1", ()),
    "FluxInpaintPipeline": ("flux1", ()),
    "FluxFillPipeline": ("flux1", ("fill",)),
    "FluxKontextPipeline": ("flux1", ("kontext",)),
    "Flux2Pipeline": ("flux2", ()),
    "Flux2KleinPipeline": ("flux2-klein", ()),
    "QwenImagePipeline": ("qwen-image", ()),
    "QwenImageImg2ImgPipeline": ("qwen-image", ()),
    "QwenImageInpaintPipeline": ("qwen-image", ()),
    "QwenImageEditPipeline": ("qwen-image-edit", ()),
    "QwenImageEditInpaintPipeline": ("qwen-image-edit", ()),
    "QwenImageEditPlusPipeline": ("qwen-image-edit", ("plus",)),
    "ZImagePipeline": ("z-image", ()),
    "ZImageImg2ImgPipeline": ("z-image", ()),
    "ZImageInpaintPipeline": ("z-image", ()),
}

# The text encoders' width, as the transformer sees it (3 stacked hidden layers).
FLUX2_DEV_TEXT_WIDTH = 15360  # Mistral Small 3.1: 3 × 5120
FLUX2_KLEIN_9B_TEXT_WIDTH = 12288  # Qwen3-8B: 3 × 4096
SD2_TEXT_WIDTH = 1024  # OpenCLIP ViT-H; SD 1.x uses CLIP ViT-L (768)
FLUX_FILL_IN_CHANNELS = 384  # 64 packed latent + 64 packed masked image + 256 packed mask
_KEY_PREFIXES = ("model.diffusion_model.", "diffusion_model.", "transformer.")


def family_from_configs(read: ConfigReader, name_hint: str = "") -> tuple[str, tuple[str, ...]]:
    """(family, variants) of a diffusers pipeline whose JSON files `read(relpath)` returns."""
    index = read("model_index.json") or {}
    family, variants = PIPELINE_FAMILIES.get(str(index.get("_class_name")), (UNKNOWN, ()))
    found = list(variants)
    if family == "sd1":
        text = read("text_encoder/config.json") or {}
        if text.get("hidden_size") == SD2_TEXT_WIDTH:
            family = "sd2"
    elif family == "flux1" and not found:
        transformer = read("transformer/config.json") or {}
        if transformer.get("guidance_embeds") is False:
            found.append("schnell")
    elif family == "flux2-klein":
        # The pipeline runs true CFG unless its config says the model is distilled.
        if not index.get("is_distilled", False):
            found.append("base")
        transformer = read("transformer/config.json") or {}
        if transformer.get("joint_attention_dim") == FLUX2_KLEIN_9B_TEXT_WIDTH:
            found.append("9b")
    return family, (*found, *_speed_variants(family, name_hint))


def family_from_tensors(shapes: dict[str, list[int]],
                        name_hint: str = "") -> tuple[str, tuple[str, ...]]:
    """(family, variants) of a single .safetensors file from its tensor names and shapes.

    Handles the original layouts (A1111/ComfyUI checkpoints, Black Forest Labs' files) and
    diffusers' own (a denoiser saved with save_pretrained)."""
    raw = set(shapes)
    if any(k.startswith("conditioner.embedders.1.") for k in raw):
        return "sdxl", _speed_variants("sdxl", name_hint)
    if any(k.startswith("cond_stage_model.model.") for k in raw):
        return "sd2", ()
    if any(k.startswith("cond_stage_model.transformer.") for k in raw):
        return "sd1", ()
    norm = {_strip_prefix(k): v for k, v in shapes.items()}
    keys = set(norm)
    if any(k.startswith("single_stream_modulation.") for k in keys):
        text = norm.get("txt_in.weight") or norm.get("context_embedder.weight") or [0, 0]
        if text[-1] == FLUX2_DEV_TEXT_WIDTH:
            return "flux2", ()
        return "flux2-klein", ("9b",) if text[-1] == FLUX2_KLEIN_9B_TEXT_WIDTH else ()
    if "double_blocks.0.img_attn.norm.key_norm.scale" in keys or (
        "x_embedder.weight" in keys and any(k.startswith("single_transformer_blocks.")
                                            for k in keys)
    ):
        image_in = norm.get("img_in.weight") or norm.get("x_embedder.weight") or [0, 0]
        if image_in[-1] == FLUX_FILL_IN_CHANNELS:
            return "flux1", ("fill",)
        dev = "guidance_in.in_layer.weight" in keys or any(
            k.startswith("time_text_embed.guidance_embedder.") for k in keys)
        return "flux1", () if dev else ("schnell",)
    if any(k.startswith("joint_blocks.") for k in keys) or (
        "pos_embed.proj.weight" in keys and "context_embedder.weight" in keys
    ):
        return "sd3", _speed_variants("sd3", name_hint)
    if "txt_norm.weight" in keys and any(".img_mod." in k for k in keys):
        return "qwen-image", ()
    if any(k.startswith("cap_embedder.") for k in keys) and any(
        k.startswith("context_refiner.") for k in keys
    ):
        return "z-image", ()
    if any(k.startswith("model.diffusion_model.") for k in raw):
        return "sd1", ()  # an SD 1.x UNet saved without its text encoder
    return UNKNOWN, ()


def is_denoiser_only(shapes: dict[str, list[int]]) -> bool:
    """True for a file with only the transformer (FLUX, Qwen, Z-Image files usually are);
    False for a whole checkpoint with its text encoders and VAE."""
    return not any(k.startswith(("cond_stage_model.", "conditioner.", "text_encoders.",
                                 "first_stage_model.", "vae.")) for k in shapes)


def _strip_prefix(key: str) -> str:
    for prefix in _KEY_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def _speed_variants(family: str, name_hint: str) -> tuple[str, ...]:
    name = name_hint.lower()
    if family in ("sdxl", "sd3") and "turbo" in name:
        return ("turbo",)
    if family == "sdxl" and "lightning" in name:
        return ("lightning",)
    return ()
