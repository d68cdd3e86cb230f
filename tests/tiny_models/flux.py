"""FLUX.1 (schnell-like, dev-like, Fill, Kontext), FLUX.2 klein and [dev], tiny and random.

The latent spaces are the real ones (FLUX.1: 16 channels, FLUX.2: 32), the VAEs downsample
8x as the real ones do, and FLUX.1 Fill's transformer takes the real 384 input channels
(64 packed latent + 64 packed masked image + 256 packed mask), so code that reads shapes
from the configs sees what it would see with the real models, only narrower and shallower.

FLUX.2 [dev]'s `tokenizer` component is a PixtralProcessor, which transformers 5 constructs
only with torchvision installed.
"""

from __future__ import annotations

from tests.tiny_models.sd import VAE_8X, clip_config, kl_vae, t5_encoder
from tests.tiny_models.tokenizers import (
    QWEN_TOKEN_IDS,
    QWEN_VOCAB_SIZE,
    clip_tokenizer,
    qwen3_tokenizer,
    t5_tokenizer,
)

# FLUX.1: the T5's width is the transformer's joint attention dim; the CLIP's pooled output
# (its hidden size) is the pooled projection.
_FLUX1_T5_WIDTH = 32
_FLUX1_CLIP_WIDTH = 32


def _flux1_components(seed: int, *, guidance_embeds: bool, in_channels: int = 64,
                      out_channels: int | None = None) -> dict:
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=in_channels, out_channels=out_channels, num_layers=1,
        num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=_FLUX1_T5_WIDTH, pooled_projection_dim=_FLUX1_CLIP_WIDTH,
        guidance_embeds=guidance_embeds, axes_dims_rope=(4, 4, 8),
    )
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(clip_config(
        hidden_size=_FLUX1_CLIP_WIDTH, hidden_act="gelu", projection_dim=32,
        num_hidden_layers=2,
    ))
    # The real schedulers: schnell's is static (shift 1), dev's shifts with the image size.
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=guidance_embeds, base_shift=0.5, max_shift=1.15,
        base_image_seq_len=256, max_image_seq_len=4096,
    ) if guidance_embeds else FlowMatchEulerDiscreteScheduler(shift=1.0)
    return dict(
        transformer=transformer, scheduler=scheduler,
        vae=kl_vae(16, seed, scaling_factor=0.3611, shift_factor=0.1159,
                   use_quant_conv=False, use_post_quant_conv=False),
        text_encoder=text_encoder, tokenizer=clip_tokenizer(),
        text_encoder_2=t5_encoder(_FLUX1_T5_WIDTH, seed), tokenizer_2=t5_tokenizer(),
    )


def build_flux1(seed: int = 0):
    """FluxPipeline, schnell-like: no guidance embedding (guidance_embeds=False)."""
    from diffusers import FluxPipeline

    return FluxPipeline(**_flux1_components(seed, guidance_embeds=False))


def build_flux1_dev(seed: int = 0):
    """FluxPipeline, dev-like: a guidance embedding (guidance_embeds=True)."""
    from diffusers import FluxPipeline

    return FluxPipeline(**_flux1_components(seed, guidance_embeds=True))


def build_flux1_fill(seed: int = 0):
    """FluxFillPipeline: image + mask in, 384 transformer input channels, 64 out."""
    from diffusers import FluxFillPipeline

    return FluxFillPipeline(**_flux1_components(
        seed, guidance_embeds=True, in_channels=64 + 64 + 256, out_channels=64))


def build_flux1_kontext(seed: int = 0):
    """FluxKontextPipeline: a dev-like transformer that also reads the image's latents."""
    from diffusers import FluxKontextPipeline

    return FluxKontextPipeline(**_flux1_components(seed, guidance_embeds=True))


# FLUX.2 klein stacks three of the Qwen3's hidden layers (9, 18, 27 by default), so the
# text encoder has 28 layers (16 wide: about 0.3 MB) and the joint attention dim is 3 x 16.
_KLEIN_TEXT_WIDTH = 16
_KLEIN_TEXT_LAYERS = 28


