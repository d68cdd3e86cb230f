"""Studio's SageMaker endpoint handler: every model family Studio runs, behind the Hugging Face
inference toolkit.

This one file runs unchanged as `code/inference.py`
- in the Hugging Face PyTorch inference container (GPU instances: diffusers on CUDA), for every
  family Studio knows (SD 1.x/2.x, SDXL, SD 3, FLUX.1 with Fill and Kontext, FLUX.2 and its
  klein models, Qwen-Image, Qwen-Image-Edit, Z-Image) and any other diffusers folder,
- in the Hugging Face Neuron inference container (ml.inf2.*: optimum-neuron's compiled SD and
  SDXL pipelines), picked when optimum.neuron or torch_neuronx can be imported,
- and in `studio endpoint serve`, which loads it as a module.
Inside SageMaker our `backends` package does not exist, so this file imports nothing of ours:
only the standard library, PIL, and (lazily, in model_fn and predict_fn) torch, diffusers and
optimum-neuron. What it shares with Studio (the request limits, the sampler table, the device
choice, the pipeline per mode, the family detection and profiles, the guidance per family, the
speed profiles) is therefore copied here, each copy marked `# Copied from` its source;
tests/backends/endpoint/test_copies.py fails when a copy drifts from its source.

Speed: the endpoint's environment names its profile, STUDIO_SPEED = exact | fast | fastest
(default fast; `studio endpoint deploy --speed` sets it), applied once in model_fn exactly as
Studio's local backend applies it (backends/local/speed.py): what cannot apply here falls back
and is noted, never an error. When something was compiled, model_fn warms the model up with
one short call at its native size (its family's, else 1024²), so the compiling happens at load
and not in the first client's request (other sizes compile on their first request); Inferentia2
models are compiled ahead of time, take no profile and get one short warm-up call at their
compiled size. The warm-up's seconds are reported apart, in every response's
speed.warmup_s, never in its timings. A request may ask for a speed (parameters.speed); one
endpoint serves many clients, so it is never reloaded per request: a request asking for
another profile is answered with the loaded one, and the response says so.

The model's family is read from its model_index.json (and its components' configs) when it is
loaded; the family's data (default steps and guidance, samplers, modes, licence) from
families.json, which `studio endpoint package` puts beside this file (code/families.json).
Without it every model is of an unknown family and gets the generic defaults.

Request (our format):
    {"inputs": "<prompt>", "parameters": {"negative_prompt": "", "num_inference_steps": 30,
     "guidance_scale": 7.0, "width": 1024, "height": 1024, "seed": 1, "num_images_per_prompt": 1,
     "scheduler": "euler_a", "image": "<base64 PNG/JPEG>", "strength": 0.75,
     "mask": "<base64 PNG, same size as image: white = generate, black = keep>",
     "edit": false, "speed": "fast"}}
    num_inference_steps and guidance_scale left out: the family's defaults. "edit": true makes
    the prompt an instruction about "image" (edit families: Qwen-Image-Edit, FLUX.1 Kontext,
    FLUX.2). A sampler, mode or negative prompt the family cannot use is refused (400).
    "speed" is what the client would like; the endpoint runs the profile it was loaded with.
Response:
    {"generated_images": ["<base64 PNG>", ...], "seeds": [...], "timings": {seconds},
     "model": "...", "device": "...", "size": [w, h],
     "parameters": {"num_inference_steps": 28, "guidance_scale": 3.5, "scheduler": null,
                    "mode": "txt2img"},
     "family": "flux1", "licence": "...", "commercial_use": false,
     "accelerations": ["speed fast: bf16", "attention: FlashAttention-3", ...,
                       "not applied: fp8: ..."],
     "speed": {"requested": "fastest", "used": "fast", "accelerations": [...],
               "warmup_s": 41.2}}
    "parameters" holds what really ran (the family's defaults filled in); "family" is the
    family with its variant ("flux1-schnell"), or "unknown". "accelerations" (always there)
    says what the loaded speed profile applied and what fell back, as Studio records it;
    "speed" says which profile was asked for (null: none) and which ran, and how long the
    model's warm-up at load took (0 when nothing was compiled). When the request asked for
    another profile than the loaded one, the first acceleration says so.
A request in the JumpStart Stable Diffusion shape ({"prompt": ..., "width": ...}) is answered in
that shape too ({"generated_images": [base64 JPEG], "prompt": ...}), so JumpStart clients work.
Image i of a request uses seed + i, as everywhere in Studio.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import importlib.util
import inspect
import io
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

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
# Copied from backends.types.SPEEDS
SPEEDS = ("exact", "fast", "fastest")
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
# For a model of no known family: the classic Stable Diffusion defaults.
# Copied from backends.families.GENERIC_STEPS..MODE_LABELS
GENERIC_STEPS = 30
GENERIC_GUIDANCE = 7.0
UNKNOWN_LICENCE = "unknown: check the model card"
MODE_LABELS = {"txt2img": "text to image", "img2img": "image to image", "inpaint": "inpainting",
               "edit": "editing by words"}
# The family table: shipped beside this file in model.tar.gz, else Studio's own resources.
FAMILY_TABLE_FILE = "families.json"
_PARAMETERS = {"negative_prompt", "num_inference_steps", "guidance_scale", "width", "height",
               "seed", "num_images_per_prompt", "scheduler", "image", "strength", "mask", "edit",
               "speed"}
_JUMPSTART_KEYS = {"prompt", "negative_prompt", "num_inference_steps", "guidance_scale", "width",
                   "height", "seed", "num_images_per_prompt"}
# The speed profile the endpoint loads with (exact | fast | fastest), from its environment.
SPEED_ENV = "STUDIO_SPEED"
DEFAULT_SPEED = "fast"
# A requested speed is only compared with the loaded one, so a name a newer client knows is
# answered (with the loaded profile) rather than refused; this only bounds its length.
MAX_SPEED_CHARS = 40
# The warm-up after compiling: its steps, and the side of a model of no known family.
WARMUP_STEPS = 2
WARMUP_SIDE = 1024
# Where inductor's and triton's caches go; default ~/.cache/Studio/torch-compile, as Studio's.
COMPILE_CACHE_ENV = "STUDIO_COMPILE_CACHE"


class BadRequest(ValueError):
    """The request cannot be served as asked. The toolkit and our server answer it with a 4xx.

    The message starts with "Invalid request:" so a client can tell it from a model failure
    even where the container reports every error with the same status code.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"Invalid request: {message}")


