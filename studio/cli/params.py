"""`studio params FILE`: the generation settings inside an image, and which tool wrote them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

_ROWS = (  # request field, label
    ("prompt", "prompt"), ("negative_prompt", "negative"), ("model", "model"), ("seed", "seed"),
    ("steps", "steps"), ("guidance", "CFG scale"), ("strength", "strength"), ("loras", "LoRAs"),
    ("speed", "speed"),
)


def add_params_command(commands: Any) -> None:
    params = commands.add_parser(
        "params", help="show the generation settings inside an image (Studio, A1111 and its "
                       "stealth info, ComfyUI, InvokeAI, Fooocus, NovelAI)")
    params.add_argument("file", type=Path, help="a PNG, JPEG or WebP image")
    params.add_argument("--json", action="store_true", help="one JSON object")
    params.set_defaults(handler=run_params)


def run_params(args: argparse.Namespace) -> int:
    from studio.library.foreign_png import read_generation_settings

    found = read_generation_settings(args.file)  # InvalidRequest: exit 2 with its message
    if args.json:
        print(json.dumps({"file": str(args.file), **found.to_dict()}, ensure_ascii=False))
    else:
        print("\n".join(describe(args.file.name, found)))
    return 0


def describe(name: str, found: Any) -> list[str]:
    """The lines `studio params` prints for `found` (a FoundSettings)."""
    request = found.request
    lines = [f"{name}: written by {found.tool} ({found.found_in})"]

    def row(label: str, value: object) -> None:
        text = str(value).replace("\n", "\n" + " " * 13)
        lines.append(f"  {label:<10} {text}")

    for key, label in _ROWS:
        if key not in found.found:
            continue
        value = getattr(request, key)
        if key == "loras":
            value = ", ".join(f"{lora.name} ({lora.weight:g})" for lora in value)
        row(label, value)
    if "scheduler" in found.found:
        row("sampler", f"{found.sampler} → {request.scheduler}"
            if found.sampler and found.sampler != request.scheduler_label
            else request.scheduler_label)
    if "width" in found.found:
        row("size", f"{request.width}×{request.height}")
    if found.skipped:
        lines.append("Not used:")
        lines += [f"  - {reason}" for reason in found.skipped]
    if found.other:
        lines.append(f"Other {found.tool} settings:")
        lines += [f"  {key}: {value}" for key, value in found.other.items()]
    return lines
