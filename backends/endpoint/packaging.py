"""`model.tar.gz` in the layout SageMaker's Hugging Face containers expect.

    model_index.json, unet/, vae/, ...   the model (diffusers folder, or Neuron-compiled folder)
    code/inference.py                    our handler, the very file `studio endpoint serve` runs
    code/families.json                   the model families' data the handler reads
    code/requirements.txt                what the container installs before loading it
    studio_model.json                    the model's name (SageMaker renames the folder), its
                                         family, variant and licence as packaging found them,
                                         and the diffusers/transformers it was saved with

`studio endpoint compile` leaves a model.tar.gz already in this layout (deploy it as it is);
its folder, unpacked, packages again here with the family it recorded (studio_compiled.json).

A model saved with transformers 5 is packaged in the format the GPU container's transformers
4 reads (legacy_format.py: vocab.json + merges.txt beside tokenizer.json, CLIP text encoders
with their `text_model.` prefix), and requirements.txt keeps the container on transformers 4:
its inference toolkit cannot import transformers 5.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from backends.endpoint import inference
from backends.endpoint.legacy_format import Replacement, legacy_files
from backends.errors import InvalidRequest
from backends.families import FAMILIES_FILE, UNKNOWN_LICENCE, FamilyProfile, family_profile
from backends.resources import resources_dir

TARGETS = ("gpu", "inferentia2")
MANIFEST = "studio_model.json"
COMPILED_RECORD = "studio_compiled.json"  # written by neuron_compile_script.py

# The first diffusers release with each family's pipelines (the variants' where they came
# later); an older one in the container could not load the model.
MIN_DIFFUSERS = {"flux1": "0.32", "flux1-kontext": "0.34", "qwen-image": "0.35",
                 "qwen-image-edit": "0.35", "qwen-image-edit-plus": "0.36", "flux2": "0.36",
                 "z-image": "0.36", "flux2-klein": "0.37"}
BASE_DIFFUSERS = "0.31"
# diffusers 0.40 needs huggingface_hub 1.x, which no transformers 4 accepts.
DIFFUSERS_BELOW = "0.40"
# The container's toolkit (sagemaker-huggingface-inference-toolkit 2.6) imports
# transformers.file_utils.is_tf_available, which transformers 5 removed: with 5 installed the
# container cannot load any model. 4.51 has every text encoder Studio's families use.
TRANSFORMERS_RANGE = ">=4.51,<5"

_GPU_REQUIREMENTS = (
    "# Installed by the Hugging Face PyTorch inference container before it loads\n"
    "# code/inference.py. An endpoint without internet access needs these in its image.\n"
    "{saved}"
    "diffusers>={diffusers},<" + DIFFUSERS_BELOW + "\n"
    "transformers" + TRANSFORMERS_RANGE + "\n"
    "accelerate>=0.33\nsafetensors>=0.4\n"
)
REQUIREMENTS = {
    "gpu": _GPU_REQUIREMENTS.format(diffusers=BASE_DIFFUSERS, saved=""),
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
    family: str = inference.UNKNOWN  # with its variant, e.g. "flux1-schnell"; or "unknown"
    family_label: str = ""  # e.g. "FLUX.1 [schnell]"; "" for an unknown family
    licence: str = UNKNOWN_LICENCE
    commercial_use: bool | None = None
    note: str = ""  # one sentence on the family: its defaults, or that none is known
    saved_with: dict[str, str] = field(default_factory=dict)  # {"transformers": "5.24.0"…}
    # Files written in the layout the container's transformers 4 reads (legacy_format.py).
    converted: tuple[str, ...] = ()

    @property
    def family_known(self) -> bool:
        return self.family != inference.UNKNOWN


def package_model(model_dir: Path, out: Path, target: str = "gpu") -> PackageReport:
    """Write `out` (atomically: a partial archive never carries the final name)."""
    model_dir = Path(model_dir)
    _check(model_dir, target)
    files = sorted(p for p in model_dir.rglob("*") if p.is_file() and _included(p, model_dir))
    name = model_dir.resolve().name
    family, variants = inference.family_from_configs(inference.config_reader(str(model_dir)),
                                                     name)
    compiled = compiled_record(model_dir) if target == "inferentia2" else {}
    if compiled:
        # A compiled pipeline's model_index.json names optimum's Neuron classes, which say
        # nothing of the family: `endpoint compile` recorded it from the source model.
        name = str(compiled.get("model") or name)
        if family == inference.UNKNOWN and compiled.get("family"):
            family = str(compiled["family"])
            variants = tuple(v for v in str(compiled.get("variant") or "").split("-") if v)
    profile = family_profile(family, variants)
    saved = saved_with(model_dir)
    manifest = json.dumps(_manifest(name, target, family, variants, profile, saved), indent=2)
    legacy = legacy_files(model_dir) if target == "gpu" else {}
    converted = tuple(sorted(legacy))
    added_files = len(set(legacy) - {p.relative_to(model_dir).as_posix() for p in files})
    families = resources_dir() / FAMILIES_FILE
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        # Weights barely compress, so the fastest level saves minutes on a multi-GB model.
        with tarfile.open(partial, "w:gz", compresslevel=1) as archive:
            for path in files:
                arcname = path.relative_to(model_dir).as_posix()
                if arcname in legacy:
                    _add_replacement(archive, legacy.pop(arcname))
                else:
                    archive.add(path, arcname=arcname, recursive=False)
            for added in legacy.values():  # files the model did not have (vocab.json…)
                _add_replacement(archive, added)
            archive.add(inference.__file__, arcname="code/inference.py")
            archive.add(families, arcname=f"code/{inference.FAMILY_TABLE_FILE}")
            _add_text(archive, "code/requirements.txt", requirements(target, profile, saved))
            _add_text(archive, MANIFEST, manifest)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return PackageReport(
        out, target, name, len(files) + 4 + added_files, out.stat().st_size,
        family=profile.name if profile else family,
        family_label=profile.label if profile else "",
        licence=profile.licence if profile else UNKNOWN_LICENCE,
        commercial_use=profile.commercial if profile else None,
        note=_family_note(profile), saved_with=saved, converted=converted)


def requirements(target: str, profile: FamilyProfile | None,
                 saved: dict[str, str] | None = None) -> str:
    """code/requirements.txt: for a GPU, a diffusers new enough for the model's family that
    still runs beside the container's transformers 4; the versions the model was saved with
    as a comment (its files were made readable by transformers 4 where they were not)."""
    if target != "gpu":
        return REQUIREMENTS[target]
    wanted = BASE_DIFFUSERS
    if profile is not None:
        wanted = max((MIN_DIFFUSERS.get(key, BASE_DIFFUSERS) for key in (
            profile.family, profile.name)), key=lambda v: tuple(int(p) for p in v.split(".")))
    note = ""
    if saved:
        versions = " and ".join(f"{package} {version}" for package, version in saved.items())
        note = (f"# The model was saved with {versions}; Studio packaged it in files that\n"
                "# transformers 4 reads, which the container's inference toolkit needs.\n")
    return _GPU_REQUIREMENTS.format(diffusers=wanted, saved=note)


def compiled_record(model_dir: Path) -> dict[str, object]:
    """What `studio endpoint compile` recorded in a compiled folder ({} for any other)."""
    try:
        data = json.loads((Path(model_dir) / COMPILED_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def saved_with(model_dir: Path) -> dict[str, str]:
    """The diffusers and transformers versions the model's own files record."""
    found: dict[str, str] = {}
    for key, package, pattern in (("_diffusers_version", "diffusers", "model_index.json"),
                                  ("transformers_version", "transformers", "*/config.json")):
        for config in sorted(model_dir.glob(pattern)):
            try:
                version = json.loads(config.read_text(encoding="utf-8")).get(key)
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(version, str) and version:
                found[package] = version
                break
    return found


