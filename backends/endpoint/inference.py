"""Studio's SageMaker endpoint handler: Stable Diffusion behind the Hugging Face inference toolkit.

This one file runs unchanged as `code/inference.py`
- in the Hugging Face PyTorch inference container (GPU instances: diffusers on CUDA),
- in the Hugging Face Neuron inference container (ml.inf2.*: optimum-neuron's compiled
  pipelines), picked when optimum.neuron or torch_neuronx can be imported,
- and in `studio endpoint serve`, which loads it as a module.
Inside SageMaker our `backends` package does not exist, so this file imports nothing of ours:
only the standard library, PIL, and (lazily, in model_fn and predict_fn) torch, diffusers and
optimum-neuron. What it shares with Studio (the request limits, the sampler table, the device
choice, the pipeline per mode) is therefore copied here, each copy marked `# Copied from` its
source; tests/backends/endpoint/test_copies.py fails when a copy drifts from its source.

Request (our format):
    {"inputs": "<prompt>", "parameters": {"negative_prompt": "", "num_inference_steps": 30,
     "guidance_scale": 7.0, "width": 1024, "height": 1024, "seed": 1, "num_images_per_prompt": 1,
     "scheduler": "euler_a", "image": "<base64 PNG/JPEG>", "strength": 0.75,
     "mask": "<base64 PNG, same size as image: white = generate, black = keep>"}}
Response:
    {"generated_images": ["<base64 PNG>", ...], "seeds": [...], "timings": {seconds},
     "model": "...", "device": "..."}
A request in the JumpStart Stable Diffusion shape ({"prompt": ..., "width": ...}) is answered in
that shape too ({"generated_images": [base64 JPEG], "prompt": ...}), so JumpStart clients work.
Image i of a request uses seed + i, as everywhere in Studio.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import io
import json
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

# Studio's own request limits, so that what Studio accepts the endpoint accepts too.
# Copied from backends.types.MAX_SEED..MAX_PROMPT_CHARS
MAX_SEED = 2**32 - 1
MIN_SIDE = 64
MAX_SIDE = 4096
SIDE_MULTIPLE = 8
MAX_STEPS = 500
MAX_COUNT = 16
MAX_PROMPT_CHARS = 10_000
# The endpoint's own limit on a decoded init image or mask (not a copy of Studio's).
MAX_INIT_PIXELS = 16_000_000

# Our sampler names (as in Studio) -> diffusers scheduler class and extra config.
# Copied from backends.local.schedulers.SCHEDULER_CLASSES
SCHEDULER_CLASSES: dict[str, tuple[str, dict[str, Any]]] = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "dpm++_2m": ("DPMSolverMultistepScheduler", {}),
    "dpm++_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "dpm++_sde_karras": ("DPMSolverSinglestepScheduler", {"use_karras_sigmas": True}),
    "ddim": ("DDIMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "lcm": ("LCMScheduler", {}),
}
_PARAMETERS = {"negative_prompt", "num_inference_steps", "guidance_scale", "width", "height",
               "seed", "num_images_per_prompt", "scheduler", "image", "strength", "mask"}
_JUMPSTART_KEYS = {"prompt", "negative_prompt", "num_inference_steps", "guidance_scale", "width",
                   "height", "seed", "num_images_per_prompt"}


class BadRequest(ValueError):
    """The request cannot be served as asked. The toolkit and our server answer it with a 4xx.

    The message starts with "Invalid request:" so a client can tell it from a model failure
    even where the container reports every error with the same status code.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"Invalid request: {message}")


