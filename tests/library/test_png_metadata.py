from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from backends.errors import InvalidRequest
from backends.types import Cost, GeneratedImage, GenerationRequest, GenerationResult, Timings
from studio.library.png_metadata import (
    a1111_parameters,
    encode_png,
    parse_a1111_parameters,
    read_png_metadata,
    request_from_parameters,
    request_from_png,
    studio_json,
)


def _image(colour: tuple[int, int, int] = (200, 30, 30)) -> Image.Image:
    return Image.new("RGB", (64, 64), colour)


def _result(request: GenerationRequest, seeds: list[int]) -> GenerationResult:
    return GenerationResult(
        request=request,
        images=tuple(GeneratedImage(_image(), seed) for seed in seeds),
        timings=Timings(load_s=1.0, inference_s=2.5, total_s=4.0),
        cost=Cost(0.02, "2 images at $0.01 each", estimated=False),
        backend="local",
        model="sd-turbo",
        device="cuda",
        created_at=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
    )


def test_a1111_text_matches_the_a1111_layout() -> None:
    request = GenerationRequest(
        prompt="a red sneaker", negative_prompt="blurry", seed=123, steps=30, guidance=7,
        width=512, height=512, scheduler="euler_a",
    )
    text = a1111_parameters(request, 123, model="sd15", backend="local", device="cuda")
    assert text == (
        "a red sneaker\n"
        "Negative prompt: blurry\n"
        "Steps: 30, Sampler: Euler a, CFG scale: 7.0, Seed: 123, Size: 512x512, "
        "Model: sd15, Backend: local, Device: cuda"
    )


def test_a1111_text_omits_an_empty_negative_and_adds_strength_only_for_img2img() -> None:
    txt2img = GenerationRequest(prompt="shoe", width=512, height=512)
    text = a1111_parameters(txt2img, 1, model="m", backend="local", device="cpu")
    assert "Negative prompt" not in text
    assert "Denoising strength" not in text
    assert "Sampler: Default" in text

    img2img = txt2img.replace(init_image=_image(), strength=0.5)
    assert "Denoising strength: 0.5," in a1111_parameters(
        img2img, 1, model="m", backend="local", device="cpu"
    )


def test_values_with_commas_and_colons_are_json_quoted() -> None:
    request = GenerationRequest(prompt="x", width=512, height=512)
    text = a1111_parameters(request, 1, model="sd, v1: best", backend="sagemaker",
                            device='ml.inf2 "xlarge"')
    last = text.splitlines()[-1]
    assert 'Model: "sd, v1: best"' in last
    assert 'Device: "ml.inf2 \\"xlarge\\""' in last


@pytest.mark.parametrize(
    ("prompt", "negative"),
    [
        ("a red shoe, studio light, 85mm", "blurry, low quality"),
        ('a "quoted" shoe: on white', 'no "text", no: logos'),
        ("Turnschuh auf Holz — süß, 靴, 👟", "ぼやけた, ✗"),
        ("first line\nsecond line, with comma\n  indented third", "neg line 1\nneg line 2"),
        ("Steps: 5, Sampler: fake, Seed: 9\nreal prompt", ""),
        ("only a prompt", ""),
    ],
)
def test_a1111_round_trip(prompt: str, negative: str) -> None:
    request = GenerationRequest(
        prompt=prompt, negative_prompt=negative, model="m, with comma", seed=42, steps=25,
        guidance=6.5, width=768, height=512, scheduler="dpm++_2m_karras",
    )
    text = a1111_parameters(request, 42, model="m, with comma", backend="local", device="cuda")
    parsed = parse_a1111_parameters(text)
    assert parsed["prompt"] == prompt
    assert parsed["negative_prompt"] == negative
    assert parsed["Model"] == "m, with comma"
    assert parsed["Backend"] == "local"

    back = request_from_parameters(text)
    assert back.prompt == prompt
    assert back.negative_prompt == negative
    assert (back.seed, back.steps, back.guidance) == (42, 25, 6.5)
    assert (back.width, back.height) == (768, 512)
    assert back.scheduler == "dpm++_2m_karras"
    assert back.model == "m, with comma"


