"""Full-size diffusers pipelines with random weights, built from configs, for benchmarks/speed.py.

Nothing is downloaded: the architectures are the real ones (checked against the config.json
files of stable-diffusion-v1-5, stable-diffusion-xl-base-1.0 / sdxl-turbo and FLUX.1-dev /
FLUX.1-schnell, and against the diffusers 0.42 / transformers 5 config classes), the weights
are the constructors' own random initialisation, and the tokenizers are the small local ones
of `tests.tiny_models.tokenizers` (their ids fit in the real vocabularies; prompts are padded
to the real lengths, 77 CLIP tokens and 512 T5 tokens, so the text encoders do the real
work).

Each module is built on the target device in float32 after `torch.manual_seed(seed + k)`
(k fixed per component), then cast to the target dtype: the same seed gives the same weights
(up to rounding) in every dtype and every profile. Casting goes parameter by parameter, so
FLUX's 12B transformer peaks at its float32 size (about 48 GB) once, while it is built.
"""

from __future__ import annotations

from typing import Any

# --- SD 1.5 (stable-diffusion-v1-5) ----------------------------------------------------------

SD15_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    attention_head_dim=8, cross_attention_dim=768, norm_num_groups=32, norm_eps=1e-5,
    act_fn="silu", flip_sin_to_cos=True, freq_shift=0, downsample_padding=1,
    mid_block_scale_factor=1,
)
VAE_4CH = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    norm_num_groups=32, act_fn="silu",
)
SD15_VAE = dict(VAE_4CH, sample_size=512, scaling_factor=0.18215)
# The local CLIP tokenizer's special ids (bos 0, eos 2, pad 1) instead of the real 49406/49407:
# only which token the pooled output is read from changes, not the work.
CLIP_IDS = dict(bos_token_id=0, eos_token_id=2, pad_token_id=1)
CLIP_L = dict(
    vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
    num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
    layer_norm_eps=1e-5, projection_dim=768, **CLIP_IDS,
)
SD15_SCHEDULER = dict(
    num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
    beta_schedule="scaled_linear", skip_prk_steps=True, set_alpha_to_one=False,
    steps_offset=1,
)

# --- SDXL base 1.0 (and SDXL Turbo, the same networks) ---------------------------------------

SDXL_UNET = dict(
    sample_size=128, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=(1, 2, 10), attention_head_dim=(5, 10, 20),
    cross_attention_dim=2048, use_linear_projection=True, addition_embed_type="text_time",
    addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816,
    norm_num_groups=32, norm_eps=1e-5, act_fn="silu", flip_sin_to_cos=True, freq_shift=0,
)
SDXL_VAE = dict(VAE_4CH, sample_size=1024, scaling_factor=0.13025, force_upcast=True)
OPENCLIP_BIGG = dict(
    vocab_size=49408, hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
    num_attention_heads=20, max_position_embeddings=77, hidden_act="gelu",
    layer_norm_eps=1e-5, projection_dim=1280, **CLIP_IDS,
)
SDXL_EULER = dict(
    num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
    beta_schedule="scaled_linear", prediction_type="epsilon", steps_offset=1,
    interpolation_type="linear", timestep_spacing="leading", use_karras_sigmas=False,
)
# sdxl-turbo: Euler ancestral with trailing timesteps (one step lands on t = 999).
SDXL_TURBO_SCHEDULER = dict(
    num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
    beta_schedule="scaled_linear", prediction_type="epsilon", steps_offset=1,
    timestep_spacing="trailing",
)

# --- FLUX.1 [dev] / [schnell] ----------------------------------------------------------------

FLUX_TRANSFORMER = dict(
    patch_size=1, in_channels=64, num_layers=19, num_single_layers=38, attention_head_dim=128,
    num_attention_heads=24, joint_attention_dim=4096, pooled_projection_dim=768,
    axes_dims_rope=(16, 56, 56),
)
FLUX_VAE = dict(
    VAE_4CH, latent_channels=16, sample_size=1024, scaling_factor=0.3611, shift_factor=0.1159,
    use_quant_conv=False, use_post_quant_conv=False, mid_block_add_attention=True,
    force_upcast=True,
)
T5_XXL = dict(  # google/t5-v1_1-xxl, the encoder half (FLUX's text_encoder_2)
    vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
    relative_attention_num_buckets=32, relative_attention_max_distance=128,
    feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6, dropout_rate=0.1,
    tie_word_embeddings=False, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
)
FLUX_DEV_SCHEDULER = dict(
    num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True, base_shift=0.5,
    max_shift=1.15, base_image_seq_len=256, max_image_seq_len=4096,
)
FLUX_SCHNELL_SCHEDULER = dict(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False)


def _module(factory: Any, seed: int, device: str, dtype: Any) -> Any:
    """One component: seeded, built on `device` in float32, cast to `dtype`, in eval mode
    (a freshly constructed model trains: T5's dropout would change every image)."""
    import torch

    torch.manual_seed(seed)
    with torch.device(device):
        module = factory()
    return module.to(dtype=dtype).eval()


def _clip_text(config: dict, *, projection: bool, seed: int, device: str, dtype: Any) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    cls = CLIPTextModelWithProjection if projection else CLIPTextModel
    return _module(lambda: cls(CLIPTextConfig(**config)), seed, device, dtype)