@dataclass
class LoadedPipeline:
    pipeline: Any
    runtime: str  # "neuron", "cuda", "mps" or "cpu"
    device: str  # what the client shows, e.g. "cuda (NVIDIA A10G) fp16"
    model: str
    compiled_size: tuple[int, int] | None = None  # Neuron models have a fixed (width, height)
    base_scheduler: Any = None  # the model's own, kept so one request's sampler never leaks
    by_mode: dict[str, Any] = field(default_factory=dict)

    # Copied from backends.local.pipelines.LoadedModel.pipeline_for with text2image->pipeline
    def pipeline_for(self, mode: str) -> Any:
        """The pipeline for txt2img, img2img or inpaint, sharing the loaded weights (no reload)."""
        if mode == "txt2img":
            return self.pipeline
        if mode not in self.by_mode:
            from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting

            auto = AutoPipelineForImage2Image if mode == "img2img" else AutoPipelineForInpainting
            pipeline = auto.from_pipe(self.pipeline)
            pipeline.set_progress_bar_config(disable=True)
            self.by_mode[mode] = pipeline
        return self.by_mode[mode]


@dataclass(frozen=True)
class Job:
    prompt: str
    negative_prompt: str = ""
    steps: int = 30
    guidance: float = 7.0
    width: int | None = None  # None: the model's own size
    height: int | None = None
    seeds: tuple[int, ...] = (0,)
    scheduler: str | None = None
    init_image: Image.Image | None = None
    strength: float = 0.75
    mask: Image.Image | None = None  # white = generate (inpainting), as in Studio
    jumpstart: bool = False


def neuron_available() -> bool:
    """True inside the Neuron container (or any machine with the Neuron SDK)."""
    for name in ("optimum.neuron", "torch_neuronx"):
        try:
            if importlib.util.find_spec(name) is not None:
                return True
        except (ImportError, ValueError):
            continue
    return False


def is_neuron_compiled(model_dir: str) -> bool:
    """A folder written by `optimum-cli export neuron` holds model.neuron files."""
    if not os.path.isdir(model_dir):
        return False
    return any(name.endswith(".neuron") for _, _, files in os.walk(model_dir) for name in files)


# --- The Hugging Face inference toolkit contract -------------------------------------------

def model_fn(model_dir: str, context: Any = None) -> LoadedPipeline:
    """Load the pipeline once per worker: a compiled Neuron folder, a diffusers folder or hub id."""
    compiled = is_neuron_compiled(model_dir)
    if neuron_available():
        if not compiled:
            raise RuntimeError(
                f"{model_dir} is not compiled for Inferentia2. Compile it with `optimum-cli "
                "export neuron` (see Studio's README) and package the compiled folder.")
        return _load_neuron(model_dir)
    if compiled:
        raise RuntimeError(
            f"{model_dir} was compiled for Inferentia2 and needs an ml.inf2 instance with the "
            "Hugging Face Neuron container; on a GPU, package the uncompiled diffusers folder.")
    return _load_diffusers(model_dir)