def test_parses_text_written_by_automatic1111() -> None:
    text = (
        "masterpiece, a leather bag\n"
        "Negative prompt: (worst quality:1.4), watermark\n"
        "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 3310411577, "
        "Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
        'Lora hashes: "bag: 1a2b3c, style: 4d5e6f", Version: v1.6.0'
    )
    parsed = parse_a1111_parameters(text)
    assert parsed["negative_prompt"] == "(worst quality:1.4), watermark"
    assert parsed["Lora hashes"] == "bag: 1a2b3c, style: 4d5e6f"
    assert parsed["Version"] == "v1.6.0"

    request = request_from_parameters(text)
    assert request.prompt == "masterpiece, a leather bag"
    assert request.seed == 3310411577
    assert request.scheduler == "dpm++_2m_karras"
    assert request.model == "v1-5-pruned-emaonly"
    assert (request.width, request.height, request.guidance) == (512, 768, 7.0)


def test_unknown_sampler_maps_to_none_and_bad_numbers_are_invalid() -> None:
    text = "shoe\nSteps: 10, Sampler: Mystery 3000, CFG scale: 5, Seed: 1, Size: 64x64"
    assert request_from_parameters(text).scheduler is None

    with pytest.raises(InvalidRequest, match="Steps"):
        request_from_parameters("shoe\nSteps: ten, Sampler: Euler, CFG scale: 5, Seed: 1")
    with pytest.raises(InvalidRequest, match="WIDTHxHEIGHT"):
        request_from_parameters("shoe\nSteps: 10, Sampler: Euler, Seed: 1, Size: big")


def test_studio_json_holds_the_image_seed_and_per_image_money() -> None:
    request = GenerationRequest(prompt="shoe", seed=10, count=2, width=512, height=512)
    result = _result(request, [10, 11])
    data = studio_json(result, result.images[1], estimate=Cost(0.03, "price book"))
    assert data["version"] == 1
    assert data["seed"] == 11
    assert data["request"]["seed"] == 11
    assert data["request"]["count"] == 2
    assert data["cost"] == {"usd": 0.01, "basis": "2 images at $0.01 each", "estimated": False}
    assert data["estimate"] == {"usd": 0.015, "basis": "price book", "estimated": True}
    assert data["timings"]["inference_s"] == 2.5
    assert (data["backend"], data["model"], data["device"]) == ("local", "sd-turbo", "cuda")
    assert datetime.fromisoformat(data["created_at"]) == result.created_at
    assert studio_json(result, result.images[0])["estimate"] is None


def _encoded(request: GenerationRequest, seed: int = 7) -> bytes:
    result = _result(request, [seed])
    parameters = a1111_parameters(request, seed, model="sd-turbo", backend="local", device="cuda")
    return encode_png(
        result.images[0].image, parameters=parameters,
        studio_json=studio_json(result, result.images[0]),
    )


def test_chunks_read_back_with_plain_pillow(tmp_path: Path) -> None:
    request = GenerationRequest(prompt="靴, süß 👟", negative_prompt="ぼやけた", seed=7,
                                width=512, height=512)
    path = tmp_path / "out.png"
    path.write_bytes(_encoded(request))

    with Image.open(path) as opened:
        text = opened.text
        assert opened.size == (64, 64)
    assert text["parameters"].startswith("靴, süß 👟\nNegative prompt: ぼやけた\n")
    # Non-latin-1 text needs iTXt; a tEXt chunk would have mangled it.
    assert isinstance(text["parameters"], PngImagePlugin.iTXt)
    studio = json.loads(text["studio"])
    assert studio["request"]["prompt"] == "靴, süß 👟"
    assert studio["seed"] == 7


