"""Requests a model cannot serve are refused before anything is sent, saying why and what works;
the ones it can serve become bodies in the model's documented schema."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from backends.bedrock import BedrockTask, TaskType, model_spec
from backends.bedrock.payloads import plan_generation
from backends.errors import InvalidRequest
from backends.types import GenerationRequest

NOVA = "amazon.nova-canvas-v1:0"
TITAN = "amazon.titan-image-generator-v2:0"
SD35 = "stability.sd3-5-large-v1:0"
CORE = "stability.stable-image-core-v1:1"


def plan(model: str, task: BedrockTask | None = None, **fields: object):
    fields.setdefault("prompt", "a walnut desk organiser")
    return plan_generation(model_spec(model), task or BedrockTask(),
                           GenerationRequest(**fields))  # type: ignore[arg-type]


def refused(model: str, task: BedrockTask | None = None, **fields: object) -> str:
    with pytest.raises(InvalidRequest) as caught:
        plan(model, task, **fields)
    return str(caught.value)


def product(size: tuple[int, int] = (640, 640)) -> Image.Image:
    return Image.new("RGB", size, (200, 120, 40))


def decoded(data: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(data)))


def test_an_unknown_model_is_refused_with_the_models_that_work() -> None:
    with pytest.raises(InvalidRequest, match="amazon.nova-canvas-v1:0 \\(Nova Canvas\\)"):
        model_spec("amazon.titan-image-generator-v1")


@pytest.mark.parametrize(("model", "size", "expected"), [
    (TITAN, (1000, 1000), "fixed sizes and 1000×1000 is not one; the closest are 1024×1024"),
    (NOVA, (1000, 1000), "multiple of 16 (try 992 or 1008)"),
    (NOVA, (256, 512), "the width must be 320–4096 px"),
    (NOVA, (2560, 2048), "at most 4,194,304 pixels"),
    (NOVA, (2048, 448), "at most 4:1"),
    (SD35, (1024, 256), "is not near one it offers: 1:1 (1024×1024), 16:9"),
])
def test_sizes_a_model_cannot_make_are_refused_with_sizes_that_work(model, size,
                                                                   expected) -> None:
    assert expected in refused(model, width=size[0], height=size[1])


def test_sizes_each_model_documents_are_accepted() -> None:
    assert plan(TITAN, width=1152, height=640).request.width == 1152
    assert plan(NOVA, width=4096, height=1024).request.height == 1024
    assert plan(NOVA, width=1280, height=720).request.width == 1280


def test_stability_takes_an_aspect_ratio_and_records_the_size_it_makes() -> None:
    made = plan(SD35, width=1216, height=832, seed=3)
    assert made.body(3)["aspect_ratio"] == "3:2" and "width" not in made.body(3)
    small_square = plan(SD35, width=512, height=512)
    assert small_square.body(1)["aspect_ratio"] == "1:1"
    assert (small_square.request.width, small_square.request.height) == (1024, 1024)


@pytest.mark.parametrize(("model", "limit"), [(TITAN, 512), (NOVA, 1024)])
def test_prompts_past_the_models_limit_are_refused(model, limit) -> None:
    message = refused(model, prompt="x" * (limit + 1))
    assert f"at most {limit:,} characters of prompt; this one has {limit + 1:,}" in message
    plan(model, prompt="x" * limit)
    assert "negative prompt" in refused(model, negative_prompt="y" * (limit + 1))


def test_seeds_stay_in_each_models_range() -> None:
    assert "seeds from 0 to 858,993,459" in refused(NOVA, seed=900_000_000)
    assert plan(TITAN, seed=900_000_000).seeds == (900_000_000,)
    drawn = plan(NOVA, count=4)
    assert all(0 <= s <= 858_993_459 for s in drawn.seeds)
    assert list(drawn.seeds) == [drawn.request.seed + i for i in range(4)]
    # Stability reads seed 0 as "random": drawn seeds never are 0.
    assert all(s >= 1 for s in plan(SD35, count=2).seeds)


def test_guidance_outside_titan_and_nova_cfg_range_is_refused() -> None:
    assert "guidance (cfg scale) from 1.1 to 10; 12 is outside" in refused(NOVA, guidance=12.0)
    assert plan(NOVA, guidance=6.5).body(1)["imageGenerationConfig"]["cfgScale"] == 6.5
    assert "cfgScale" not in str(plan(SD35, guidance=12.0).body(1))  # not a Stability input


def test_tasks_a_model_does_not_offer_are_refused_naming_models_that_do() -> None:
    message = refused(CORE, init_image=product((1024, 1024)))
    assert "Stable Image Core cannot do image variation on Bedrock" in message
    assert "Stable Diffusion 3.5 Large" in message and "Nova Canvas" in message
    mask = Image.new("L", (1024, 1024), 255)
    assert "cannot do inpainting" in refused(SD35, init_image=product((1024, 1024)), mask=mask)


def test_every_problem_is_listed_at_once() -> None:
    message = refused(NOVA, prompt="x" * 1100, seed=900_000_000, width=1000, height=1000)
    assert "prompt" in message and "seeds" in message and "multiple of 16" in message


def test_image_variation_maps_strength_to_similarity() -> None:
    body = plan(NOVA, init_image=product(), strength=0.75, width=1024, height=1024).body(9)
    params = body["imageVariationParams"]
    assert body["taskType"] == "IMAGE_VARIATION" and params["similarityStrength"] == 0.25
    assert decoded(params["images"][0]).size == (1024, 1024)  # fitted to the frame asked for
    assert "at most 0.8 (got 0.9)" in refused(NOVA, init_image=product(), strength=0.9)


def test_stability_image_to_image_sends_image_and_strength_without_aspect_ratio() -> None:
    body = plan(SD35, init_image=product(), strength=0.6, width=1024, height=1024).body(5)
    assert body["mode"] == "image-to-image" and body["strength"] == 0.6
    assert "aspect_ratio" not in body and decoded(body["image"]).size == (1024, 1024)


def test_inpainting_inverts_studios_mask_into_bedrocks_black_inside() -> None:
    mask = Image.new("L", (640, 640), 0)
    mask.paste(255, (0, 0, 320, 640))  # Studio: white = generate here
    body = plan(NOVA, init_image=product(), mask=mask, width=640, height=640).body(1)
    bedrock_mask = decoded(body["inPaintingParams"]["maskImage"]).convert("L")
    assert bedrock_mask.getpixel((10, 10)) == 0 and bedrock_mask.getpixel((600, 10)) == 255
    assert {value for _, value in bedrock_mask.getcolors()} == {0, 255}
    assert "width" not in body["imageGenerationConfig"]  # edits keep the input's size


def test_outpainting_keeps_the_mask_and_can_take_a_described_one() -> None:
    mask = Image.new("L", (640, 640), 0)
    mask.paste(255, (0, 0, 320, 640))
    task = BedrockTask(type=TaskType.OUTPAINTING, outpainting_mode="PRECISE")
    body = plan(TITAN, task, init_image=product(), mask=mask, width=640, height=384).body(1)
    params = body["outPaintingParams"]
    assert params["outPaintingMode"] == "PRECISE"
    assert decoded(params["maskImage"]).convert("L").getpixel((10, 10)) == 255
    described = BedrockTask(type=TaskType.OUTPAINTING, mask_prompt="the handbag")
    params = plan(NOVA, described, init_image=product()).body(1)["outPaintingParams"]
    assert params["maskPrompt"] == "the handbag" and "maskImage" not in params
    assert "needs a mask image or a description" in refused(
        NOVA, BedrockTask(type=TaskType.OUTPAINTING), init_image=product())


def test_a_described_mask_on_an_image_means_inpainting() -> None:
    made = plan(NOVA, BedrockTask(mask_prompt="the mug"), init_image=product())
    assert made.task is TaskType.INPAINTING
    assert made.body(1)["inPaintingParams"]["maskPrompt"] == "the mug"


def test_background_removal_sends_only_the_image_and_makes_one() -> None:
    task = BedrockTask(type=TaskType.BACKGROUND_REMOVAL)
    body = plan(NOVA, task, init_image=product()).body(1)
    assert body == {"taskType": "BACKGROUND_REMOVAL",
                    "backgroundRemovalParams": {"image": body["backgroundRemovalParams"]["image"]}}
    assert "set the count to 1" in refused(NOVA, task, init_image=product(), count=2)
    assert "needs an input image" in refused(NOVA, task)


def test_colour_guided_generation_takes_a_palette_and_an_optional_reference() -> None:
    task = BedrockTask(colors=("#FF9800", "#1A237E"))
    body = plan(TITAN, task).body(1)
    assert body["taskType"] == "COLOR_GUIDED_GENERATION"
    assert body["colorGuidedGenerationParams"]["colors"] == ["#FF9800", "#1A237E"]
    with_reference = plan(NOVA, task, init_image=product()).body(1)
    assert "referenceImage" in with_reference["colorGuidedGenerationParams"]
    with pytest.raises(InvalidRequest, match="#RRGGBB"):
        BedrockTask(colors=("orange",))
    assert "needs 1 to 10 colours" in refused(
        NOVA, BedrockTask(type=TaskType.COLOR_GUIDED_GENERATION))


def test_quality_is_sent_where_the_model_has_tiers_and_refused_where_not() -> None:
    premium = BedrockTask(quality="premium")
    assert plan(NOVA, premium).body(1)["imageGenerationConfig"]["quality"] == "premium"
    assert "one quality tier" in refused(SD35, premium)


def test_empty_negative_prompt_is_left_out_since_bedrock_wants_1_or_more_characters() -> None:
    assert "negativeText" not in plan(NOVA).body(1)["textToImageParams"]
    assert plan(NOVA, negative_prompt="blur").body(1)["textToImageParams"]["negativeText"] == "blur"
