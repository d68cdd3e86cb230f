"""The Bedrock backend end to end: real boto3 → the local fake Bedrock → images and costs."""

from __future__ import annotations

import pytest
from PIL import Image

from backends.bedrock import BedrockBackend, BedrockTask, Margins, ModelNotAvailable
from backends.errors import Cancelled, InvalidRequest
from backends.types import Backend, CancelToken, GenerationRequest, Progress
from tests.backends.bedrock.fake_bedrock_server import FakeBedrock

SD35 = "stability.sd3-5-large-v1:0"


def product(size: tuple[int, int] = (800, 600)) -> Image.Image:
    return Image.new("RGB", size, (30, 90, 160))


@pytest.mark.parametrize(("model", "size", "usd"), [
    (SD35, (1344, 768), 0.08),
    ("stability.stable-image-core-v1:1", (1024, 1024), 0.04),
    ("stability.stable-image-ultra-v1:1", (832, 1216), 0.14),
])
def test_text_to_image_on_every_model_returns_pngs_with_latency_and_cost(
        make_backend, fake_bedrock: FakeBedrock, model, size, usd) -> None:
    backend = make_backend(model)
    assert isinstance(backend, Backend)
    request = GenerationRequest(prompt="a leather tote on marble", width=size[0],
                                height=size[1], seed=11, count=2)
    estimate = backend.estimate_cost(request)
    result = backend.generate(request)

    assert [g.image.size for g in result.images] == [size, size]
    assert [g.seed for g in result.images] == [11, 12]
    assert result.backend == "bedrock" and result.model == model
    assert result.device == "Amazon Bedrock (us-west-2)"
    assert result.cost.usd == pytest.approx(2 * usd) and not result.cost.estimated
    assert estimate.usd == pytest.approx(result.cost.usd) and estimate.estimated
    t = result.timings
    assert t.network_s > 0 and t.decode_s > 0 and t.inference_s == 0
    assert len(fake_bedrock.calls) == 2  # one call per image, each with its own seed
    assert {c.model_id for c in fake_bedrock.calls} == {model}
    assert {c.region for c in fake_bedrock.calls} == {"us-west-2"}  # signed for the region


def test_a_recorded_image_can_be_made_again_from_its_seed(make_backend) -> None:
    backend = make_backend()
    both = backend.generate(GenerationRequest(prompt="mug", seed=100, count=2))
    second = backend.generate(GenerationRequest(prompt="mug", seed=both.images[1].seed))
    assert second.images[0].image.tobytes() == both.images[1].image.tobytes()


def test_stability_reports_the_seed_it_used(make_backend, fake_bedrock) -> None:
    result = make_backend().generate(GenerationRequest(prompt="lamp", seed=0))  # 0: pick one
    assert fake_bedrock.calls[0].body["seed"] == 0
    assert result.images[0].seed != 0  # the seed Stability reports, so it can be repeated


def test_remove_background_runs_the_service_through_its_profile(make_backend,
                                                                fake_bedrock) -> None:
    backend = make_backend("stability.stable-image-core-v1:1")
    cutout = backend.with_task(BedrockTask(task="remove-background"))
    result = cutout.generate(GenerationRequest(prompt="remove background",
                                               init_image=product()))
    image = result.images[0].image
    assert image.mode == "RGBA" and image.size == (800, 600)
    assert image.getpixel((5, 5))[3] == 0  # transparent background
    call = fake_bedrock.calls[-1]
    assert call.model_id == "us.stability.stable-image-remove-background-v1:0"
    assert set(call.body) == {"image", "output_format"}
    # The id invoked, profile and all, is what history records.
    assert result.model == result.request.model == call.model_id
    assert result.cost.usd == pytest.approx(0.07) and "remove background" in result.cost.basis
    assert cutout._client is backend._client  # one client, shared by every task


@pytest.mark.parametrize(("region", "profile_ok"), [("us-east-1", True), ("us-east-2", True),
                                                    ("eu-west-1", False)])
def test_a_service_is_reached_through_the_us_profile_from_us_regions_only(
        make_backend, fake_bedrock, region, profile_ok) -> None:
    inpaint = make_backend(region=region).with_task(BedrockTask(task="inpaint"))
    mask = Image.new("L", (800, 600), 0)
    mask.paste(255, (0, 0, 800, 300))
    request = GenerationRequest(prompt="marble counter", init_image=product(), mask=mask)
    if not profile_ok:
        with pytest.raises(ModelNotAvailable, match="US cross-region inference profile"):
            inpaint.generate(request)
        assert fake_bedrock.calls == []
        return
    result = inpaint.generate(request)
    assert fake_bedrock.calls[-1].region == region
    assert result.model == "us.stability.stable-image-inpaint-v1:0"
    assert result.images[0].image.size == (800, 600)


