"""Shared fixtures: offline hub, a private STUDIO_HOME per test, tiny models built once."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@pytest.fixture(autouse=True)
def studio_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "studio-home"
    monkeypatch.setenv("STUDIO_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


def _needs_local_extra() -> None:
    pytest.importorskip("torch", reason="the 'local' extra is not installed")
    pytest.importorskip("diffusers", reason="the 'local' extra is not installed")


@pytest.fixture(scope="session")
def tiny_sd_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SD 1.x diffusers folder with random weights, saved as safetensors."""
    _needs_local_extra()
    from tests.tiny_models import save_tiny_pipeline

    return save_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd")


@pytest.fixture(scope="session")
def tiny_sdxl_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SDXL diffusers folder (two text encoders, micro-conditioning)."""
    _needs_local_extra()
    from tests.tiny_models import save_tiny_pipeline

    return save_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-sdxl", sdxl=True)


@pytest.fixture(scope="session")
def tiny_family_path(tmp_path_factory: pytest.TempPathFactory):
    """tiny_family_path(NAME): a tiny diffusers folder of that family, built once a session."""
    _needs_local_extra()
    from tests.tiny_models import missing_requirement, save_tiny_pipeline

    built: dict[str, Path] = {}

    def path(family: str) -> Path:
        why = missing_requirement(family)
        if why:
            pytest.skip(f"tiny {family} cannot be built here: {why}")
        if family not in built:
            built[family] = save_tiny_pipeline(
                tmp_path_factory.mktemp("models") / f"tiny-{family}", family=family)
        return built[family]

    return path


@pytest.fixture(scope="session")
def tiny_lora(tiny_family_path, tmp_path_factory: pytest.TempPathFactory):
    """tiny_lora(FAMILY): a rank-4 LoRA .safetensors for that tiny family, random (not zero),
    so it changes pixels; saved with diffusers' own save_lora_weights."""
    built: dict[str, Path] = {}

    def path(family: str) -> Path:
        if family not in built:
            built[family] = _save_tiny_lora(tiny_family_path(family),
                                             tmp_path_factory.mktemp(f"lora-{family}"))
        return built[family]

    return path


def _save_tiny_lora(pipeline_folder: Path, out: Path) -> Path:
    import torch
    from diffusers import DiffusionPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    pipeline = DiffusionPipeline.from_pretrained(pipeline_folder)
    denoiser = "unet" if hasattr(pipeline, "unet") else "transformer"
    model = getattr(pipeline, denoiser)
    torch.manual_seed(0)
    model.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                 target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    type(pipeline).save_lora_weights(
        out, **{f"{denoiser}_lora_layers": get_peft_model_state_dict(model)},
        weight_name="style.safetensors", safe_serialization=True)
    return out / "style.safetensors"


@pytest.fixture(scope="session")
def local_backend_factory():
    _needs_local_extra()
    from backends.local import LocalBackend

    def make(**kwargs):
        kwargs.setdefault("device", "cpu")
        return LocalBackend(**kwargs)

    return make


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy AWS credentials and no shared config, so nothing can reach a real account: every
    request goes to moto, a Stubber or a server on 127.0.0.1 (instance metadata is off too)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))


@pytest.fixture(scope="session")
def tiny_endpoint_model(tiny_sd_path: Path) -> Any:
    """The tiny SD model loaded by the endpoint handler's own model_fn, once per session."""
    from backends.endpoint import inference

    return inference.model_fn(str(tiny_sd_path))


@pytest.fixture
def endpoint_server(tiny_endpoint_model: Any) -> Iterator[Any]:
    """`studio endpoint serve`'s server on a free loopback port, with the tiny model."""
    from backends.endpoint.server import EndpointServer

    requests: list[str] = []
    with EndpointServer(tiny_endpoint_model, port=0, access_log=requests.append) as server:
        server.requests = requests
        yield server


@pytest.fixture
def loop(tmp_path):
    """The generation loop over an empty library of its own (no spending cap)."""
    from studio.generation.loop import GenerationLoop
    from studio.library import Library

    library = Library.open(tmp_path / "loop-library")
    yield GenerationLoop(library)
    library.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """A test with Qt widgets collects its cyclic garbage on the main thread, as the app does
    (studio/ui/main_thread_gc.py): were a worker thread of a later test (a generation, a boto3
    call) to run the collection that frees a leftover widget, Qt would destroy it off the GUI
    thread and the interpreter would crash. Collection is off during the test and runs once
    its fixtures and arguments are gone; what survives is frozen, so that collection stays
    cheap and nothing from a Qt test is ever collected elsewhere."""
    with_qt = "qtbot" in getattr(item, "fixturenames", ())
    if with_qt:
        gc.disable()
    try:
        yield
    finally:
        if with_qt:
            gc.collect()
            gc.freeze()
            gc.enable()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Empty the clipboard while Qt is still alive. Qt's offscreen platform (not xcb, nor the
    desktop platforms) crashes the interpreter at exit when its clipboard still holds mime
    data set from Python, which the Ctrl+C and drag tests leave there."""
    qt_gui = sys.modules.get("PySide6.QtGui")
    if qt_gui is not None and qt_gui.QGuiApplication.instance() is not None:
        qt_gui.QGuiApplication.clipboard().clear()
