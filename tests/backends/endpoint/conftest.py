"""Fixtures for the handler's tests: tiny models of every family, and the SageMaker
container's own Python packages."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.backends.endpoint.tiny_families import family_dir, family_model

__all__ = ["family_dir", "family_model"]


# What the GPU container (backends/endpoint/images.py GPU_IMAGE: transformers 4.51.3) runs a
# packaged model with: its transformers, and the tokenizers, huggingface_hub and a diffusers of
# its time; and the real SageMaker Hugging Face inference toolkit with what it imports. Torch,
# accelerate and safetensors come from our own environment. Installed with --no-deps into a
# folder of its own: the toolkit's own requirements (librosa, numba) would pull numpy below 2
# into ours.
CONTAINER_PACKAGES = ("transformers==4.51.3", "tokenizers==0.21.1", "huggingface_hub==0.30.2",
                      "diffusers==0.33.1")
TOOLKIT_PACKAGES = ("sagemaker-huggingface-inference-toolkit==2.6.0",
                    "sagemaker-inference==1.10.1", "multi-model-server==1.1.11", "retrying",
                    "six", "scipy", "psutil")
_UNREACHABLE = ("No matching distribution", "Could not find a version", "NewConnectionError",
                "Temporary failure in name resolution", "ProxyError", "Network is unreachable",
                "Connection refused", "timed out")


@pytest.fixture(scope="session")
def container_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder to put first on PYTHONPATH: the container's transformers and the toolkit."""
    target = tmp_path_factory.mktemp("container-site")
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
             "--disable-pip-version-check", "--target", str(target), *CONTAINER_PACKAGES,
             *TOOLKIT_PACKAGES], capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        pytest.skip("pip could not fetch the container's packages within 15 minutes")
    if run.returncode != 0:
        if any(sign in run.stderr for sign in _UNREACHABLE):
            pytest.skip("pip cannot reach the package registry to build the container's "
                        f"environment: {run.stderr.strip().splitlines()[-1]}")
        pytest.fail(f"pip could not install the container's packages:\n{run.stderr[-3000:]}")
    return target
