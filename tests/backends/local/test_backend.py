"""The local backend on tiny random-weight pipelines, SD 1.x and SDXL layouts, fully offline."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backends import (
    BackendUnavailable,
    Cancelled,
    CancelToken,
    GenerationRequest,
    InvalidRequest,
)


@pytest.fixture(params=["sd", "sdxl"])
def tiny_model(request) -> Path:
    return request.getfixturevalue("tiny_sd_path" if request.param == "sd" else "tiny_sdxl_path")


def _request(model: Path | str, **changes) -> GenerationRequest:
    fields = dict(prompt="a red leather handbag on marble", model=str(model), seed=42, steps=3,
                  width=64, height=64)
    fields.update(changes)
    return GenerationRequest(**fields)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_same_request_and_seed_gives_the_same_image(tiny_model, local_backend_factory) -> None:
    backend = local_backend_factory()
    first = backend.generate(_request(tiny_model))
    second = backend.generate(_request(tiny_model))
    other_seed = backend.generate(_request(tiny_model, seed=43))
    assert first.images[0].image.size == (64, 64)
    assert np.array_equal(_pixels(first.images[0].image), _pixels(second.images[0].image))
    assert not np.array_equal(_pixels(first.images[0].image), _pixels(other_seed.images[0].image))


def test_image_i_of_a_batch_is_reproducible_alone_from_its_seed(tiny_sd_path,
                                                                 local_backend_factory) -> None:
    backend = local_backend_factory()
    batch = backend.generate(_request(tiny_sd_path, count=3))
    assert [image.seed for image in batch.images] == [42, 43, 44]
    alone = backend.generate(_request(tiny_sd_path, seed=44))
    difference = np.abs(_pixels(batch.images[2].image) - _pixels(alone.images[0].image))
    assert difference.max() <= 2  # batched matmuls may round differently in the last bit


def test_no_seed_draws_one_and_records_it(tiny_sd_path, local_backend_factory) -> None:
    backend = local_backend_factory()
    result = backend.generate(_request(tiny_sd_path, seed=None))
    assert result.request.seed == result.images[0].seed
    again = backend.generate(_request(tiny_sd_path, seed=result.request.seed))
    assert np.array_equal(_pixels(result.images[0].image), _pixels(again.images[0].image))


def test_the_pipeline_stays_warm_and_load_time_is_reported_apart(tiny_sd_path, tiny_sdxl_path,
                                                                 local_backend_factory) -> None:
    backend = local_backend_factory()
    cold = backend.generate(_request(tiny_sd_path))
    pipeline = backend._cache.loaded.text2image
    warm = backend.generate(_request(tiny_sd_path, prompt="another prompt"))
    assert cold.timings.load_s > 0
    assert warm.timings.load_s == 0
    assert backend._cache.loaded.text2image is pipeline
    assert warm.timings.total_s >= warm.timings.inference_s + warm.timings.decode_s
    switched = backend.generate(_request(tiny_sdxl_path))
    assert switched.timings.load_s > 0
    assert backend._cache.loaded.text2image is not pipeline


def test_progress_is_reported_every_step_with_a_preview(tiny_model, local_backend_factory) -> None:
    events = []
    local_backend_factory(preview_every_s=0).generate(_request(tiny_model, steps=4),
                                                      on_progress=events.append)
    denoise = [e for e in events if e.phase == "denoise"]
    assert [e.step for e in denoise] == [1, 2, 3, 4]
    assert all(e.total == 4 for e in denoise)
    assert all(isinstance(e.preview, Image.Image) for e in denoise)
    assert [e.phase for e in events[:2]] == ["load", "load"]


def test_previews_are_throttled_so_most_steps_skip_the_copy(tiny_model,
                                                            local_backend_factory) -> None:
    events = []
    local_backend_factory(preview_every_s=3600).generate(_request(tiny_model, steps=4),
                                                         on_progress=events.append)
    denoise = [e for e in events if e.phase == "denoise"]
    assert len(denoise) == 4  # progress every step, a picture only when one is due
    assert [e.preview is not None for e in denoise] == [True, False, False, False]


def test_cancel_stops_within_one_step(tiny_model, local_backend_factory) -> None:
    backend = local_backend_factory()
    cancel = CancelToken()
    steps_seen = []

    def on_progress(event) -> None:
        if event.phase == "denoise":
            steps_seen.append(event.step)
            if event.step == 2:
                cancel.cancel()

    with pytest.raises(Cancelled):
        backend.generate(_request(tiny_model, steps=20), on_progress=on_progress, cancel=cancel)
    assert steps_seen == [1, 2]
    # The backend is still usable after a cancel.
    assert backend.generate(_request(tiny_model)).images


def test_cancel_before_start_runs_nothing(tiny_sd_path, local_backend_factory) -> None:
    cancel = CancelToken()
    cancel.cancel()
    events = []
    with pytest.raises(Cancelled):
        local_backend_factory().generate(_request(tiny_sd_path), on_progress=events.append,
                                         cancel=cancel)
    assert not [e for e in events if e.phase == "denoise"]


def test_image_to_image_shares_the_loaded_weights(tiny_model, local_backend_factory) -> None:
    backend = local_backend_factory()
    text = backend.generate(_request(tiny_model))
    source = Image.new("RGB", (80, 48), (200, 30, 30))
    result = backend.generate(_request(tiny_model, init_image=source, strength=0.6,
                                       scheduler="euler_a"))
    loaded = backend._cache.loaded
    assert result.timings.load_s == 0
    assert result.images[0].image.size == (64, 64)
    assert loaded.pipeline_for("img2img").unet is loaded.text2image.unet
    assert not np.array_equal(_pixels(text.images[0].image), _pixels(result.images[0].image))


def test_inpainting_runs_on_the_same_weights(tiny_sd_path, local_backend_factory) -> None:
    backend = local_backend_factory()
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 64))
    result = backend.generate(_request(tiny_sd_path, init_image=Image.new("RGB", (64, 64)),
                                       mask=mask, strength=1.0))
    assert result.images[0].image.size == (64, 64)
    assert backend._cache.loaded.pipeline_for("inpaint").vae is backend._cache.loaded.text2image.vae


@pytest.mark.parametrize("scheduler", ["euler", "dpm++_2m_karras", "ddim", "unipc", "heun"])
def test_each_sampler_runs(tiny_sd_path, local_backend_factory, scheduler) -> None:
    result = local_backend_factory().generate(_request(tiny_sd_path, scheduler=scheduler))
    assert result.images and result.request.scheduler == scheduler


def test_result_carries_backend_model_device_and_an_actual_cost(tiny_sd_path,
                                                                local_backend_factory) -> None:
    backend = local_backend_factory()
    estimate = backend.estimate_cost(_request(tiny_sd_path))
    result = backend.generate(_request(tiny_sd_path))
    assert estimate.estimated and "no run measured yet" in estimate.basis
    assert (result.backend, result.model, result.device) == ("local", "tiny-sd", "cpu fp32")
    assert not result.cost.estimated and result.cost.usd > 0
    assert "W" in result.cost.basis and "/kWh" in result.cost.basis
    assert "about" in backend.estimate_cost(_request(tiny_sd_path)).basis


def test_missing_models_and_pickles_get_clear_errors(tmp_path, local_backend_factory) -> None:
    backend = local_backend_factory()
    with pytest.raises(BackendUnavailable, match="was not found"):
        backend.generate(_request(tmp_path / "nowhere"))
    checkpoint = tmp_path / "v1-5.ckpt"
    checkpoint.write_bytes(b"\x80\x04")
    with pytest.raises(InvalidRequest, match="never loads pickle"):
        backend.generate(_request(checkpoint))


def test_too_little_strength_for_the_steps_is_refused(tiny_sd_path, local_backend_factory) -> None:
    request = _request(tiny_sd_path, steps=3, strength=0.2, init_image=Image.new("RGB", (64, 64)))
    with pytest.raises(InvalidRequest, match="Raise the steps or the strength"):
        local_backend_factory().generate(request)


def test_hub_id_in_the_local_cache_loads_without_network(tiny_sd_path, tmp_path, monkeypatch,
                                                         local_backend_factory) -> None:
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    repo = cache / "models--acme--tiny-sd"
    snapshot = repo / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_sd_path, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    result = local_backend_factory().generate(_request("acme/tiny-sd"))
    assert result.model == "acme/tiny-sd" and result.images


def test_uncached_hub_id_while_offline_says_so(tmp_path, monkeypatch,
                                               local_backend_factory) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    with pytest.raises(BackendUnavailable, match="offline"):
        local_backend_factory().generate(_request("acme/not-downloaded"))


def test_importing_the_backend_does_not_import_torch() -> None:
    code = ("import sys, backends, backends.local, backends.local.calls, backends.local.loras; "
            "b = backends.local.LocalBackend('x'); b.describe(); "
            "b.estimate_cost(backends.GenerationRequest(prompt='a mug')); "
            "print('torch' in sys.modules, 'diffusers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
