"""The endpoint's speed profile: named by its environment (STUDIO_SPEED), applied once when the
model loads, warmed up when something was compiled, and reported in every answer. A request
asking for another profile is answered with the loaded one, and the answer says so."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from backends.endpoint import inference
from backends.endpoint.server import EndpointServer

TINY = {"width": 64, "height": 64, "num_inference_steps": 2, "seed": 1}
CPU_FALLBACKS = (
    "not applied: bf16: a CPU runs fp32",
    "not applied: fp8: needs an NVIDIA GPU with FP8 units (Ada, Hopper or newer)",
    "not applied: compile: off on CPU (minutes of compiling for little gain; set "
    "STUDIO_COMPILE_ON_CPU=1 to compile anyway)",
)


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def fastest_flux(family_model, monkeypatch) -> Any:
    """The tiny FLUX.1 [schnell] loaded by model_fn with STUDIO_SPEED=fastest, on the CPU."""
    monkeypatch.delenv(inference.COMPILE_ON_CPU_ENV, raising=False)
    return family_model("flux1", "fastest")


@pytest.fixture
def fastest_endpoint(fastest_flux) -> Iterator[EndpointServer]:
    with EndpointServer(fastest_flux, port=0) as server:
        yield server


def test_fastest_on_a_cpu_reports_what_it_applied_and_what_fell_back(fastest_endpoint) -> None:
    status, answer = post(f"{fastest_endpoint.url}/invocations",
                          {"inputs": "a linen lampshade", "parameters": TINY})
    assert status == 200
    notes = answer["accelerations"]
    assert notes[0] == "speed fastest: fp32"
    assert "fused QKV projections" in notes
    assert "first-block step cache (threshold 0.08)" in notes
    for fallback in CPU_FALLBACKS:
        assert fallback in notes
    assert answer["speed"] == {"requested": None, "used": "fastest", "accelerations": notes,
                               "warmup_s": 0.0}  # nothing compiled, so no warm-up
    assert answer["device"] == "cpu fp32" and "warmup_s" not in answer["timings"]


def test_a_request_for_another_speed_is_answered_with_the_loaded_one(fastest_endpoint,
                                                                    fastest_flux) -> None:
    pipeline = fastest_flux.pipeline
    status, answer = post(f"{fastest_endpoint.url}/invocations",
                          {"inputs": "a linen lampshade", "parameters": {**TINY,
                                                                         "speed": "exact"}})
    assert status == 200 and len(answer["generated_images"]) == 1
    speed = answer["speed"]
    assert (speed["requested"], speed["used"]) == ("exact", "fastest")
    assert answer["accelerations"][0] == ("asked for speed exact, ran fastest: this endpoint "
                                          "was loaded with fastest (STUDIO_SPEED) and serves "
                                          "every request with it")
    assert answer["accelerations"][1] == "speed fastest: fp32"
    assert speed["accelerations"] == answer["accelerations"]
    # Never reloaded for a request: the same pipeline, still the loaded profile.
    assert fastest_endpoint.model is fastest_flux and fastest_flux.pipeline is pipeline
    assert fastest_flux.speed.speed == "fastest"


def test_asking_for_the_loaded_speed_says_nothing_more(fastest_flux) -> None:
    answer = inference.predict_fn({"inputs": "a mug", "parameters": {**TINY,
                                                                     "speed": "fastest"}},
                                  fastest_flux)
    assert answer["speed"]["requested"] == answer["speed"]["used"] == "fastest"
    assert answer["accelerations"][0] == "speed fastest: fp32"


def test_a_speed_this_endpoint_does_not_know_is_answered_too(fastest_flux) -> None:
    answer = inference.predict_fn({"inputs": "a mug", "parameters": {**TINY,
                                                                     "speed": "ludicrous"}},
                                  fastest_flux)
    assert answer["speed"]["used"] == "fastest"
    assert answer["accelerations"][0].startswith("asked for speed ludicrous, ran fastest")


@pytest.mark.parametrize("speed", [3, "", "x" * 41])
def test_a_speed_that_is_no_name_is_refused(speed) -> None:
    with pytest.raises(inference.BadRequest, match="speed must be one of exact, fast, fastest"):
        inference.parse_request({"inputs": "a mug", "parameters": {"speed": speed}})


def test_jumpstart_answers_keep_their_shape(fastest_flux) -> None:
    answer = inference.predict_fn({"prompt": "a mug", "width": 64, "height": 64,
                                   "num_inference_steps": 2, "seed": 1}, fastest_flux)
    assert set(answer) == {"generated_images", "prompt"}


@pytest.mark.parametrize(("value", "speed", "note"), [
    (None, "fast", ""),
    ("fastest", "fastest", ""),
    (" Exact ", "exact", ""),
    ("turbo", "fast", "STUDIO_SPEED='turbo': not one of exact, fast, fastest, so fast is used"),
])
def test_the_environment_names_the_speed(monkeypatch, value, speed, note) -> None:
    if value is None:
        monkeypatch.delenv("STUDIO_SPEED", raising=False)
    else:
        monkeypatch.setenv("STUDIO_SPEED", value)
    assert inference.environment_speed() == (speed, note)


def test_exact_keeps_the_model_as_it_was(family_dir, monkeypatch) -> None:
    monkeypatch.setenv("STUDIO_SPEED", "exact")
    model = inference.model_fn(str(family_dir("flux1")))
    answer = inference.predict_fn({"inputs": "a mug", "parameters": TINY}, model)
    assert answer["accelerations"] == ["speed exact: fp32"]
    assert answer["speed"]["used"] == "exact" and answer["device"] == "cpu fp32"


def test_a_studio_speed_that_names_nothing_falls_back_with_a_note(family_dir,
                                                                    monkeypatch) -> None:
    monkeypatch.setenv("STUDIO_SPEED", "turbo")
    model = inference.model_fn(str(family_dir("flux1")))
    assert model.speed.speed == "fast"
    assert model.accelerations[:2] == (
        "speed fast: fp32", "attention: PyTorch SDPA (the fused kernels need CUDA)")
    assert ("not applied: STUDIO_SPEED='turbo': not one of exact, fast, fastest, so fast is "
            "used") in model.accelerations


def test_serve_can_load_with_a_speed_of_its_own(family_dir, monkeypatch) -> None:
    monkeypatch.setenv("STUDIO_SPEED", "fastest")
    with EndpointServer.load(str(family_dir("flux1")), speed="exact", port=0) as server:
        assert server.model.speed.speed == "exact"
    with pytest.raises(ValueError, match="unknown speed 'turbo'"):
        inference.load_model(str(family_dir("flux1")), "turbo")


# --- The warm-up, with compiling stood in for (compiling on a CPU takes minutes) ----------

def _pretend_to_compile(denoiser: Any, device: str, family: str, report: Any) -> None:
    report.applied.append("compiled (a stand-in)")
    report.compiled = True


@pytest.fixture
def recorded_calls(monkeypatch) -> list[inference.Job]:
    """The jobs call_arguments prepares, the warm-up's included."""
    jobs: list[inference.Job] = []
    real = inference.call_arguments

    def recording(job: inference.Job, model: Any) -> Any:
        jobs.append(job)
        return real(job, model)

    monkeypatch.setattr(inference, "call_arguments", recording)
    monkeypatch.setattr(inference, "_compile", _pretend_to_compile)
    return jobs