# --- Model families: which one a folder is, and what it needs -------------------------------

# Copied from backends.local.detect.UNKNOWN..ConfigReader
UNKNOWN = "unknown"
ConfigReader = Callable[[str], dict[str, Any] | None]

# diffusers pipeline class (model_index.json's _class_name) -> (family, variants)
# Copied from backends.local.detect.PIPELINE_FAMILIES
PIPELINE_FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "StableDiffusionPipeline": ("sd1", ()),
    "StableDiffusionImg2ImgPipeline": ("sd1", ()),
    "StableDiffusionInpaintPipeline": ("sd1", ()),
    "StableDiffusionXLPipeline": ("sdxl", ()),
    "StableDiffusionXLImg2ImgPipeline": ("sdxl", ()),
    "StableDiffusionXLInpaintPipeline": ("sdxl", ()),
    "StableDiffusion3Pipeline": ("sd3", ()),
    "StableDiffusion3Img2ImgPipeline": ("sd3", ()),
    "StableDiffusion3InpaintPipeline": ("sd3", ()),
    "FluxPipeline": ("flux1", ()),
    "FluxImg2ImgPipeline": ("flux1", ()),
    "FluxInpaintPipeline": ("flux1", ()),
    "FluxFillPipeline": ("flux1", ("fill",)),
    "FluxKontextPipeline": ("flux1", ("kontext",)),
    "Flux2Pipeline": ("flux2", ()),
    "Flux2KleinPipeline": ("flux2-klein", ()),
    "QwenImagePipeline": ("qwen-image", ()),
    "QwenImageImg2ImgPipeline": ("qwen-image", ()),
    "QwenImageInpaintPipeline": ("qwen-image", ()),
    "QwenImageEditPipeline": ("qwen-image-edit", ()),
    "QwenImageEditInpaintPipeline": ("qwen-image-edit", ()),
    "QwenImageEditPlusPipeline": ("qwen-image-edit", ("plus",)),
    "ZImagePipeline": ("z-image", ()),
    "ZImageImg2ImgPipeline": ("z-image", ()),
    "ZImageInpaintPipeline": ("z-image", ()),
}

# Copied from backends.local.detect.FLUX2_KLEIN_9B_TEXT_WIDTH..SD2_TEXT_WIDTH
FLUX2_KLEIN_9B_TEXT_WIDTH = 12288  # Qwen3-8B: 3 × 4096
SD2_TEXT_WIDTH = 1024  # OpenCLIP ViT-H; SD 1.x uses CLIP ViT-L (768)


# Copied from backends.local.detect.family_from_configs
def family_from_configs(read: ConfigReader, name_hint: str = "") -> tuple[str, tuple[str, ...]]:
    """(family, variants) of a diffusers pipeline whose JSON files `read(relpath)` returns."""
    index = read("model_index.json") or {}
    family, variants = PIPELINE_FAMILIES.get(str(index.get("_class_name")), (UNKNOWN, ()))
    found = list(variants)
    if family == "sd1":
        text = read("text_encoder/config.json") or {}
        if text.get("hidden_size") == SD2_TEXT_WIDTH:
            family = "sd2"
    elif family == "flux1" and not found:
        transformer = read("transformer/config.json") or {}
        if transformer.get("guidance_embeds") is False:
            found.append("schnell")
    elif family == "flux2-klein":
        # The pipeline runs true CFG unless its config says the model is distilled.
        if not index.get("is_distilled", False):
            found.append("base")
        transformer = read("transformer/config.json") or {}
        if transformer.get("joint_attention_dim") == FLUX2_KLEIN_9B_TEXT_WIDTH:
            found.append("9b")
    return family, (*found, *_speed_variants(family, name_hint))


# Copied from backends.local.detect._speed_variants
def _speed_variants(family: str, name_hint: str) -> tuple[str, ...]:
    name = name_hint.lower()
    if family in ("sdxl", "sd3") and "turbo" in name:
        return ("turbo",)
    if family == "sdxl" and "lightning" in name:
        return ("lightning",)
    return ()


def config_reader(model_ref: str) -> ConfigReader:
    """Reads a model's JSON files: from its folder, or for a hub id from the hub (cache)."""

    def read(relpath: str) -> dict[str, Any] | None:
        path = os.path.join(model_ref, relpath)
        if not os.path.isdir(model_ref):
            try:
                from huggingface_hub import hf_hub_download

                path = hf_hub_download(model_ref, relpath)
            except Exception:  # not on the hub, offline, no such file: nothing to read
                return None
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    return read


@cache
def _family_table() -> dict[str, Any]:
    """families.json's families: beside this file (model.tar.gz's code/), else in Studio's
    resources (`studio endpoint serve`); empty when neither is there."""
    here = os.path.dirname(os.path.abspath(__file__))
    resources = os.environ.get("STUDIO_RESOURCES") or os.path.join(here, "..", "..", "resources")
    for path in (os.path.join(here, FAMILY_TABLE_FILE),
                 os.path.join(resources, "models", FAMILY_TABLE_FILE)):
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                return dict(json.load(handle)["families"])
    return {}


