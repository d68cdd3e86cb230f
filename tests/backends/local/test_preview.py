"""Step previews for every family's latent layout, packed exactly as the diffusers pipelines
pack them, plus the generic fallback and shapes that make no sense."""

from __future__ import annotations

import ast
import functools
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch", reason="the 'local' extra is not installed")
numpy = pytest.importorskip("numpy")
# Only diffusers' source is read (see diffusers_static), so it is looked up, not imported.
DIFFUSERS = importlib.util.find_spec("diffusers")
if DIFFUSERS is None:
    pytest.skip("the 'local' extra is not installed", allow_module_level=True)

from backends.local import preview_factors as fits  # noqa: E402
from backends.local.preview import latent_preview  # noqa: E402

WIDTH, HEIGHT = 1024, 768
H, W = HEIGHT // 8, WIDTH // 8  # the VAE latent grid: 96 × 128


@functools.cache
def diffusers_static(module: str, cls: str, name: str) -> Callable[..., Any]:
    """A static method of a diffusers pipeline class, compiled from the installed source.

    Importing the pipeline modules drags in transformers (about 3 s); these methods are
    plain tensor code, so running them straight from the source keeps the tests fast while
    still exercising exactly what the pipelines do."""
    package = Path(DIFFUSERS.origin).parent
    path = package / (module.replace(".", "/") + ".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    klass = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    method = next(n for n in klass.body if isinstance(n, ast.FunctionDef) and n.name == name)
    method.decorator_list = []
    namespace: dict[str, Any] = {"torch": torch}
    exec(compile(ast.Module([method], type_ignores=[]), str(path), "exec"), namespace)
    return namespace[name]


def _flux1(module: str, cls: str) -> Callable[[Any], Any]:
    pack = diffusers_static(module, cls, "_pack_latents")
    return lambda x: pack(x, x.shape[0], x.shape[1], x.shape[2], x.shape[3])


def _qwen(module: str, cls: str) -> Callable[[Any], Any]:
    pack = diffusers_static(module, cls, "_pack_latents")
    # QwenImage latents carry a frame axis: (B, 1, C, h, w).
    return lambda x: pack(x.unsqueeze(1), x.shape[0], x.shape[1], x.shape[2], x.shape[3])


def _flux2(module: str, cls: str) -> Callable[[Any], Any]:
    patchify = diffusers_static(module, cls, "_patchify_latents")
    pack = diffusers_static(module, cls, "_pack_latents")
    return lambda x: pack(patchify(x))


def _spatial(x: Any) -> Any:
    return x


FLUX = "pipelines.flux.pipeline_flux"
FLUX2 = "pipelines.flux2.pipeline_flux2"
KLEIN = "pipelines.flux2.pipeline_flux2_klein"
QWEN = "pipelines.qwenimage.pipeline_qwenimage"
QWEN_EDIT = "pipelines.qwenimage.pipeline_qwenimage_edit"

# family -> (VAE latent channels, the fit it should use, how its pipeline lays latents out)
FAMILIES: dict[str, tuple[int, fits.Fit, Callable[[], Callable[[Any], Any]]]] = {
    "sd1": (4, fits.SD15, lambda: _spatial),
    "sd2": (4, fits.SD15, lambda: _spatial),
    "sdxl": (4, fits.SDXL, lambda: _spatial),
    "sd3": (16, fits.SD3, lambda: _spatial),
    "z-image": (16, fits.FLUX1, lambda: _spatial),
    "flux1": (16, fits.FLUX1, lambda: _flux1(FLUX, "FluxPipeline")),
    "flux2": (32, fits.FLUX2, lambda: _flux2(FLUX2, "Flux2Pipeline")),
    "flux2-klein": (32, fits.FLUX2, lambda: _flux2(KLEIN, "Flux2KleinPipeline")),
    "qwen-image": (16, fits.WAN21, lambda: _qwen(QWEN, "QwenImagePipeline")),
    "qwen-image-edit": (16, fits.WAN21, lambda: _qwen(QWEN_EDIT, "QwenImageEditPipeline")),
}


def _pixels(image: Any) -> Any:
    return torch.from_numpy(numpy.asarray(image).copy()).int()  # (h, w, 3)


def _colour(fit: fits.Fit, latent: list[float]) -> tuple[int, ...]:
    """What the preview should show for one latent pixel, computed from the table."""
    rgb = [sum(v * row[i] for v, row in zip(latent, fit.factors, strict=True)) + fit.bias[i]
           for i in range(3)]
    return tuple(int(min(max((c + 1.0) * 127.5, 0.0), 255.0)) for c in rgb)


@pytest.mark.parametrize("family", FAMILIES)
def test_real_shapes_give_a_latent_sized_rgb_image(family: str) -> None:
    channels, _, layout = FAMILIES[family]
    latents = layout()(torch.randn(1, channels, H, W))
    image = latent_preview(latents, family, WIDTH, HEIGHT)
    assert image is not None and image.mode == "RGB"
    assert image.size == (W, H)  # 128 × 96 for 1024 × 768: latent resolution, no upscaling


def test_the_packed_shapes_are_the_pipelines_own() -> None:
    assert FAMILIES["flux1"][2]()(torch.zeros(1, 16, H, W)).shape == (1, 48 * 64, 64)
    assert FAMILIES["flux2"][2]()(torch.zeros(1, 32, H, W)).shape == (1, 48 * 64, 128)
    assert FAMILIES["qwen-image"][2]()(torch.zeros(1, 16, H, W)).shape == (1, 48 * 64, 64)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_square_survives_unpacking_in_place_with_the_familys_colours(family: str) -> None:
    channels, fit, layout = FAMILIES[family]
    pack = layout()
    # The channel with the strongest colour, set in the top-right quadrant only.
    strongest = max(range(channels), key=lambda c: sum(abs(v) for v in fit.factors[c]))
    latent = torch.zeros(1, channels, H, W)
    latent[0, strongest, 11:30, 81:120] = 2.0  # odd edges split 2×2 patches
    image = latent_preview(pack(latent), family, WIDTH, HEIGHT)

    pixels = _pixels(image)
    one_hot = [2.0 if c == strongest else 0.0 for c in range(channels)]
    inside, outside = _colour(fit, one_hot), _colour(fit, [0.0] * channels)
    assert inside != outside
    expected = torch.tensor(outside).expand(H, W, 3).clone()
    expected[11:30, 81:120] = torch.tensor(inside)
    assert (pixels - expected).abs().max() <= 1  # float32 here, float64 in _colour


def test_the_first_image_of_a_batch_is_shown() -> None:
    pack = FAMILIES["flux1"][2]()
    batch = torch.zeros(2, 16, H, W)
    batch[1] = 5.0
    first = latent_preview(pack(batch), "flux1", WIDTH, HEIGHT)
    expected = _colour(fits.FLUX1, [0.0] * 16)
    assert all(abs(a - b) <= 1 for a, b in zip(first.getpixel((0, 0)), expected, strict=True))


def test_half_precision_and_non_finite_values_still_preview() -> None:
    latents = torch.randn(1, 48 * 64, 128, dtype=torch.bfloat16)
    latents[0, :10] = float("nan")
    latents[0, 10:20] = float("inf")
    image = latent_preview(latents, "flux2", WIDTH, HEIGHT)
    assert image is not None and image.size == (W, H)


@pytest.mark.parametrize(("family", "latents", "size"), [
    ("sd3", torch.randn(1, 4, 8, 8), (8, 8)),  # a tiny SD3 with a 4-channel VAE
    ("sd1", torch.randn(1, 1, 8, 8), (8, 8)),
    ("flux1", torch.randn(1, 16 * 16, 4), (32, 32)),  # tiny FLUX: 1 channel, VAE scale 1
    ("flux2", torch.randn(1, 8 * 8, 16), (16, 16)),  # tiny FLUX.2: 4 channels, VAE scale 2
    ("qwen-image", torch.randn(1, 16 * 16, 12), (32, 32)),  # 3 channels
    ("unknown", torch.randn(1, 4, 8, 8), (8, 8)),
    ("unknown", torch.randn(1, 16, 1, 8, 8), (8, 8)),  # a single-frame video latent
    ("unknown", torch.randn(1, 48 * 64, 64), (W, H)),  # packed, at the real size
])
def test_odd_channel_counts_fall_back_to_a_generic_picture(family, latents, size) -> None:
    width, height = (WIDTH, HEIGHT) if size == (W, H) else (32, 32)
    image = latent_preview(latents, family, width, height)
    assert image is not None and image.mode == "RGB" and image.size == size
    assert _pixels(image).unique().numel() > 1


def test_the_generic_picture_is_grey_for_one_channel_and_keeps_its_pattern() -> None:
    latent = torch.zeros(1, 1, 32, 32)
    latent[0, 0, :16, 16:] = 1.0  # top-right quadrant
    image = latent_preview(latent, "sd1", 256, 256)
    pixels = _pixels(image)
    assert torch.equal(pixels[..., 0], pixels[..., 1])
    assert torch.equal(pixels[..., 1], pixels[..., 2])
    bright = pixels[..., 0].float()
    assert bright[:16, 16:].min() > bright[16:, :].max()
    assert bright[:16, 16:].min() > bright[:16, :16].max()


def test_a_constant_latent_in_the_fallback_is_mid_grey() -> None:
    image = latent_preview(torch.full((1, 2, 4, 4), 3.0), "sd3", 32, 32)
    assert (_pixels(image) == 127).all()


@pytest.mark.parametrize(("family", "latents", "width", "height"), [
    ("sd1", torch.randn(16), 64, 64),
    ("sd1", torch.randn(4, 16), 64, 64),
    ("sd1", torch.randn(1, 4, 3, 8, 8), 64, 64),  # several frames
    ("sd1", torch.randn(1, 4, 1, 1, 8, 8), 64, 64),
    ("unknown", torch.randn(1, 4, 3, 8, 8), 64, 64),
    ("sd1", torch.randn(1, 4, 0, 8), 64, 64),
    ("sd1", torch.randn(0, 4, 8, 8), 64, 64),
    ("flux1", torch.randn(0, 48 * 64, 64), WIDTH, HEIGHT),
    ("flux1", torch.randn(1, 1000, 64), WIDTH, HEIGHT),  # sequence length fits no size
    ("flux1", torch.randn(1, 48 * 64, 64), 512, 512),  # ... not the requested one
    ("flux2", torch.randn(1, 48 * 64, 66), WIDTH, HEIGHT),  # not whole 2×2 patches
    ("qwen-image", torch.randn(1, 48 * 64, 64), 0, 0),
    ("flux1", torch.randn(1, 16, H, W), WIDTH, HEIGHT),  # unpacked where packed is expected
    ("qwen-image", torch.randn(1, 1, 16, H, W), WIDTH, HEIGHT),
    ("sdxl", torch.randn(1, 48 * 64, 64), WIDTH, HEIGHT),  # packed where spatial is expected
    ("sd1", [[1.0, 2.0]], 64, 64),
    ("sd1", None, 64, 64),
])
def test_shapes_that_make_no_sense_give_none(family, latents, width, height) -> None:
    assert latent_preview(latents, family, width, height) is None
