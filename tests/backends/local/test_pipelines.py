"""Loading: single .safetensors files of the transformer families, against a reference repo."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from backends import BackendUnavailable, GenerationRequest


def _hub_cache(tmp_path: Path, monkeypatch, repo_id: str, folder: Path) -> None:
    """A hub cache holding `folder` as `repo_id`, without its transformer weights: what
    Studio downloads as a single file's reference (configs, text encoders, VAE)."""
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / ("0" * 40)
    shutil.copytree(folder, snapshot)
    for weights in (snapshot / "transformer").glob("*.safetensors"):
        weights.unlink()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))


def _transformer_file(folder: Path, out: Path) -> Path:
    """The folder's transformer as one .safetensors file, as people share FLUX weights."""
    from safetensors.torch import load_file, save_file

    weights = {}
    for part in sorted((folder / "transformer").glob("*.safetensors")):
        weights.update(load_file(part))
    save_file(weights, out)
    return out


def _request(model: Path | str) -> GenerationRequest:
    return GenerationRequest(prompt="a tote bag", model=str(model), seed=5, steps=2, width=64,
                             height=64)


@pytest.mark.parametrize(("family", "repo_id"), [("flux1", "black-forest-labs/FLUX.1-schnell"),
                                                 ("z-image", "Tongyi-MAI/Z-Image-Turbo")])
def test_a_transformer_single_file_loads_with_its_reference_and_matches_the_folder(
        family, repo_id, tiny_family_path, tmp_path, monkeypatch, local_backend_factory) -> None:
    folder = tiny_family_path(family)
    single = _transformer_file(folder, tmp_path / "my-finetune-v2.safetensors")
    _hub_cache(tmp_path, monkeypatch, repo_id, folder)
    from_file = local_backend_factory().generate(_request(single))
    from_folder = local_backend_factory().generate(_request(folder))
    assert from_file.family == from_folder.family
    assert from_file.model == "my-finetune-v2"
    assert np.array_equal(np.asarray(from_file.images[0].image),
                          np.asarray(from_folder.images[0].image))


def test_a_single_file_without_its_reference_offline_says_what_it_needs(
        tiny_family_path, tmp_path, monkeypatch, local_backend_factory) -> None:
    import huggingface_hub.constants

    single = _transformer_file(tiny_family_path("flux1"), tmp_path / "flux.safetensors")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    with pytest.raises(BackendUnavailable, match=r"FLUX.1-schnell: configs, text encoders"):
        local_backend_factory().generate(_request(single))


def test_a_partial_reference_download_is_not_taken_for_the_whole_model(
        tiny_family_path, tmp_path, monkeypatch, local_backend_factory) -> None:
    _hub_cache(tmp_path, monkeypatch, "black-forest-labs/FLUX.1-schnell",
               tiny_family_path("flux1"))
    with pytest.raises(BackendUnavailable, match="offline"):
        local_backend_factory().generate(_request("black-forest-labs/FLUX.1-schnell"))