# Copied from backends.families.FamilyProfile with InvalidRequest->BadRequest,
#   GenerationRequest->Job
@dataclass(frozen=True)
class FamilyProfile:
    family: str  # "flux1", "sdxl"…
    variant: str  # "" for the family's main models, else "schnell", "turbo"…
    label: str
    steps: int
    guidance: float
    guidance_kind: str  # cfg | distilled | true_cfg | none
    negative_prompt: bool
    size_multiple: int
    min_side: int
    max_side: int
    native_side: int
    samplers: tuple[str, ...]
    modes: tuple[str, ...]
    licence: str
    commercial: bool
    licence_note: str
    reference_repo: str

    @property
    def name(self) -> str:
        """The family with its variant, e.g. "flux1-schnell"; what history and JSON record."""
        return f"{self.family}-{self.variant}" if self.variant else self.family

    def with_defaults(self, request: Job) -> Job:
        """The request with this family's steps and guidance where the user set none."""
        changes: dict[str, Any] = {}
        if request.steps is None:
            changes["steps"] = self.steps
        if request.guidance is None:
            changes["guidance"] = self.guidance
        return request.replace(**changes) if changes else request

    def problems(self, request: Job) -> list[str]:
        """Why this family cannot run the request as asked, each with what it can do instead."""
        problems: list[str] = []
        if request.scheduler is not None and request.scheduler not in self.samplers:
            allowed = ", ".join(self.samplers)
            problems.append(f"{self.label} cannot use the sampler {request.scheduler!r}; "
                            f"it runs with: {allowed} (or leave the sampler unset for the "
                            "model's own).")
        if request.mode not in self.modes:
            problems.append(f"{self.label} cannot do {MODE_LABELS[request.mode]}; it does "
                            f"{', '.join(MODE_LABELS[m] for m in self.modes)}.")
        if request.negative_prompt.strip() and not self.negative_prompt:
            problems.append(f"{self.label} takes no negative prompt: it is guidance-distilled. "
                            "Remove the negative prompt, or describe what you want instead.")
        for name in ("width", "height"):
            side = getattr(request, name)
            if side % self.size_multiple:
                lower = side - side % self.size_multiple
                problems.append(f"{self.label} needs the {name} to be a multiple of "
                                f"{self.size_multiple}: {side} is not; try {lower} or "
                                f"{lower + self.size_multiple}.")
            elif not self.min_side <= side <= self.max_side:
                problems.append(f"{self.label} makes images from {self.min_side} to "
                                f"{self.max_side} pixels a side (the {name} is {side}).")
        return problems

    def check(self, request: Job) -> None:
        problems = self.problems(request)
        if problems:
            raise BadRequest(" ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["name"] = self.name
        return data


# Copied from backends.families.with_generic_defaults with GenerationRequest->Job
def with_generic_defaults(request: Job) -> Job:
    return request.replace(
        steps=GENERIC_STEPS if request.steps is None else request.steps,
        guidance=GENERIC_GUIDANCE if request.guidance is None else request.guidance)


# Copied from backends.families.checked_with_defaults with InvalidRequest->BadRequest,
#   GenerationRequest->Job
def checked_with_defaults(profile: FamilyProfile | None,
                          request: Job) -> Job:
    """Refuse what the family cannot do, then fill in its defaults (generic ones without a
    profile, where only editing by words is refused: it needs a model made for it)."""
    if profile is None:
        if request.mode == "edit":
            raise BadRequest("Editing by words needs a model made for it (Qwen-Image-Edit, "
                                 "FLUX.1 Kontext, FLUX.2); this model's family is not known.")
        return with_generic_defaults(request)
    profile.check(request)
    return profile.with_defaults(request)


# Copied from backends.families.family_profile with _families()->_family_table()
def family_profile(family: str, variants: tuple[str, ...] = ()) -> FamilyProfile | None:
    """The profile of a family with its variants applied in order; None for unknown families."""
    families = _family_table()
    entry = families.get(family)
    if entry is None:
        return None
    values = {k: v for k, v in entry.items() if k != "variants"}
    known = [v for v in variants if v in entry.get("variants", {})]
    for variant in known:
        values.update(entry["variants"][variant])
    return FamilyProfile(
        family=family, variant="-".join(known), label=values["label"],
        steps=int(values["steps"]), guidance=float(values["guidance"]),
        guidance_kind=values["guidance_kind"], negative_prompt=bool(values["negative_prompt"]),
        size_multiple=int(values["size_multiple"]), min_side=int(values["min_side"]),
        max_side=int(values["max_side"]), native_side=int(values["native_side"]),
        samplers=tuple(values["samplers"]), modes=tuple(values["modes"]),
        licence=values["licence"], commercial=bool(values["commercial"]),
        licence_note=values.get("licence_note", ""), reference_repo=values["reference_repo"],
    )


# --- What is loaded, and what one request asks of it ---------------------------------------

@dataclass
class LoadedPipeline:
    pipeline: Any  # the family's main pipeline (for edit- or fill-only families, that one)
    runtime: str  # "neuron", "cuda", "mps" or "cpu"
    device: str  # what the client shows, e.g. "cuda (NVIDIA A10G) bf16"
    model: str
    compiled_size: tuple[int, int] | None = None  # Neuron models have a fixed (width, height)
    base_scheduler: Any = None  # the model's own, kept so one request's sampler never leaks
    by_mode: dict[str, Any] = field(default_factory=dict)
    family: str = UNKNOWN  # what detection found, variants aside ("flux1", "unknown")
    profile: FamilyProfile | None = None  # None: a family Studio does not know
    # The speed profile it was loaded with, what that applied and its warm-up's seconds.
    speed: SpeedReport = field(default_factory=lambda: SpeedReport("exact"))
    precision: str = ""  # "bf16", "fp32"…, or how a compiled Neuron model runs

    @property
    def family_name(self) -> str:
        """The family with its variant ("flux1-schnell"), as the response and history say it."""
        return self.profile.name if self.profile else self.family

    @property
    def accelerations(self) -> tuple[str, ...]:
        """What the speed profile did, as Studio's local backend words it for a result."""
        precision = f": {self.precision}" if self.precision else ""
        return (f"speed {self.speed.speed}{precision}", *self.speed.notes())

    # Copied from backends.local.pipelines.LoadedModel.pipeline_for with text2image->pipeline,
    #   InvalidRequest->BadRequest, self.source.display_name->self.model
    def pipeline_for(self, mode: str) -> Any:
        """The pipeline for a mode, sharing the loaded weights (no reload)."""
        main = self.pipeline
        if mode == "txt2img" or main_pipeline_does(main, mode):
            return main
        if mode not in self.by_mode:
            from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting

            auto = AutoPipelineForInpainting if mode == "inpaint" else AutoPipelineForImage2Image
            try:
                pipeline = auto.from_pipe(main)
            except ValueError as exc:
                raise BadRequest(f"{self.model} has no {mode} pipeline in "
                                     f"diffusers ({exc}).") from exc
            pipeline.set_progress_bar_config(disable=True)
            self.by_mode[mode] = pipeline
        return self.by_mode[mode]


# Copied from backends.local.pipelines.main_pipeline_does
def main_pipeline_does(pipeline: Any, mode: str) -> bool:
    """Edit models take the image in their main pipeline; FLUX Fill takes the mask there."""
    parameters = inspect.signature(pipeline.__call__).parameters
    if mode == "edit":
        return "image" in parameters and "strength" not in parameters
    if mode == "inpaint":
        return "mask_image" in parameters
    return False


@dataclass(frozen=True)
class Job:
    prompt: str
    negative_prompt: str = ""
    steps: int | None = None  # None: the model's own default (its family's)
    guidance: float | None = None  # None: the model's own default
    width: int | None = None  # None: the model's own size
    height: int | None = None
    seeds: tuple[int, ...] = (0,)
    scheduler: str | None = None
    init_image: Image.Image | None = None
    strength: float = 0.75
    mask: Image.Image | None = None  # white = generate (inpainting), as in Studio
    edit: bool = False  # the prompt is an instruction about init_image
    speed: str | None = None  # the profile the client asked for; the loaded one runs
    jumpstart: bool = False

    # Copied from backends.types.GenerationRequest.mode
    @property
    def mode(self) -> str:
        if self.mask is not None:
            return "inpaint"
        if self.edit:
            return "edit"
        if self.init_image is not None:
            return "img2img"
        return "txt2img"

    # Copied from backends.types.GenerationRequest.replace with GenerationRequest->Job
    def replace(self, **changes: Any) -> Job:
        return dataclasses.replace(self, **changes)


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
    """Load the pipeline once per worker: a compiled Neuron folder, a diffusers folder or hub id,
    with the speed profile the endpoint's environment names (STUDIO_SPEED, default fast)."""
    return load_model(model_dir)


def load_model(model_dir: str, speed: str | None = None) -> LoadedPipeline:
    """model_fn's work, with `speed` instead of STUDIO_SPEED where given (`studio endpoint
    serve --speed`). Warmed up when something was compiled: its seconds are speed.warmup_s."""
    note = ""
    if speed is None:
        speed, note = environment_speed()
    elif speed not in SPEEDS:
        raise ValueError(f"unknown speed {speed!r}; use one of {', '.join(SPEEDS)}")
    compiled = is_neuron_compiled(model_dir)
    if neuron_available():
        if not compiled:
            raise RuntimeError(
                f"{model_dir} is not compiled for Inferentia2. Compile it with `optimum-cli "
                "export neuron` (see Studio's README) and package the compiled folder.")
        model = _load_neuron(model_dir, speed)
        _warm_up_neuron(model)
    elif compiled:
        raise RuntimeError(
            f"{model_dir} was compiled for Inferentia2 and needs an ml.inf2 instance with the "
            "Hugging Face Neuron container; on a GPU, package the uncompiled diffusers folder.")
    else:
        model = _load_diffusers(model_dir, speed)
        _warm_up(model)
    if note:
        model.speed.skipped.insert(0, note)
    return model


def environment_speed() -> tuple[str, str]:
    """The profile STUDIO_SPEED names (default fast), and a note when it names none."""
    value = os.environ.get(SPEED_ENV, "").strip().lower()
    if not value:
        return DEFAULT_SPEED, ""
    if value in SPEEDS:
        return value, ""
    return DEFAULT_SPEED, (f"{SPEED_ENV}={value!r}: not one of {', '.join(SPEEDS)}, so "
                           f"{DEFAULT_SPEED} is used")


def input_fn(input_data: bytes | bytearray | str, content_type: str = "application/json") -> Job:
    if content_type and "json" not in content_type.lower():
        raise BadRequest(f"send the request as application/json, not {content_type}.")
    try:
        data = json.loads(input_data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON ({exc}).") from exc
    except RecursionError as exc:
        raise BadRequest("the body's JSON is nested too deeply to read; a request is one object "
                         "of plain fields (inputs, parameters).") from exc
    return parse_request(data)


def predict_fn(data: Job | dict[str, Any], model: LoadedPipeline) -> dict[str, Any]:
    job = data if isinstance(data, Job) else parse_request(data)
    job = for_model(job, model)
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
    profile = model.profile
    accelerations = speed_notes(job, model)
    return {
        "generated_images": encoded,
        "seeds": list(job.seeds),
        "timings": {"inference_s": round(generated - started, 4),
                    "encode_s": round(finished - generated, 4),
                    "total_s": round(finished - started, 4)},
        "model": model.model,
        "device": model.device,
        "size": list(images[0].size) if images else None,
        # What really ran, the family's defaults filled in, so the client records it.
        "parameters": {"num_inference_steps": job.steps, "guidance_scale": job.guidance,
                       "scheduler": job.scheduler, "mode": job.mode},
        "family": model.family_name,
        "licence": profile.licence if profile else UNKNOWN_LICENCE,
        "commercial_use": profile.commercial if profile else None,
        "accelerations": accelerations,
        "speed": {"requested": job.speed, "used": model.speed.speed,
                  "accelerations": accelerations,
                  "warmup_s": round(model.speed.warmup_s, 4)},
    }


def speed_notes(job: Job, model: LoadedPipeline) -> list[str]:
    """The loaded profile's accelerations; first, when the job asked for another profile, that
    the loaded one ran (one model serves every client: it is never reloaded per request)."""
    notes = list(model.accelerations)
    used = model.speed.speed
    if job.speed is not None and job.speed != used:
        notes.insert(0, f"asked for speed {job.speed}, ran {used}: this endpoint was loaded "
                        f"with {used} ({SPEED_ENV}) and serves every request with it")
    return notes


def output_fn(prediction: dict[str, Any], accept: str = "application/json") -> str:
    return json.dumps(prediction)


# --- Requests ------------------------------------------------------------------------------

def parse_request(data: Any) -> Job:
    """Validate a decoded body, naming every problem at once. What depends on the model (its
    family's samplers, modes and defaults) is checked by `for_model`."""
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


def for_model(job: Job, model: LoadedPipeline) -> Job:
    """The job as this model runs it: refused where its family cannot do what it asks (the
    sampler, the mode, a negative prompt, the size), else with the family's steps and guidance
    where the request set none (the generic 30 and 7.0 for a family Studio does not know)."""
    unset = model.profile.native_side if model.profile else MIN_SIDE
    # An unset size is the model's own, which it can always make.
    sized = job.replace(width=job.width or unset, height=job.height or unset)
    ready = checked_with_defaults(model.profile, sized).replace(width=job.width,
                                                                height=job.height)
    problem = _strength_problem(ready)
    if problem:
        raise BadRequest(problem)
    return ready


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
    steps = _whole(p, "num_inference_steps", None, 1, MAX_STEPS, problems)
    count = _whole(p, "num_images_per_prompt", 1, 1, MAX_COUNT, problems)
    seed = _whole(p, "seed", None, 0, MAX_SEED, problems)
    width = _side(p, "width", problems)
    height = _side(p, "height", problems)
    guidance = p.get("guidance_scale")
    if guidance is not None and (isinstance(guidance, bool) or not isinstance(
            guidance, int | float) or not 0.0 <= guidance <= 30.0):
        problems.append(f"guidance_scale must be a number from 0 to 30 (got {guidance!r}).")
    scheduler = p.get("scheduler")
    if scheduler is not None and scheduler not in SCHEDULER_CLASSES:
        problems.append(f"Unknown scheduler {scheduler!r}; use one of "
                        f"{', '.join(SCHEDULER_CLASSES)}.")
    edit = p.get("edit", False)
    if not isinstance(edit, bool):
        problems.append(f"edit must be true or false (got {edit!r}).")
        edit = False
    speed = p.get("speed")
    if speed is not None and (not isinstance(speed, str) or not speed.strip()
                              or len(speed) > MAX_SPEED_CHARS):
        problems.append(f"speed must be one of {', '.join(SPEEDS)} (got {speed!r}).")
        speed = None
    strength = p.get("strength", 0.75)
    init_image = None
    if p.get("image") is None:
        strength = 0.75  # only an init image is denoised to a strength
    else:
        init_image = _decode_init_image(p["image"], problems)
        if isinstance(strength, bool) or not isinstance(strength, int | float) or not (
                0.0 < strength <= 1.0):
            problems.append(f"strength must be above 0 and at most 1 (got {strength!r}).")
            strength = 0.75
    if edit and p.get("image") is None:
        problems.append('An edit by words needs the image to edit (an "image").')
    mask = None
    if p.get("mask") is not None:
        mask = _decode_init_image(p["mask"], problems, role="mask")
        if init_image is None:
            problems.append('A "mask" needs an "image" to apply to.')
        elif mask is not None and mask.size != init_image.size:
            problems.append(f"The mask ({mask.width}×{mask.height}) must be the size of the "
                            f"image ({init_image.width}×{init_image.height}).")
        if edit:
            problems.append("An edit by words changes the whole image as the words say; it "
                            "takes no mask. Use inpainting to change only a masked area.")
    if problems:
        raise BadRequest(" ".join(problems))
    first = seed if seed is not None else random_seed()
    seeds = tuple((first + i) % (MAX_SEED + 1) for i in range(count))
    job = Job(prompt=prompt, negative_prompt=negative, steps=steps,
              guidance=None if guidance is None else float(guidance), width=width,
              height=height, seeds=seeds, scheduler=scheduler, init_image=init_image,
              strength=float(strength), mask=mask.convert("L") if mask is not None else None,
              edit=edit, speed=speed, jumpstart=jumpstart)
    problem = _strength_problem(job)
    if problem:
        raise BadRequest(problem)
    return job


def _strength_problem(job: Job) -> str:
    """Image to image and inpainting run steps × strength steps: at least one must run."""
    if job.mode in ("img2img", "inpaint") and job.steps is not None and (
            int(job.steps * job.strength) < 1):
        return (f"With strength {job.strength:g} no denoising step would run; raise "
                "num_inference_steps or strength.")
    return ""


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

def _load_diffusers(model_dir: str, speed: str) -> LoadedPipeline:
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.disable_progress_bar()  # per-step bars flood the endpoint's logs
    name = _model_name(model_dir)
    family, variants = family_from_configs(config_reader(model_dir), name)
    profile = family_profile(family, variants)
    choice = choose_device()
    dtype = load_dtype(choice.device, family, speed)
    # Safetensors only: pickle weights can run code when they are loaded.
    pipeline = _pipeline_class(profile).from_pretrained(
        model_dir, use_safetensors=True, **{_dtype_keyword(): dtype})
    pipeline.set_progress_bar_config(disable=True)
    placement = _place(pipeline, choice, name)
    report = apply_speed(pipeline, speed, choice.device, family)
    # The device's label ends with its default precision; the profile may have chosen another.
    label = f"{choice.label.rsplit(' ', 1)[0]} {dtype_label(dtype)}"
    device = f"{label}, {placement.note}" if placement.note else label
    return LoadedPipeline(pipeline, choice.device, device, name,
                          base_scheduler=pipeline.scheduler, family=family, profile=profile,
                          speed=report, precision=dtype_label(dtype))


def _warm_up(model: LoadedPipeline) -> None:
    """A compiled model runs one short call at its native size now, so the compiling is part
    of loading and not of the first client's request. Whatever goes wrong is a note: a graph
    that cannot compile runs eagerly, as Studio's local backend does."""
    report = model.speed
    if not report.compiled:
        return
    import torch

    side = model.profile.native_side if model.profile else WARMUP_SIDE
    started = time.perf_counter()
    try:
        pipeline, kwargs = call_arguments(_warm_up_job(model, side), model)
        kwargs.update(output_type="latent", generator=[torch.Generator("cpu").manual_seed(0)])
        with torch.inference_mode():
            pipeline(**kwargs)
    except getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError) as exc:
        if model.runtime == "cuda":
            torch.cuda.empty_cache()
        report.skipped.append(f"warm-up: out of memory at {side}×{side} ({_first_line(exc)});"
                              " each size compiles on its first request")
        return
    except COMPILE_ERRORS as exc:
        compile_failed(model.pipeline, report, exc)
    except Exception as exc:  # the model may still serve; its requests will say what fails
        report.skipped.append(f"warm-up: {_first_line(exc)}; each size compiles on its first "
                              "request")
        return
    report.warmup_s = time.perf_counter() - started
    if report.compiled:
        report.applied.append(f"compiled in a {report.warmup_s:.1f} s warm-up at {side}×{side}"
                              " (other sizes compile on their first request)")


def _warm_up_job(model: LoadedPipeline, side: int) -> Job:
    """A short job at side × side, in a mode the model's family does (an edit or fill model
    has no text to image: it gets a grey image, and for a fill a white mask)."""
    profile = model.profile
    job = Job(prompt="a grey studio backdrop", steps=WARMUP_STEPS, width=side, height=side)
    modes = profile.modes if profile else ("txt2img",)
    if "txt2img" not in modes:
        image = Image.new("RGB", (side, side), (128, 128, 128))
        job = job.replace(init_image=image, edit="edit" in modes)
        if "edit" not in modes and "inpaint" in modes:
            job = job.replace(mask=Image.new("L", (side, side), 255))
    return for_model(job, model)


def _run_diffusers(job: Job, model: LoadedPipeline) -> list[Image.Image]:
    import torch

    pipeline, kwargs = call_arguments(job, model)
    # CPU generators make a seed give the same picture on every device and in Studio.
    kwargs["generator"] = [torch.Generator("cpu").manual_seed(s) for s in job.seeds]
    try:
        with torch.inference_mode():
            return list(pipeline(**kwargs).images)
    except getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError) as exc:
        if model.runtime == "cuda":
            torch.cuda.empty_cache()
        raise BadRequest(f"the GPU ran out of memory at {job.width}×{job.height} × "
                         f"{len(job.seeds)}; lower the size or the image count.") from exc


