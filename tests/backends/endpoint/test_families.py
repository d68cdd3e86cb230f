"""The handler serves every family: it finds the family when it loads a model, fills in the
family's defaults, refuses what the family cannot do, edits by words on edit models and
passes the guidance the way each family takes it. Tiny random-weight models, end to end
through model_fn, input_fn, predict_fn and output_fn."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from backends.endpoint import inference
from backends.endpoint.inference import BadRequest, LoadedPipeline, for_model, parse_request

SMALL = {"width": 64, "height": 64}


def _b64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def serve(model, inputs: str, **parameters) -> dict:
    """One request the way the toolkit runs it: bytes in, JSON text out."""
    body = json.dumps({"inputs": inputs, "parameters": parameters}).encode()
    job = inference.input_fn(body, "application/json")
    return json.loads(inference.output_fn(inference.predict_fn(job, model), "application/json"))


def _image(encoded: str) -> Image.Image:
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
        image.load()
        return image.copy()


@pytest.mark.parametrize(("family", "name", "label"), [
    ("flux1", "flux1-schnell", "FLUX.1 [schnell]"),
    ("flux1-dev", "flux1", "FLUX.1 [dev]"),
    ("flux2-klein", "flux2-klein", "FLUX.2 [klein] 4B"),
    ("z-image", "z-image", "Z-Image-Turbo"),
    ("qwen-image", "qwen-image", "Qwen-Image"),
])
def test_the_family_is_found_when_the_model_loads(family_model, family, name, label) -> None:
    model = family_model(family)
    assert (model.family_name, model.profile.label) == (name, label)
    assert model.model == f"tiny-{family}" and model.device == "cpu fp32"


def test_stable_diffusion_is_found_too(tiny_endpoint_model) -> None:
    assert tiny_endpoint_model.family_name == "sd1"


@pytest.mark.parametrize(("family", "steps", "guidance", "licence", "commercial"), [
    ("flux1", 4, 0.0, "Apache-2.0", True),
    ("z-image", 9, 0.0, "Apache-2.0", True),
    ("flux1-dev", 28, 3.5, "FLUX.1 [dev] Non-Commercial License", False),
])
def test_unset_steps_and_guidance_are_the_familys_and_are_echoed(family_model, family, steps,
                                                                 guidance, licence,
                                                                 commercial) -> None:
    model = family_model(family)
    answer = serve(model, "a linen lampshade", seed=3, **SMALL)
    assert answer["parameters"] == {"num_inference_steps": steps, "guidance_scale": guidance,
                                    "scheduler": None, "mode": "txt2img"}
    assert (answer["licence"], answer["commercial_use"]) == (licence, commercial)
    assert answer["family"] == model.family_name and answer["seeds"] == [3]
    assert len(model.pipeline.scheduler.timesteps) == steps  # they really ran
    assert _image(answer["generated_images"][0]).size == (64, 64)


def test_set_steps_and_guidance_win_over_the_familys(family_model) -> None:
    answer = serve(family_model("flux1-dev"), "a walnut tray", seed=1, num_inference_steps=2,
                   guidance_scale=5.0, **SMALL)
    assert answer["parameters"]["num_inference_steps"] == 2
    assert answer["parameters"]["guidance_scale"] == 5.0


def test_stable_diffusion_gets_its_familys_defaults(tiny_endpoint_model) -> None:
    job = for_model(parse_request({"inputs": "a vase", "parameters": SMALL}),
                    tiny_endpoint_model)
    assert (job.steps, job.guidance) == (30, 7.0)


def test_an_edit_request_on_an_edit_family(family_model) -> None:
    model = family_model("flux2-klein")
    source = Image.new("RGB", (96, 64), (30, 90, 200))
    answer = serve(model, "make the background marble", image=_b64(source), edit=True, seed=8,
                   num_inference_steps=2, **SMALL)
    assert answer["parameters"]["mode"] == "edit" and answer["family"] == "flux2-klein"
    assert _image(answer["generated_images"][0]).size == (64, 64)
    assert model.by_mode == {}  # the edit ran on the main pipeline, no sibling was made


@pytest.mark.parametrize(("family", "mode"), [("flux1", "img2img"), ("z-image", "inpaint")])
def test_image_to_image_and_inpainting_keep_the_asked_frame(family_model, family, mode) -> None:
    # FLUX's image-to-image pipeline makes its own default size (1024²) unless told the frame.
    source = Image.new("RGB", (96, 64), (200, 30, 30))
    extra = {"mask": _b64(Image.new("L", (96, 64), 255))} if mode == "inpaint" else {}
    answer = serve(family_model(family), "a glazed bowl", image=_b64(source), strength=1.0,
                   seed=6, num_inference_steps=2, **extra, **SMALL)
    assert answer["parameters"]["mode"] == mode
    assert _image(answer["generated_images"][0]).size == (64, 64)


@pytest.mark.slow
def test_qwen_image_edit_edits(family_model) -> None:
    model = family_model("qwen-image-edit")
    answer = serve(model, "make it blue", image=_b64(Image.new("RGB", (64, 64), "red")),
                   edit=True, seed=1, num_inference_steps=2, **SMALL)
    assert answer["parameters"]["mode"] == "edit" and answer["family"] == "qwen-image-edit"


def test_a_sampler_the_family_cannot_use_is_refused_with_the_allowed_ones(family_model) -> None:
    with pytest.raises(BadRequest) as caught:
        serve(family_model("flux1"), "a mug", scheduler="euler_a", **SMALL)
    assert str(caught.value) == (
        "Invalid request: FLUX.1 [schnell] cannot use the sampler 'euler_a'; it runs with: "
        "euler (or leave the sampler unset for the model's own).")


def test_a_mode_the_family_cannot_do_is_refused(family_model, tiny_endpoint_model) -> None:
    image = _b64(Image.new("RGB", (64, 64)))
    with pytest.raises(BadRequest, match=r"FLUX.1 \[schnell\] cannot do editing by words; it "
                                         "does text to image, image to image, inpainting"):
        serve(family_model("flux1"), "make it red", image=image, edit=True, **SMALL)
    with pytest.raises(BadRequest, match=r"Stable Diffusion 1.x cannot do editing by words"):
        serve(tiny_endpoint_model, "make it red", image=image, edit=True, **SMALL)


def test_a_negative_prompt_is_refused_where_the_family_takes_none(family_model) -> None:
    with pytest.raises(BadRequest, match="takes no negative prompt: it is guidance-distilled"):
        serve(family_model("flux1-dev"), "a mug", negative_prompt="blurry", **SMALL)


def test_a_size_off_the_familys_multiple_is_refused(family_model) -> None:
    with pytest.raises(BadRequest, match="needs the width to be a multiple of 16: 72 is not; "
                                         "try 64 or 80"):
        serve(family_model("flux1"), "a mug", width=72, height=64)


def test_strength_is_checked_against_the_familys_steps(family_model) -> None:
    image = _b64(Image.new("RGB", (64, 64)))
    # FLUX.1 [schnell] runs 4 steps: a strength of 0.2 would run none of them.
    with pytest.raises(BadRequest, match="With strength 0.2 no denoising step would run"):
        serve(family_model("flux1"), "a mug", image=image, strength=0.2, **SMALL)


def test_a_model_of_no_known_family_gets_the_generic_defaults_and_no_edit() -> None:
    model = LoadedPipeline(None, "cpu", "cpu fp32", "mystery")
    job = for_model(parse_request({"inputs": "a mug"}), model)
    assert (job.steps, job.guidance, job.width) == (30, 7.0, None)
    edit = parse_request({"inputs": "make it red", "parameters": {
        "image": _b64(Image.new("RGB", (64, 64))), "edit": True}})
    with pytest.raises(BadRequest, match="Editing by words needs a model made for it"):
        for_model(edit, model)


@pytest.mark.parametrize(("parameters", "expected"), [
    ({"edit": True}, 'An edit by words needs the image to edit'),
    ({"edit": "yes"}, "edit must be true or false"),
    ({"edit": True, "image": "IMAGE", "mask": "IMAGE"}, "it takes no mask"),
])
def test_bad_edit_requests_are_named(parameters, expected) -> None:
    image = _b64(Image.new("RGB", (64, 64)))
    parameters = {k: image if v == "IMAGE" else v for k, v in parameters.items()}
    with pytest.raises(BadRequest, match=expected):
        parse_request({"inputs": "make it red", "parameters": parameters})


def test_a_request_without_steps_leaves_them_to_the_model() -> None:
    job = parse_request({"inputs": "a mug", "parameters": {"seed": 1}})
    assert (job.steps, job.guidance, job.mode) == (None, None, "txt2img")


@pytest.mark.parametrize(("family", "expected", "left_out"), [
    # Qwen-Image: true CFG, with a blank negative prompt to turn it on.
    ("qwen-image", {"true_cfg_scale": 4.0, "negative_prompt": " "}, {"guidance_scale"}),
    # FLUX.1 [dev]: the distilled guidance value, and no negative prompt.
    ("flux1-dev", {"guidance_scale": 3.5}, {"negative_prompt", "true_cfg_scale"}),
    # Z-Image: classic CFG (off at its default 0).
    ("z-image", {"guidance_scale": 0.0, "negative_prompt": None}, {"true_cfg_scale"}),
])
def test_the_guidance_goes_the_way_the_family_takes_it(family_model, family, expected,
                                                       left_out) -> None:
    model = family_model(family)
    job = for_model(parse_request({"inputs": "a mug", "parameters": SMALL}), model)
    _, kwargs = inference.call_arguments(job, model)
    assert {k: kwargs[k] for k in expected} == expected
    assert not left_out & set(kwargs)


def test_stable_diffusion_takes_guidance_and_the_negative_prompt(tiny_endpoint_model) -> None:
    job = for_model(parse_request({"inputs": "a mug", "parameters": {
        "negative_prompt": "blurry", **SMALL}}), tiny_endpoint_model)
    _, kwargs = inference.call_arguments(job, tiny_endpoint_model)
    assert (kwargs["guidance_scale"], kwargs["negative_prompt"]) == (7.0, "blurry")


@pytest.mark.slow
def test_qwen_image_runs_its_fifty_default_steps_with_true_cfg(family_model) -> None:
    answer = serve(family_model("qwen-image"), "a sign that says OPEN", seed=4, **SMALL)
    assert answer["parameters"]["num_inference_steps"] == 50
    assert answer["parameters"]["guidance_scale"] == 4.0


def test_without_a_family_table_every_family_is_unknown(monkeypatch) -> None:
    monkeypatch.setattr(inference, "_family_table", lambda: {})
    assert inference.family_profile("flux1", ("schnell",)) is None
    assert inference.family_profile("sd1") is None
