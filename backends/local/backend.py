"""The local backend: diffusers pipelines on this machine's GPU (or CPU)."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from backends.errors import BackendError, BackendUnavailable, Cancelled, InvalidRequest
from backends.families import (
    UNKNOWN_LICENCE,
    FamilyProfile,
    checked_with_defaults,
    with_generic_defaults,
)
from backends.local.calls import prepare_call
from backends.local.cost import (
    EnergyPrice,
    History,
    ThroughputMemory,
    energy_cost,
    estimate_energy,
)
from backends.local.device_probe import name_of_choice, probe_device
from backends.local.energy import EnergyReading, PowerReader, PowerSampler, default_meter
from backends.local.hub import identify_hub_model
from backends.local.loras import apply_loras
from backends.local.pipelines import LoadedModel, PipelineCache
from backends.local.sources import ModelSource, resolve
from backends.local.speed import COMPILE_ERRORS, compile_failed, unfuse_qkv
from backends.types import (
    BackendInfo,
    CancelToken,
    Cost,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Progress,
    ProgressCallback,
    Timings,
)

# Step previews wait for the GPU; one every half second looks live and costs little.
PREVIEW_EVERY_S = 0.5


class _Interrupted(Exception):
    """Raised from the step callback to leave the denoising loop at once."""


def local_dependencies_missing() -> list[str]:
    return [name for name in ("torch", "diffusers", "transformers", "safetensors")
            if not _importable(name)]


def missing_dependencies_message(missing: list[str]) -> str:
    if getattr(sys, "frozen", False):  # a packaged app: pip cannot add to it
        return ("This is the cloud edition of Studio: it has no local generation (it leaves out "
                f"{', '.join(missing)} to stay small). Generate on a SageMaker endpoint or "
                "Amazon Bedrock, or install the full edition to use your own GPU.")
    return (f"Local generation needs the 'local' extra (missing: {', '.join(missing)}). "
            "Install it with: pip install 'studio[local]'")


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


class LocalBackend:
    """Runs one generation at a time on this machine and keeps the last model loaded.

    torch and diffusers are imported on the first `generate`, never at construction.
    """

    name = "local"

    def __init__(self, default_model: str = "", *, device: str | None = None,
                 energy: EnergyPrice | None = None, previews: bool = True,
                 preview_every_s: float = PREVIEW_EVERY_S,
                 power_meter: Callable[[str], PowerReader | None] | None = None,
                 history: History | None = None) -> None:
        """`power_meter(device)` gives a power reader for a run (NVML on CUDA by default);
        None from it means no meter, and the configured or typical wattage is used.
        `history()` gives the library's past local runs, read on the first estimate so
        estimates use measured throughput from the first click."""
        self.default_model = default_model
        self._power_meter = power_meter or default_meter
        self._measured_watts: dict[str, float] = {}
        self.energy = energy or EnergyPrice()
        self.previews = previews
        self.preview_every_s = preview_every_s
        self._preferred_device = device
        self._device_choice: Any = None
        self._cache = PipelineCache()
        self._throughput = ThroughputMemory(history)
        self._lock = threading.Lock()

    def describe(self) -> BackendInfo:
        missing = local_dependencies_missing()
        if missing:
            return BackendInfo(self.name, "Local", "unavailable", False,
                               missing_dependencies_message(missing))
        # What a run really used once there was one; until then the cheap forecast.
        device = (name_of_choice(self._device_choice.label) if self._device_choice
                  else probe_device(self._preferred_device).name)
        loaded = self._cache.loaded
        detail = f"{loaded.source.display_name} loaded" if loaded else "no model loaded yet"
        return BackendInfo(self.name, "Local", device, True, detail)

    def estimate_cost(self, request: GenerationRequest) -> Cost:
        # The device a run will use: the one chosen by a run, else the forecast the status
        # bar shows too, so the label and the estimate never disagree.
        device = (self._device_choice.device if self._device_choice
                  else probe_device(self._preferred_device).device)
        model = _display_name(request.model or self.default_model)
        loaded = self._cache.loaded
        return estimate_energy(
            self._throughput, model, device, _work(self._with_defaults(request)), self.energy,
            loaded=loaded is not None and loaded.source.display_name == model,
            measured_watts=self._measured_watts.get(device))

    def generate(
        self,
        request: GenerationRequest,
        on_progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> GenerationResult:
        submitted = time.perf_counter()
        cancel = cancel or CancelToken()
        request = request.with_resolved_seed()
        if not request.model:
            request = request.replace(model=self.default_model)
        source = resolve(request.model)
        missing = local_dependencies_missing()
        if missing:
            raise BackendUnavailable(missing_dependencies_message(missing))
        source = identify_hub_model(source)
        request = checked_with_defaults(source.profile, request)
        if request.mode in ("img2img", "inpaint") and int(request.steps * request.strength) < 1:
            raise InvalidRequest(
                f"With strength {request.strength} only {request.steps * request.strength:.1f} "
                "of the steps would run. Raise the steps or the strength so at least one runs."
            )
        with self._lock:  # one device, one generation at a time; waiting here is queue time
            queue_s = time.perf_counter() - submitted
            cancel.raise_if_cancelled()
            return self._generate_locked(request, source, on_progress, cancel, submitted,
                                         queue_s)

    def model_profile(self, model: str = "") -> FamilyProfile | None:
        """The family profile of `model` (or the default model), from its files or the hub
        cache; None when it is unknown. Never loads the model, never goes online."""
        try:
            source = identify_hub_model(resolve(model or self.default_model), network=False)
        except BackendError:
            return None
        except ImportError:  # the cloud edition has no huggingface_hub to read a cache with
            return None
        return source.profile

    @staticmethod
    def _warm_up(loaded: LoadedModel, request: GenerationRequest,
                 profile: FamilyProfile | None, on_progress: ProgressCallback | None) -> float:
        """Compile a compiled model for this size now, in a two-step run, so the seconds
        show as loading and the image's own timings stay true. Once per size."""
        size = (request.width, request.height)
        if not loaded.speed.compiled or size in loaded.warmed_sizes:
            return 0.0
        if on_progress is not None:
            on_progress(Progress("load", 0, 1, f"Compiling for {size[0]}×{size[1]} (first run "
                                               "at this size only)"))
        started = time.perf_counter()
        # Strength 1 so both steps run whatever the request's strength.
        short = request.replace(steps=2, count=1, strength=1.0)
        pipeline, kwargs = prepare_call(loaded, short, profile)
        kwargs["output_type"] = "latent"
        import torch

        try:
            with torch.inference_mode():
                pipeline(**kwargs)
        except COMPILE_ERRORS as exc:
            compile_failed(loaded.text2image, loaded.speed, exc)
        loaded.warmed_sizes.add(size)
        return time.perf_counter() - started

    def _with_defaults(self, request: GenerationRequest) -> GenerationRequest:
        """The request with its model's default steps, for estimates; never raises."""
        profile = self.model_profile(request.model)
        return profile.with_defaults(request) if profile else with_generic_defaults(request)

    def unload(self) -> None:
        with self._lock:
            self._cache.clear()

    def _generate_locked(self, request: GenerationRequest, source: ModelSource,
                         on_progress: ProgressCallback | None, cancel: CancelToken,
                         submitted: float, queue_s: float) -> GenerationResult:
        from backends.local.device import choose_device

        if self._device_choice is None:
            self._device_choice = choose_device(self._preferred_device)
        device = self._device_choice
        reader = self._power_meter(device.device)
        sampler = PowerSampler(reader).start() if reader is not None else None
        try:
            return self._run_pipeline(request, source, on_progress, cancel, submitted,
                                      queue_s, sampler)
        finally:
            if sampler is not None:
                sampler.stop()

    def _run_pipeline(self, request: GenerationRequest, source: ModelSource,
                      on_progress: ProgressCallback | None, cancel: CancelToken,
                      submitted: float, queue_s: float,
                      sampler: PowerSampler | None) -> GenerationResult:
        import torch

        device = self._device_choice
        loaded, load_s = self._cache.get(source, device, request.speed, on_progress, cancel)
        cancel.raise_if_cancelled()
        profile = source.profile
        label = profile.label if profile else source.display_name
        if request.loras:
            unfuse_qkv(loaded.text2image, loaded.speed)
        loaded.loras = apply_loras(loaded.text2image, request.loras, loaded.loras, label)
        load_s += self._warm_up(loaded, request, profile, on_progress)
        pipeline, kwargs = prepare_call(loaded, request, profile)
        seeds = request.image_seeds()
        kwargs["generator"] = [torch.Generator("cpu").manual_seed(s) for s in seeds]
        clock = {"last_step": time.perf_counter(), "last_preview": 0.0}

        def on_step_end(pipe: Any, step: int, timestep: Any, tensors: dict) -> dict:
            now = clock["last_step"] = time.perf_counter()
            if cancel.cancelled:
                raise _Interrupted
            if on_progress is not None:
                total = int(getattr(pipe, "num_timesteps", 0) or request.steps)
                preview = None
                # A preview copies the latents to the CPU, which waits for the GPU: at most
                # one per interval keeps that off most steps.
                if (self.previews and "latents" in tensors
                        and now - clock["last_preview"] >= self.preview_every_s):
                    from backends.local.preview import latent_preview

                    preview = latent_preview(tensors["latents"], source.family,
                                             request.width, request.height)
                    clock["last_preview"] = time.perf_counter()
                on_progress(Progress("denoise", step + 1, total,
                                     f"Step {step + 1}/{total}", preview))
            return {}

        started = time.perf_counter()
        clock["last_step"] = started
        try:
            with torch.inference_mode():
                output = pipeline(**kwargs, callback_on_step_end=on_step_end,
                                  callback_on_step_end_tensor_inputs=_latents_input(pipeline))
        except _Interrupted:
            raise Cancelled("Generation cancelled.") from None
        except torch.OutOfMemoryError as exc:
            self._cache.clear()
            raise InvalidRequest(
                f"The {device.device} ran out of memory at {request.width}×{request.height} "
                f"× {request.count}. Lower the size or the image count."
            ) from exc
        finished = time.perf_counter()
        inference_s = clock["last_step"] - started
        timings = Timings(load_s=load_s, queue_s=queue_s, inference_s=inference_s,
                          decode_s=finished - clock["last_step"], total_s=finished - submitted)
        self._throughput.record((source.display_name, device.device),
                                inference_s + timings.decode_s, _work(request), load_s)
        busy_s = load_s + inference_s + timings.decode_s
        reading = sampler.stop() if sampler is not None else None
        watts = _usable_watts(reading, sampler)
        if watts is not None:
            self._measured_watts[device.device] = watts
        cost = energy_cost(busy_s, device.device, self.energy, estimated=False,
                           how_long="Energy for", measured_watts=watts)
        images = tuple(GeneratedImage(image, seed) for image, seed in zip(output.images, seeds,
                                                                          strict=True))
        placement = loaded.placement.note
        return GenerationResult(
            request=request, images=images, timings=timings, cost=cost, backend=self.name,
            model=source.display_name,
            device=f"{loaded.device_label}, {placement}" if placement else loaded.device_label,
            accelerations=(f"speed {request.speed}: {loaded.dtype_label}", *loaded.speed.notes()),
            family=profile.name if profile else source.family,
            licence=profile.licence if profile else UNKNOWN_LICENCE,
            commercial_use=profile.commercial if profile else None)


def _usable_watts(reading: EnergyReading | None, sampler: PowerSampler | None) -> float | None:
    """The average power a run drew, when the meter worked throughout it."""
    if reading is None or sampler is None or sampler.failed or reading.seconds <= 0:
        return None
    return reading.average_watts


def _display_name(model: str) -> str:
    """The name runs are recorded under (a hub id, a folder or file name)."""
    try:
        return resolve(model).display_name
    except BackendError:
        return model


def _latents_input(pipeline: Any) -> list[str]:
    """Ask for the latents in the step callback where the pipeline offers them (previews)."""
    return ["latents"] if "latents" in getattr(pipeline, "_callback_tensor_inputs", ()) else []


def _work(request: GenerationRequest) -> float:
    """Denoising work in step-megapixel-images, the unit throughput is learned in."""
    strength = request.strength if request.mode in ("img2img", "inpaint") else 1.0
    steps = (request.steps or 1) * strength
    return max(1.0, steps) * request.width * request.height / 1e6 * request.count