def test_a_compiled_model_is_warmed_up_at_its_native_size_and_reports_it(
        family_dir, monkeypatch, recorded_calls) -> None:
    monkeypatch.setenv("STUDIO_SPEED", "fast")
    model = inference.model_fn(str(family_dir("flux1")))
    (warm_up,) = recorded_calls
    native = model.profile.native_side
    assert (warm_up.width, warm_up.height, warm_up.steps, warm_up.mode) == (
        native, native, inference.WARMUP_STEPS, "txt2img")
    assert model.speed.compiled and model.speed.warmup_s > 0
    answer = inference.predict_fn({"inputs": "a mug", "parameters": TINY}, model)
    assert answer["speed"]["warmup_s"] == round(model.speed.warmup_s, 4)
    assert f"compiled in a {model.speed.warmup_s:.1f} s warm-up at {native}×{native} (other " \
           "sizes compile on their first request)" in answer["accelerations"]
    assert "warmup_s" not in answer["timings"]  # loading, not this request's time
    assert len(recorded_calls) == 2  # the request itself: no second warm-up


@pytest.mark.parametrize(("modes", "mode"), [(("edit",), "edit"), (("inpaint",), "inpaint")])
def test_a_model_without_text_to_image_is_warmed_up_with_an_image(family_dir, monkeypatch,
                                                                  recorded_calls, modes,
                                                                  mode) -> None:
    model_dir = family_dir("flux1")
    monkeypatch.setenv("STUDIO_SPEED", "fast")
    real_profile = inference.family_profile

    def without_txt2img(family: str, variants: tuple[str, ...] = ()) -> Any:
        profile = real_profile(family, variants)
        return profile and dataclasses.replace(profile, modes=modes, native_side=64)

    monkeypatch.setattr(inference, "family_profile", without_txt2img)
    inference.model_fn(str(model_dir))
    (warm_up,) = recorded_calls
    assert warm_up.mode == mode and warm_up.init_image.size == (64, 64)


