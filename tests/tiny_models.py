"""Tiny Stable Diffusion pipelines with random weights, built offline from configs.

The shapes follow diffusers' own `get_dummy_components()` for SD 1.x and SDXL, so the
real pipeline classes run end to end in well under a second on a CPU. The tokenizer is
a byte-level CLIP BPE with no merges, written to disk, so nothing is fetched from a hub.

    python -m tests.tiny_models OUT_DIR [--sdxl]    # writes a loadable diffusers folder
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _bytes_to_unicode() -> dict[int, str]:
    # The same byte -> printable-character table CLIP and GPT-2 tokenizers use.
    visible = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1)
    )
    chars = visible[:]
    extra = 0
    for b in range(256):
        if b not in visible:
            visible.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(visible, map(chr, chars), strict=True))


def write_tiny_tokenizer(folder: Path) -> None:
    """A CLIP tokenizer whose vocabulary is every byte, alone and word-final."""
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    symbols = list(_bytes_to_unicode().values())
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 2, "!!pad!!": 1}
    for token in symbols + [s + "</w>" for s in symbols]:
        vocab.setdefault(token, len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = CLIPTokenizer(
        vocab_file=str(folder / "vocab.json"),
        merges_file=str(folder / "merges.txt"),
        model_max_length=77,
        pad_token="<|endoftext|>",
    )
    tokenizer.save_pretrained(folder)


def _text_config(**overrides):
    from transformers import CLIPTextConfig

    config = dict(
        bos_token_id=0, eos_token_id=2, pad_token_id=1, hidden_size=32, intermediate_size=37,
        layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=3, vocab_size=1000,
        max_position_embeddings=77,
    )
    config.update(overrides)
    return CLIPTextConfig(**config)


def build_sd15(seed: int = 0):
    """A tiny StableDiffusionPipeline (SD 1.x layout), random weights, on the CPU."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=32, in_channels=4,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
        norm_num_groups=2,
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=False, steps_offset=1,
    )
    torch.manual_seed(seed)
    vae = AutoencoderKL(
        block_out_channels=[4, 8], in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4,
        norm_num_groups=2,
    )
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(_text_config())
    return StableDiffusionPipeline(
        unet=unet, scheduler=scheduler, vae=vae, text_encoder=text_encoder,
        tokenizer=_tokenizer(CLIPTokenizer), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )


def build_sdxl(seed: int = 0):
    """A tiny StableDiffusionXLPipeline (two text encoders, micro-conditioning), on the CPU."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(2, 4), layers_per_block=2, sample_size=32, in_channels=4,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(2, 4),
        use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2), projection_class_embeddings_input_dim=80,
        cross_attention_dim=64, norm_num_groups=1,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, steps_offset=1, beta_schedule="scaled_linear",
        timestep_spacing="leading",
    )
    torch.manual_seed(seed)
    vae = AutoencoderKL(
        block_out_channels=[4, 8], in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4,
        norm_num_groups=2, sample_size=128,
    )
    torch.manual_seed(seed)
    text_config = _text_config(hidden_act="gelu", projection_dim=32)
    text_encoder = CLIPTextModel(text_config)
    text_encoder_2 = CLIPTextModelWithProjection(text_config)
    tokenizer = _tokenizer(CLIPTokenizer)
    return StableDiffusionXLPipeline(
        unet=unet, scheduler=scheduler, vae=vae, text_encoder=text_encoder,
        text_encoder_2=text_encoder_2, tokenizer=tokenizer, tokenizer_2=tokenizer,
        force_zeros_for_empty_prompt=True,
    )


def _tokenizer(tokenizer_class):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_tiny_tokenizer(Path(tmp))
        return tokenizer_class.from_pretrained(tmp)


def save_tiny_pipeline(out_dir: Path, *, sdxl: bool = False, seed: int = 0) -> Path:
    """Write a diffusers folder (safetensors only) that `from_pretrained` loads offline."""
    pipeline = build_sdxl(seed) if sdxl else build_sd15(seed)
    pipeline.save_pretrained(out_dir, safe_serialization=True)
    return out_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--sdxl", action="store_true", help="SDXL layout instead of SD 1.x")
    args = parser.parse_args()
    print(save_tiny_pipeline(args.out_dir, sdxl=args.sdxl))


if __name__ == "__main__":
    main()