def call_arguments(job: Job, model: LoadedPipeline) -> tuple[Any, dict[str, Any]]:
    """The pipeline for the job's mode, with a fresh scheduler, and its arguments (the
    guidance as the family takes it), as Studio's local backend prepares them."""
    pipeline = model.pipeline_for(job.mode)
    pipeline.scheduler = build_scheduler(job.scheduler, model.base_scheduler.config)
    kwargs: dict[str, Any] = {
        "prompt": job.prompt, "num_inference_steps": job.steps,
        "num_images_per_prompt": len(job.seeds), "output_type": "pil",
    }
    kwargs.update(_guidance(job, model.profile))
    if job.init_image is None:
        kwargs.update(width=job.width, height=job.height)
    else:
        multiple = model.profile.size_multiple if model.profile else SIDE_MULTIPLE
        size = (job.width or job.init_image.width // multiple * multiple,
                job.height or job.init_image.height // multiple * multiple)
        # The frame too: SD and SDXL image-to-image take it from the image (and have no width
        # to pass), but FLUX, SD 3 and Qwen-Image would make their default size instead.
        kwargs.update(image=ImageOps.fit(job.init_image, size), width=size[0], height=size[1])
        if job.mode in ("img2img", "inpaint"):
            kwargs["strength"] = job.strength
        if job.mode == "inpaint":
            kwargs["mask_image"] = ImageOps.fit(job.mask, size)
    return pipeline, _accepted(pipeline, kwargs)


# Qwen-Image runs true CFG only when a negative prompt is given; a blank one is its own
# documented way to ask for it without steering away from anything.
# Copied from backends.local.calls.BLANK_NEGATIVE
BLANK_NEGATIVE = " "


# Copied from backends.local.calls._guidance with GenerationRequest->Job
def _guidance(request: Job, profile: FamilyProfile | None) -> dict[str, Any]:
    kind = profile.guidance_kind if profile else "cfg"
    negative = request.negative_prompt or None
    if kind == "true_cfg":
        return {"true_cfg_scale": request.guidance,
                "negative_prompt": negative or (BLANK_NEGATIVE if request.guidance > 1 else None)}
    if kind == "distilled" or kind == "none":
        return {"guidance_scale": request.guidance}
    return {"guidance_scale": request.guidance, "negative_prompt": negative}


# Copied from backends.local.calls._accepted
def _accepted(pipeline: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Only what this pipeline's __call__ takes. The family profile has already refused
    anything the user set that the model cannot use, so what is left out here is a default."""
    parameters = inspect.signature(pipeline.__call__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in parameters}


# Copied from backends.local.schedulers.build_scheduler
def build_scheduler(name: str | None, base_config: Any) -> Any:
    """A fresh scheduler for one run; None keeps the model's own scheduler type."""
    import diffusers

    if name is None or str(base_config["_class_name"]).startswith("FlowMatch"):
        # Flow-matching models (SD3, FLUX, Qwen-Image, Z-Image) run only their own
        # flow-match Euler; their family profile allows "euler" alone, which means this.
        class_name, extra = base_config["_class_name"], {}
    else:
        class_name, extra = SCHEDULER_CLASSES[name]
    scheduler_class = getattr(diffusers, class_name)
    return scheduler_class.from_config(base_config, **extra)


# Copied from backends.local.pipelines._pipeline_class
def _pipeline_class(profile: FamilyProfile | None) -> Any:
    """The text-to-image auto class where the family makes images from words alone; the class
    model_index.json names for edit-only or fill-only models."""
    from diffusers import AutoPipelineForText2Image, DiffusionPipeline

    if profile is not None and "txt2img" not in profile.modes:
        return DiffusionPipeline
    return AutoPipelineForText2Image


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
        # bf16 where the GPU has it (Ampere on): FLUX, Qwen-Image and Z-Image overflow fp16.
        if torch.cuda.is_bf16_supported():
            return DeviceChoice("cuda", torch.bfloat16, f"cuda ({name}) bf16")
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


# Copied from backends.local.pipelines._place with source: ModelSource->source: str,
#   source.display_name->source, BackendUnavailable->RuntimeError
def _place(pipeline: Any, device: DeviceChoice, source: str) -> Placement:
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
        raise RuntimeError(f"{source}: {placement.note}")
    if placement.kind == "offload":
        pipeline.enable_model_cpu_offload()
    else:
        pipeline.to(device.device)
    return placement


# Copied from backends.local.pipelines._component_bytes
def _component_bytes(pipeline: Any) -> list[int]:
    import torch

    return [sum(p.numel() * p.element_size() for p in module.parameters())
            for module in pipeline.components.values() if isinstance(module, torch.nn.Module)]


# Copied from backends.local.memory.GIB..WORKING_MARGIN_BYTES
GIB = 1024**3
# Room for activations, the VAE decode and the CUDA context at 1024² (measured on SDXL and
# FLUX at batch 1; more images per call need more).
WORKING_MARGIN_BYTES = int(2.5 * GIB)


# Copied from backends.local.memory.Placement
@dataclass(frozen=True)
class Placement:
    kind: Literal["device", "offload", "impossible"]
    note: str  # what the result's device line says; "" when the model simply fits

    @property
    def runs(self) -> bool:
        return self.kind != "impossible"


# Copied from backends.local.memory.plan_placement
def plan_placement(total_bytes: int, largest_bytes: int, free_bytes: int,
                   host_free_bytes: int | None = None) -> Placement:
    """Where the weights go: all on the GPU, one component at a time (model CPU offload), or
    nowhere. `largest_bytes` is the biggest component (the transformer, usually): with
    offload only it and the working margin must fit at once."""
    need_all = total_bytes + WORKING_MARGIN_BYTES
    if need_all <= free_bytes:
        return Placement("device", "")
    need_offload = largest_bytes + WORKING_MARGIN_BYTES
    if need_offload <= free_bytes and (host_free_bytes is None or total_bytes <= host_free_bytes):
        return Placement("offload", f"model CPU offload (needs {_gib(need_all)} GB to stay on "
                                    f"the GPU, {_gib(free_bytes)} GB free)")
    where = (f"{_gib(need_offload)} GB of GPU memory even with model CPU offload "
             f"(its largest part is {_gib(largest_bytes)} GB)")
    if host_free_bytes is not None and total_bytes > host_free_bytes:
        where += f", and {_gib(total_bytes)} GB of free system memory to hold it"
    return Placement("impossible", f"This model needs {where}; this GPU has {_gib(free_bytes)} "
                                   "GB free. Close other GPU programs, or choose a smaller "
                                   "model or a quantized (fp8) version of it.")


# Copied from backends.local.memory._gib
def _gib(value: int) -> str:
    return f"{value / GIB:.1f}"


# --- Speed profiles: what the loaded pipeline gets -----------------------------------------

# Copied from backends.local.speed.UNET_FAMILIES..COMPILE_ERRORS
UNET_FAMILIES = frozenset({"sd1", "sd2", "sdxl"})
# Families whose attention takes no mask, which the fused kernels need; Qwen-Image and
# Z-Image mask their padded text, so they keep PyTorch's SDPA.
FUSED_ATTENTION_FAMILIES = frozenset({"flux1", "flux2", "flux2-klein"})
# Installed-package attention kernels, best first; "*_hub" ones would download kernels.
ATTENTION_BACKENDS = (("_flash_3", "FlashAttention-3"), ("flash", "FlashAttention"),
                      ("sage", "SageAttention"))
# First-block cache: a step reuses the rest of the network when the first block's output
# moved less than this (relative L1). 0.08 keeps FLUX-class images visually the same.
FIRST_BLOCK_CACHE_THRESHOLD = 0.08
FP8_MIN_CAPABILITY = (8, 9)  # Ada and Hopper have FP8 tensor cores
COMPILE_ON_CPU_ENV = "STUDIO_COMPILE_ON_CPU"
# What a failed compilation raises on the first call (dynamo's and inductor's errors derive
# from RuntimeError; an unsupported construct under fullgraph from TorchDynamoException).
COMPILE_ERRORS: tuple[type[BaseException], ...] = (RuntimeError, AssertionError, TypeError,
                                                   NotImplementedError)


# Copied from backends.local.speed.SpeedReport
@dataclass
class SpeedReport:
    """What a speed profile did to a pipeline, in words a user reads in the result."""

    speed: str
    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warmup_s: float = 0.0
    fused_qkv: bool = False
    compiled: bool = False

    def notes(self) -> tuple[str, ...]:
        return (*self.applied, *(f"not applied: {text}" for text in self.skipped))


# Copied from backends.local.speed.load_dtype
def load_dtype(device: str, family: str, speed: str) -> Any:
    """The precision to load in. exact keeps fp16 for the UNet families on CUDA (their
    numerics so far); the transformer families need bf16 (fp16 overflows in them)."""
    import torch

    if device == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        if speed == "exact" and family in UNET_FAMILIES:
            return torch.float16
        return torch.bfloat16 if bf16 else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32  # half precision on a CPU is slower and poorly supported


# Copied from backends.local.speed.dtype_label
def dtype_label(dtype: Any) -> str:
    return {"torch.float16": "fp16", "torch.bfloat16": "bf16", "torch.float32": "fp32"}.get(
        str(dtype), str(dtype))


# Copied from backends.local.speed.apply_speed
def apply_speed(pipeline: Any, speed: str, device: str, family: str, *,
                warmup: dict[str, Any] | None = None) -> SpeedReport:
    """Apply a profile to `pipeline` in place. With `warmup` (call arguments) and something
    compiled, one warm-up call compiles now, so the first real image is not slow."""
    if speed not in SPEEDS:
        raise ValueError(f"unknown speed {speed!r}")
    report = SpeedReport(speed)
    if speed == "exact":
        return report
    denoiser = getattr(pipeline, "transformer", None) or getattr(pipeline, "unet", None)
    if denoiser is None:
        report.skipped.append("this pipeline has no denoiser Studio knows how to speed up")
        return report
    if device == "cpu":
        report.skipped.append("bf16: a CPU runs fp32")
    _attention(denoiser, device, family, report)
    _fuse_qkv(pipeline, report)
    _channels_last(pipeline, device, report)
    if speed == "fastest":
        _fp8(denoiser, device, report)
        _step_cache(denoiser, report)
    _compile(denoiser, device, family, report)
    if report.compiled and warmup is not None:
        import torch

        started = time.perf_counter()
        try:
            # Under inference_mode, as real runs are: otherwise the first one recompiles.
            with torch.inference_mode():
                pipeline(**warmup)
        except COMPILE_ERRORS as exc:
            compile_failed(pipeline, report, exc)
        report.warmup_s = time.perf_counter() - started
        if report.compiled:
            report.applied.append(f"compiled in a {report.warmup_s:.1f} s warm-up")
    report.skipped.append("CUDA graphs: sizes and step counts change between runs")
    return report


# Copied from backends.local.speed._attention
def _attention(denoiser: Any, device: str, family: str, report: SpeedReport) -> None:
    if device != "cuda":
        report.applied.append("attention: PyTorch SDPA (the fused kernels need CUDA)")
        return
    if family in UNET_FAMILIES:
        # The UNets' attention processors call SDPA directly (FlashAttention-2 inside).
        report.applied.append("attention: PyTorch SDPA (flash kernel)")
        return
    if family not in FUSED_ATTENTION_FAMILIES:
        report.applied.append("attention: PyTorch SDPA (this model masks its attention, which "
                              "the fused kernels do not take)")
        return
    for name, label in ATTENTION_BACKENDS:
        try:
            denoiser.set_attention_backend(name)
        except (ImportError, RuntimeError, ValueError) as exc:
            report.skipped.append(f"attention {label}: {_first_line(exc)}")
            continue
        report.applied.append(f"attention: {label}")
        return
    report.applied.append("attention: PyTorch SDPA")


# Copied from backends.local.speed._fuse_qkv
def _fuse_qkv(pipeline: Any, report: SpeedReport) -> None:
    fuse = getattr(pipeline, "fuse_qkv_projections", None)
    target = pipeline
    if fuse is None:
        target = getattr(pipeline, "transformer", None) or getattr(pipeline, "unet", None)
        fuse = getattr(target, "fuse_qkv_projections", None)
    if fuse is None:
        report.skipped.append("fused QKV: this model has no fused projections")
        return
    try:
        fuse()
    except (AttributeError, NotImplementedError, RuntimeError, TypeError, ValueError) as exc:
        report.skipped.append(f"fused QKV: {_first_line(exc)}")
        return
    report.fused_qkv = True
    report.applied.append("fused QKV projections")


# Copied from backends.local.speed._channels_last
def _channels_last(pipeline: Any, device: str, report: SpeedReport) -> None:
    if device != "cuda":
        return
    import torch

    moved = [name for name in ("unet", "vae") if getattr(pipeline, name, None) is not None]
    for name in moved:
        getattr(pipeline, name).to(memory_format=torch.channels_last)
    if moved:
        report.applied.append(f"channels_last ({', '.join(moved)})")


# Copied from backends.local.speed._compile with _use_compile_cache->_use_endpoint_compile_cache
def _compile(denoiser: Any, device: str, family: str, report: SpeedReport) -> None:
    import torch

    if device == "cpu" and not os.environ.get(COMPILE_ON_CPU_ENV):
        report.skipped.append(f"compile: off on CPU (minutes of compiling for little gain; "
                              f"set {COMPILE_ON_CPU_ENV}=1 to compile anyway)")
        return
    if device == "mps":
        report.skipped.append("compile: not used on Apple GPUs")
        return
    _use_endpoint_compile_cache()
    # A graph that cannot compile runs eagerly instead of failing the generation.
    torch._dynamo.config.suppress_errors = True
    try:
        if family in UNET_FAMILIES or not getattr(denoiser, "_repeated_blocks", None):
            denoiser.compile(fullgraph=False, dynamic=False)
            report.applied.append("compiled (torch.compile, inductor)")
        else:
            # The step cache's hooks break the graph, so only whole blocks without it.
            cached = any(n.startswith("first-block step cache") for n in report.applied)
            denoiser.compile_repeated_blocks(fullgraph=not cached, dynamic=False)
            report.applied.append("compiled repeated blocks (torch.compile, inductor)")
    except (RuntimeError, ValueError, AttributeError) as exc:
        report.skipped.append(f"compile: {_first_line(exc)}")
        return
    report.compiled = True


# Copied from backends.local.speed.compile_failed
def compile_failed(pipeline: Any, report: SpeedReport, exc: BaseException) -> None:
    """A graph that failed to compile on its first run: back to eager, with a note."""
    import torch

    denoiser = getattr(pipeline, "transformer", None) or getattr(pipeline, "unet", None)
    for module in denoiser.modules():
        if getattr(module, "_compiled_call_impl", None) is not None:
            module._compiled_call_impl = None  # what nn.Module.compile set
    torch._dynamo.reset()
    report.compiled = False
    report.applied = [n for n in report.applied if not n.startswith("compiled")]
    report.skipped.append(f"compile: failed on the first run, running eagerly "
                          f"({_first_line(exc)})")


# Copied from backends.local.speed._step_cache
def _step_cache(denoiser: Any, report: SpeedReport) -> None:
    if not hasattr(denoiser, "enable_cache"):
        report.skipped.append(f"step cache: {type(denoiser).__name__} has no cache support in "
                              "diffusers")
        return
    from diffusers.hooks import FirstBlockCacheConfig

    try:
        denoiser.enable_cache(FirstBlockCacheConfig(threshold=FIRST_BLOCK_CACHE_THRESHOLD))
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:  # IndexError: 1 block
        report.skipped.append(f"step cache: {_first_line(exc)}")
        return
    report.applied.append(f"first-block step cache (threshold {FIRST_BLOCK_CACHE_THRESHOLD})")


# Copied from backends.local.speed._fp8
def _fp8(denoiser: Any, device: str, report: SpeedReport) -> None:
    import torch

    if device != "cuda":
        report.skipped.append("fp8: needs an NVIDIA GPU with FP8 units (Ada, Hopper or newer)")
        return
    if torch.cuda.get_device_capability() < FP8_MIN_CAPABILITY:
        report.skipped.append("fp8: this GPU has no FP8 units (needs Ada, Hopper or newer)")
        return
    try:
        from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, quantize_
    except ImportError:
        report.skipped.append("fp8: needs torchao (pip install torchao)")
        return
    try:
        quantize_(denoiser, Float8DynamicActivationFloat8WeightConfig())
    except (RuntimeError, ValueError, TypeError) as exc:
        report.skipped.append(f"fp8: {_first_line(exc)}")
        return
    report.applied.append("fp8 weights and activations (torchao)")


# Copied from backends.local.speed._first_line
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]


def _use_endpoint_compile_cache() -> None:
    """Inductor's and triton's caches on disk (STUDIO_COMPILE_CACHE, else where Studio keeps
    them on Linux), so a worker that restarts reuses the kernels it compiled."""
    root = os.environ.get(COMPILE_CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "Studio",
        "torch-compile")
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.join(root, "inductor"))
    os.environ.setdefault("TRITON_CACHE_DIR", os.path.join(root, "triton"))
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")


