"""The device forecast without torch: what the status bar and the first estimate name."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from backends.local.device_probe import DeviceProbe, name_of_choice, probe_device


@pytest.fixture(autouse=True)
def fresh_probe():
    probe_device.cache_clear()
    yield
    probe_device.cache_clear()


def _fake_smi(folder: Path, names: list[str]) -> None:
    """A real executable named nvidia-smi that answers the query the probe sends."""
    script = folder / "nvidia-smi"
    lines = "\\n".join(names)
    script.write_text(f"#!/bin/sh\nprintf '{lines}\\n'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_choice_labels_read_as_names() -> None:
    assert name_of_choice("cuda (NVIDIA H100 80GB HBM3) bf16") == "NVIDIA H100 80GB HBM3"
    assert name_of_choice("cpu fp32") == "CPU"
    assert name_of_choice("mps (Apple GPU) fp16") == "Apple GPU"


def test_an_explicit_preference_wins() -> None:
    assert probe_device("cpu") == DeviceProbe("cpu", "CPU")
    assert probe_device("mps") == DeviceProbe("mps", "Apple GPU")


def test_hidden_gpus_mean_the_cpu(monkeypatch, tmp_path: Path) -> None:
    _fake_smi(tmp_path, ["NVIDIA H100 80GB HBM3"])
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert probe_device() == DeviceProbe("cpu", "CPU")


def test_the_gpu_is_named_by_nvidia_smi(monkeypatch, tmp_path: Path) -> None:
    _fake_smi(tmp_path, ["NVIDIA A10G", "NVIDIA H100 80GB HBM3"])
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    if _nvml_works():
        pytest.skip("NVML answers first where a driver exists")
    assert probe_device("cuda") == DeviceProbe("cuda", "NVIDIA H100 80GB HBM3")


def _nvml_works() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no package, no driver
        return False
    pynvml.nvmlShutdown()
    return True


def test_no_gpu_and_no_preference_is_the_cpu_here() -> None:
    # This machine has no NVIDIA driver; a CUDA machine would name its GPU instead.
    if _nvml_works() or subprocess.run(["sh", "-c", "command -v nvidia-smi"],
                                       capture_output=True).returncode == 0:
        pytest.skip("a machine with an NVIDIA driver: the probe names its GPU")
    assert probe_device() == DeviceProbe("cpu", "CPU")


def test_probing_never_imports_torch() -> None:
    code = ("import sys; from backends.local.device_probe import probe_device; "
            "probe_device(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "False"