def input_fn(input_data: bytes | bytearray | str, content_type: str = "application/json") -> Job:
    if content_type and "json" not in content_type.lower():
        raise BadRequest(f"send the request as application/json, not {content_type}.")
    try:
        data = json.loads(input_data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON ({exc}).") from exc
    return parse_request(data)


def predict_fn(data: Job | dict[str, Any], model: LoadedPipeline) -> dict[str, Any]:
    job = data if isinstance(data, Job) else parse_request(data)
    started = time.perf_counter()
    if model.runtime == "neuron":
        images = _run_neuron(job, model)
    else:
        images = _run_diffusers(job, model)
    generated = time.perf_counter()
    encoded = [_encode(image, "JPEG" if job.jumpstart else "PNG") for image in images]
    finished = time.perf_counter()
    if job.jumpstart:
        return {"generated_images": encoded, "prompt": job.prompt}
    return {
        "generated_images": encoded,
        "seeds": list(job.seeds),
        "timings": {"inference_s": round(generated - started, 4),
                    "encode_s": round(finished - generated, 4),
                    "total_s": round(finished - started, 4)},
        "model": model.model,
        "device": model.device,
        "size": list(images[0].size) if images else None,
    }


def output_fn(prediction: dict[str, Any], accept: str = "application/json") -> str:
    return json.dumps(prediction)


# --- Requests ------------------------------------------------------------------------------

def parse_request(data: Any) -> Job:
    """Validate a decoded body, naming every problem at once."""
    if not isinstance(data, dict):
        raise BadRequest('the body must be a JSON object like {"inputs": "a prompt"}.')
    if "inputs" not in data and "prompt" in data:
        unknown = set(data) - _JUMPSTART_KEYS
        if unknown:
            raise BadRequest(f"unknown fields {', '.join(sorted(unknown))}.")
        return _job(data.get("prompt"), data, jumpstart=True)
    unknown = set(data) - {"inputs", "parameters"}
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise BadRequest('"parameters" must be a JSON object.')
    unknown |= {f"parameters.{k}" for k in set(parameters) - _PARAMETERS}
    if unknown:
        raise BadRequest(f"unknown fields {', '.join(sorted(unknown))}; the known parameters "
                         f"are {', '.join(sorted(_PARAMETERS))}.")
    return _job(data.get("inputs"), parameters, jumpstart=False)


def _job(prompt: Any, p: dict[str, Any], *, jumpstart: bool) -> Job:
    problems: list[str] = []
    if not isinstance(prompt, str) or not prompt.strip():
        problems.append('Write a prompt ("inputs" must be a non-empty string).')
    elif len(prompt) > MAX_PROMPT_CHARS:
        problems.append(f"The prompt is too long (at most {MAX_PROMPT_CHARS} characters).")
    negative = p.get("negative_prompt") or ""
    if not isinstance(negative, str) or len(negative) > MAX_PROMPT_CHARS:
        problems.append(f"negative_prompt must be a string of at most {MAX_PROMPT_CHARS} "
                        "characters.")
    steps = _whole(p, "num_inference_steps", 30, 1, MAX_STEPS, problems)
    count = _whole(p, "num_images_per_prompt", 1, 1, MAX_COUNT, problems)
    seed = _whole(p, "seed", None, 0, MAX_SEED, problems)
    width = _side(p, "width", problems)
    height = _side(p, "height", problems)
    guidance = p.get("guidance_scale", 7.0)
    if isinstance(guidance, bool) or not isinstance(guidance, int | float) or not (
            0.0 <= guidance <= 30.0):
        problems.append(f"guidance_scale must be a number from 0 to 30 (got {guidance!r}).")
    scheduler = p.get("scheduler")
    if scheduler is not None and scheduler not in SCHEDULER_CLASSES:
        problems.append(f"Unknown scheduler {scheduler!r}; use one of "
                        f"{', '.join(SCHEDULER_CLASSES)}.")
    strength = p.get("strength", 0.75)
    init_image = None
    if p.get("image") is not None:
        init_image = _decode_init_image(p["image"], problems)
        if isinstance(strength, bool) or not isinstance(strength, int | float) or not (
                0.0 < strength <= 1.0):
            problems.append(f"strength must be above 0 and at most 1 (got {strength!r}).")
        elif isinstance(steps, int) and int(steps * strength) < 1:
            problems.append(f"With strength {strength} no denoising step would run; raise "
                            "num_inference_steps or strength.")
    mask = None
    if p.get("mask") is not None:
        mask = _decode_init_image(p["mask"], problems, role="mask")
        if init_image is None:
            problems.append('A "mask" needs an "image" to apply to.')
        elif mask is not None and mask.size != init_image.size:
            problems.append(f"The mask ({mask.width}×{mask.height}) must be the size of the "
                            f"image ({init_image.width}×{init_image.height}).")
    if problems:
        raise BadRequest(" ".join(problems))
    first = seed if seed is not None else random_seed()
    seeds = tuple((first + i) % (MAX_SEED + 1) for i in range(count))
    return Job(prompt=prompt, negative_prompt=negative, steps=steps, guidance=float(guidance),
               width=width, height=height, seeds=seeds, scheduler=scheduler,
               init_image=init_image, strength=float(strength),
               mask=mask.convert("L") if mask is not None else None, jumpstart=jumpstart)


# Copied from backends.types.random_seed
def random_seed() -> int:
    return random.SystemRandom().randint(0, MAX_SEED)


def _whole(p: dict[str, Any], name: str, default: int | None, low: int, high: int,
           problems: list[str]) -> Any:
    value = p.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{name} must be a whole number from {low} to {high} (got {value!r}).")
    return value


def _side(p: dict[str, Any], name: str, problems: list[str]) -> int | None:
    value = p.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not (
            MIN_SIDE <= value <= MAX_SIDE):
        problems.append(f"{name} must be from {MIN_SIDE} to {MAX_SIDE} pixels (got {value!r}).")
    elif value % SIDE_MULTIPLE:
        problems.append(f"{name} must be a multiple of {SIDE_MULTIPLE} (got {value}).")
    return value


def _decode_init_image(data: Any, problems: list[str],
                       role: str = "image") -> Image.Image | None:
    label = "init image" if role == "image" else role
    if not isinstance(data, str):
        problems.append(f'"{role}" must be a base64-encoded PNG, JPEG or WebP.')
        return None
    try:
        with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as opened:
            if opened.width * opened.height > MAX_INIT_PIXELS:
                problems.append(f"The {label} is too large ({opened.width}×{opened.height}).")
                return None
            return opened.convert("RGB")
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError,
            Image.DecompressionBombError) as exc:
        problems.append(f"The {label} could not be decoded ({exc}).")
        return None


