"""LoRAs on a loaded pipeline, through diffusers' PEFT integration. Safetensors only.

The set of LoRAs and weights a pipeline carries is kept with it, so a run with the same
LoRAs loads nothing and a run without them unloads them first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backends.errors import BackendUnavailable, InvalidRequest
from backends.local.sources import HUB_ID, PICKLE_SUFFIXES, pickle_refusal, safetensors_shapes
from backends.types import LoraRef

# Tensor-name fragments that say which family a LoRA was trained for (kohya, diffusers and
# PEFT layouts), to name the likely family when a LoRA does not fit the model.
_FAMILY_MARKERS = (
    ("single_stream_modulation", "FLUX.2"),
    ("double_blocks", "FLUX.1"),
    ("single_transformer_blocks", "FLUX"),
    ("joint_blocks", "SD 3"),
    ("img_mod", "Qwen-Image"),
    ("txt_mlp", "Qwen-Image"),
    ("context_refiner", "Z-Image"),
    ("lora_te2_", "SDXL"),
    ("text_encoder_2", "SDXL"),
    ("input_blocks_7", "SDXL"),
    ("lora_unet_", "Stable Diffusion 1.x/2.x"),
    ("unet.", "Stable Diffusion 1.x/2.x/XL"),
)


def apply_loras(pipeline: Any, wanted: tuple[LoraRef, ...], current: tuple[LoraRef, ...],
                model_label: str) -> tuple[LoraRef, ...]:
    """Make `pipeline` carry exactly `wanted`; returns what it carries now."""
    if wanted == current:
        return current
    if current:
        pipeline.unload_lora_weights()
    if not wanted:
        return ()
    names = []
    for index, lora in enumerate(wanted):
        adapter = f"studio_{index}"
        _load_one(pipeline, lora, adapter, model_label)
        names.append(adapter)
    pipeline.set_adapters(names, adapter_weights=[lora.weight for lora in wanted])
    return wanted


def _load_one(pipeline: Any, lora: LoraRef, adapter: str, model_label: str) -> None:
    location, weight_name = lora_location(lora.source)
    try:
        pipeline.load_lora_weights(location, weight_name=weight_name, adapter_name=adapter,
                                   use_safetensors=True)
    except (ValueError, RuntimeError, KeyError, IndexError) as exc:
        pipeline.unload_lora_weights()
        raise InvalidRequest(_mismatch(lora, model_label, location, weight_name)) from exc
    except OSError as exc:
        pipeline.unload_lora_weights()
        raise BackendUnavailable(f"Could not read the LoRA {lora.name!r} ({exc}).") from exc
    attached = {name for names in pipeline.get_list_adapters().values() for name in names}
    if adapter not in attached:
        pipeline.unload_lora_weights()
        raise InvalidRequest(_mismatch(lora, model_label, location, weight_name))


def lora_location(source: str) -> tuple[str, str | None]:
    """(file or repo, weight file name) for diffusers; refuses pickles before opening them."""
    path = Path(source).expanduser()
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise pickle_refusal(path.name)
    if path.is_file():
        if path.suffix.lower() != ".safetensors":
            raise InvalidRequest(f"The LoRA {path.name!r} is not a .safetensors file.")
        safetensors_shapes(path)  # a readable header, or a clear error
        return str(path.parent), path.name
    if path.exists():
        raise InvalidRequest(f"The LoRA {source!r} is a folder; choose its .safetensors file.")
    parts = source.split("/")
    if len(parts) == 3 and parts[2].endswith(".safetensors") and HUB_ID.match("/".join(parts[:2])):
        return "/".join(parts[:2]), parts[2]
    if HUB_ID.match(source):
        return source, None
    raise InvalidRequest(f"The LoRA {source!r} was not found: no such file, and it is not a "
                         "hub id (owner/name or owner/name/file.safetensors).")


def lora_family_hint(path: Path) -> str | None:
    """The family a LoRA file's tensor names point to, when they point to one."""
    try:
        keys = safetensors_shapes(path)
    except InvalidRequest:
        return None
    for marker, family in _FAMILY_MARKERS:
        if any(marker in key for key in keys):
            return family
    return None


def _mismatch(lora: LoraRef, model_label: str, location: str, weight_name: str | None) -> str:
    hint = None
    if weight_name is not None and Path(location, weight_name).is_file():
        hint = lora_family_hint(Path(location, weight_name))
    trained = f" It looks like a {hint} LoRA." if hint else ""
    return (f"The LoRA {lora.name!r} does not fit {model_label}: its layers do not match the "
            f"model's.{trained} Use a LoRA trained for {model_label}.")
