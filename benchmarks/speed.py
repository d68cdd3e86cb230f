"""Speed profiles against plain diffusers: it/s, seconds per image, memory and fidelity.

    python benchmarks/speed.py                         # full-size SD 1.5, SDXL, FLUX.1-dev, GPU
    python benchmarks/speed.py --models flux --runs 3  # one model, three timed runs
    python benchmarks/speed.py --device cpu --tiny     # tiny stand-ins, seconds on a CPU

Builds full-size pipelines with random weights from their configs (benchmarks/configs.py;
nothing is downloaded), one fresh pipeline per profile, the same seed for every build, and
times plain diffusers (the pipeline in fp16, bf16 for FLUX, fp32 on a CPU; SDPA; no compile;
called directly) and Studio's speed profiles (backends.local.speed: load_dtype + apply_speed,
called as the local backend calls them). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import report as out  # noqa: E402
from benchmarks.configs import build_full, build_tiny  # noqa: E402
from benchmarks.measure import RssPeak, free, psnr, step_times, sync  # noqa: E402

PROMPT = "a product photo of a leather tote bag on a marble table, soft daylight"
PLAIN = "plain"


@dataclass(frozen=True)
class Case:
    """One model set-up to time: which pipeline, the family Studio knows it as, the call."""

    kind: str  # a builder of benchmarks/configs.py
    label: str
    family: str  # Studio's family name, for load_dtype, apply_speed and latent_preview
    size: int
    steps: int
    guidance: float
    half: str  # plain diffusers' dtype on CUDA


MODELS = {
    "sd15": Case("sd15", "SD 1.5", "sd1", 512, 30, 7.0, "float16"),
    "sdxl": Case("sdxl", "SDXL base 1.0", "sdxl", 1024, 30, 7.0, "float16"),
    "flux": Case("flux", "FLUX.1 [dev]-class", "flux1", 1024, 28, 3.5, "bfloat16"),
}
# Live preview readiness: the 1-4 step models at 512².
LIVE = {
    "sdxl": Case("sdxl-turbo", "SDXL Turbo-like", "sdxl", 512, 1, 0.0, "float16"),
    "flux": Case("flux-schnell", "FLUX.1 [schnell]-like", "flux1", 512, 4, 0.0, "bfloat16"),
}
TINY_SIZE, TINY_STEPS = 64, 4


@dataclass
class Result:
    model: str
    profile: str
    size: int
    steps: int
    dtype: str = ""
    build_s: float | None = None
    warmup_s: float | None = None  # the compile warm-up, when the profile compiled
    first_call_s: float | None = None  # the first full image after the build (and warm-up)
    e2e_s: float | None = None  # median of the timed runs
    step_s: float | None = None  # mean denoising step, first step of each run excluded
    callbacks: int = 0  # denoiser steps seen by the callback per run
    preview_step_s: float | None = None  # exact only: the same with latent_preview each step
    peak_bytes: int | None = None
    peak_kind: str = ""
    psnr_vs_exact: float | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    image: Any = field(default=None, repr=False)

    @property
    def its(self) -> float | None:
        return None if not self.step_s else 1.0 / self.step_s


# --- measuring -------------------------------------------------------------------------------

def _call(pipe: Any, kwargs: dict, *, seed: int, device: str, studio: bool,
          preview_family: str | None = None) -> tuple[float, list[float], Any]:
    """One image: end-to-end seconds, the step-end timestamps, the image (H, W, 3 floats)."""
    import torch

    stamps: list[float] = []

    def on_step_end(_pipe: Any, _step: int, _timestep: Any, tensors: dict) -> dict:
        if preview_family is not None:
            from backends.local.preview import latent_preview

            latent_preview(tensors["latents"], preview_family, kwargs["width"], kwargs["height"])
        sync(device)
        stamps.append(time.perf_counter())
        return {}

    generator = torch.Generator("cpu").manual_seed(seed)
    # Studio's backend runs its pipelines under inference_mode; plain diffusers is called as is.
    mode = torch.inference_mode() if studio else contextlib.nullcontext()
    sync(device)
    started = time.perf_counter()
    with mode:
        output = pipe(**kwargs, generator=generator, callback_on_step_end=on_step_end,
                      callback_on_step_end_tensor_inputs=["latents"])
    sync(device)
    return time.perf_counter() - started, stamps, output.images[0]


def _dtype(case: Case, profile: str, device: str) -> Any:
    import torch

    if profile == PLAIN:
        return getattr(torch, case.half) if device == "cuda" else torch.float32
    from backends.local.speed import load_dtype

    return load_dtype(device, case.family, profile)


def run_case(case: Case, profile: str, args: argparse.Namespace, *, steps: int, size: int,
             preview: bool = False) -> Result:
    """Build `case` fresh, apply `profile`, and time it."""
    import torch

    result = Result(case.kind, profile, size, steps)
    device = args.device
    free(device)
    dtype = _dtype(case, profile, device)
    result.dtype = str(dtype).removeprefix("torch.")
    kwargs = dict(prompt=PROMPT, num_inference_steps=steps, height=size, width=size,
                  guidance_scale=case.guidance, output_type="np")
    studio = profile != PLAIN
    pipe = None
    try:
        started = time.perf_counter()
        build = build_tiny if args.tiny else build_full
        pipe = build(case.kind, device, dtype, args.seed)
        pipe.set_progress_bar_config(disable=True)
        sync(device)
        if device == "cuda":
            torch.cuda.empty_cache()  # the float32 blocks the build cast away
        result.build_s = time.perf_counter() - started
        if studio:
            from backends.local.speed import apply_speed

            speed = apply_speed(pipe, profile, device, case.family)
            result.notes = list(speed.notes())
            if getattr(speed, "compiled", True):
                # As LocalBackend does after loading: one warm-up call that compiles, two
                # steps, latents out, under inference_mode like every real call. (Passing
                # apply_speed(warmup=...) instead warms up outside inference_mode, and the
                # first real call then compiles again: dynamo guards on the dispatch keys.)
                warmup = dict(kwargs, num_inference_steps=min(steps, 2), output_type="latent")
                result.warmup_s, _, _ = _call(pipe, warmup, seed=args.seed, device=device,
                                              studio=True)
        result.first_call_s, _, _ = _call(pipe, kwargs, seed=args.seed, device=device,
                                          studio=studio)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        totals, steps_s = [], []
        rss = RssPeak() if device != "cuda" else None
        with rss or contextlib.nullcontext():
            for _ in range(args.runs):
                e2e, stamps, image = _call(pipe, kwargs, seed=args.seed, device=device,
                                           studio=studio)
                totals.append(e2e)
                steps_s += step_times(stamps)
                result.callbacks = len(stamps)
        result.e2e_s = statistics.median(totals)
        result.step_s = statistics.fmean(steps_s) if steps_s else None
        result.image = image
        if rss is None:
            result.peak_bytes, result.peak_kind = torch.cuda.max_memory_allocated(), "cuda"
        else:
            result.peak_bytes, result.peak_kind = rss.peak, f"rss ({rss.how})"
        if not bool(torch.isfinite(torch.as_tensor(image)).all()):
            result.notes.append("image has NaN/inf values")
        if preview:
            preview_steps = []
            for _ in range(args.runs):
                _, stamps, _ = _call(pipe, kwargs, seed=args.seed, device=device, studio=studio,
                                     preview_family=case.family)
                preview_steps += step_times(stamps)
            result.preview_step_s = statistics.fmean(preview_steps) if preview_steps else None
    except Exception as exc:  # one failing profile (OOM, a kernel) must not end the run
        result.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
        print(f"  {case.kind} {profile}: {result.error}", file=sys.stderr)
    finally:
        del pipe
        free(device)
    return result


# --- tables ----------------------------------------------------------------------------------

MAIN_COLUMNS = ("profile", "dtype", "build s", "warm-up s", "1st call s", "it/s", "ms/step",
                "e2e s", "×plain step", "×plain e2e", "peak mem", "PSNR vs exact")
LIVE_COLUMNS = ("model", "profile", "dtype", "steps", "size", "build s", "warm-up s",
                "1st call s", "e2e s", "×plain e2e", "peak mem")


def _speedup(plain: float | None, value: float | None) -> float | None:
    return plain / value if plain and value else None


def main_rows(results: list[Result]) -> list[list[str]]:
    plain = next((r for r in results if r.profile == PLAIN and not r.error), None)
    rows = []
    for r in results:
        if r.error:
            rows.append([r.profile, r.dtype, out.seconds(r.build_s)] + ["failed"]
                        + [out.DASH] * (len(MAIN_COLUMNS) - 4))
            continue
        rows.append([
            r.profile, r.dtype, out.seconds(r.build_s), out.seconds(r.warmup_s),
            out.seconds(r.first_call_s), out.seconds(r.its), out.seconds(
                r.step_s * 1000 if r.step_s else None, 1),
            out.seconds(r.e2e_s, 3), out.ratio(_speedup(plain and plain.step_s, r.step_s)),
            out.ratio(_speedup(plain and plain.e2e_s, r.e2e_s)), out.mebibytes(r.peak_bytes),
            out.decibels(r.psnr_vs_exact),
        ])
    return rows


def live_rows(results: list[Result]) -> list[list[str]]:
    rows = []
    for r in results:
        plain = next((p for p in results if p.model == r.model and p.profile == PLAIN
                      and not p.error), None)
        if r.error:
            rows.append([r.model, r.profile, r.dtype, str(r.steps), f"{r.size}²"]
                        + ["failed"] + [out.DASH] * (len(LIVE_COLUMNS) - 6))
            continue
        rows.append([
            r.model, r.profile, r.dtype, str(r.steps), f"{r.size}²", out.seconds(r.build_s),
            out.seconds(r.warmup_s), out.seconds(r.first_call_s), out.seconds(r.e2e_s, 3),
            out.ratio(_speedup(plain and plain.e2e_s, r.e2e_s)), out.mebibytes(r.peak_bytes),
        ])
    return rows


def notes_lines(results: list[Result], *, with_model: bool = False) -> list[str]:
    """What each profile applied and what fell back (SpeedReport.notes), or why it failed."""
    lines = []
    for r in results:
        label = f"{r.model} {r.profile}" if with_model else r.profile
        if r.error:
            lines.append(f"  {label}: failed: {r.error}")
        elif r.notes or r.profile != PLAIN:
            lines.append(f"  {label}: " + ("; ".join(r.notes) or "nothing applied"))
    return lines


def preview_line(results: list[Result]) -> str | None:
    exact = next((r for r in results if r.profile == "exact" and r.preview_step_s), None)
    if exact is None or not exact.step_s:
        return None
    extra = exact.preview_step_s - exact.step_s
    return (f"  preview cost (exact, latent_preview every step): "
            f"{exact.step_s * 1000:.2f} ms/step without, {exact.preview_step_s * 1000:.2f} "
            f"ms/step with ({extra * 1000:+.2f} ms, {extra / exact.step_s:+.1%})")


# --- the command -----------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/speed.py",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"),
                        help="default: cuda when available, else cpu")
    parser.add_argument("--tiny", action="store_true",
                        help=f"tests/tiny_models stand-ins at {TINY_SIZE}², {TINY_STEPS} steps")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated subset of {','.join(MODELS)}")
    parser.add_argument("--profiles", default="plain,exact,fast,fastest",
                        help="comma-separated subset of plain,exact,fast,fastest")
    parser.add_argument("--steps", type=int, help="denoising steps (default 30, FLUX 28; "
                        f"--tiny {TINY_STEPS}); the live-preview rows keep 1 and 4")
    parser.add_argument("--size", type=int, help="image side in pixels (default 512 for SD 1.5, "
                        f"1024 for SDXL and FLUX; --tiny {TINY_SIZE}); the live rows keep theirs")
    parser.add_argument("--runs", type=int, help="timed runs per profile, median e2e and mean "
                        "step (default 1; --tiny 3: tiny steps take milliseconds)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0, help="weights and noise seed")
    parser.add_argument("--no-live", action="store_true", help="skip the 1-4 step models")
    parser.add_argument("--plain", action="store_true", help="plain tables even with rich")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    args.profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    from backends.local.speed import SPEEDS

    for name, chosen, known in (("model", args.models, tuple(MODELS)),
                                ("profile", args.profiles, (PLAIN, *SPEEDS))):
        unknown = [c for c in chosen if c not in known]
        if unknown or not chosen:
            parser.error(f"unknown {name} {', '.join(unknown) or '(none)'}; "
                         f"choose from {', '.join(known)}")
    if args.steps is not None and args.steps < 2:
        parser.error("--steps must be at least 2 (the first step is not timed)")
    if args.size is not None and (args.size < 64 or args.size % 64):
        parser.error("--size must be a multiple of 64")
    if args.runs is None:
        args.runs = 3 if args.tiny else 1
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    elif args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: this torch sees no CUDA GPU")
    return args


def _quiet() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import warnings

    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    transformers_logging.set_verbosity_error()
    warnings.filterwarnings("ignore", message=".*torchvision.*")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing in here may reach a hub
    args = parse_args(argv)
    _quiet()
    started = time.perf_counter()
    info = out.hardware(args.device)
    print("\n".join(["Studio speed benchmark", *out.header_lines(info)]))
    kind = "tiny stand-ins (tests/tiny_models)" if args.tiny else "full-size, random weights"
    print(f"models: {kind}; runs per profile: {args.runs}; seed {args.seed}; prompt "
          f"{PROMPT!r}\n")
    report: dict[str, Any] = {"hardware": info, "tiny": args.tiny, "runs": args.runs,
                              "seed": args.seed, "models": {}, "live": []}
    for key in args.models:
        case = MODELS[key]
        size = args.size or (TINY_SIZE if args.tiny else case.size)
        steps = args.steps or (TINY_STEPS if args.tiny else case.steps)
        results = [run_case(case, profile, args, steps=steps, size=size,
                            preview=profile == "exact") for profile in args.profiles]
        exact = next((r for r in results if r.profile == "exact" and r.image is not None),
                     None)
        for r in results:
            if exact is not None and r is not exact and r.image is not None:
                r.psnr_vs_exact = psnr(r.image, exact.image)
        title = f"{case.label} · {size}×{size} · {steps} steps · guidance {case.guidance}"
        print(out.render(title, MAIN_COLUMNS, main_rows(results), plain=args.plain))
        print("\n".join(filter(None, [preview_line(results), *notes_lines(results)])) + "\n")
        report["models"][key] = _dicts(results)
    live_profiles = [p for p in (PLAIN, "fast") if p in args.profiles]
    live_cases = [LIVE[k] for k in args.models if k in LIVE] if not args.no_live else []
    if live_profiles and live_cases:
        live = [run_case(case, profile, args, steps=case.steps,
                         size=TINY_SIZE if args.tiny else case.size)
                for case in live_cases for profile in live_profiles]
        print(out.render("Live preview readiness: end-to-end latency of 1-4 step models",
                         LIVE_COLUMNS, live_rows(live), plain=args.plain))
        print("\n".join(notes_lines(live, with_model=True)) + "\n")
        report["live"] = _dicts(live)
    peak = "torch.cuda.max_memory_allocated over the timed runs" if args.device == "cuda" else \
        "the process's peak RSS over the timed runs (Linux VmHWM, reset by /proc/self/clear_refs" \
        " before them; elsewhere sampled every 10 ms)"
    print(f"it/s and ms/step: denoising steps only (step-end callback timestamps"
          f"{', CUDA-synchronised' if args.device == 'cuda' else ''}), first step excluded; "
          f"e2e: the whole call (text encoders, steps, VAE decode); ×plain: plain diffusers' "
          f"time over this one; peak mem: {peak}; PSNR: this image against exact's, same seed.")
    total = time.perf_counter() - started
    print(f"benchmark took {total:.1f} s")
    report["took_s"] = total
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=_json_number) + "\n",
                             encoding="utf-8")
    return report


def _dicts(results: list[Result]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        row = {f.name: getattr(r, f.name) for f in fields(r) if f.name != "image"}
        row["its"] = r.its
        rows.append({k: _json_number(v) for k, v in row.items()})
    return rows


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf" / "nan": JSON has no such numbers
    return value


if __name__ == "__main__":
    main()
