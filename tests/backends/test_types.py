from __future__ import annotations

import pytest
from PIL import Image

from backends import GenerationRequest, InvalidRequest, Timings, load_image
from backends.types import MAX_SEED


def test_defaults_build_and_mode_is_txt2img() -> None:
    request = GenerationRequest(prompt="a teapot")
    assert request.mode == "txt2img"
    assert request.seed is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"prompt": "   "}, "Write a prompt"),
        ({"width": 513}, "multiple of 8 pixels: 513 is not; try 512 or 520"),
        ({"height": 32}, "between 64 and 4096"),
        ({"steps": 0}, "Steps must be a whole number from 1"),
        ({"count": 0}, "image count"),
        ({"guidance": -1.0}, "Guidance"),
        ({"seed": MAX_SEED + 1}, "seed"),
        ({"seed": True}, "seed"),
        ({"scheduler": "warp-drive"}, "Unknown sampler 'warp-drive'"),
        ({"mask": Image.new("L", (64, 64))}, "A mask needs an init image"),
    ],
)
def test_bad_values_are_refused_with_a_message_a_designer_understands(changes, message) -> None:
    with pytest.raises(InvalidRequest, match=message):
        GenerationRequest(**{"prompt": "a teapot", **changes})


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(InvalidRequest) as caught:
        GenerationRequest(prompt="", steps=0, width=100)
    text = str(caught.value)
    assert "prompt" in text and "Steps" in text and "width" in text


def test_strength_is_checked_only_with_an_init_image() -> None:
    GenerationRequest(prompt="x", strength=5.0)
    with pytest.raises(InvalidRequest, match="Strength"):
        GenerationRequest(prompt="x", init_image=Image.new("RGB", (64, 64)), strength=0.0)


def test_mask_must_match_the_init_image() -> None:
    init = Image.new("RGBA", (64, 64))
    with pytest.raises(InvalidRequest, match="same size"):
        GenerationRequest(prompt="x", init_image=init, mask=Image.new("L", (32, 32)))
    request = GenerationRequest(prompt="x", init_image=init, mask=Image.new("1", (64, 64)))
    assert request.mode == "inpaint"
    assert request.init_image.mode == "RGB" and request.mask.mode == "L"


def test_resolved_seed_is_drawn_once_and_images_count_up_from_it() -> None:
    request = GenerationRequest(prompt="x", count=3).with_resolved_seed()
    assert request.seed is not None
    assert request.with_resolved_seed() is request
    assert request.image_seeds() == [request.seed + i for i in range(3)]
    wrapped = request.replace(seed=MAX_SEED)
    assert wrapped.image_seeds() == [MAX_SEED, 0, 1]


def test_dict_round_trip_keeps_every_field() -> None:
    request = GenerationRequest(prompt="a, b", negative_prompt="c", seed=7, steps=12,
                                guidance=3.5, width=512, height=768, count=2, scheduler="euler_a")
    again = GenerationRequest.from_dict(request.to_dict())
    assert again.to_dict() == request.to_dict()


def test_from_dict_rejects_unknown_fields() -> None:
    with pytest.raises(InvalidRequest, match="Unknown request fields: colour"):
        GenerationRequest.from_dict({"prompt": "x", "colour": "red"})


def test_corrupt_and_missing_init_images_are_refused(tmp_path) -> None:
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png")
    with pytest.raises(InvalidRequest, match="could not be read as an image"):
        load_image(corrupt)
    with pytest.raises(InvalidRequest, match="does not exist"):
        load_image(tmp_path / "nope.png")


def test_timings_round_trip() -> None:
    timings = Timings(load_s=1.5, inference_s=2.25, total_s=4.0)
    assert Timings.from_dict(timings.to_dict()) == timings
