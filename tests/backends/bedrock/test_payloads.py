"""Request bodies built to each model's and service's documented schema, checked before sending."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from backends.bedrock import MODELS, BedrockTask, Margins, Task, model_spec
from backends.bedrock.payloads import plan_generation
from backends.errors import InvalidRequest
from backends.types import GenerationRequest

SD35 = MODELS["stability.sd3-5-large-v1:0"]
CORE = MODELS["stability.stable-image-core-v1:1"]


def photo(size: tuple[int, int] = (640, 480)) -> Image.Image:
    return Image.new("RGB", size, (30, 90, 160))


def top_half(size: tuple[int, int] = (640, 480)) -> Image.Image:
    mask = Image.new("L", size, 0)
    mask.paste(200, (0, 0, size[0], size[1] // 2))
    return mask


def plan(task: str | None = None, model=SD35, **request: object):
    options = {k: request.pop(k) for k in list(request) if k in BedrockTask.__dataclass_fields__}
    request.setdefault("prompt", "a marble counter")
    return plan_generation(model, BedrockTask(task=task, **options),  # type: ignore[arg-type]
                           GenerationRequest(**request))  # type: ignore[arg-type]


def test_an_unknown_model_is_refused_with_the_models_that_work() -> None:
    with pytest.raises(InvalidRequest, match="stability.sd3-5-large-v1:0") as caught:
        model_spec("amazon.titan-image-generator-v9:0")
    assert "tasks (--task), not models" in str(caught.value)


def test_a_profile_id_names_its_model() -> None:
    assert model_spec("us.stability.stable-image-inpaint-v1:0").label == "Stable Image Inpaint"


def test_text_to_image_takes_an_aspect_ratio_and_records_the_size_it_makes() -> None:
    made = plan(width=1216, height=832, seed=5)
    assert made.body(5) == {"prompt": "a marble counter", "mode": "text-to-image",
                            "aspect_ratio": "3:2", "seed": 5, "output_format": "png"}
    assert (made.request.width, made.request.height) == (1216, 832)
    with pytest.raises(InvalidRequest, match="not near one it offers"):
        plan(width=1024, height=256)


def test_image_to_image_sends_the_image_and_strength_and_core_cannot() -> None:
    body = plan(init_image=photo(), strength=0.4, seed=1).body(1)
    assert body["mode"] == "image-to-image" and body["strength"] == 0.4
    assert "aspect_ratio" not in body and body["image"]
    with pytest.raises(InvalidRequest, match="Stable Image Core cannot do image to image"):
        plan(model=CORE, init_image=photo())


def test_inpaint_sends_the_mask_white_where_to_change_and_grow_mask() -> None:
    made = plan("inpaint", init_image=photo(), mask=top_half(), grow_mask=8, seed=3,
                negative_prompt="blur")
    body = made.body(3)
    assert made.spec.id == "stability.stable-image-inpaint-v1:0"
    assert set(body) == {"prompt", "negative_prompt", "image", "mask", "grow_mask", "seed",
                         "output_format"}
    assert body["grow_mask"] == 8


def test_outpaint_needs_a_margin_and_takes_creativity_in_its_range() -> None:
    body = plan("outpaint", init_image=photo(), margins=Margins(left=200, down=50),
                creativity=0.8, seed=1).body(1)
    assert body["left"] == 200 and body["down"] == 50 and "right" not in body
    assert body["creativity"] == 0.8
    with pytest.raises(InvalidRequest, match="at least one margin"):
        plan("outpaint", init_image=photo())
    with pytest.raises(InvalidRequest, match="0 to 2000"):
        BedrockTask(task="outpaint", margins=Margins(left=2500))
    with pytest.raises(InvalidRequest, match="from 0.1 to 0.5 for creative upscale"):
        BedrockTask(task="upscale-creative", creativity=0.8)


def test_an_optional_prompt_is_left_out_when_the_user_wrote_none() -> None:
    made = plan_generation(SD35, BedrockTask(task="outpaint", margins=Margins(up=64),
                                             send_prompt=False),
                           GenerationRequest(prompt="outpaint", init_image=photo()))
    assert "prompt" not in made.body(1)


@pytest.mark.parametrize(("task", "field"), [("search-replace", "search_prompt"),
                                             ("recolor", "select_prompt")])
def test_search_tasks_send_what_to_look_for(task, field) -> None:
    body = plan(task, init_image=photo(), search="the handbag", prompt="a red handbag").body(1)
    assert body[field] == "the handbag" and body["prompt"] == "a red handbag"
    with pytest.raises(InvalidRequest, match="needs the text to search for"):
        plan(task, init_image=photo())


@pytest.mark.parametrize("task", ["remove-background", "upscale-fast"])
def test_unseeded_services_send_only_the_image_and_make_one(task) -> None:
    made = plan(task, init_image=photo((512, 512)))
    assert set(made.body(0)) == {"image", "output_format"}
    with pytest.raises(InvalidRequest, match="set the count to 1"):
        plan(task, init_image=photo((512, 512)), count=2)


def test_erase_needs_a_mask_the_size_of_the_image() -> None:
    assert "mask" in plan("erase", init_image=photo(), mask=top_half()).body(1)
    with pytest.raises(InvalidRequest, match="needs a mask"):
        plan("erase", init_image=photo())
    with pytest.raises(InvalidRequest, match="same size"):
        plan("erase", init_image=photo(), mask=top_half((320, 240)))


def test_style_transfer_sends_both_images_under_their_own_names() -> None:
    body = plan("style-transfer", init_image=photo(), style_image=photo((512, 512)),
                style_strength=0.5).body(1)
    assert body["init_image"] and body["style_image"] and "image" not in body
    with pytest.raises(InvalidRequest, match="needs a style image"):
        plan("style-transfer", init_image=photo())


@pytest.mark.parametrize(("task", "size", "problem"), [
    ("inpaint", (640, 200), "at most 2.5:1"),
    ("remove-background", (40, 640), "at least 64 px"),
    ("upscale-fast", (1600, 800), "no side may pass 1,536 px"),
    ("upscale-creative", (1200, 1000), "at most 1,048,576 pixels"),
    ("upscale-conservative", (4000, 3000), "at most 9,437,184 pixels"),
])
def test_input_images_outside_a_services_limits_are_refused(task, size, problem) -> None:
    mask = Image.new("L", size, 255) if task == "inpaint" else None
    with pytest.raises(InvalidRequest, match=problem):
        plan(task, init_image=photo(size), mask=mask)


def test_options_a_task_does_not_take_are_refused_not_dropped() -> None:
    with pytest.raises(InvalidRequest, match="Remove background does not take grow_mask"):
        BedrockTask(task="remove-background", grow_mask=5)
    with pytest.raises(InvalidRequest, match="takes no negative prompt"):
        plan("outpaint", init_image=photo(), margins=Margins(left=8), negative_prompt="blur")
    with pytest.raises(InvalidRequest, match="Unknown style preset"):
        BedrockTask(task="inpaint", style_preset="watercolour")


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(InvalidRequest) as caught:
        plan("inpaint")
    assert "needs an input image" in str(caught.value) and "needs a mask" in str(caught.value)


def test_a_task_needs_an_image_where_the_service_does() -> None:
    for task in Task:
        needs = task is not Task.TEXT_TO_IMAGE
        with pytest.raises(InvalidRequest, match="input image" if needs else "no input image"):
            plan(task.value, init_image=None if needs else photo())


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40), st.integers(-5, 30), st.floats(-1, 2, allow_nan=False),
       st.text(max_size=12))
def test_any_task_options_are_accepted_or_refused_with_a_message(
        task, grow_mask, creativity, preset) -> None:
    try:
        BedrockTask(task=task, grow_mask=grow_mask, creativity=creativity,  # type: ignore
                    style_preset=preset)
    except InvalidRequest as refused:
        assert str(refused)


def test_nova_2_omni_is_named_as_not_supported_yet() -> None:
    with pytest.raises(InvalidRequest, match="Nova 2 Omni .* Studio does not support it yet"):
        model_spec("us.amazon.nova-2-omni-v1:0")
