"""`studio generate`: one request through the generation loop, each image printed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from backends.errors import InvalidRequest
from backends.types import CancelToken, GenerationRequest, load_image
from studio.cli.options import add_generation_options, pick, request_fields, settings_from_args
from studio.writable import check_writable_folder


def add_generate_command(commands: Any) -> None:
    generate = commands.add_parser("generate", help="generate images and record them in history")
    generate.add_argument("--prompt", help="what to make (tasks such as remove-background "
                          "and upscale-fast take none)")
    generate.add_argument("--negative", default="", help="negative prompt")
    generate.add_argument("--seed", type=int, help="default: a random seed, which is recorded")
    generate.add_argument("--count", type=int, default=1, help="images with seeds seed, seed+1 …")
    generate.add_argument("--init-image", type=Path, help="image-to-image source")
    generate.add_argument("--edit", metavar="TEXT",
                          help="edit the --init-image as the words say (\"make the background "
                               "a marble counter\"), on a model that edits by words: "
                               "Qwen-Image-Edit, FLUX.1 Kontext, FLUX.2")
    generate.add_argument("--strength", type=float,
                          help="how far to move away from the init image (0–1]; default 0.75, "
                               "1 for product scenes")
    add_generation_options(generate)
    generate.add_argument("--out", type=Path, help="also copy the PNGs into this folder")
    generate.add_argument("--json", action="store_true", help="one JSON object per image")
    generate.add_argument("--dry-run", action="store_true",
                          help="print the cost estimate and stop; nothing is generated")
    generate.add_argument("--budget", type=float, metavar="USD",
                          help="refuse to start if the estimate passes this many dollars")
    generate.set_defaults(handler=run_generate)
    from studio.cli.product import add_product_arguments
    from studio.cli.tasks import add_task_arguments

    add_product_arguments(generate)
    add_task_arguments(generate)


def check_edit_arguments(args: argparse.Namespace) -> None:
    if args.edit is None:
        return
    if not args.edit.strip():
        raise InvalidRequest("--edit needs the words: what to change in the image.")
    if args.init_image is None:
        raise InvalidRequest("--edit changes an image: give it with --init-image PATH.")
    clashes = [flag for flag, value in (("--prompt", args.prompt), ("--task", args.task),
                                        ("--mask", args.mask), ("--strength", args.strength))
               if value is not None]
    if clashes:
        raise InvalidRequest(f"--edit takes the words itself; leave out {', '.join(clashes)}.")


def run_generate(args: argparse.Namespace) -> int:
    from studio.backend_kinds import create_backend, kind, lifecycle_warning, tasks_of, with_task
    from studio.cli.costs import before_generate
    from studio.cli.output import print_records
    from studio.cli.product import check_product_arguments, run_product_generate
    from studio.cli.progress import GenerateProgress
    from studio.cli.running import open_loop, sigint_cancels
    from studio.cli.tasks import check_task_arguments, find_task, task_options, task_prompt
    from studio.generation.loop import RunHooks

    settings = settings_from_args(args)
    if args.out is not None:
        if args.out.exists() and not args.out.is_dir():
            raise InvalidRequest(f"--out {str(args.out)!r} exists and is not a folder.")
        check_writable_folder(args.out)
    check_product_arguments(args)
    check_task_arguments(args)
    if args.product_image is not None:
        if not args.prompt:
            raise InvalidRequest("Write a --prompt describing the scene around the product.")
        return run_product_generate(args, settings)
    info = (find_task(tasks_of(settings.backend), args.task, kind(settings.backend).label)
            if args.task is not None else None)
    check_edit_arguments(args)
    prompt, send_prompt = (args.edit, True) if args.edit else task_prompt(args, info)
    request = GenerationRequest(
        prompt=prompt, negative_prompt=args.negative, seed=args.seed, count=args.count,
        init_image=load_image(args.init_image) if args.init_image else None,
        mask=load_image(args.mask, role="mask") if args.mask else None,
        strength=pick(args.strength, 0.75), edit=bool(args.edit),
        **request_fields(args, settings),
    )
    backend = create_backend(settings)
    if info is not None:
        options = task_options(args)
        if not send_prompt:
            options["send_prompt"] = False
        backend = with_task(backend, info.name, options)
    warning = lifecycle_warning(backend, request)
    if warning:
        print(f"studio: warning: {warning}", file=sys.stderr)
    estimate = backend.estimate_cost(request)
    stop = before_generate(args, settings, backend, request, estimate)
    if stop is not None:
        return stop
    if not args.json:
        print(f"Estimated cost ${estimate.usd:.6f} ({estimate.basis})", file=sys.stderr)
    loop = open_loop(settings)
    swept = loop.library.last_sweep.summary()
    if swept:
        print(f"studio: library: {swept}", file=sys.stderr)
    admission = loop.admit(request, backend, estimate=estimate)
    cancel = CancelToken()
    with GenerateProgress(estimate.usd, as_json=args.json) as progress, sigint_cancels(cancel):
        generated = loop.run(request, backend, admission=admission,
                             hooks=RunHooks(on_progress=progress, cancel=cancel))
    print_records(generated.records, args.json, args.out)
    return 0
