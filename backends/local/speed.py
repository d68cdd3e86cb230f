"""Speed profiles: how much of the known accelerations a loaded pipeline gets.

- exact: today's numerics; the same seed gives the same pixels as before.
- fast: changes numerics negligibly: bf16 where the GPU has it, the best attention kernel
  installed (FlashAttention-3, FlashAttention, SageAttention, else PyTorch's SDPA), fused
  QKV projections, channels_last UNets, regional compilation with an on-disk cache.
- fastest: fast plus step caching (diffusers' first-block cache) and FP8 (torchao) on GPUs
  that have FP8 units.

What cannot apply on this device or install falls back, and the report says so: a note in
the result, never an error. Imports torch, so only call it when loading a model.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from backends.types import SPEEDS

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


def dtype_label(dtype: Any) -> str:
    return {"torch.float16": "fp16", "torch.bfloat16": "bf16", "torch.float32": "fp32"}.get(
        str(dtype), str(dtype))


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


def unfuse_qkv(pipeline: Any, report: SpeedReport) -> None:
    """LoRAs target the separate q/k/v layers: unfuse before loading one."""
    if not report.fused_qkv:
        return
    unfuse = getattr(pipeline, "unfuse_qkv_projections", None) or getattr(
        getattr(pipeline, "transformer", None), "unfuse_qkv_projections", None)
    if unfuse is not None:
        unfuse()
    report.fused_qkv = False
    report.applied.remove("fused QKV projections")
    report.skipped.append("fused QKV: undone for LoRAs")


def _channels_last(pipeline: Any, device: str, report: SpeedReport) -> None:
    if device != "cuda":
        return
    import torch

    moved = [name for name in ("unet", "vae") if getattr(pipeline, name, None) is not None]
    for name in moved:
        getattr(pipeline, name).to(memory_format=torch.channels_last)
    if moved:
        report.applied.append(f"channels_last ({', '.join(moved)})")


def _compile(denoiser: Any, device: str, family: str, report: SpeedReport) -> None:
    import torch

    if device == "cpu" and not os.environ.get(COMPILE_ON_CPU_ENV):
        report.skipped.append(f"compile: off on CPU (minutes of compiling for little gain; "
                              f"set {COMPILE_ON_CPU_ENV}=1 to compile anyway)")
        return
    if device == "mps":
        report.skipped.append("compile: not used on Apple GPUs")
        return
    _use_compile_cache()
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


def _use_compile_cache() -> None:
    """Inductor's caches on disk, so a second launch reuses compiled kernels."""
    from platformdirs import user_cache_dir

    root = os.path.join(user_cache_dir("Studio", appauthor=False), "torch-compile")
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.join(root, "inductor"))
    os.environ.setdefault("TRITON_CACHE_DIR", os.path.join(root, "triton"))
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]