def _manifest(name: str, target: str, family: str, variants: tuple[str, ...],
              profile: FamilyProfile | None, saved: dict[str, str]) -> dict[str, object]:
    return {
        "model": name, "target": target, "packaged_by": "studio",
        "family": profile.family if profile else family,
        "variant": profile.variant if profile else "-".join(variants),
        "licence": profile.licence if profile else UNKNOWN_LICENCE,
        "commercial_use": profile.commercial if profile else None,
        "saved_with": saved,
    }


def _family_note(profile: FamilyProfile | None) -> str:
    if profile is None:
        return ("Its family is not one Studio knows, so the endpoint uses the generic defaults "
                "(30 steps, guidance 7.0) when a request sets none, and does not edit by words; "
                "check the model card for its licence.")
    commercial = "commercial use allowed" if profile.commercial else "non-commercial use only"
    return (f"{profile.label}: {profile.steps} steps and guidance {profile.guidance:g} unless a "
            f"request sets them; {profile.licence} ({commercial}).")


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
            "Compile it first with `studio endpoint compile` (a SageMaker job) or "
            "`optimum-cli export neuron` (see the README).")
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
        parts != (MANIFEST,))


def _add_replacement(archive: tarfile.TarFile, replacement: Replacement) -> None:
    info = tarfile.TarInfo(replacement.arcname)
    info.size = replacement.size
    info.mode = 0o644
    with replacement.open() as data:
        archive.addfile(info, data)


def _add_text(archive: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode("utf-8")
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))
