"""Stable Diffusion 1.x, 2.x, XL and 3: tiny UNets / MMDiT with random weights.

SD 1.x and SDXL follow diffusers' own `get_dummy_components()` (their latents have 4
channels and the VAE downsamples by 2). SD 3 has the real 16-channel latent space and the
real 8x VAE downsampling, like the other transformer families.
"""

from __future__ import annotations

from tests.tiny_models.tokenizers import (
    CLIP_VOCAB_SIZE,
    T5_VOCAB_SIZE,
    clip_tokenizer,
    t5_tokenizer,
)


def clip_config(**overrides):
    from transformers import CLIPTextConfig

    config = dict(
        bos_token_id=0, eos_token_id=2, pad_token_id=1, hidden_size=32, intermediate_size=37,
        layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=3,
        vocab_size=CLIP_VOCAB_SIZE, max_position_embeddings=77,
    )
    config.update(overrides)
    return CLIPTextConfig(**config)


def t5_encoder(d_model: int, seed: int):
    """A one-layer T5 encoder over the character-level T5 tokenizer's ids."""
    import torch
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    return T5EncoderModel(T5Config(
        vocab_size=T5_VOCAB_SIZE, d_model=d_model, d_kv=8, d_ff=37, num_layers=1, num_heads=2,
        relative_attention_num_buckets=8, relative_attention_max_distance=32,
        feed_forward_proj="gated-gelu", pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    ))


# The 4-level (8x) encoder/decoder layout of the transformer families' VAEs, narrowed.
VAE_8X = dict(
    in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(2, 4, 4, 4),
    layers_per_block=1, norm_num_groups=2, sample_size=32, mid_block_add_attention=False,
)


def kl_vae(latent_channels: int, seed: int, **config):
    """An AutoencoderKL that downsamples 8x (as SD3/FLUX.1/Z-Image's do) with tiny widths.

    Without the mid-block attention the real ones have: at 1024x1024 (where FLUX Kontext
    always encodes its input image) it is a 16384-token attention, seconds on a CPU."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return AutoencoderKL(**VAE_8X, latent_channels=latent_channels, **config)


def _small_unet_vae(seed: int):
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return AutoencoderKL(
        block_out_channels=[4, 8], in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4,
        norm_num_groups=2,
    )


def build_sd15(seed: int = 0):
    """A tiny StableDiffusionPipeline (SD 1.x layout), random weights, on the CPU."""
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

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
    vae = _small_unet_vae(seed)
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(clip_config())
    return StableDiffusionPipeline(
        unet=unet, scheduler=scheduler, vae=vae, text_encoder=text_encoder,
        tokenizer=clip_tokenizer(), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )


def build_sd2(seed: int = 0):
    """A tiny SD 2.x StableDiffusionPipeline: a 1024-wide text encoder (how Studio tells SD 2
    from SD 1), linear-projection attention, v-prediction (as SD 2.1 at 768 px).

    The text encoder has no transformer layer: one 1024-wide layer alone would be 17 MB of
    weights. It is its token and position embeddings and the final layer norm, so its
    `hidden_states` hold one entry (a `clip_skip` above 0 has no layer to skip to)."""
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=32, in_channels=4,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=1024,
        attention_head_dim=(2, 4), use_linear_projection=True, norm_num_groups=2,
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=False, steps_offset=1, prediction_type="v_prediction",
        timestep_spacing="leading",
    )
    vae = _small_unet_vae(seed)
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(clip_config(
        hidden_size=1024, num_attention_heads=16, num_hidden_layers=0, hidden_act="gelu",
        vocab_size=515,
    ))
    return StableDiffusionPipeline(
        unet=unet, scheduler=scheduler, vae=vae, text_encoder=text_encoder,
        tokenizer=clip_tokenizer(), safety_checker=None, feature_extractor=None,
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
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

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
    text_config = clip_config(hidden_act="gelu", projection_dim=32)
    text_encoder = CLIPTextModel(text_config)
    text_encoder_2 = CLIPTextModelWithProjection(text_config)
    tokenizer = clip_tokenizer()
    return StableDiffusionXLPipeline(
        unet=unet, scheduler=scheduler, vae=vae, text_encoder=text_encoder,
        text_encoder_2=text_encoder_2, tokenizer=tokenizer, tokenizer_2=tokenizer,
        force_zeros_for_empty_prompt=True,
    )


def build_sd3(seed: int = 0):
    """A tiny StableDiffusion3Pipeline: two CLIPs with projection, a T5, the MMDiT, and a
    16-channel 8x VAE (SD3's scaling and shift)."""
    import torch
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        SD3Transformer2DModel,
        StableDiffusion3Pipeline,
    )
    from transformers import CLIPTextModelWithProjection

    # The two CLIPs' hidden states (32 + 32) are padded to the T5's width (64): joint dim.
    torch.manual_seed(seed)
    transformer = SD3Transformer2DModel(
        sample_size=32, patch_size=2, in_channels=16, out_channels=16, num_layers=1,
        attention_head_dim=8, num_attention_heads=4, joint_attention_dim=64,
        caption_projection_dim=32, pooled_projection_dim=64, pos_embed_max_size=32,
    )
    text_config = clip_config(hidden_act="gelu", projection_dim=32, num_hidden_layers=2)
    torch.manual_seed(seed)
    text_encoder = CLIPTextModelWithProjection(text_config)
    torch.manual_seed(seed + 1)
    text_encoder_2 = CLIPTextModelWithProjection(text_config)
    tokenizer = clip_tokenizer()
    return StableDiffusion3Pipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=kl_vae(16, seed, scaling_factor=1.5305, shift_factor=0.0609,
                   use_quant_conv=False, use_post_quant_conv=False),
        text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer,
        text_encoder_3=t5_encoder(64, seed), tokenizer_3=t5_tokenizer(),
    )