def test_latin1_text_uses_plain_text_chunks() -> None:
    data = _encoded(GenerationRequest(prompt="café shoe", seed=1, width=512, height=512))
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.text["parameters"].startswith("café shoe\n")
        assert not isinstance(opened.text["parameters"], PngImagePlugin.iTXt)


def test_request_from_png_prefers_the_studio_chunk(tmp_path: Path) -> None:
    request = GenerationRequest(prompt="shoe", model="sd-turbo", seed=7, steps=4, guidance=1.5,
                                width=512, height=512, scheduler="lcm", count=3)
    path = tmp_path / "studio.png"
    path.write_bytes(_encoded(request, seed=9))

    back = request_from_png(path)
    assert back.to_dict() == request.replace(seed=9).to_dict()

    metadata = read_png_metadata(path.read_bytes())
    assert metadata is not None and metadata.studio is not None
    assert metadata.parameters is not None and "Seed: 9" in metadata.parameters


def test_request_from_png_falls_back_to_a1111_parameters(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a bag\nSteps: 12, Sampler: Euler, CFG scale: 4.5, Seed: 99, "
                                "Size: 640x512, Model: sdxl")
    info.add_text("studio", "{not json")
    path = tmp_path / "a1111.png"
    _image().save(path, pnginfo=info)

    back = request_from_png(path)
    assert (back.prompt, back.steps, back.seed, back.scheduler) == ("a bag", 12, 99, "euler")
    assert (back.width, back.height, back.model, back.guidance) == (640, 512, "sdxl", 4.5)


def test_request_from_png_rejects_files_without_settings(tmp_path: Path) -> None:
    jpeg = tmp_path / "photo.jpg"
    _image().save(jpeg, format="JPEG")
    with pytest.raises(InvalidRequest, match="'photo.jpg' is not a PNG image"):
        request_from_png(jpeg)
    assert read_png_metadata(jpeg) is None

    notes = tmp_path / "notes.png"
    notes.write_text("not an image at all")
    with pytest.raises(InvalidRequest, match="not a PNG image"):
        request_from_png(notes)

    bare = tmp_path / "bare.png"
    _image().save(bare)
    with pytest.raises(InvalidRequest, match="carries no generation settings"):
        request_from_png(bare)
    assert read_png_metadata(bare) is not None

    with pytest.raises(InvalidRequest, match="does not exist"):
        request_from_png(tmp_path / "missing.png")


def test_a1111_lora_tags_come_back_as_loras_and_leave_the_prompt() -> None:
    from studio.library.png_metadata import request_from_parameters

    request = request_from_parameters(
        "a mug <lora:studio-light:0.65> on oak <lora:grain:-1>\n"
        "Steps: 4, Sampler: Euler, Seed: 1, Size: 64x64")
    assert request.prompt == "a mug on oak"
    assert [(lora.source, lora.weight) for lora in request.loras] == [
        ("studio-light", 0.65), ("grain", -1.0)]
    assert request.guidance is None  # not in the text: the model's own default


@pytest.mark.parametrize(("sampler", "schedule", "scheduler"), [
    ("DPM++ 2M", "Karras", "dpm++_2m_karras"),  # A1111 1.9+: the schedule on its own
    ("DPM++ 2M Karras", "", "dpm++_2m_karras"),  # older A1111: in the sampler's name
    ("Euler a", "Automatic", "euler_a"),
    ("DPM++ 2M", "Exponential", None),  # Studio has no exponential schedule
    ("LMS", "", None),
])
def test_a1111_sampler_and_schedule_type_map_to_studio_schedulers(
        sampler: str, schedule: str, scheduler: str | None) -> None:
    from studio.library.png_metadata import request_from_parameters

    schedule_part = f"Schedule type: {schedule}, " if schedule else ""
    request = request_from_parameters(
        f"a mug\nSteps: 4, Sampler: {sampler}, {schedule_part}CFG scale: 3, Seed: 1")
    assert request.scheduler == scheduler