# --- Inferentia2: optimum-neuron -----------------------------------------------------------

def _load_neuron(model_dir: str, speed: str) -> LoadedPipeline:
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
    name = _model_name(model_dir)
    family, variants = family_from_configs(config_reader(model_dir), name)
    report = SpeedReport(speed)
    if speed != "exact":
        report.skipped.append("speed profiles: an Inferentia2 model runs as optimum-neuron "
                              "compiled it")
    return LoadedPipeline(pipeline, "neuron", "inferentia2 (neuron)", name, compiled_size,
                          family=family, profile=family_profile(family, variants),
                          speed=report, precision="compiled for Inferentia2")


def _warm_up_neuron(model: LoadedPipeline) -> None:
    """One short call at the compiled size, so the first request does not pay for the
    Neuron runtime's first run. A failure is a note: requests will say what fails."""
    import torch

    report = model.speed
    started = time.perf_counter()
    try:
        model.pipeline(prompt="a grey studio backdrop", num_inference_steps=WARMUP_STEPS,
                       generator=torch.Generator().manual_seed(0))
    except Exception as exc:
        report.skipped.append(f"warm-up: {_first_line(exc)}")
        return
    report.warmup_s = time.perf_counter() - started
    size = model.compiled_size
    where = f" at {size[0]}×{size[1]}" if size else ""
    report.applied.append(f"warmed up in {report.warmup_s:.1f} s{where}")


def _run_neuron(job: Job, model: LoadedPipeline) -> list[Image.Image]:
    import torch

    if job.init_image is not None:
        raise BadRequest("image-to-image, inpainting and editing are not available on the "
                         "Inferentia2 endpoint yet; use a GPU endpoint for them.")
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
