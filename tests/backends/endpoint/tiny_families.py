"""Tiny models of every family (tests/tiny_models), built and loaded by the handler once per
test session, shared by the handler's tests here and the SageMaker client's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

_DIRS: dict[str, Path] = {}
_MODELS: dict[tuple[str, str | None], Any] = {}


def tiny_family_dir(family: str, factory: pytest.TempPathFactory) -> Path:
    """The tiny diffusers folder of `family` (a tests.tiny_models name), named tiny-FAMILY."""
    pytest.importorskip("diffusers", reason="the 'local' extra is not installed")
    from tests.tiny_models import FAMILIES, missing_requirement, save_tiny_pipeline

    if family not in FAMILIES:
        pytest.skip(f"tests/tiny_models builds no {family!r} yet")
    why = missing_requirement(family)
    if why:
        pytest.skip(f"no tiny {family} here: {why}")
    if family not in _DIRS:
        _DIRS[family] = save_tiny_pipeline(factory.mktemp("families") / f"tiny-{family}",
                                           family=family)
    return _DIRS[family]


def tiny_family_model(family: str, factory: pytest.TempPathFactory,
                      speed: str | None = None) -> Any:
    """The tiny `family` model as the endpoint handler's model_fn loads it: with the endpoint's
    environment as it is (STUDIO_SPEED unset: fast), or with STUDIO_SPEED=`speed`."""
    if (family, speed) not in _MODELS:
        from backends.endpoint import inference

        folder = str(tiny_family_dir(family, factory))
        with pytest.MonkeyPatch.context() as patch:
            if speed is not None:
                patch.setenv(inference.SPEED_ENV, speed)
            _MODELS[family, speed] = inference.model_fn(folder)
    return _MODELS[family, speed]


@pytest.fixture(scope="session")
def family_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """family_dir("flux1") -> the tiny FLUX.1 [schnell] folder."""
    return lambda family: tiny_family_dir(family, tmp_path_factory)


@pytest.fixture(scope="session")
def family_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """family_model("flux1") -> the tiny FLUX.1 [schnell] loaded by the handler;
    family_model("flux1", "fastest") -> the same loaded with STUDIO_SPEED=fastest."""
    return lambda family, speed=None: tiny_family_model(family, tmp_path_factory, speed)