def build_sd15(device: str, dtype: Any, seed: int = 0) -> Any:
    """StableDiffusionPipeline with SD 1.5's UNet (860M), VAE and CLIP ViT-L/14 text encoder."""
    from diffusers import (
        AutoencoderKL,
        PNDMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )

    from tests.tiny_models.tokenizers import clip_tokenizer

    return StableDiffusionPipeline(
        unet=_module(lambda: UNet2DConditionModel(**SD15_UNET), seed, device, dtype),
        vae=_module(lambda: AutoencoderKL(**SD15_VAE), seed + 1, device, dtype),
        text_encoder=_clip_text(CLIP_L, projection=False, seed=seed + 2, device=device,
                                dtype=dtype),
        tokenizer=clip_tokenizer(), scheduler=PNDMScheduler(**SD15_SCHEDULER),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def build_sdxl(device: str, dtype: Any, seed: int = 0, *, turbo: bool = False) -> Any:
    """StableDiffusionXLPipeline with SDXL base's UNet (2.6B), VAE, CLIP ViT-L and OpenCLIP
    bigG (695M). `turbo`: SDXL Turbo's scheduler (the networks are the same)."""
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )

    from tests.tiny_models.tokenizers import clip_tokenizer

    scheduler = (EulerAncestralDiscreteScheduler(**SDXL_TURBO_SCHEDULER) if turbo
                 else EulerDiscreteScheduler(**SDXL_EULER))
    tokenizer = clip_tokenizer()
    return StableDiffusionXLPipeline(
        unet=_module(lambda: UNet2DConditionModel(**SDXL_UNET), seed, device, dtype),
        vae=_module(lambda: AutoencoderKL(**SDXL_VAE), seed + 1, device, dtype),
        text_encoder=_clip_text(CLIP_L, projection=False, seed=seed + 2, device=device,
                                dtype=dtype),
        text_encoder_2=_clip_text(OPENCLIP_BIGG, projection=True, seed=seed + 3,
                                  device=device, dtype=dtype),
        tokenizer=tokenizer, tokenizer_2=tokenizer, scheduler=scheduler,
        force_zeros_for_empty_prompt=True,
    )


def build_flux(device: str, dtype: Any, seed: int = 0, *, schnell: bool = False) -> Any:
    """FluxPipeline with FLUX.1's 12B transformer, T5-XXL encoder (4.7B), CLIP ViT-L and the
    16-channel VAE. Default: [dev] (guidance embedding, dynamic shift); `schnell`: no
    guidance embedding, static shift 1."""
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        FluxPipeline,
        FluxTransformer2DModel,
    )
    from transformers import T5Config, T5EncoderModel

    from tests.tiny_models.tokenizers import clip_tokenizer, t5_tokenizer

    transformer = _module(
        lambda: FluxTransformer2DModel(**FLUX_TRANSFORMER, guidance_embeds=not schnell),
        seed, device, dtype)
    return FluxPipeline(
        transformer=transformer,
        vae=_module(lambda: AutoencoderKL(**FLUX_VAE), seed + 1, device, dtype),
        text_encoder=_clip_text(CLIP_L, projection=False, seed=seed + 2, device=device,
                                dtype=dtype),
        text_encoder_2=_module(lambda: T5EncoderModel(T5Config(**T5_XXL)), seed + 3, device,
                               dtype),
        tokenizer=clip_tokenizer(), tokenizer_2=t5_tokenizer(),
        scheduler=FlowMatchEulerDiscreteScheduler(
            **(FLUX_SCHNELL_SCHEDULER if schnell else FLUX_DEV_SCHEDULER)),
    )


def build_full(kind: str, device: str, dtype: Any, seed: int = 0) -> Any:
    """kind: sd15, sdxl, sdxl-turbo, flux (FLUX.1 [dev]) or flux-schnell."""
    builders = {
        "sd15": lambda: build_sd15(device, dtype, seed),
        "sdxl": lambda: build_sdxl(device, dtype, seed),
        "sdxl-turbo": lambda: build_sdxl(device, dtype, seed, turbo=True),
        "flux": lambda: build_flux(device, dtype, seed),
        "flux-schnell": lambda: build_flux(device, dtype, seed, schnell=True),
    }
    return builders[kind]()


# The tiny stand-ins (tests/tiny_models) for --tiny.
TINY_FAMILY = {"sd15": "sd1", "sdxl": "sdxl", "sdxl-turbo": "sdxl", "flux": "flux1-dev",
               "flux-schnell": "flux1"}


def build_tiny(kind: str, device: str, dtype: Any, seed: int = 0) -> Any:
    """The tiny random pipeline of tests/tiny_models standing in for `kind`, on `device`."""
    import torch

    from tests.tiny_models import build_pipeline

    pipeline = build_pipeline(TINY_FAMILY[kind], seed)
    pipeline.to(device=device, dtype=dtype)
    for component in pipeline.components.values():
        if isinstance(component, torch.nn.Module):
            component.eval()
    return pipeline


def parameter_count(pipeline: Any) -> dict[str, int]:
    """Parameters per torch component of a pipeline."""
    import torch

    return {name: sum(p.numel() for p in module.parameters())
            for name, module in pipeline.components.items()
            if isinstance(module, torch.nn.Module)}
