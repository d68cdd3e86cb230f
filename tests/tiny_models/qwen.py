"""Qwen-Image, Qwen-Image-Edit and Qwen-Image-Edit-Plus, tiny and random.

A Qwen2.5-VL text encoder (two 16-wide layers, a one-block vision tower) over the local
byte-level Qwen tokenizer, whose special-token ids the model's config repeats; the real
16-channel, 8x AutoencoderKLQwenImage layout (its real latents mean/std), narrowed.

The edit pipelines always VAE-encode their input image at about 1024x1024 (the pipelines
resize it so), which is most of their run time here.
"""

from __future__ import annotations

from tests.tiny_models.tokenizers import (
    QWEN_TOKEN_IDS,
    QWEN_VOCAB_SIZE,
    qwen2_vl_processor,
    qwen_tokenizer,
)

_TEXT_WIDTH = 16


def _text_encoder(seed: int):
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = QWEN_TOKEN_IDS
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=QWEN_VOCAB_SIZE, hidden_size=_TEXT_WIDTH, intermediate_size=16,
            num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
            max_position_embeddings=4096, bos_token_id=ids["bos_token_id"],
            eos_token_id=ids["eos_token_id"], pad_token_id=ids["pad_token_id"],
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                             "mrope_section": [1, 1, 2]},
        ),
        vision_config=dict(
            depth=2, hidden_size=16, intermediate_size=16, num_heads=2,
            out_hidden_size=_TEXT_WIDTH, patch_size=14, spatial_merge_size=2,
            temporal_patch_size=2, window_size=112, fullatt_block_indexes=[1],
        ),
        image_token_id=ids["image_token_id"], video_token_id=ids["video_token_id"],
        vision_start_token_id=ids["vision_start_token_id"],
        vision_end_token_id=ids["vision_end_token_id"],
    )
    torch.manual_seed(seed)
    return Qwen2_5_VLForConditionalGeneration(config).eval()


def _components(seed: int) -> dict:
    import torch
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImageTransformer2DModel,
    )

    torch.manual_seed(seed)
    transformer = QwenImageTransformer2DModel(
        patch_size=2, in_channels=16 * 4, out_channels=16, num_layers=1,
        attention_head_dim=16, num_attention_heads=2, joint_attention_dim=_TEXT_WIDTH,
        guidance_embeds=False, axes_dims_rope=(8, 4, 4),
    )
    torch.manual_seed(seed)
    vae = AutoencoderKLQwenImage(
        base_dim=2, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=1.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=0.9,
        base_image_seq_len=256, max_image_seq_len=8192, shift_terminal=0.02,
        time_shift_type="exponential",
    )
    return dict(transformer=transformer, vae=vae, scheduler=scheduler,
                text_encoder=_text_encoder(seed), tokenizer=qwen_tokenizer())


def build_qwen_image(seed: int = 0):
    """QwenImagePipeline (text to image)."""
    from diffusers import QwenImagePipeline

    return QwenImagePipeline(**_components(seed))


def build_qwen_image_edit(seed: int = 0):
    """QwenImageEditPipeline: `image=` in; needs torchvision (see qwen2_vl_processor)."""
    from diffusers import QwenImageEditPipeline

    components = _components(seed)
    return QwenImageEditPipeline(
        **components, processor=qwen2_vl_processor(components["tokenizer"]))


def build_qwen_image_edit_plus(seed: int = 0):
    """QwenImageEditPlusPipeline: one or more `image=` in; needs torchvision too."""
    from diffusers import QwenImageEditPlusPipeline

    components = _components(seed)
    return QwenImageEditPlusPipeline(
        **components, processor=qwen2_vl_processor(components["tokenizer"]))
