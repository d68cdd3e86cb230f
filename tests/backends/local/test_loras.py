"""LoRAs through diffusers' PEFT integration, on tiny pipelines with tiny LoRAs made here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backends import GenerationRequest, InvalidRequest, LoraRef
from backends.local.loras import lora_family_hint, lora_location


@pytest.fixture(scope="session")
def flux_lora(tiny_lora) -> Path:
    return tiny_lora("flux1")


@pytest.fixture(scope="session")
def sd_lora(tiny_lora) -> Path:
    return tiny_lora("sd1")


def _request(model: Path, *loras: LoraRef) -> GenerationRequest:
    return GenerationRequest(prompt="a tote bag", model=str(model), seed=3, steps=2, width=64,
                             height=64, loras=loras)


def _pixels(result) -> np.ndarray:
    return np.asarray(result.images[0].image, dtype=np.int16)


@pytest.mark.parametrize("family", ["sd1", "flux1"])
def test_a_lora_changes_the_pixels_and_goes_away_when_left_out(
        family, tiny_family_path, sd_lora, flux_lora, local_backend_factory) -> None:
    model, lora = (tiny_family_path("sd1"), sd_lora) if family == "sd1" else (
        tiny_family_path("flux1"), flux_lora)
    backend = local_backend_factory()
    plain = _pixels(backend.generate(_request(model)))
    with_lora = backend.generate(_request(model, LoraRef(str(lora), 1.0)))
    assert not np.array_equal(plain, _pixels(with_lora))
    assert with_lora.request.loras == (LoraRef(str(lora), 1.0),)
    assert np.array_equal(plain, _pixels(backend.generate(_request(model))))


def test_the_weight_scales_the_lora(tiny_family_path, flux_lora, local_backend_factory) -> None:
    backend = local_backend_factory()
    model = tiny_family_path("flux1")
    plain = _pixels(backend.generate(_request(model)))
    half = _pixels(backend.generate(_request(model, LoraRef(str(flux_lora), 0.5))))
    full = _pixels(backend.generate(_request(model, LoraRef(str(flux_lora), 1.0))))
    assert 0 < np.abs(half - plain).mean() < np.abs(full - plain).mean()


def test_a_lora_of_another_family_is_refused_and_the_model_still_works(
        tiny_family_path, sd_lora, local_backend_factory) -> None:
    backend = local_backend_factory()
    model = tiny_family_path("flux1")
    with pytest.raises(InvalidRequest, match=r"does not fit FLUX.1 \[schnell\].*Stable Diff"):
        backend.generate(_request(model, LoraRef(str(sd_lora))))
    assert backend.generate(_request(model)).images


def test_pickled_and_missing_loras_are_refused_before_loading(tmp_path) -> None:
    (tmp_path / "old.ckpt").write_bytes(b"\x80\x04")
    with pytest.raises(InvalidRequest, match="pickle"):
        lora_location(str(tmp_path / "old.ckpt"))
    with pytest.raises(InvalidRequest, match="was not found"):
        lora_location(str(tmp_path / "nowhere" / "x.safetensors"))
    assert lora_location("owner/repo") == ("owner/repo", None)
    assert lora_location("owner/repo/style.safetensors") == ("owner/repo", "style.safetensors")


def test_the_family_a_lora_was_trained_for_is_read_from_its_tensor_names(sd_lora,
                                                                          flux_lora) -> None:
    assert lora_family_hint(flux_lora) == "FLUX"
    assert lora_family_hint(sd_lora).startswith("Stable Diffusion")
