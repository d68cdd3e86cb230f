"""Where a local model comes from, decided without importing torch.

A model string is one of: a diffusers folder (has model_index.json), a single
`.safetensors` checkpoint, or a Hugging Face hub id. Pickle checkpoints are refused
before anything is opened: unpickling runs arbitrary code.
"""

from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from backends.errors import BackendUnavailable, InvalidRequest
from backends.families import FamilyProfile, family_profile
from backends.local.detect import UNKNOWN, family_from_configs, family_from_tensors

PICKLE_SUFFIXES = {".ckpt", ".bin", ".pt", ".pth", ".pkl", ".pickle"}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}/[\w.\-]{1,96}$")

Kind = Literal["folder", "single_file", "hub"]


@dataclass(frozen=True)
class ModelSource:
    """A resolved model reference. `location` is a path for local kinds, the repo id for hub."""

    kind: Kind
    location: str
    family: str  # a key of resources/models/families.json, or "unknown"
    variants: tuple[str, ...] = ()

    @property
    def profile(self) -> FamilyProfile | None:
        return family_profile(self.family, self.variants)

    @property
    def display_name(self) -> str:
        if self.kind == "hub":
            return self.location
        path = Path(self.location)
        return path.stem if self.kind == "single_file" else path.name


def pickle_refusal(name: str) -> InvalidRequest:
    return InvalidRequest(
        f"{name!r} is a pickle checkpoint. Studio never loads pickle files (.ckpt, .bin, .pt), "
        "because opening one can run any code hidden inside it. Use a .safetensors version "
        "of the model, or convert it once in a trusted environment."
    )


def resolve(model: str) -> ModelSource:
    """Classify a model string; raise InvalidRequest/BackendUnavailable with what to do."""
    model = model.strip()
    if not model:
        raise InvalidRequest(
            "No model is selected. Choose a Hugging Face hub id (for example "
            "stabilityai/sdxl-turbo), a local diffusers folder, or a .safetensors file."
        )
    path = Path(model).expanduser()
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise pickle_refusal(path.name)
    if path.exists():
        if path.is_dir():
            return _folder_source(path)
        if path.suffix.lower() == ".safetensors":
            return _single_file_source(path)
        raise InvalidRequest(
            f"{path.name!r} is not a model Studio can load: use a diffusers folder "
            "(with model_index.json) or a .safetensors checkpoint."
        )
    looks_like_path = model.startswith((".", "/", "~")) or os.sep in model.replace("/", "", 1) \
        or path.suffix.lower() == ".safetensors"
    if looks_like_path or not HUB_ID.match(model):
        raise BackendUnavailable(
            f"The model {model!r} was not found: no such file or folder, and it is not a "
            "Hugging Face hub id of the form owner/name."
        )
    # A hub model's family is read from its model_index.json once it is fetched (identify).
    return ModelSource("hub", model, UNKNOWN)


def _folder_source(path: Path) -> ModelSource:
    index_file = path / "model_index.json"
    if not index_file.is_file():
        raise InvalidRequest(
            f"The folder {path.name!r} is not a diffusers model: it has no model_index.json."
        )
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"{index_file} is not valid JSON ({exc}).") from exc
    for component, spec in index.items():
        if component.startswith("_") or not isinstance(spec, list):
            continue
        folder = path / component
        if not folder.is_dir():
            continue
        names = [p.name for p in folder.iterdir()]
        has_safetensors = any(n.endswith(".safetensors") for n in names)
        pickles = [n for n in names if Path(n).suffix in PICKLE_SUFFIXES]
        if pickles and not has_safetensors:
            raise pickle_refusal(f"{path.name}/{component}/{pickles[0]}")
    family, variants = family_from_configs(lambda rel: read_json(path / rel), path.name)
    return ModelSource("folder", str(path.resolve()), family, variants)


def read_json(path: Path) -> dict[str, Any] | None:
    """A small JSON config, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _single_file_source(path: Path) -> ModelSource:
    family, variants = family_from_tensors(safetensors_shapes(path), path.name)
    return ModelSource("single_file", str(path.resolve()), family, variants)


def safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor names and shapes from a safetensors header, read without torch."""
    try:
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(handle.read(length))
        if not isinstance(header, dict):
            raise ValueError("the header is not a table of tensors")
    except (OSError, ValueError, struct.error) as exc:
        raise InvalidRequest(
            f"{path.name!r} is not a readable .safetensors file ({exc})."
        ) from exc
    return {k: list(v.get("shape", [])) if isinstance(v, dict) else []
            for k, v in header.items() if k != "__metadata__"}