def test_outpaint_and_upscale_answer_in_the_services_own_size(make_backend) -> None:
    backend = make_backend()
    wider = backend.with_task(BedrockTask(task="outpaint", margins=Margins(left=100,
                                                                           right=100)))
    assert wider.generate(GenerationRequest(prompt="a beach", init_image=product())
                          ).images[0].image.size == (1000, 600)
    fast = backend.with_task(BedrockTask(task="upscale-fast"))
    assert fast.generate(GenerationRequest(prompt="upscale", init_image=product((300, 200)))
                         ).images[0].image.size == (1200, 800)


def test_progress_per_image_and_cancel_between_images(make_backend, fake_bedrock) -> None:
    cancel = CancelToken()
    seen: list[Progress] = []

    def on_progress(event: Progress) -> None:
        seen.append(event)
        if event.step == 1:
            cancel.cancel()

    with pytest.raises(Cancelled, match="1 of 3 images had already been made; Bedrock bills"):
        make_backend().generate(GenerationRequest(prompt="vase", count=3),
                                on_progress=on_progress, cancel=cancel)
    assert len(fake_bedrock.calls) == 1
    assert [(e.step, e.total) for e in seen] == [(0, 3), (1, 3)]


def test_a_request_the_model_cannot_serve_never_reaches_bedrock(make_backend,
                                                               fake_bedrock) -> None:
    backend = make_backend()
    with pytest.raises(InvalidRequest, match="not near one it offers"):
        backend.check(GenerationRequest(prompt="x", width=1024, height=256))
    with pytest.raises(InvalidRequest, match="needs an input image"):
        backend.with_task(BedrockTask(task="erase")).generate(GenerationRequest(prompt="x"))
    assert fake_bedrock.calls == []


def test_describe_names_model_region_and_profile(prices) -> None:
    backend = BedrockBackend(SD35, prices=prices, region="us-west-2", profile="design")
    info = backend.describe()
    assert info.available and info.device == "Amazon Bedrock (us-west-2)"
    assert "Stable Diffusion 3.5 Large as design" in info.detail
    assert not BedrockBackend("nope", prices=prices).describe().available


def test_test_connection_proves_access_without_generating(make_backend,
                                                          fake_bedrock) -> None:
    for model in (SD35, "stability.stable-image-ultra-v1:1"):
        sentence = make_backend(model).test_connection()
        assert sentence.startswith("Connected to Amazon Bedrock in us-west-2 through http://")
        assert "Nothing was generated or billed" in sentence
        assert "Read the lifecycle of 16 image models" in sentence
    assert all(c.body and "images" not in c.body for c in fake_bedrock.calls)


def test_a_blank_region_uses_the_profiles_default(aws_home, prices, fake_bedrock) -> None:
    (aws_home / "aws_config_file").write_text("[default]\nregion = us-east-1\n")
    backend = BedrockBackend(SD35, prices=prices, region="", endpoint_url=fake_bedrock.url)
    remove = backend.with_task(BedrockTask(task="remove-background"))
    result = remove.generate(GenerationRequest(prompt="cut out", init_image=product()))
    assert result.device == "Amazon Bedrock (us-east-1)"
    assert fake_bedrock.calls[0].region == "us-east-1"
    assert result.cost.basis.endswith("; prices in us-east-1 may differ")


def test_a_lost_answer_is_not_retried_by_botocore_and_may_have_been_billed(
        make_backend, fake_bedrock) -> None:
    from backends.errors import TransientError
    from backends.types import GenerationRequest

    fake_bedrock.scenario.answer_after_s = 1.0
    backend = make_backend(max_attempts=4, read_timeout_s=0.3)
    with pytest.raises(TransientError) as caught:
        backend.generate(GenerationRequest(prompt="a tote", width=1024, height=1024, seed=1))
    assert caught.value.maybe_billed
    assert len(fake_bedrock.calls) == 1  # made once, and never silently paid for again


def test_throttling_still_gets_botocore_back_off(make_backend, fake_bedrock) -> None:
    from backends.types import GenerationRequest

    fake_bedrock.scenario.throttle = 1
    backend = make_backend(max_attempts=4)
    result = backend.generate(GenerationRequest(prompt="a tote", width=1024, height=1024,
                                                seed=1))
    assert len(result.images) == 1 and len(fake_bedrock.calls) == 2
