"""Z-Image (Turbo layout), tiny and random: a Qwen3 text encoder, the single-stream DiT, and
FLUX.1's 16-channel 8x VAE layout (which Z-Image uses)."""

from __future__ import annotations

from tests.tiny_models.sd import kl_vae
from tests.tiny_models.tokenizers import QWEN_TOKEN_IDS, QWEN_VOCAB_SIZE, qwen3_tokenizer

_TEXT_WIDTH = 16


def build_z_image(seed: int = 0):
    """ZImagePipeline: the pipeline takes the text encoder's second-to-last hidden layer."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, ZImagePipeline, ZImageTransformer2DModel
    from transformers import Qwen3Config, Qwen3Model

    torch.manual_seed(seed)
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,), all_f_patch_size=(1,), in_channels=16, dim=32, n_layers=1,
        n_refiner_layers=1, n_heads=2, n_kv_heads=2, norm_eps=1e-5, qk_norm=True,
        cap_feat_dim=_TEXT_WIDTH, rope_theta=256.0, t_scale=1000.0, axes_dims=[8, 4, 4],
        axes_lens=[1024, 512, 512],
    )
    # Both pad tokens are made with torch.empty: give them values, or a run may see NaNs.
    with torch.no_grad():
        transformer.x_pad_token.copy_(torch.ones_like(transformer.x_pad_token))
        transformer.cap_pad_token.copy_(torch.ones_like(transformer.cap_pad_token))
    torch.manual_seed(seed)
    text_encoder = Qwen3Model(Qwen3Config(
        vocab_size=QWEN_VOCAB_SIZE, hidden_size=_TEXT_WIDTH, intermediate_size=16,
        num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=8,
        max_position_embeddings=1024, bos_token_id=QWEN_TOKEN_IDS["bos_token_id"],
        eos_token_id=QWEN_TOKEN_IDS["eos_token_id"], pad_token_id=QWEN_TOKEN_IDS["pad_token_id"],
    ))
    return ZImagePipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=False),
        vae=kl_vae(16, seed, scaling_factor=0.3611, shift_factor=0.1159,
                   use_quant_conv=False, use_post_quant_conv=False),
        text_encoder=text_encoder, tokenizer=qwen3_tokenizer(), transformer=transformer,
    )
