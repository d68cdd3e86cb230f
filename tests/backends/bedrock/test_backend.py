"""The Bedrock backend end to end: real boto3 → the local fake bedrock-runtime → images."""

from __future__ import annotations

import pytest
from PIL import Image

from backends.bedrock import BedrockBackend, BedrockTask, TaskType
from backends.errors import Cancelled, InvalidRequest
from backends.types import Backend, CancelToken, GenerationRequest, Progress
from tests.backends.bedrock.fake_bedrock_server import FakeBedrock

NOVA = "amazon.nova-canvas-v1:0"
TITAN = "amazon.titan-image-generator-v2:0"


def product(size: tuple[int, int] = (800, 600)) -> Image.Image:
    return Image.new("RGB", size, (30, 90, 160))


@pytest.mark.parametrize(("model", "size", "made", "usd"), [
    (TITAN, (768, 768), (768, 768), 0.01),
    (NOVA, (1280, 720), (1280, 720), 0.04),
    ("stability.sd3-5-large-v1:0", (1344, 768), (1344, 768), 0.08),
    ("stability.stable-image-core-v1:1", (1024, 1024), (1024, 1024), 0.04),
    ("stability.stable-image-ultra-v1:1", (832, 1216), (832, 1216), 0.14),
])
def test_text_to_image_on_every_model_returns_pngs_with_latency_and_cost(
        make_backend, fake_bedrock: FakeBedrock, model, size, made, usd) -> None:
    backend = make_backend(model, region="us-west-2")
    assert isinstance(backend, Backend)
    request = GenerationRequest(prompt="a leather tote on marble", width=size[0],
                                height=size[1], seed=11, count=2)
    estimate = backend.estimate_cost(request)
    result = backend.generate(request)

    assert [g.image.size for g in result.images] == [made, made]
    assert [g.seed for g in result.images] == [11, 12]
    assert result.backend == "bedrock" and result.model == model
    assert result.device == "Amazon Bedrock (us-west-2)"
    assert result.cost.usd == pytest.approx(2 * usd) and not result.cost.estimated
    assert estimate.usd == pytest.approx(result.cost.usd) and estimate.estimated
    assert f"2 images × ${usd:g}" in result.cost.basis
    t = result.timings
    assert t.network_s > 0 and t.decode_s > 0 and t.inference_s == 0
    assert t.total_s >= t.network_s + t.decode_s
    assert len(fake_bedrock.calls) == 2  # one call per image, each with its own seed
    assert {c.model_id for c in fake_bedrock.calls} == {model}
    assert {c.region for c in fake_bedrock.calls} == {"us-west-2"}  # signed for the region


def test_the_request_sent_is_the_models_schema(make_backend, fake_bedrock) -> None:
    make_backend(NOVA).generate(GenerationRequest(
        prompt="ceramic mug", negative_prompt="blur", guidance=6.5, seed=4, width=1024,
        height=1024))
    assert fake_bedrock.calls[0].body == {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": "ceramic mug", "negativeText": "blur"},
        "imageGenerationConfig": {"numberOfImages": 1, "quality": "standard", "cfgScale": 6.5,
                                  "seed": 4, "width": 1024, "height": 1024},
    }
    assert fake_bedrock.calls[0].headers["content-type"] == "application/json"


def test_a_recorded_image_can_be_made_again_from_its_seed(make_backend) -> None:
    backend = make_backend(NOVA)
    both = backend.generate(GenerationRequest(prompt="mug", seed=100, count=2))
    second = backend.generate(GenerationRequest(prompt="mug", seed=both.images[1].seed))
    assert second.images[0].image.tobytes() == both.images[1].image.tobytes()


def test_stability_reports_the_seed_it_used(make_backend, fake_bedrock) -> None:
    result = make_backend("stability.sd3-5-large-v1:0").generate(
        GenerationRequest(prompt="lamp", seed=0))  # 0 asks Stability to pick
    assert fake_bedrock.calls[0].body["seed"] == 0
    assert result.images[0].seed != 0  # the seed Stability reports, so it can be repeated


def test_image_variation_and_stability_image_to_image(make_backend, fake_bedrock) -> None:
    request = GenerationRequest(prompt="the same bag in red", init_image=product(),
                                strength=0.4, width=1024, height=1024)
    nova = make_backend(NOVA).generate(request)
    assert nova.images[0].image.size == (1024, 1024) and nova.request.mode == "img2img"
    assert fake_bedrock.calls[-1].body["imageVariationParams"]["similarityStrength"] == 0.6
    ultra = make_backend("stability.stable-image-ultra-v1:1").generate(request)
    assert ultra.images[0].image.size == (1024, 1024)
    assert fake_bedrock.calls[-1].body["mode"] == "image-to-image"


