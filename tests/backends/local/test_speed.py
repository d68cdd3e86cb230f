"""Speed profiles on tiny models: every profile runs, exact is plain diffusers' numerics,
fast and fastest stay close to it, and what cannot apply here is reported, not raised."""

from __future__ import annotations

import numpy as np
import pytest

from backends import GenerationRequest

PSNR_BOUND_DB = 30.0


def _request(model, speed: str, **changes) -> GenerationRequest:
    fields = dict(prompt="a tote bag", model=str(model), seed=11, steps=4, width=64, height=64,
                  speed=speed)
    fields.update(changes)
    return GenerationRequest(**fields)


def _pixels(result) -> np.ndarray:
    return np.asarray(result.images[0].image, dtype=np.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("family", ["sd1", "flux1-dev"])
def test_exact_is_plain_diffusers_and_the_others_stay_close(family, tiny_family_path,
                                                            local_backend_factory) -> None:
    import torch
    from diffusers import DiffusionPipeline

    model = tiny_family_path(family)
    exact = local_backend_factory().generate(_request(model, "exact"))
    again = local_backend_factory().generate(_request(model, "exact"))
    assert np.array_equal(_pixels(exact), _pixels(again))
    plain = DiffusionPipeline.from_pretrained(model)
    kwargs = dict(guidance_scale=exact.request.guidance)
    if family == "sd1":
        kwargs["negative_prompt"] = None
    image = plain("a tote bag", num_inference_steps=4, width=64, height=64,
                  generator=[torch.Generator("cpu").manual_seed(11)], **kwargs).images[0]
    assert np.array_equal(_pixels(exact), np.asarray(image, dtype=np.float64))
    for speed in ("fast", "fastest"):
        result = local_backend_factory().generate(_request(model, speed))
        assert psnr(_pixels(result), _pixels(exact)) >= PSNR_BOUND_DB, speed


def test_what_cannot_apply_on_a_cpu_is_reported_in_the_result(tiny_family_path,
                                                              local_backend_factory) -> None:
    result = local_backend_factory().generate(_request(tiny_family_path("flux1"), "fastest"))
    notes = result.accelerations
    assert notes[0] == "speed fastest: fp32"
    assert "fused QKV projections" in notes
    assert any(n.startswith("first-block step cache") for n in notes)
    assert any(n.startswith("not applied: fp8: needs an NVIDIA GPU") for n in notes)
    assert any(n.startswith("not applied: compile: off on CPU") for n in notes)
    exact = local_backend_factory().generate(_request(tiny_family_path("flux1"), "exact"))
    assert exact.accelerations == ("speed exact: fp32",)


def test_a_lora_on_a_fused_model_unfuses_it_first(tiny_family_path, tiny_lora,
                                                  local_backend_factory) -> None:
    from backends import LoraRef

    backend = local_backend_factory()
    model = tiny_family_path("flux1")
    backend.generate(_request(model, "fast"))
    with_lora = backend.generate(_request(model, "fast", loras=(LoraRef(str(tiny_lora("flux1"))),)))
    assert "not applied: fused QKV: undone for LoRAs" in with_lora.accelerations


@pytest.mark.slow
def test_the_compile_path_runs_on_a_cpu_when_asked(tiny_family_path, local_backend_factory,
                                                   monkeypatch, tmp_path) -> None:
    pytest.importorskip("torch._inductor", reason="this torch has no inductor compiler")
    monkeypatch.setenv("STUDIO_COMPILE_ON_CPU", "1")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    backend = local_backend_factory()
    events = []
    result = backend.generate(_request(tiny_family_path("flux1"), "fast", steps=2),
                              on_progress=events.append)
    if not any(n.startswith("compiled") for n in result.accelerations):
        pytest.skip(f"compile fell back here: {result.accelerations}")
    assert any(e.message.startswith("Compiling for 64×64") for e in events)
    assert result.timings.load_s > 0 and result.images


def test_a_compile_that_fails_on_its_first_run_falls_back_to_eager_with_a_note() -> None:
    from types import SimpleNamespace

    import torch

    from backends.local.speed import SpeedReport, compile_failed

    block = torch.nn.Sequential(torch.nn.Linear(4, 4))
    block[0].compile()
    report = SpeedReport("fast", applied=["compiled repeated blocks (torch.compile, inductor)"],
                         compiled=True)
    compile_failed(SimpleNamespace(transformer=block), report,
                   RuntimeError("Unsupported: Skip inlining a disabled function\nmore"))
    assert block[0]._compiled_call_impl is None
    assert not report.compiled and report.applied == []
    assert report.notes() == ("not applied: compile: failed on the first run, running eagerly "
                              "(Unsupported: Skip inlining a disabled function)",)
    assert block(torch.ones(1, 4)).shape == (1, 4)
