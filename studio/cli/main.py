"""`studio` on the command line: generate images and search the history."""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backends.errors import (
    BackendError,
    BackendUnavailable,
    Cancelled,
    InvalidRequest,
    TransientError,
)
from backends.types import CancelToken, GenerationRequest, Progress, load_image
from studio.cli.options import add_generation_options, pick, request_fields, settings_from_args

EXIT_CODES: dict[type[BackendError], int] = {
    InvalidRequest: 2, BackendUnavailable: 3, TransientError: 4, Cancelled: 130,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studio", description="Studio: generate product images and see what each one cost.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    generate = commands.add_parser("generate", help="generate images and record them in history")
    generate.add_argument("--prompt", required=True)
    generate.add_argument("--negative", default="", help="negative prompt")
    generate.add_argument("--seed", type=int, help="default: a random seed, which is recorded")
    generate.add_argument("--count", type=int, default=1, help="images with seeds seed, seed+1 …")
    generate.add_argument("--init-image", type=Path, help="image-to-image source")
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

    add_product_arguments(generate)

    history = commands.add_parser("history", help="list and search generated images")
    history.add_argument("--search", help="words to find in prompts")
    history.add_argument("--limit", type=int, default=20)
    history.add_argument("--json", action="store_true", help="one JSON object per image")
    history.set_defaults(handler=run_history)

    from studio.cli.endpoint import add_endpoint_commands

    add_endpoint_commands(commands)
    from studio.cli.batch import add_batch_commands

    add_batch_commands(commands)
    from studio.cli.costs import add_cost_commands

    add_cost_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--smoke-test"]:
        from studio.smoke import run_smoke_test

        return run_smoke_test()
    if not argv or all(arg.lower().endswith(".png") for arg in argv):
        from studio.ui.app import run

        return run(argv)  # no command: open the window (PNG paths restore their parameters)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except BackendError as exc:
        print(f"studio: error: {exc}", file=sys.stderr)
        # isinstance, so a backend's own subclasses (e.g. Bedrock's ModelAccessDenied) count.
        return next((code for kind, code in EXIT_CODES.items() if isinstance(exc, kind)), 1)
    except KeyboardInterrupt:
        print("studio: interrupted", file=sys.stderr)
        return 130


def run_generate(args: argparse.Namespace) -> int:
    from studio.backend_factory import create_backend
    from studio.library.store import Library

    settings = settings_from_args(args)
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise InvalidRequest(f"--out {str(args.out)!r} exists and is not a folder.")
    from studio.cli.product import check_product_arguments, run_product_generate

    check_product_arguments(args)
    if args.product_image is not None:
        return run_product_generate(args, settings)
    request = GenerationRequest(
        prompt=args.prompt, negative_prompt=args.negative, seed=args.seed, count=args.count,
        init_image=load_image(args.init_image) if args.init_image else None,
        strength=pick(args.strength, 0.75), **request_fields(args, settings),
    )
    backend = create_backend(settings)
    estimate = backend.estimate_cost(request)
    from studio.cli.costs import before_generate

    stop = before_generate(args, settings, backend, request, estimate)
    if stop is not None:
        return stop
    if not args.json:
        print(f"Estimated cost ${estimate.usd:.6f} ({estimate.basis})", file=sys.stderr)
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        result = backend.generate(request, on_progress=_print_progress, cancel=cancel)
    finally:
        signal.signal(signal.SIGINT, previous)
        print(file=sys.stderr)
    records = Library.open(settings.library_path()).record(result, estimate=estimate)
    for record in records:
        path = record.path
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            path = Path(shutil.copy2(record.path, args.out / record.path.name))
        _print_record(record, args.json, path=path)
    return 0


def run_history(args: argparse.Namespace) -> int:
    from studio.library.store import Library
    from studio.settings.values import load_settings

    if args.limit < 1:
        raise InvalidRequest("--limit must be at least 1.")
    library = Library.open(load_settings().library_path())
    records = library.search(args.search or None, limit=args.limit)
    if not records and not args.json:
        print("No images found." if args.search else "History is empty.", file=sys.stderr)
    for record in records:
        _print_record(record, args.json)
    return 0


def record_json(record: Any, path: Path | None = None) -> dict[str, Any]:
    return {
        "id": record.id,
        "path": str(path or record.path),
        "library_path": str(record.path),
        "prompt": record.prompt,
        "seed": record.seed,
        "model": record.model,
        "backend": record.backend,
        "device": record.device,
        "width": record.width,
        "height": record.height,
        "created_at": record.created_at.isoformat(),
        "timings": record.timings.to_dict(),
        "latency_s": round(record.latency_s, 4),
        "cost_usd": record.cost.usd,
        "cost_basis": record.cost.basis,
        "cost_estimated": record.cost.estimated,
        "estimate_usd": record.estimate.usd if record.estimate else None,
    }


def _print_record(record: Any, as_json: bool, path: Path | None = None) -> None:
    if as_json:
        print(json.dumps(record_json(record, path)), flush=True)
        return
    t = record.timings
    print(f"{path or record.path}\n  seed {record.seed} · {record.model} on {record.backend} "
          f"({record.device})\n  {t.total_s:.2f} s (load {t.load_s:.2f}, queue {t.queue_s:.2f}, "
          f"network {t.network_s:.2f}, inference {t.inference_s:.2f}, decode {t.decode_s:.2f}) · "
          f"${record.cost.usd:.6f} — {record.cost.basis}", flush=True)


def _print_progress(event: Progress) -> None:
    if sys.stderr.isatty():
        print(f"\r{event.message:<60}", end="", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
