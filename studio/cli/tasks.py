"""`studio generate --task TASK`: a backend's tasks beyond generating (Bedrock's image
services: inpaint, outpaint, remove-background, upscales…) and their options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from backends.errors import InvalidRequest
from backends.types import TaskInfo, load_image

# flag name -> (the task option it sets, how to read it)
_OPTION_FLAGS: dict[str, tuple[str, Any]] = {
    "search": ("search", str), "grow_mask": ("grow_mask", int),
    "creativity": ("creativity", float), "outpaint": ("margins", str),
    "control_strength": ("control_strength", float), "fidelity": ("fidelity", float),
    "style_image": ("style_image", Path), "style_strength": ("style_strength", float),
    "composition_fidelity": ("composition_fidelity", float),
    "change_strength": ("change_strength", float), "style_preset": ("style_preset", str),
    "output_format": ("output_format", str),
}


def add_task_arguments(generate: argparse.ArgumentParser) -> None:
    group = generate.add_argument_group(
        "tasks beyond generating (Bedrock: `studio bedrock tasks` lists them with prices)")
    group.add_argument("--task", help="e.g. inpaint, outpaint, search-replace, recolor, "
                       "remove-background, erase, upscale-fast, upscale-conservative, "
                       "upscale-creative, sketch, structure, style-guide, style-transfer")
    group.add_argument("--search", help="search-replace: what to replace; recolor: what to "
                       "recolour (the prompt says what it becomes)")
    group.add_argument("--grow-mask", type=int, metavar="PX", help="grow the mask's edges "
                       "0–20 px (default 5)")
    group.add_argument("--creativity", type=float, help="outpaint 0.1–1, upscales 0.1–0.5")
    group.add_argument("--outpaint", metavar="MARGINS",
                       help="pixels to add per side, e.g. left=256,right=256 (up, down too)")
    group.add_argument("--control-strength", type=float, help="sketch, structure: 0–1")
    group.add_argument("--fidelity", type=float, help="style-guide: 0–1")
    group.add_argument("--style-image", type=Path, help="style-transfer: the style to apply")
    group.add_argument("--style-strength", type=float, help="style-transfer: 0–1")
    group.add_argument("--composition-fidelity", type=float, help="style-transfer: 0–1")
    group.add_argument("--change-strength", type=float, help="style-transfer: 0.1–1")
    group.add_argument("--style-preset", help="e.g. photographic, cinematic, digital-art")
    group.add_argument("--output-format", choices=["png", "jpeg", "webp"],
                       help="what the service returns (default png; Studio saves PNG)")


def task_options(args: argparse.Namespace) -> dict[str, Any]:
    """The task options given on the command line, by TaskInfo option name."""
    options: dict[str, Any] = {}
    for flag, (name, kind) in _OPTION_FLAGS.items():
        value = getattr(args, flag, None)
        if value is None:
            continue
        options[name] = load_image(value, role="style image") if kind is Path else value
    return options


def check_task_arguments(args: argparse.Namespace) -> None:
    given = [flag for flag in _OPTION_FLAGS if getattr(args, flag, None) is not None]
    if args.task is None and given:
        flags = ", ".join("--" + flag.replace("_", "-") for flag in given)
        raise InvalidRequest(f"{flags} only apply with --task TASK.")
    if args.task is not None and args.product_image is not None:
        raise InvalidRequest("--product-image makes product scenes; it does not take --task.")


def task_prompt(args: argparse.Namespace, info: TaskInfo | None) -> tuple[str, bool]:
    """The prompt to record and whether to send it: a task with no prompt of its own (or an
    optional one left out) records its name, so history says what was done."""
    if info is None or info.prompt == "required":
        if not args.prompt:
            what = f"--task {info.name}" if info else "generating"
            raise InvalidRequest(f"Write a --prompt: {what} needs one.")
        return args.prompt, True
    if info.prompt == "none" and args.prompt:
        raise InvalidRequest(f"--task {info.name} takes no prompt; leave out --prompt.")
    return (args.prompt, True) if args.prompt else (info.label, False)


def find_task(tasks: list[TaskInfo], name: str, backend_label: str) -> TaskInfo:
    for info in tasks:
        if info.name == name.strip().lower():
            return info
    if not tasks:
        raise InvalidRequest(f"{backend_label} has no tasks beyond generating; --task is for "
                             "--backend bedrock.")
    raise InvalidRequest(f"Unknown task {name!r}; choose one of "
                         f"{', '.join(t.name for t in tasks)}.")
