"""Loading pipelines and keeping the last one warm, with its img2img/inpaint/edit siblings."""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.errors import BackendUnavailable, Cancelled, InvalidRequest
from backends.families import FamilyProfile
from backends.local.detect import is_denoiser_only
from backends.local.device import DeviceChoice
from backends.local.hub import ensure_snapshot, hub_offline
from backends.local.memory import Placement, plan_placement
from backends.local.sources import ModelSource, safetensors_shapes
from backends.local.speed import SpeedReport, apply_speed, dtype_label, load_dtype
from backends.types import CancelToken, LoraRef, Progress, ProgressCallback

# The denoiser class a family's single .safetensors file holds, when it holds only that.
DENOISER_CLASSES = {
    "sd3": "SD3Transformer2DModel",
    "flux1": "FluxTransformer2DModel",
    "flux2": "Flux2Transformer2DModel",
    "flux2-klein": "Flux2Transformer2DModel",
    "qwen-image": "QwenImageTransformer2DModel",
    "qwen-image-edit": "QwenImageTransformer2DModel",
    "z-image": "ZImageTransformer2DModel",
}
# The pipeline a whole single-file checkpoint (text encoders and VAE inside) loads into.
CHECKPOINT_PIPELINES = {
    "sd1": "StableDiffusionPipeline",
    "sd2": "StableDiffusionPipeline",
    "sdxl": "StableDiffusionXLPipeline",
    "sd3": "StableDiffusion3Pipeline",
}


@dataclass
class LoadedModel:
    source: ModelSource
    device: DeviceChoice
    text2image: Any  # the family's main pipeline (for edit-only families, their edit one)
    base_scheduler_config: Any
    load_s: float
    placement: Placement = field(default_factory=lambda: Placement("device", ""))
    loras: tuple[LoraRef, ...] = ()
    by_mode: dict[str, Any] = field(default_factory=dict)
    speed: SpeedReport = field(default_factory=lambda: SpeedReport("exact"))
    dtype_label: str = ""
    warmed_sizes: set[tuple[int, int]] = field(default_factory=set)  # compiled for these

    @property
    def device_label(self) -> str:
        """The device as the result shows it, with the precision this model really runs in."""
        # DeviceChoice.label ends with the device's default precision; the speed profile
        # may have chosen another.
        base = self.device.label.rsplit(" ", 1)[0]
        return f"{base} {self.dtype_label}" if self.dtype_label else self.device.label

    def pipeline_for(self, mode: str) -> Any:
        """The pipeline for a mode, sharing the loaded weights (no reload)."""
        main = self.text2image
        if mode == "txt2img" or main_pipeline_does(main, mode):
            return main
        if mode not in self.by_mode:
            from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting

            auto = AutoPipelineForInpainting if mode == "inpaint" else AutoPipelineForImage2Image
            try:
                pipeline = auto.from_pipe(main)
            except ValueError as exc:
                raise InvalidRequest(f"{self.source.display_name} has no {mode} pipeline in "
                                     f"diffusers ({exc}).") from exc
            pipeline.set_progress_bar_config(disable=True)
            self.by_mode[mode] = pipeline
        return self.by_mode[mode]


def main_pipeline_does(pipeline: Any, mode: str) -> bool:
    """Edit models take the image in their main pipeline; FLUX Fill takes the mask there."""
    parameters = inspect.signature(pipeline.__call__).parameters
    if mode == "edit":
        return "image" in parameters and "strength" not in parameters
    if mode == "inpaint":
        return "mask_image" in parameters
    return False


class PipelineCache:
    """Holds one model at a time: GPU memory rarely fits two, and switching is the rare case."""

    def __init__(self) -> None:
        self._loaded: LoadedModel | None = None

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def get(
        self,
        source: ModelSource,
        device: DeviceChoice,
        speed: str,
        on_progress: ProgressCallback | None,
        cancel: CancelToken,
    ) -> tuple[LoadedModel, float]:
        """The warm model, and the seconds this call spent loading it (0 when it was warm).

        A model is loaded per speed profile: fp8 and fused projections change its weights."""
        current = self._loaded
        if (current is not None and current.source == source and current.device == device
                and current.speed.speed == speed):
            return current, 0.0
        self.clear()
        started = time.perf_counter()
        if on_progress is not None:
            on_progress(Progress("load", 0, 1, f"Loading {source.display_name}"))
        dtype = load_dtype(device.device, source.family, speed)
        pipeline = _load_main(source, device, dtype, on_progress, cancel)
        cancel.raise_if_cancelled()
        pipeline.set_progress_bar_config(disable=True)
        placement = _place(pipeline, device, source)
        report = apply_speed(pipeline, speed, device.device, source.family)
        load_s = time.perf_counter() - started
        self._loaded = LoadedModel(source, device, pipeline, pipeline.scheduler.config, load_s,
                                   placement, speed=report, dtype_label=dtype_label(dtype))
        if on_progress is not None:
            on_progress(Progress("load", 1, 1, f"Loaded {source.display_name}"))
        return self._loaded, load_s

    def clear(self) -> None:
        if self._loaded is None:
            return
        self._loaded = None
        import gc

        import torch

        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _place(pipeline: Any, device: DeviceChoice, source: ModelSource) -> Placement:
    """Move the weights to the device, or enable model CPU offload when they do not fit."""
    if device.device != "cuda":
        pipeline.to(device.device)
        return Placement("device", "")
    import psutil
    import torch

    sizes = _component_bytes(pipeline)
    free, _total = torch.cuda.mem_get_info()
    placement = plan_placement(sum(sizes), max(sizes, default=0), free,
                               psutil.virtual_memory().available)
    if placement.kind == "impossible":
        raise BackendUnavailable(f"{source.display_name}: {placement.note}")
    if placement.kind == "offload":
        pipeline.enable_model_cpu_offload()
    else:
        pipeline.to(device.device)
    return placement


