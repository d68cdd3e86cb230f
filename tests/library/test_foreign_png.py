"""Images written by other tools read back into requests.

The sample files in data/foreign/ are the sd-parsers project's test images (MIT, see
LICENSE-sd-parsers.txt): real metadata from each tool on images cropped to a few pixels.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from backends.errors import InvalidRequest
from backends.types import GenerationRequest
from studio.library.foreign_png import no_settings_message, read_generation_settings
from studio.library.png_metadata import a1111_parameters, encode_png
from studio.library.stealth_info import read_stealth_info

DATA = Path(__file__).parent / "data" / "foreign"


def test_automatic1111_png() -> None:
    found = read_generation_settings(DATA / "automatic1111_cropped.png")
    assert (found.tool, found.found_in) == ("AUTOMATIC1111", "PNG text chunks")
    request = found.request
    assert (request.prompt, request.negative_prompt) == ("photo of a duck", "monochrome")
    assert (request.seed, request.steps, request.guidance) == (235284042, 15, 5.0)
    assert (request.width, request.height) == (512, 400)
    assert request.scheduler == "unipc" and found.sampler == "UniPC"
    assert request.model == "realistic_realisticVisionV20_v20"
    assert found.other == {"Model hash": "c0d1994c73"}


def test_automatic1111_stealth_png_hides_its_settings_in_the_alpha_bits() -> None:
    path = DATA / "automatic1111_stealth.png"
    with Image.open(path) as image:
        assert not image.text  # nothing in the text chunks
    found = read_generation_settings(path)
    assert (found.tool, found.found_in) == ("AUTOMATIC1111", "stealth PNG info (alpha bits)")
    request = found.request
    assert (request.prompt, request.negative_prompt) == ("a circle", "a square")
    assert (request.seed, request.steps, request.guidance) == (2015833630, 20, 7.0)
    assert (request.width, request.height) == (64, 64)
    # "Schedule type: Automatic" is the sampler's own schedule: plain Euler.
    assert request.scheduler == "euler" and found.sampler == "Euler, Automatic"
    assert request.model == "realisticVisionV51_v51VAE"
    assert found.other["Version"] == "v1.9.4-169-ga30b19dd"


def test_automatic1111_jpeg_user_comment() -> None:
    found = read_generation_settings(DATA / "automatic1111_cropped.jpg")
    assert (found.tool, found.found_in) == ("AUTOMATIC1111", "EXIF UserComment")
    assert found.request.prompt == "photo of a duck" and found.request.seed == 235284042


def test_comfyui_img2img_workflow() -> None:
    found = read_generation_settings(DATA / "img2img_cropped.png")
    assert found.tool == "ComfyUI"
    request = found.request
    assert request.prompt.startswith("photograph of victorian woman with wings, sky clouds")
    assert request.negative_prompt == "watermark, text"
    assert (request.steps, request.guidance) == (20, 8.0)
    assert request.scheduler == "dpm++_2m" and found.sampler == "sample_dpmpp_2m, normal"
    assert request.strength == pytest.approx(0.87)
    assert request.model == "v1-5-pruned-emaonly.ckpt"
    # ComfyUI seeds are 64-bit: this one is out of Studio's range, so it is left out, said why.
    assert request.seed is None
    assert any(reason.startswith("seed 280823642470253") for reason in found.skipped)
    # img2img starts from a loaded image: no size in the workflow.
    assert "width" not in found.found


def test_comfyui_two_pass_workflow_uses_the_first_pass() -> None:
    found = read_generation_settings(DATA / "night_evening_day_morning_cropped.png")
    request = found.request
    assert found.tool == "ComfyUI"
    assert request.prompt.startswith("(best quality) (daytime:1.2) sky (blue)")
    assert (request.steps, request.guidance) == (13, 8.5)
    assert (request.width, request.height) == (704, 1280)  # the first pass's empty latent
    assert request.model == "Anything-V3.0.ckpt"
    assert request.scheduler is None  # dpmpp_sde with a normal schedule: Studio has none
    assert found.skipped[0].startswith("1 further sampling pass")


def test_fooocus_gives_its_prompt_not_write_a_prompt() -> None:
    found = read_generation_settings(DATA / "fooocus1_cropped.png")
    assert found.tool == "Fooocus"
    request = found.request
    assert request.prompt == "a smiling goldfish"
    assert (request.steps, request.guidance) == (30, 4.0)
    assert (request.width, request.height) == (768, 1280)
    assert request.model == "juggernautXL_v8Rundiffusion"
    assert found.other["version"] == "Fooocus v2.4.3"
    assert found.sampler == "dpmpp_2m_sde_gpu, karras" and request.scheduler is None


@pytest.mark.parametrize("name", ["invokeai_dream1.png", "invokeai_sdmeta1.png"])
def test_invokeai_2_png(name: str) -> None:
    found = read_generation_settings(DATA / name)
    assert found.tool == "InvokeAI"
    request = found.request
    assert request.prompt.startswith("professional full body photo of young woman")
    assert request.negative_prompt.startswith("rendering, glowing eyes, skinny")
    assert (request.seed, request.steps, request.guidance) == (2980747362, 50, 5.0)
    assert (request.width, request.height) == (512, 768)
    assert found.sampler == "k_lms" and request.scheduler is None


def test_invokeai_3_metadata() -> None:
    found = read_generation_settings(DATA / "invokeai_imeta1.png")
    request = found.request
    assert found.tool == "InvokeAI"
    assert request.prompt == "digital artwork, oil painting. painterly brushstrokes, holidays,"
    assert (request.seed, request.steps, request.guidance) == (3293022630, 35, 8.0)
    assert (request.width, request.height) == (1024, 1024)
    assert request.scheduler == "euler" and request.model == "juggernautXL"


def test_novelai_png() -> None:
    found = read_generation_settings(DATA / "novelai1_cropped.png")
    request = found.request
    assert found.tool == "NovelAI"
    assert request.prompt == "masterpiece, best quality,  cat, space, icon"
    assert request.negative_prompt.startswith("lowres, bad anatomy, bad hands")
    assert (request.seed, request.steps, request.guidance) == (2253955223, 50, 10.0)
    assert request.scheduler == "euler_a" and request.model == "Stable Diffusion"
    assert "width" not in found.found  # this sample's comment carries no size


def test_studio_png_comes_back_whole(tmp_path: Path) -> None:
    request = GenerationRequest(prompt="walnut desk", negative_prompt="blur", seed=0, steps=4,
                                guidance=2.5, width=512, height=384, scheduler="euler_a")
    path = tmp_path / "studio.png"
    path.write_bytes(encode_png(
        Image.new("RGB", (8, 8)), parameters=a1111_parameters(
            request, 0, model="tiny", backend="local", device="cpu"),
        studio_json={"request": request.to_dict(), "model": "tiny", "backend": "local"}))
    found = read_generation_settings(path)
    assert found.tool == "Studio"
    assert found.request.to_dict() == request.to_dict()
    assert "seed" in found.found  # seed 0 is a seed


def _stealth_png(text: str, magic: str, mode: str) -> Image.Image:
    """What the stealth-pnginfo extension writes, written independently of the reader."""
    payload = gzip.compress(text.encode()) if magic.endswith("comp") else text.encode()
    data = magic.encode() + (len(payload) * 8).to_bytes(4, "big") + payload
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    width, height = 40, 40
    pixels = np.full((height, width, len(mode)), 200, dtype=np.uint8)
    if magic.startswith("stealth_png"):
        alpha = np.full(width * height, 255, dtype=np.uint8)
        alpha[:bits.size] = 254 | bits
        pixels[..., 3] = alpha.reshape(width, height).T  # column by column
    else:
        flat = np.full(width * height * 3, 200, dtype=np.uint8)
        flat[:bits.size] = 200 | bits
        pixels[..., :3] = flat.reshape(width, height, 3).transpose(1, 0, 2)
    return Image.fromarray(pixels, mode)


@pytest.mark.parametrize(("magic", "mode"), [
    ("stealth_pnginfo", "RGBA"), ("stealth_pngcomp", "RGBA"),
    ("stealth_rgbinfo", "RGB"), ("stealth_rgbcomp", "RGB"), ("stealth_rgbcomp", "RGBA"),
])
def test_every_stealth_variant(tmp_path: Path, magic: str, mode: str) -> None:
    text = "red sneaker\nSteps: 12, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6, " \
           "Seed: 99, Size: 128x96"
    path = tmp_path / "stealth.png"
    _stealth_png(text, magic, mode).save(path)
    found = read_generation_settings(path)
    channel = "alpha" if magic.startswith("stealth_png") else "rgb"
    assert found.found_in == f"stealth PNG info ({channel} bits)"
    request = found.request
    assert (request.prompt, request.steps, request.seed) == ("red sneaker", 12, 99)
    assert request.scheduler == "dpm++_2m_karras" and (request.width, request.height) == (128, 96)


def test_novelai_stealth_json(tmp_path: Path) -> None:
    chunks = {"Description": "a fox", "Software": "NovelAI", "Source": "NAI Diffusion 1234ABCD",
              "Comment": json.dumps({"steps": 28, "sampler": "k_euler", "seed": 5, "scale": 5.5,
                                     "uc": "lowres", "width": 832, "height": 1216})}
    path = tmp_path / "nai.png"
    _stealth_png(json.dumps(chunks), "stealth_pngcomp", "RGBA").save(path)
    found = read_generation_settings(path)
    assert found.tool == "NovelAI"
    request = found.request
    assert (request.prompt, request.negative_prompt, request.seed) == ("a fox", "lowres", 5)
    assert (request.width, request.height, request.scheduler) == (832, 1216, "euler")


def test_plain_pixels_hide_nothing() -> None:
    assert read_stealth_info(Image.new("RGBA", (64, 64), (1, 2, 3, 255))) is None
    assert read_stealth_info(Image.new("RGB", (2, 2))) is None


@pytest.mark.parametrize("fmt", ["WEBP", "JPEG"])
def test_webp_and_jpeg_with_a1111_user_comment(tmp_path: Path, fmt: str) -> None:
    text = "linen shirt\nNegative prompt: creases\nSteps: 8, Sampler: Euler a, CFG scale: 3, " \
           "Seed: 4, Size: 256x256"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + text.encode("utf-16-be")
    path = tmp_path / f"shirt.{fmt.lower()}"
    Image.new("RGB", (16, 16)).save(path, fmt, exif=exif)
    request = read_generation_settings(path).request
    assert (request.prompt, request.negative_prompt, request.scheduler) == (
        "linen shirt", "creases", "euler_a")


def test_sizes_studio_cannot_make_are_left_out_with_the_reason(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat\nSteps: 20, Sampler: Euler, Seed: 3, Size: 1000x1001")
    path = tmp_path / "odd.png"
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    found = read_generation_settings(path)
    assert found.request.prompt == "a cat" and found.request.seed == 3
    assert "width" not in found.found
    assert found.skipped[0].startswith("size 1000x1001: The height must be a multiple of 8")


def test_no_settings_gets_the_exact_message(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    Image.new("RGB", (4, 4)).save(path)
    with pytest.raises(InvalidRequest) as error:
        read_generation_settings(path)
    assert str(error.value) == ("x.png carries no generation settings Studio can read "
                                "(looked for: A1111, ComfyUI, InvokeAI, Fooocus, NovelAI, Studio)")
    assert str(error.value) == no_settings_message("x.png")


def test_a_tool_without_a_prompt_says_so(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", json.dumps({
        "prompt": "", "negative_prompt": "", "base_model": "m", "base_model_hash": "h",
        "sampler": "euler", "steps": 4, "guidance_scale": 2, "seed": 1}))
    path = tmp_path / "empty.png"
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    with pytest.raises(InvalidRequest, match="written by Fooocus, but its settings hold no "
                                             "prompt") as error:
        read_generation_settings(path)
    assert "Write a prompt" not in str(error.value)


def test_files_that_are_not_images(tmp_path: Path) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("not an image")
    with pytest.raises(InvalidRequest, match="notes.png is not a PNG, JPEG or WebP image"):
        read_generation_settings(notes)
    with pytest.raises(InvalidRequest, match="does not exist"):
        read_generation_settings(tmp_path / "missing.png")


@settings(max_examples=60, deadline=None)
@given(chunks=st.dictionaries(
    st.sampled_from(["parameters", "prompt", "workflow", "Comment", "Description", "Source",
                     "Software", "Dream", "sd-metadata", "invokeai_metadata", "studio"]),
    st.one_of(st.text(max_size=200),
              st.recursive(st.none() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12).map(json.dumps)),
    max_size=5))
def test_any_text_chunks_give_settings_or_a_clear_error(chunks: dict[str, str]) -> None:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_itxt(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG", pnginfo=info)
    path = Path(f"/tmp/studio-fuzz-{id(chunks)}.png")
    path.write_bytes(buffer.getvalue())
    try:
        found = read_generation_settings(path)
    except InvalidRequest:
        return
    finally:
        path.unlink()
    assert found.request.prompt.strip()