def build_flux2_klein(seed: int = 0):
    """Flux2KleinPipeline: a Qwen3ForCausalLM text encoder, a 32-channel AutoencoderKLFlux2
    (8x), a guidance-distilled transformer (`is_distilled=True`: no true CFG)."""
    import torch
    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2KleinPipeline,
        Flux2Transformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=32 * 4, num_layers=1, num_single_layers=1,
        attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=3 * _KLEIN_TEXT_WIDTH, timestep_guidance_channels=256,
        axes_dims_rope=(4, 4, 4, 4), guidance_embeds=False,
    )
    torch.manual_seed(seed)
    text_encoder = Qwen3ForCausalLM(Qwen3Config(
        vocab_size=QWEN_VOCAB_SIZE, hidden_size=_KLEIN_TEXT_WIDTH, intermediate_size=16,
        num_hidden_layers=_KLEIN_TEXT_LAYERS, num_attention_heads=2, num_key_value_heads=1,
        head_dim=8, max_position_embeddings=1024, tie_word_embeddings=True,
        bos_token_id=QWEN_TOKEN_IDS["bos_token_id"], eos_token_id=QWEN_TOKEN_IDS["eos_token_id"],
        pad_token_id=QWEN_TOKEN_IDS["pad_token_id"],
    ))
    torch.manual_seed(seed)
    vae = AutoencoderKLFlux2(**VAE_8X, latent_channels=32)
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
        base_image_seq_len=256, max_image_seq_len=4096, time_shift_type="exponential",
    )
    return Flux2KleinPipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=qwen3_tokenizer(),
        transformer=transformer, is_distilled=True,
    )


# FLUX.2 [dev] stacks Mistral Small's hidden layers 10, 20 and 30: 31 layers, 16 wide.
_FLUX2_TEXT_WIDTH = 16
_FLUX2_TEXT_LAYERS = 31


def build_flux2(seed: int = 0):
    """Flux2Pipeline (FLUX.2 [dev]): a Mistral3ForConditionalGeneration text encoder behind a
    PixtralProcessor (needs torchvision), guidance-embedding transformer, 32-channel VAE."""
    import torch
    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2Pipeline,
        Flux2Transformer2DModel,
    )
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration

    from tests.tiny_models.tokenizers import (
        MISTRAL_TOKEN_IDS,
        MISTRAL_VOCAB_SIZE,
        pixtral_processor,
    )

    tokenizer = pixtral_processor()  # first: without torchvision, fail before any work
    torch.manual_seed(seed)
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=32 * 4, num_layers=1, num_single_layers=1,
        attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=3 * _FLUX2_TEXT_WIDTH, timestep_guidance_channels=256,
        axes_dims_rope=(4, 4, 4, 4), guidance_embeds=True,
    )
    ids = MISTRAL_TOKEN_IDS
    config = Mistral3Config(
        text_config=dict(
            model_type="mistral", vocab_size=MISTRAL_VOCAB_SIZE, hidden_size=_FLUX2_TEXT_WIDTH,
            intermediate_size=16, num_hidden_layers=_FLUX2_TEXT_LAYERS, num_attention_heads=2,
            num_key_value_heads=1, head_dim=8, max_position_embeddings=1024,
            sliding_window=None, rope_theta=1000000000.0, bos_token_id=ids["bos_token_id"],
            eos_token_id=ids["eos_token_id"], pad_token_id=ids["pad_token_id"],
        ),
        vision_config=dict(
            model_type="pixtral", hidden_size=16, intermediate_size=16, num_hidden_layers=1,
            num_attention_heads=2, head_dim=8, image_size=56, patch_size=14,
        ),
        image_token_index=ids["image_token_index"], spatial_merge_size=2,
        vision_feature_layer=-1, tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    text_encoder = Mistral3ForConditionalGeneration(config).eval()
    torch.manual_seed(seed)
    vae = AutoencoderKLFlux2(**VAE_8X, latent_channels=32)
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
        base_image_seq_len=256, max_image_seq_len=4096, time_shift_type="exponential",
    )
    return Flux2Pipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder,
                         tokenizer=tokenizer, transformer=transformer)