def _component_bytes(pipeline: Any) -> list[int]:
    import torch

    return [sum(p.numel() * p.element_size() for p in module.parameters())
            for module in pipeline.components.values() if isinstance(module, torch.nn.Module)]


def _load_main(
    source: ModelSource, device: DeviceChoice, dtype: Any, on_progress: ProgressCallback | None,
    cancel: CancelToken,
) -> Any:
    kwargs: dict[str, Any] = {_dtype_keyword(): dtype, "use_safetensors": True}
    profile = source.profile
    try:
        if source.kind == "folder":
            return _pipeline_class(profile).from_pretrained(source.location, **kwargs)
        if source.kind == "hub":
            folder, variant = ensure_snapshot(
                source.location, prefer_fp16=device.device != "cpu", on_progress=on_progress,
                cancel=cancel,
            )
            return _pipeline_class(profile).from_pretrained(str(folder), variant=variant,
                                                            **kwargs)
        return _load_single_file(source, device, kwargs, on_progress, cancel)
    except (InvalidRequest, BackendUnavailable, Cancelled):
        raise
    except ImportError as exc:
        # transformers 5 builds Qwen-Image-Edit's processor and FLUX.2's tokenizer only with
        # torchvision, which the 'local' extra leaves out (its wheels are tied to one torch).
        raise BackendUnavailable(
            f"Loading {source.display_name!r} needs a package this install lacks ({exc}). "
            "Qwen-Image-Edit and FLUX.2 [dev] need torchvision: install the build that matches "
            "your torch (pip install torchvision)."
        ) from exc
    except (OSError, ValueError, TypeError) as exc:
        raise BackendUnavailable(
            f"Could not load the model {source.display_name!r}: {exc}"
        ) from exc


def _pipeline_class(profile: FamilyProfile | None) -> Any:
    """The text-to-image auto class where the family makes images from words alone; the class
    model_index.json names for edit-only or fill-only models."""
    from diffusers import AutoPipelineForText2Image, DiffusionPipeline

    if profile is not None and "txt2img" not in profile.modes:
        return DiffusionPipeline
    return AutoPipelineForText2Image


def _load_single_file(source: ModelSource, device: DeviceChoice, kwargs: dict[str, Any],
                      on_progress: ProgressCallback | None, cancel: CancelToken) -> Any:
    import diffusers

    profile = source.profile
    if profile is None:
        raise InvalidRequest(
            f"{source.display_name!r} is not a checkpoint of a family Studio knows (SD 1.x/2.x, "
            "SDXL, SD 3/3.5, FLUX.1, FLUX.2, Qwen-Image, Z-Image), so Studio does not know how "
            "to load it. Use the model's diffusers folder or hub id instead."
        )
    shapes = safetensors_shapes(Path(source.location))
    whole = not is_denoiser_only(shapes)
    if whole and profile.family not in CHECKPOINT_PIPELINES:
        raise InvalidRequest(f"{source.display_name!r} bundles its text encoders in a layout "
                             f"Studio cannot load for {profile.label}; use the model's "
                             "diffusers folder or its transformer-only .safetensors file.")
    if not whole and profile.family not in DENOISER_CLASSES:
        raise InvalidRequest(f"{source.display_name!r} holds only a {profile.label} UNet; "
                             "Studio loads whole SD 1.x/2.x/XL checkpoints.")
    # A single file holds weights only: diffusers pairs it with the family's reference
    # repo, which gives the configs (and for a transformer-only file, the text encoders and
    # VAE). Fetched once into the hub cache; only the parts the file does not bring.
    without = frozenset({"*"}) if whole else frozenset({"transformer"})
    try:
        reference, _variant = ensure_snapshot(
            profile.reference_repo, prefer_fp16=device.device != "cpu",
            on_progress=on_progress, cancel=cancel, without=without)
    except BackendUnavailable as exc:
        if hub_offline():
            raise BackendUnavailable(
                f"Loading the single file {source.display_name!r} needs {profile.label}'s "
                f"reference files ({profile.reference_repo}: configs, text encoders, VAE), "
                "which are not in the local cache, and Studio is offline (HF_HUB_OFFLINE is "
                "set). Connect once, or use a diffusers folder."
            ) from exc
        raise
    kwargs = {k: v for k, v in kwargs.items() if k != "use_safetensors"}
    if whole:
        pipeline_class = getattr(diffusers, CHECKPOINT_PIPELINES[profile.family])
        return pipeline_class.from_single_file(source.location, config=str(reference),
                                               local_files_only=True, **kwargs)
    denoiser_class = getattr(diffusers, DENOISER_CLASSES[profile.family])
    denoiser = denoiser_class.from_single_file(source.location, config=str(reference),
                                               subfolder="transformer",
                                               local_files_only=True, **kwargs)
    return _pipeline_class(profile).from_pretrained(str(reference), transformer=denoiser,
                                                    **kwargs)


def _dtype_keyword() -> str:
    """diffusers renamed `torch_dtype` to `dtype`; use whichever this version speaks."""
    try:
        from diffusers.utils.deprecation_utils import _TORCH_DTYPE_DEPRECATION_MESSAGE  # noqa: F401
    except ImportError:
        return "torch_dtype"
    return "dtype"
