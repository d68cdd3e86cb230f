"""Generation and backend options shared by `studio generate`-style commands.

`studio batch` takes the same model, size and backend options as `studio generate`, and
builds its settings the same way.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from backends.errors import InvalidRequest
from backends.types import SCHEDULERS, SPEEDS, LoraRef
from studio.backend_kinds import KINDS, request_model
from studio.settings.values import BACKENDS


def add_generation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="hub id, diffusers folder or .safetensors file "
                                        "(default: the model set in Settings)")
    parser.add_argument("--backend", choices=list(BACKENDS),
                        help="default: the one in Settings")
    parser.add_argument("--steps", type=int, help="default: the model's own (e.g. 4 for FLUX.1 "
                                                  "schnell, 30 for SDXL)")
    parser.add_argument("--guidance", type=float,
                        help="CFG scale, or the distilled guidance of FLUX; default: the "
                             "model's own")
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--sampler", choices=sorted(SCHEDULERS), help="default: the model's own")
    parser.add_argument("--device", choices=["cuda", "mps", "cpu"])
    parser.add_argument("--speed", choices=list(SPEEDS),
                        help="exact: today's numerics; fast: bf16, the best attention kernel, "
                             "fused projections, compiled; fastest: also step caching and FP8 "
                             "(default: the one in Settings, fast)")
    parser.add_argument("--lora", action="append", default=[], metavar="PATH_OR_HUB_ID[:WEIGHT]",
                        help="apply a LoRA (.safetensors file or hub id), weight 1 by default; "
                             "repeat for several (local backend)")
    cloud = parser.add_argument_group("cloud backends (the chosen one's Settings section)")
    cloud.add_argument("--region", help="AWS region, e.g. us-east-1")
    cloud.add_argument("--profile", help="AWS profile for credentials or SSO")
    cloud.add_argument("--endpoint-url", help="send requests here instead of AWS (a VPC "
                                              "endpoint, a proxy or a local test server)")
    cloud.add_argument("--bedrock-model", help="Bedrock model id, e.g. amazon.nova-canvas-v1:0")
    cloud.add_argument("--endpoint", help="SageMaker endpoint name")


def settings_from_args(args: argparse.Namespace) -> Any:
    """The saved settings with this command line's backend, model and cloud options applied."""
    from studio.settings.values import load_settings

    settings = load_settings()
    if args.backend is not None:
        settings = settings.replace(backend=args.backend)
    local = {k: v for k, v in {"model": args.model, "device": args.device}.items()
             if v is not None}
    settings = settings.replace(local=dataclasses.replace(settings.local, **local))
    return with_cloud_overrides(settings, args)


def request_fields(args: argparse.Namespace, settings: Any,
                   size: tuple[int, int] | None = None) -> dict[str, Any]:
    """GenerationRequest fields (but prompt, seed, count) from the options and settings.

    `size` is used when neither --width nor --height is given (e.g. a preset's aspect)."""
    width, height = args.width, args.height
    if width is None and height is None and size is not None:
        width, height = size
    return {
        "model": request_model(settings),
        "steps": pick(args.steps, settings.default_steps),
        "guidance": pick(args.guidance, settings.default_guidance),
        "width": pick(width, settings.default_width),
        "height": pick(height, settings.default_height),
        "scheduler": args.sampler,
        "loras": tuple(LoraRef.parse(text) for text in args.lora),
        "speed": pick(args.speed, settings.speed),
    }


def with_cloud_overrides(settings: Any, args: argparse.Namespace) -> Any:
    """--region/--profile/--endpoint-url go to the chosen cloud backend's section."""
    if args.bedrock_model is not None:
        settings = KINDS["bedrock"].with_model(settings, args.bedrock_model)
    if args.endpoint is not None:
        if settings.backend != "sagemaker":
            raise InvalidRequest("--endpoint names a SageMaker endpoint; add --backend sagemaker.")
        settings = KINDS["sagemaker"].with_target(settings, args.endpoint)
    overrides = {k: v for k, v in {"region": args.region, "profile": args.profile,
                                   "endpoint_url": args.endpoint_url}.items() if v is not None}
    if not overrides:
        return settings
    cloud = [name for name, row in KINDS.items() if _takes_aws_options(row.section(settings))]
    if settings.backend not in cloud:
        raise InvalidRequest(f"--region, --profile and --endpoint-url are for the "
                             f"{' and '.join(cloud)} backends; add "
                             f"{' or '.join('--backend ' + name for name in cloud)}.")
    section = KINDS[settings.backend].section(settings)
    return settings.replace(**{settings.backend: dataclasses.replace(section, **overrides)})


def _takes_aws_options(section: Any) -> bool:
    names = {f.name for f in dataclasses.fields(section)}
    return {"region", "profile", "endpoint_url"} <= names


def parse_fill(text: str) -> float | str:
    """--fill: the share of the frame a product fills, or 'native' (its own pixel size)."""
    if text.strip().lower() == "native":
        return "native"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("--fill takes a number such as 0.85, or 'native'") \
            from None


def pick(value: Any, default: Any) -> Any:
    return default if value is None else value


def path_arg(value: str) -> Path:
    return Path(value).expanduser()
