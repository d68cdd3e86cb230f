"""Family and variant detection from configs and tensor names, never from the name alone."""

from __future__ import annotations

import pytest

from backends.families import family_profile
from backends.local.detect import family_from_configs, family_from_tensors, is_denoiser_only


def _reader(files: dict[str, dict]):
    return files.get


@pytest.mark.parametrize(
    ("files", "name", "expected"),
    [
        ({"model_index.json": {"_class_name": "StableDiffusionPipeline"},
          "text_encoder/config.json": {"hidden_size": 768}}, "x", ("sd1", ())),
        ({"model_index.json": {"_class_name": "StableDiffusionPipeline"},
          "text_encoder/config.json": {"hidden_size": 1024}}, "x", ("sd2", ())),
        ({"model_index.json": {"_class_name": "StableDiffusionXLPipeline"}}, "sdxl-lightning",
         ("sdxl", ("lightning",))),
        ({"model_index.json": {"_class_name": "StableDiffusion3Pipeline"}},
         "stable-diffusion-3.5-large-turbo", ("sd3", ("turbo",))),
        ({"model_index.json": {"_class_name": "FluxPipeline"},
          "transformer/config.json": {"guidance_embeds": False}}, "x", ("flux1", ("schnell",))),
        ({"model_index.json": {"_class_name": "FluxPipeline"},
          "transformer/config.json": {"guidance_embeds": True}}, "schnell-ish name",
         ("flux1", ())),
        ({"model_index.json": {"_class_name": "FluxFillPipeline"}}, "x", ("flux1", ("fill",))),
        ({"model_index.json": {"_class_name": "FluxKontextPipeline"}}, "x",
         ("flux1", ("kontext",))),
        ({"model_index.json": {"_class_name": "Flux2Pipeline"}}, "x", ("flux2", ())),
        ({"model_index.json": {"_class_name": "Flux2KleinPipeline", "is_distilled": True},
          "transformer/config.json": {"joint_attention_dim": 7680}}, "x", ("flux2-klein", ())),
        ({"model_index.json": {"_class_name": "Flux2KleinPipeline", "is_distilled": False},
          "transformer/config.json": {"joint_attention_dim": 12288}}, "x",
         ("flux2-klein", ("base", "9b"))),
        ({"model_index.json": {"_class_name": "QwenImagePipeline"}}, "x", ("qwen-image", ())),
        ({"model_index.json": {"_class_name": "QwenImageEditPipeline"}}, "x",
         ("qwen-image-edit", ())),
        ({"model_index.json": {"_class_name": "QwenImageEditPlusPipeline"}}, "x",
         ("qwen-image-edit", ("plus",))),
        ({"model_index.json": {"_class_name": "ZImagePipeline"}}, "x", ("z-image", ())),
        ({"model_index.json": {"_class_name": "SomeOtherPipeline"}}, "flux-turbo-xl",
         ("unknown", ())),
    ],
)
def test_a_folder_family_comes_from_its_configs(files, name, expected) -> None:
    assert family_from_configs(_reader(files), name) == expected


@pytest.mark.parametrize(
    ("shapes", "expected"),
    [
        # Black Forest Labs / ComfyUI layouts
        ({"double_blocks.0.img_attn.norm.key_norm.scale": [128], "img_in.weight": [3072, 64],
          "guidance_in.in_layer.weight": [3072, 256]}, ("flux1", ())),
        ({"model.diffusion_model.double_blocks.0.img_attn.norm.key_norm.scale": [128],
          "model.diffusion_model.img_in.weight": [3072, 64]}, ("flux1", ("schnell",))),
        ({"double_blocks.0.img_attn.norm.key_norm.scale": [128], "img_in.weight": [3072, 384],
          "guidance_in.in_layer.weight": [3072, 256]}, ("flux1", ("fill",))),
        ({"single_stream_modulation.lin.weight": [1], "txt_in.weight": [3072, 7680]},
         ("flux2-klein", ())),
        ({"single_stream_modulation.lin.weight": [1], "txt_in.weight": [4096, 12288]},
         ("flux2-klein", ("9b",))),
        ({"single_stream_modulation.lin.weight": [1], "txt_in.weight": [6144, 15360]},
         ("flux2", ())),
        ({"model.diffusion_model.joint_blocks.0.context_block.adaLN_modulation.1.bias": [1]},
         ("sd3", ())),
        ({"txt_norm.weight": [3584], "transformer_blocks.0.img_mod.1.weight": [1]},
         ("qwen-image", ())),
        ({"cap_embedder.1.weight": [1], "context_refiner.0.attention.to_q.weight": [1]},
         ("z-image", ())),
        # diffusers' own layout (a transformer saved with save_pretrained)
        ({"x_embedder.weight": [3072, 64], "single_transformer_blocks.0.proj_mlp.weight": [1],
          "time_text_embed.guidance_embedder.linear_1.weight": [1]}, ("flux1", ())),
        ({"transformer.x_embedder.weight": [3072, 64],
          "transformer.single_transformer_blocks.0.proj_mlp.weight": [1]},
         ("flux1", ("schnell",))),
        ({"pos_embed.proj.weight": [1], "context_embedder.weight": [1],
          "transformer_blocks.0.attn.to_q.weight": [1]}, ("sd3", ())),
    ],
)
def test_a_single_file_family_comes_from_its_tensors(shapes, expected) -> None:
    assert family_from_tensors(shapes, "renamed-to-anything.safetensors") == expected


def test_the_file_name_alone_never_makes_a_family() -> None:
    assert family_from_tensors({"unrelated.weight": [1]}, "flux1-dev.safetensors") == \
        ("unknown", ())


def test_whole_checkpoints_and_denoiser_only_files_are_told_apart() -> None:
    assert not is_denoiser_only({"conditioner.embedders.1.x": [1], "model.diffusion_model.y": [1]})
    assert not is_denoiser_only({"text_encoders.clip_l.x": [1], "model.diffusion_model.y": [1]})
    assert is_denoiser_only({"double_blocks.0.img_attn.norm.key_norm.scale": [1]})


def test_each_detected_family_and_variant_has_a_profile() -> None:
    for family, variants in [("flux1", ("fill",)), ("flux2-klein", ("base", "9b")),
                             ("qwen-image-edit", ("plus",)), ("sdxl", ("lightning",))]:
        profile = family_profile(family, variants)
        assert profile is not None and profile.variant == "-".join(variants)
