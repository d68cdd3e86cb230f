"""`model.tar.gz` in the layout SageMaker's Hugging Face containers expect.

    model_index.json, unet/, vae/, ...   the model (diffusers folder, or Neuron-compiled folder)
    code/inference.py                    our handler, the very file `studio endpoint serve` runs
    code/requirements.txt                what the container installs before loading it
    studio_model.json                    the model's name, since SageMaker renames the folder
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from backends.endpoint import inference
from backends.errors import InvalidRequest

TARGETS = ("gpu", "inferentia2")

REQUIREMENTS = {
    "gpu": (
        "# Installed by the Hugging Face PyTorch inference container before it loads\n"
        "# code/inference.py. An endpoint without internet access needs these in its image.\n"
        "diffusers>=0.31\naccelerate>=0.33\nsafetensors>=0.4\n"
    ),
    "inferentia2": (
        "# The Hugging Face Neuron container already ships optimum-neuron and diffusers in the\n"
        "# versions its Neuron SDK needs; installing others here would break the compiled model.\n"
    ),
}


@dataclass(frozen=True)
class PackageReport:
    path: Path
    target: str
    model: str
    files: int
    bytes: int


def package_model(model_dir: Path, out: Path, target: str = "gpu") -> PackageReport:
    """Write `out` (atomically: a partial archive never carries the final name)."""
    model_dir = Path(model_dir)
    _check(model_dir, target)
    files = sorted(p for p in model_dir.rglob("*") if p.is_file() and _included(p, model_dir))
    name = model_dir.resolve().name
    manifest = json.dumps({"model": name, "target": target, "packaged_by": "studio"}, indent=2)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        # Weights barely compress, so the fastest level saves minutes on a multi-GB model.
        with tarfile.open(partial, "w:gz", compresslevel=1) as archive:
            for path in files:
                archive.add(path, arcname=path.relative_to(model_dir).as_posix(),
                            recursive=False)
            archive.add(inference.__file__, arcname="code/inference.py")
            _add_text(archive, "code/requirements.txt", REQUIREMENTS[target])
            _add_text(archive, "studio_model.json", manifest)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return PackageReport(out, target, name, len(files) + 3, out.stat().st_size)


def _check(model_dir: Path, target: str) -> None:
    if target not in TARGETS:
        raise InvalidRequest(f"--target must be one of {', '.join(TARGETS)} (got {target!r}).")
    if not (model_dir / "model_index.json").is_file():
        raise InvalidRequest(
            f"{str(model_dir)!r} is not a diffusers model folder (it has no model_index.json). "
            "Package a folder saved with save_pretrained, or compiled with `optimum-cli export "
            "neuron` for inferentia2.")
    compiled = inference.is_neuron_compiled(str(model_dir))
    if target == "inferentia2" and not compiled:
        raise InvalidRequest(
            f"{str(model_dir)!r} is not compiled for Inferentia2 (it holds no .neuron files). "
            "Compile it first with `optimum-cli export neuron` (see the README).")
    if target == "gpu" and compiled:
        raise InvalidRequest(f"{str(model_dir)!r} is compiled for Inferentia2; use --target "
                             "inferentia2, or package the uncompiled folder for a GPU.")
    if target == "gpu" and not any(model_dir.rglob("*.safetensors")):
        raise InvalidRequest(
            f"{str(model_dir)!r} has no .safetensors weights. The endpoint only loads "
            "safetensors (pickle weights can run code); re-save the model with "
            "save_pretrained(..., safe_serialization=True).")


def _included(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    # Hidden files (.git, .cache) are not the model; an old code/ would shadow the handler.
    return not any(part.startswith(".") for part in parts) and parts[0] != "code" and (
        parts != ("studio_model.json",))


def _add_text(archive: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode("utf-8")
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))
