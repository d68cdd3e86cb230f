"""Step previews: a fast latent→RGB approximation of the image being denoised, no VAE decode.

`latent_preview` gets what diffusers' `callback_on_step_end` holds in `tensors["latents"]`.
Its layout depends on the pipeline (checked against the diffusers 0.42 sources):

- spatial (B, C, h, w), h = height / 8: StableDiffusion(XL)Pipeline and
  StableDiffusion3Pipeline `prepare_latents` (shape = (B, C, H // vae_scale_factor, ...));
  ZImagePipeline likewise, h = 2 * (height // 16), in FLUX.1-VAE space.
- packed (B, (h/2)·(w/2), 4·C), 2×2 patches, token (i, j) holds channels c·4 + dy·2 + dx:
  FluxPipeline._pack_latents and QwenImagePipeline._pack_latents (its (B, 1, C, h, w)
  frame axis folds away); Flux2Pipeline / Flux2KleinPipeline patchify the 32-channel
  latent to 128 channels (`_patchify_latents`, same channel order) and then flatten
  row-major (`_pack_latents`, position ids = cartesian_prod(h, w)), which is the same
  layout. All three keep the whole image in the denoiser's normalised space.

The family only picks the layout and the factor table; the channel count decides whether
that table fits, so tiny random test models still get a (generic) picture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image

from backends.local import preview_factors as fits

# Layouts are functions of one batch item and the requested size, giving (C, h, w) or None.
Unpack = Callable[[Any, int, int], Any]

# VAE downscales to try for packed latents; the real models all use 8, tiny test models less.
_VAE_SCALES = (8, 16, 4, 2, 1)


def _spatial(sample: Any, width: int, height: int) -> Any:
    if sample.ndim == 4 and sample.shape[1] == 1:  # (C, 1, h, w): one frame of a video VAE
        sample = sample[:, 0]
    return sample if sample.ndim == 3 else None


def _packed(sample: Any, width: int, height: int) -> Any:
    if sample.ndim != 2 or sample.shape[1] % 4:
        return None
    tokens, dim = sample.shape
    for scale in _VAE_SCALES:
        rows, cols = height // (2 * scale), width // (2 * scale)
        if rows > 0 and rows * cols == tokens:
            patches = sample.reshape(rows, cols, dim // 4, 2, 2)
            return patches.permute(2, 0, 3, 1, 4).reshape(dim // 4, rows * 2, cols * 2)
    return None


_FAMILIES: dict[str, tuple[Unpack, fits.Fit | None]] = {
    "sd1": (_spatial, fits.SD15),
    "sd2": (_spatial, fits.SD15),
    "sdxl": (_spatial, fits.SDXL),
    "sd3": (_spatial, fits.SD3),
    "z-image": (_spatial, fits.FLUX1),
    "flux1": (_packed, fits.FLUX1),
    "flux2": (_packed, fits.FLUX2),
    "flux2-klein": (_packed, fits.FLUX2),
    "qwen-image": (_packed, fits.WAN21),
    "qwen-image-edit": (_packed, fits.WAN21),
}


def latent_preview(latents: Any, family: str, width: int, height: int) -> Image.Image | None:
    """The first image of a latent batch as a small RGB picture at latent resolution.

    Returns None, never raises, when the tensor does not fit the family's layout.
    """
    import torch

    if not isinstance(latents, torch.Tensor) or latents.ndim < 3 or latents.numel() == 0:
        return None
    unpack, fit = _FAMILIES.get(family, (_packed if latents.ndim == 3 else _spatial, None))
    try:  # a preview must never stop a generation
        sample = latents[0].detach().to("cpu", torch.float32)
        image = unpack(sample, int(width), int(height))
        if image is None:
            return None
        if fit is not None and len(fit.factors) == image.shape[0]:
            rgb = _fitted(image, fit)
        else:  # e.g. a tiny test model's 1- or 4-channel VAE in a 16-channel family
            rgb = _normalised(image)
        pixels = ((rgb.nan_to_num(0.0) + 1.0) * 127.5).clamp(0, 255).to(torch.uint8)
        return Image.fromarray(pixels.permute(1, 2, 0).contiguous().numpy(), "RGB")
    except (RuntimeError, ValueError, TypeError):
        return None


def _fitted(image: Any, fit: fits.Fit) -> Any:
    import torch

    weight = torch.tensor(fit.factors, dtype=torch.float32)
    bias = torch.tensor(fit.bias, dtype=torch.float32)
    return torch.einsum("chw,cr->rhw", image.nan_to_num(0.0), weight) + bias[:, None, None]


def _normalised(image: Any) -> Any:
    """Any channel count: the first three channels (repeated if fewer), each to ±2σ."""
    picked = image[[i % image.shape[0] for i in range(3)]].nan_to_num(0.0, 0.0, 0.0)
    mean = picked.mean(dim=(1, 2), keepdim=True)
    spread = 2.0 * picked.std(dim=(1, 2), keepdim=True, unbiased=False) + 1e-6
    return (picked - mean) / spread