def test_inpainting_with_a_mask_image(make_backend, fake_bedrock) -> None:
    mask = Image.new("L", (800, 600), 0)
    mask.paste(255, (300, 200, 500, 400))
    result = make_backend(TITAN).generate(GenerationRequest(
        prompt="a brass handle", init_image=product(), mask=mask, width=768, height=768))
    assert result.request.mode == "inpaint" and result.images[0].image.size == (768, 768)
    assert "maskImage" in fake_bedrock.calls[-1].body["inPaintingParams"]
    assert "inpainting" in result.cost.basis


def test_outpainting_background_removal_and_colour_guided_tasks(make_backend,
                                                               fake_bedrock) -> None:
    backend = make_backend(NOVA)
    outpaint = backend.with_task(BedrockTask(type=TaskType.OUTPAINTING,
                                             mask_prompt="the sneaker"))
    result = outpaint.generate(GenerationRequest(prompt="on a beach at dusk",
                                                 init_image=product(), width=1024, height=768))
    assert result.images[0].image.size == (1024, 768)
    assert "outpainting" in result.cost.basis

    cutout = backend.with_task(BedrockTask(type=TaskType.BACKGROUND_REMOVAL))
    removed = cutout.generate(GenerationRequest(prompt="remove the background",
                                                init_image=product(), width=800, height=608))
    assert removed.images[0].image.mode == "RGBA" and removed.images[0].image.size == (800, 608)
    assert removed.images[0].image.getpixel((5, 5))[3] == 0  # transparent background
    assert fake_bedrock.calls[-1].body["taskType"] == "BACKGROUND_REMOVAL"

    palette = backend.with_task(BedrockTask(colors=("#FF9800", "#263238"), quality="premium"))
    coloured = palette.generate(GenerationRequest(prompt="a desk lamp", width=1024,
                                                  height=1024))
    assert fake_bedrock.calls[-1].body["colorGuidedGenerationParams"]["colors"] == [
        "#FF9800", "#263238"]
    assert coloured.cost.usd == pytest.approx(0.06) and "premium" in coloured.cost.basis
    assert palette._client is backend._client  # one client, shared by every task


def test_progress_per_image_and_cancel_between_images(make_backend, fake_bedrock) -> None:
    cancel = CancelToken()
    seen: list[Progress] = []

    def on_progress(event: Progress) -> None:
        seen.append(event)
        if event.step == 1:
            cancel.cancel()

    with pytest.raises(Cancelled, match="1 of 3 images had already been made; Bedrock bills"):
        make_backend(NOVA).generate(GenerationRequest(prompt="vase", count=3),
                                    on_progress=on_progress, cancel=cancel)
    assert len(fake_bedrock.calls) == 1
    assert [(e.step, e.total) for e in seen] == [(0, 3), (1, 3)]


def test_a_request_the_model_cannot_serve_never_reaches_bedrock(make_backend,
                                                               fake_bedrock) -> None:
    backend = make_backend(TITAN)
    with pytest.raises(InvalidRequest, match="closest are"):
        backend.check(GenerationRequest(prompt="x", width=1000, height=1000))
    with pytest.raises(InvalidRequest, match="at most 512 characters"):
        backend.generate(GenerationRequest(prompt="x" * 600))
    assert fake_bedrock.calls == []


def test_describe_names_model_region_and_profile(prices) -> None:
    backend = BedrockBackend(NOVA, prices=prices, region="eu-west-1", profile="design")
    info = backend.describe()
    assert info.available and info.device == "Amazon Bedrock (eu-west-1)"
    assert "Nova Canvas as design" in info.detail
    assert not BedrockBackend("nope", prices=prices).describe().available


def test_test_connection_proves_access_without_generating(make_backend,
                                                          fake_bedrock) -> None:
    for model in (NOVA, "stability.stable-image-ultra-v1:1"):
        sentence = make_backend(model).test_connection()
        assert sentence.startswith("Connected to Amazon Bedrock in us-east-1 through http://")
        assert "Nothing was generated or billed" in sentence
    assert all(c.body and "images" not in c.body for c in fake_bedrock.calls)
    assert fake_bedrock.calls[0].body == {"taskType": "STUDIO_ACCESS_CHECK"}


def test_a_blank_region_uses_the_profiles_default(aws_home, prices, fake_bedrock) -> None:
    (aws_home / "aws_config_file").write_text("[default]\nregion = eu-west-1\n")
    backend = BedrockBackend(NOVA, prices=prices, region="", endpoint_url=fake_bedrock.url)
    result = backend.generate(GenerationRequest(prompt="mug", seed=1))
    assert result.device == "Amazon Bedrock (eu-west-1)"
    assert fake_bedrock.calls[0].region == "eu-west-1"
    assert result.cost.basis.endswith("; prices in eu-west-1 may differ")
    assert "in eu-west-1" in backend.test_connection()
