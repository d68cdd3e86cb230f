"""Loading pipelines and keeping the last one warm, with its img2img/inpaint siblings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from backends.errors import BackendUnavailable, Cancelled, InvalidRequest
from backends.local.device import DeviceChoice
from backends.local.hub import ensure_snapshot, hub_offline
from backends.local.sources import ModelSource
from backends.types import CancelToken, Progress, ProgressCallback


@dataclass
class LoadedModel:
    source: ModelSource
    device: DeviceChoice
    text2image: Any
    base_scheduler_config: Any
    load_s: float
    by_mode: dict[str, Any] = field(default_factory=dict)

    def pipeline_for(self, mode: str) -> Any:
        """The pipeline for txt2img, img2img or inpaint, sharing the loaded weights (no reload)."""
        if mode == "txt2img":
            return self.text2image
        if mode not in self.by_mode:
            from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting

            auto = AutoPipelineForImage2Image if mode == "img2img" else AutoPipelineForInpainting
            pipeline = auto.from_pipe(self.text2image)
            pipeline.set_progress_bar_config(disable=True)
            self.by_mode[mode] = pipeline
        return self.by_mode[mode]


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
        on_progress: ProgressCallback | None,
        cancel: CancelToken,
    ) -> tuple[LoadedModel, float]:
        """The warm model, and the seconds this call spent loading it (0 when it was warm)."""
        current = self._loaded
        if current is not None and current.source == source and current.device == device:
            return current, 0.0
        self.clear()
        started = time.perf_counter()
        if on_progress is not None:
            on_progress(Progress("load", 0, 1, f"Loading {source.display_name}"))
        pipeline = _load_text2image(source, device, on_progress, cancel)
        cancel.raise_if_cancelled()
        pipeline.set_progress_bar_config(disable=True)
        pipeline.to(device.device)
        load_s = time.perf_counter() - started
        self._loaded = LoadedModel(source, device, pipeline, pipeline.scheduler.config, load_s)
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


def _load_text2image(
    source: ModelSource, device: DeviceChoice, on_progress: ProgressCallback | None,
    cancel: CancelToken,
) -> Any:
    from diffusers import AutoPipelineForText2Image

    kwargs: dict[str, Any] = {_dtype_keyword(): device.dtype, "use_safetensors": True}
    try:
        if source.kind == "folder":
            return AutoPipelineForText2Image.from_pretrained(source.location, **kwargs)
        if source.kind == "hub":
            folder, variant = ensure_snapshot(
                source.location, prefer_fp16=device.device != "cpu", on_progress=on_progress,
                cancel=cancel,
            )
            return AutoPipelineForText2Image.from_pretrained(str(folder), variant=variant,
                                                             **kwargs)
        return _load_single_file(source, kwargs)
    except (InvalidRequest, BackendUnavailable, Cancelled):
        raise
    except (OSError, ValueError) as exc:
        raise BackendUnavailable(
            f"Could not load the model {source.display_name!r}: {exc}"
        ) from exc


def _load_single_file(source: ModelSource, kwargs: dict[str, Any]) -> Any:
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    if source.family == "unknown":
        raise InvalidRequest(
            f"{source.display_name!r} does not look like a Stable Diffusion 1.x, 2.x or SDXL "
            "checkpoint, so Studio does not know how to load it."
        )
    pipeline_class = StableDiffusionXLPipeline if source.family == "sdxl" else \
        StableDiffusionPipeline
    kwargs.pop("use_safetensors")
    try:
        # A single file holds weights only; diffusers pairs it with the family's reference
        # configs, which come from the hub cache (small JSON files, fetched once).
        return pipeline_class.from_single_file(source.location, local_files_only=hub_offline(),
                                               **kwargs)
    except (OSError, ValueError) as exc:
        if hub_offline():
            raise BackendUnavailable(
                f"Loading the single file {source.display_name!r} needs the {source.family} "
                "reference configuration, which is not in the local cache, and Studio is "
                "offline (HF_HUB_OFFLINE is set). Connect once, or use a diffusers folder."
            ) from exc
        raise


def _dtype_keyword() -> str:
    """diffusers renamed `torch_dtype` to `dtype`; use whichever this version speaks."""
    try:
        from diffusers.utils.deprecation_utils import _TORCH_DTYPE_DEPRECATION_MESSAGE  # noqa: F401
    except ImportError:
        return "torch_dtype"
    return "dtype"