def _encode(image: Image.Image, kind: str) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=kind)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# --- GPU / CPU: diffusers ------------------------------------------------------------------

def _load_diffusers(model_dir: str) -> LoadedPipeline:
    from diffusers import AutoPipelineForText2Image
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.disable_progress_bar()  # per-step bars flood the endpoint's logs
    choice = choose_device()
    # Safetensors only: pickle weights can run code when they are loaded.
    pipeline = AutoPipelineForText2Image.from_pretrained(
        model_dir, use_safetensors=True, **{_dtype_keyword(): choice.dtype})
    pipeline.set_progress_bar_config(disable=True)
    pipeline.to(choice.device)
    return LoadedPipeline(pipeline, choice.device, choice.label, _model_name(model_dir),
                          base_scheduler=pipeline.scheduler)


def _run_diffusers(job: Job, model: LoadedPipeline) -> list[Image.Image]:
    import torch

    mode = "inpaint" if job.mask is not None else (
        "img2img" if job.init_image is not None else "txt2img")
    pipeline = model.pipeline_for(mode)
    pipeline.scheduler = build_scheduler(job.scheduler, model.base_scheduler.config)
    kwargs: dict[str, Any] = {
        "prompt": job.prompt, "negative_prompt": job.negative_prompt or None,
        "num_inference_steps": job.steps, "guidance_scale": job.guidance,
        "num_images_per_prompt": len(job.seeds), "output_type": "pil",
        # CPU generators make a seed give the same picture on every device and in Studio.
        "generator": [torch.Generator("cpu").manual_seed(s) for s in job.seeds],
    }
    if job.init_image is not None:
        size = (job.width or job.init_image.width // 8 * 8,
                job.height or job.init_image.height // 8 * 8)
        kwargs.update(image=ImageOps.fit(job.init_image, size), strength=job.strength)
        if job.mask is not None:
            kwargs.update(mask_image=ImageOps.fit(job.mask, size), width=size[0],
                          height=size[1])
    else:
        kwargs.update(width=job.width, height=job.height)
    try:
        with torch.inference_mode():
            return list(pipeline(**kwargs).images)
    except getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError) as exc:
        if model.runtime == "cuda":
            torch.cuda.empty_cache()
        raise BadRequest(f"the GPU ran out of memory at {job.width}×{job.height} × "
                         f"{len(job.seeds)}; lower the size or the image count.") from exc


# Copied from backends.local.schedulers.build_scheduler
def build_scheduler(name: str | None, base_config: Any) -> Any:
    """A fresh scheduler for one run; None keeps the model's own scheduler type."""
    import diffusers

    if name is None:
        class_name, extra = base_config["_class_name"], {}
    else:
        class_name, extra = SCHEDULER_CLASSES[name]
    scheduler_class = getattr(diffusers, class_name)
    return scheduler_class.from_config(base_config, **extra)