def test_a_warm_up_that_fails_otherwise_is_a_note(family_dir, monkeypatch,
                                                  recorded_calls) -> None:
    monkeypatch.setenv("STUDIO_SPEED", "fast")

    def failing(job: inference.Job, model: Any) -> Any:
        raise ValueError("no such component\nmore detail")

    monkeypatch.setattr(inference, "call_arguments", failing)
    model = inference.model_fn(str(family_dir("flux1")))
    assert model.speed.compiled and model.speed.warmup_s == 0.0
    assert ("not applied: warm-up: no such component; each size compiles on its first "
            "request") in model.accelerations
    assert not any(n.startswith("compiled in a") for n in model.accelerations)


def test_a_graph_that_fails_to_compile_runs_eagerly_with_a_note(family_dir, monkeypatch,
                                                                recorded_calls) -> None:
    monkeypatch.setenv("STUDIO_SPEED", "fast")

    def failing(job: inference.Job, model: Any) -> Any:
        def call(**kwargs: Any) -> Any:
            raise RuntimeError("inductor: no C++ compiler\nmore detail")

        return call, {}

    monkeypatch.setattr(inference, "call_arguments", failing)
    model = inference.model_fn(str(family_dir("flux1")))
    assert not model.speed.compiled
    assert "compiled (a stand-in)" not in model.accelerations
    assert ("not applied: compile: failed on the first run, running eagerly (inductor: no C++ "
            "compiler)") in model.accelerations


# --- Inferentia2: no profile, one warm-up call at the compiled size ------------------------

class _FakeNeuronPipeline:
    vae_scale_factor = 8

    def __init__(self) -> None:
        self.unet = types.SimpleNamespace(config=types.SimpleNamespace(
            neuron={"static_width": 64, "static_height": 64}))
        self.calls: list[dict[str, Any]] = []

    @classmethod
    def from_pretrained(cls, model_dir: str) -> _FakeNeuronPipeline:
        return cls()

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return types.SimpleNamespace(images=[Image.new("RGB", (512, 512))])


def test_an_inferentia_model_gets_no_profile_and_one_warm_up_call(tmp_path: Path,
                                                                 monkeypatch) -> None:
    neuron = types.ModuleType("optimum.neuron")
    neuron.NeuronStableDiffusionPipeline = _FakeNeuronPipeline
    neuron.NeuronStableDiffusionXLPipeline = _FakeNeuronPipeline
    monkeypatch.setitem(sys.modules, "optimum", types.ModuleType("optimum"))
    monkeypatch.setitem(sys.modules, "optimum.neuron", neuron)
    monkeypatch.setattr(inference, "neuron_available", lambda: True)
    monkeypatch.setenv("STUDIO_SPEED", "fastest")
    (tmp_path / "unet").mkdir()
    (tmp_path / "unet" / "model.neuron").write_bytes(b"")
    (tmp_path / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')

    model = inference.model_fn(str(tmp_path))
    assert len(model.pipeline.calls) == 1 and model.compiled_size == (512, 512)
    answer = inference.predict_fn({"inputs": "a mug", "parameters": {"seed": 1}}, model)
    notes = answer["accelerations"]
    assert notes[0] == "speed fastest: compiled for Inferentia2"
    assert notes[1] == f"warmed up in {model.speed.warmup_s:.1f} s at 512×512"
    assert ("not applied: speed profiles: an Inferentia2 model runs as optimum-neuron "
            "compiled it") in notes
    assert answer["speed"]["warmup_s"] == round(model.speed.warmup_s, 4)