# Copied from backends.local.device.DeviceChoice
@dataclass(frozen=True)
class DeviceChoice:
    device: str  # "cuda", "mps" or "cpu"
    dtype: Any  # a torch.dtype
    label: str  # what the user sees, e.g. "cuda (NVIDIA H100) fp16"


# Copied from backends.local.device.choose_device
def choose_device(preferred: str | None = None) -> DeviceChoice:
    """CUDA first, then Apple MPS, then CPU; half precision where the hardware is made for it."""
    import torch

    wanted = preferred or ("cuda" if torch.cuda.is_available() else
                           "mps" if torch.backends.mps.is_available() else "cpu")
    if wanted == "cuda":
        name = torch.cuda.get_device_name(0)
        return DeviceChoice("cuda", torch.float16, f"cuda ({name}) fp16")
    if wanted == "mps":
        return DeviceChoice("mps", torch.float16, "mps (Apple GPU) fp16")
    # Half precision on CPU is slower than fp32 and poorly supported by many kernels.
    return DeviceChoice("cpu", torch.float32, "cpu fp32")


# Copied from backends.local.pipelines._dtype_keyword
def _dtype_keyword() -> str:
    """diffusers renamed `torch_dtype` to `dtype`; use whichever this version speaks."""
    try:
        from diffusers.utils.deprecation_utils import _TORCH_DTYPE_DEPRECATION_MESSAGE  # noqa: F401
    except ImportError:
        return "torch_dtype"
    return "dtype"


# --- Inferentia2: optimum-neuron -----------------------------------------------------------

def _load_neuron(model_dir: str) -> LoadedPipeline:
    from optimum.neuron import NeuronStableDiffusionPipeline, NeuronStableDiffusionXLPipeline

    with open(os.path.join(model_dir, "model_index.json"), encoding="utf-8") as handle:
        class_name = json.load(handle).get("_class_name", "")
    pipeline_class = (NeuronStableDiffusionXLPipeline if "XL" in class_name
                      else NeuronStableDiffusionPipeline)
    pipeline = pipeline_class.from_pretrained(model_dir)
    compiled_size = None
    try:
        neuron = pipeline.unet.config.neuron
        scale = pipeline.vae_scale_factor
        compiled_size = (neuron["static_width"] * scale, neuron["static_height"] * scale)
    except (AttributeError, KeyError, TypeError):
        pass
    return LoadedPipeline(pipeline, "neuron", "inferentia2 (neuron)", _model_name(model_dir),
                          compiled_size)


def _run_neuron(job: Job, model: LoadedPipeline) -> list[Image.Image]:
    import torch

    if job.init_image is not None:
        raise BadRequest("image-to-image and inpainting are not available on the Inferentia2 "
                         "endpoint yet; use a GPU endpoint for them.")
    if job.scheduler is not None:
        raise BadRequest("the Inferentia2 endpoint uses the scheduler it was compiled with; "
                         "leave the sampler on its default.")
    size = model.compiled_size
    wanted = (job.width or (size[0] if size else None), job.height or (size[1] if size else None))
    if size is not None and wanted != size:
        raise BadRequest(f"this Inferentia2 endpoint was compiled for {size[0]}×{size[1]} images;"
                         f" ask for that size (got {wanted[0]}×{wanted[1]}).")
    images = []
    # Compiled graphs have a fixed batch, so each seed is one call: seed i gives image i.
    for seed in job.seeds:
        output = model.pipeline(prompt=job.prompt, negative_prompt=job.negative_prompt or None,
                                num_inference_steps=job.steps, guidance_scale=job.guidance,
                                generator=torch.Generator().manual_seed(seed))
        images.append(output.images[0])
    return images


def _model_name(model_dir: str) -> str:
    if not os.path.isdir(model_dir):
        return model_dir  # a hub id
    # Inside SageMaker the folder is always /opt/ml/model, so packaging records the real name.
    manifest = os.path.join(model_dir, "studio_model.json")
    if os.path.isfile(manifest):
        with open(manifest, encoding="utf-8") as handle:
            return str(json.load(handle).get("model") or "model")
    return os.path.basename(os.path.normpath(model_dir))
