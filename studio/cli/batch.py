"""`studio batch`: a product catalog to named, preset-sized images with a manifest, resumable.

Exit codes, the same as `studio generate`'s: 0 every image made; 1 some items failed (each
with its reason: the summary, manifest.json and `--list ID` list them) or the export folder
or library could not be written; 2 fix the command (including a job that another window or
process is running); 3 the backend is unavailable (credentials, a missing or unreachable
endpoint); 4 a temporary failure (only `generate`: a batch fails the item and goes on);
5 stopped before the budget would be exceeded; 130 interrupted. Everything stopped early is
resumable with `--resume ID`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from backends.errors import InvalidRequest
from backends.types import CancelToken, GenerationRequest, random_seed
from studio.cli.batch_async import add_mode_options, async_runner, prepare_mode, save_mode
from studio.cli.batch_export_options import (
    add_export_options,
    check_c2pa,
    check_export_choices,
    check_harmonise_steps,
    refuse_on_resume,
    with_c2pa_args,
    with_upscaler,
)
from studio.cli.batch_transform import (
    add_transform_options,
    is_transform_job,
    prepare_transform,
    save_transform,
    transform_estimate,
    transform_runner,
)
from studio.cli.options import (
    add_generation_options,
    parse_fill,
    path_arg,
    request_fields,
    settings_from_args,
)
from studio.cli.running import open_loop, sigint_cancels
from studio.formatting import format_usd

EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_BUDGET, EXIT_CANCELLED = 1, 3, 5, 130
RETRY_AMBIGUOUS_HELP = (
    "also retry a failure after which the endpoint may have made (and billed) the image "
    "anyway: a read timeout, or a connection reset after the request was sent. Default: off, "
    "because each such retry may pay for the same image twice; the item fails with that "
    "reason instead. Either way every such attempt counts in the amount spent and as a "
    "billed attempt in the manifest")


def add_batch_commands(subparsers: Any) -> None:
    batch = subparsers.add_parser(
        "batch", help="make images for every product of a catalog (CSV, JSON, JSONL)",
        description="Catalog × template × variant matrix -> {sku}/{sku}_{variant}.{ext} plus "
                    "manifest.csv/json. The job is kept in SQLite: --resume ID continues it.")
    batch.add_argument("catalog", nargs="?", type=path_arg,
                       help="CSV (Shopify, WooCommerce or any sheet), JSON or JSONL")
    batch.add_argument("--template", help="prompt with {column} placeholders")
    batch.add_argument("--negative", default="", help="negative prompt template")
    batch.add_argument("--axis", action="append", default=[], metavar="NAME=V1|V2",
                       help="a variant axis, e.g. background='white studio|marble counter'")
    batch.add_argument("--seeds", type=int, default=1, help="images per combination")
    batch.add_argument("--seed", type=int, help="first seed (default: random, recorded)")
    batch.add_argument("--map", action="append", default=[], metavar="COLUMN=SOURCE",
                       help="take a column from another one, e.g. sku='Item Code'")
    batch.add_argument("--preset", help="marketplace output preset (see --presets); without "
                                        "one the images keep the generated size, as PNG")
    batch.add_argument("--out", type=path_arg, help="export folder, or a path ending in .zip")
    batch.add_argument("--product-images", "--image-column", dest="product_images",
                       metavar="auto|off|COLUMN", default="auto",
                       help="product photos (path or URL) to make each scene around: auto "
                            "(default) finds the column (Shopify's Variant Image, else the "
                            "product's first Image Src; image, image_path, Images…), off "
                            "makes every product from its text, or name the column. A row "
                            "without a photo is made from its text. (--image-column NAME is "
                            "the old spelling.)")
    batch.add_argument("--include-nonphysical", action="store_true",
                       help="keep virtual, downloadable and grouped products and gift cards, "
                            "which are otherwise skipped")
    batch.add_argument("--fill", type=parse_fill, help="share of the frame the product photo fills "
                                                  "(0.05-1, default 0.85) or 'native'")
    add_export_options(batch)
    add_mode_options(batch)
    add_transform_options(batch)
    add_generation_options(batch)
    batch.add_argument("--concurrency", type=int, help="requests in flight on remote backends "
                                                       "(default 4; the local GPU runs one)")
    batch.add_argument("--retries", type=int, help="tries after a temporary failure (default 3)")
    batch.add_argument("--retry-ambiguous", action="store_true", help=RETRY_AMBIGUOUS_HELP)
    batch.add_argument("--budget", type=float, metavar="USD",
                       help="stop before the job's spending would pass this")
    batch.add_argument("--resume", type=int, metavar="ID", help="continue a job")
    batch.add_argument("--list", nargs="?", const=True, type=int, metavar="ID",
                       help="show batch jobs; with an ID, that job and each failed item with "
                            "its reason")
    batch.add_argument("--presets", action="store_true", help="show the output presets")
    batch.add_argument("--dry-run", action="store_true",
                       help="show the plan, preview and estimate; make nothing")
    batch.add_argument("--json", action="store_true", help="JSON lines on stdout")
    batch.add_argument("--retry-delay", type=float, default=1.0, help=argparse.SUPPRESS)
    batch.set_defaults(handler=run_batch)


def run_batch(args: argparse.Namespace) -> int:
    if args.list is not None:
        from studio.cli.batch_jobs import list_jobs, show_job

        return list_jobs(args.json) if args.list is True else show_job(args.list, args.json)
    if args.presets:
        return _list_presets(args.json)
    for name in ("concurrency", "retries", "seeds"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "retries" else 1):
            raise InvalidRequest(f"--{name} must be at least {0 if name == 'retries' else 1}.")
    if args.budget is not None and not args.budget >= 0:
        raise InvalidRequest("--budget is zero or more dollars.")
    if args.resume is not None:
        refuse_on_resume(args)
        return _resume(args)
    if args.catalog is None or args.template is None:
        raise InvalidRequest("Give a catalog and --template (or --resume ID, or --list).")
    return _new_job(args)


def _new_job(args: argparse.Namespace) -> int:
    from studio.backend_kinds import commercial_use_warning, create_backend
    from studio.batch.catalog import load_catalog, parse_mapping
    from studio.batch.export import check_new_output
    from studio.batch.matrix import Axis
    from studio.batch.plan import BatchSpec, estimate_batch, prepare_batch
    from studio.batch.presets import get_preset
    from studio.batch.products import product_photo_column
    from studio.batch.store import BatchStore

    settings = with_c2pa_args(args, settings_from_args(args))
    check_c2pa(settings, say=False)  # a key that cannot sign stops here, before anything
    catalog = load_catalog(args.catalog, parse_mapping(args.map),
                           include_nonphysical=args.include_nonphysical)
    err = sys.stderr
    print(f"Catalog {args.catalog.name}: {catalog.describe()}", file=err)
    for problem in catalog.problems:
        print(f"  skipped {problem}", file=err)
    if not catalog.products:
        raise InvalidRequest(f"No usable products in {args.catalog.name}.")
    photos = product_photo_column(catalog, args.product_images)
    image_column = photos.column
    if photos.note:
        print(photos.note, file=err)
    if image_column is None and args.fill is not None:
        raise InvalidRequest("--fill places product photos: this batch has none (name their "
                             "column with --product-images COLUMN).")
    harmonise, upscaler = check_export_choices(args, image_column)
    axes = [Axis.parse(text) for text in args.axis]
    preset = get_preset(args.preset) if args.preset else None
    size = (preset.generation_size(max(settings.default_width, settings.default_height))
            if preset else None)
    fields = request_fields(args, settings, size)
    check_harmonise_steps(harmonise, fields.get("steps"))
    base_seed = args.seed if args.seed is not None else random_seed()
    base_request = GenerationRequest(prompt="batch", seed=base_seed, **fields)
    out = args.out or _default_out(args.catalog)
    spec = BatchSpec(
        catalog=str(args.catalog.resolve()), out=str(out.resolve()), template=args.template,
        negative=args.negative, axes=[(a.name, list(a.values)) for a in axes],
        seeds=args.seeds, base_seed=base_seed, preset=args.preset,
        mapping=parse_mapping(args.map), request=fields, settings=_settings_dict(settings),
        concurrency=args.concurrency or 4, retries=3 if args.retries is None else args.retries,
        budget_usd=args.budget, image_column=image_column, fill=args.fill,
        include_nonphysical=args.include_nonphysical, harmonise=harmonise, upscaler=upscaler)
    prepared = prepare_batch(catalog, spec, preset)
    items = prepared.items
    for line in prepared.preview(limit=3):
        print(f"  {line}", file=err)
    licence_warning = commercial_use_warning(settings)
    if licence_warning:
        print(f"studio: warning: {licence_warning}", file=err)
    conflicts = preset_conflicts(items, preset)
    for message in conflicts:
        print(f"studio: warning: {message}", file=err)
    backend = create_backend(settings)
    remote = prepare_transform(args, settings, image_column) or \
        prepare_mode(args, settings, backend, image_column)  # bucket, endpoint: first
    loop = open_loop(settings)
    estimate = transform_estimate(remote, base_request, items) if args.mode == "transform" \
        else estimate_batch(backend, base_request, items, loop.library, spec.concurrency)
    print(estimate.describe(), file=err)
    if args.budget is not None and estimate.usd > args.budget:
        print(f"The estimate is over the ${args.budget:.2f} budget: the batch will stop before "
              "passing it.", file=err)
    if args.dry_run:
        if args.json:
            print(json.dumps({"event": "plan", "products": len(catalog.products),
                              "problems": [str(p) for p in catalog.problems],
                              "images": estimate.images, "estimate_usd": estimate.usd,
                              "estimate_s": estimate.seconds, "preview": prepared.preview(),
                              "warnings": [w for w in (licence_warning, *conflicts) if w],
                              "files": [i.file for i in items[:20]]}))
        return 0
    check_new_output(out)
    store = BatchStore()
    job_id = store.create_job(spec.catalog, spec.out, spec.to_dict(), items)
    if not save_transform(store, job_id, remote):
        save_mode(store, job_id, remote)
    print(f"Batch job {job_id} → {out}  (continue it any time: studio batch --resume {job_id})",
          file=err)
    return _run(store, job_id, spec, backend, loop, args, remote)


def preset_conflicts(items: list[Any], preset: Any) -> list[str]:
    """Each distinct way the batch's prompts contradict the preset's rules, said once."""
    from studio.batch.checks import scene_conflicts

    if preset is None:
        return []
    messages: list[str] = []
    for prompt in dict.fromkeys(item.prompt for item in items):
        messages += [m for m in scene_conflicts(prompt, preset) if m not in messages]
    return messages


def _resume(args: argparse.Namespace) -> int:
    from studio.backend_kinds import create_backend
    from studio.batch.plan import BatchSpec
    from studio.batch.store import BatchStore
    from studio.settings.values import settings_from_dict

    store = BatchStore()
    info = store.job(args.resume)
    store.check_free(args.resume)  # before changing it: another window may be running it
    spec = BatchSpec.from_dict(info.spec)
    overrides = {k: v for k, v in {"budget_usd": args.budget, "concurrency": args.concurrency,
                                   "retries": args.retries}.items() if v is not None}
    if overrides:
        spec = BatchSpec.from_dict({**spec.to_dict(), **overrides})
        store.update_spec(args.resume, spec.to_dict())
    settings = settings_from_dict(spec.settings)
    # A transform job retries its failed items itself, after following any job still open.
    again = 0 if is_transform_job(store, args.resume) else store.reset_failed(args.resume)
    pending = store.job(args.resume).total - store.job(args.resume).counts["done"]
    print(f"Resuming batch job {args.resume}: {pending} of {info.total} images to go"
          f"{f' ({again} failed before, tried again)' if again else ''}", file=sys.stderr)
    backend = create_backend(settings)
    return _run(store, args.resume, spec, backend, open_loop(settings), args)


def _run(store: Any, job_id: int, spec: Any, backend: Any, loop: Any,
         args: argparse.Namespace, remote: Any = None) -> int:
    from studio.batch.export import Exporter
    from studio.batch.presets import get_preset
    from studio.batch.runner import BatchRunner, RunnerConfig
    from studio.batch.store import JobBusy
    from studio.costs.budget import Budget
    from studio.settings.values import settings_from_dict

    preset = with_upscaler(get_preset(spec.preset) if spec.preset else None, spec.upscaler)
    base_request = GenerationRequest(prompt="batch", seed=spec.base_seed, **spec.request)
    config = RunnerConfig(concurrency=spec.concurrency, retries=spec.retries,
                          backoff_s=args.retry_delay, retry_ambiguous=args.retry_ambiguous,
                          budget=Budget(spec.budget_usd) if spec.budget_usd is not None else None,
                          c2pa=check_c2pa(settings_from_dict(spec.settings)))
    products = None
    if spec.image_column:
        from studio.batch.catalog import load_catalog
        from studio.batch.products import ProductScenes

        products = ProductScenes(load_catalog(Path(spec.catalog), spec.mapping,
                                              include_nonphysical=spec.include_nonphysical),
                                 spec.image_column, spec.fill, harmonise=spec.harmonise)
    exporter = Exporter(job_id, Path(spec.out))
    printer = ProgressPrinter(Path(spec.out), args.json)
    cancel = CancelToken()
    with sigint_cancels(cancel):  # the runner claims the job: one window or process at a time
        runner = transform_runner(store, job_id, settings_from_dict(spec.settings), args,
                                  remote, backend=backend, loop=loop, base_request=base_request,
                                  preset=preset, exporter=exporter, config=config,
                                  on_event=printer, cancel=cancel) or \
            async_runner(store, job_id, settings_from_dict(spec.settings), args, remote,
                              backend=backend, loop=loop, base_request=base_request,
                              preset=preset, exporter=exporter, config=config,
                              on_event=printer, cancel=cancel) or \
            BatchRunner(store, job_id, backend, loop, base_request, preset, exporter,
                        config, on_event=printer, cancel=cancel, products=products)
        summary = runner.run()
    if summary.state == "busy":
        raise JobBusy(summary.message)
    printer.summary(summary, Path(spec.out))
    return exit_code(summary)


def exit_code(summary: Any) -> int:
    """The exit code for how a run ended (the module docstring lists them)."""
    if summary.state == "cancelled":
        return EXIT_CANCELLED
    if summary.state == "stopped" and summary.stop_kind == "budget":
        return EXIT_BUDGET
    if summary.state == "stopped" and summary.stop_kind == "input":
        return 2  # fix the command: e.g. --mode async on an endpoint that is not async
    if summary.state == "stopped" and summary.stop_kind == "backend":
        return EXIT_UNAVAILABLE
    if summary.failed or summary.state == "stopped":
        return EXIT_FAILED
    return 0


class ProgressPrinter:
    """done/total, failures, money and ETA: one redrawn line on a terminal, else one line per
    image; with --json, one JSON object per event on stdout."""

    def __init__(self, out: Path, as_json: bool, stream: TextIO | None = None) -> None:
        self.out, self.as_json = out, as_json
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        from studio.cli.progress import BatchProgress, terminal_console

        console = terminal_console(self.stream, as_json=as_json)
        self.bar = BatchProgress(console) if console is not None else None

    def __call__(self, event: Any) -> None:
        from studio.formatting import format_duration

        eta = format_duration(event.eta_s) if event.eta_s is not None else "…"
        if self.as_json:
            base = {"event": "image" if event.kind == "progress" else event.kind,
                    "done": event.done, "failed": event.failed, "total": event.total,
                    "spent_usd": round(event.spent_usd, 6),
                    "eta_s": round(event.eta_s, 1) if event.eta_s is not None else None}
            if event.kind == "progress":
                for item in event.items:
                    print(json.dumps({**base, "sku": item.sku, "variant": item.variant,
                                      "file": item.file, "seed": item.seed}), flush=True)
            else:
                print(json.dumps({**base, "message": event.message}), flush=True)
            return
        width = 24
        filled = int(width * event.done / max(1, event.total))
        line = (f"[{'#' * filled}{'-' * (width - filled)}] {event.done}/{event.total}"
                f"{f' · {event.failed} failed' if event.failed else ''} · "
                f"{format_usd(event.spent_usd)} spent · ETA {eta}")
        if self.bar is not None:  # a terminal: a live bar (studio.cli.progress)
            if event.kind != "progress":
                self.bar.note(event.message)
            self.bar.show(event)
        elif event.kind != "progress":
            print(event.message, file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)

    def summary(self, summary: Any, out: Path) -> None:
        if self.bar is not None:
            self.bar.stop()
        if self.as_json:
            print(json.dumps({"event": "summary", "job": summary.job_id, "state": summary.state,
                              "total": summary.total, "done": summary.done,
                              "failed": summary.failed, "spent_usd": summary.spent_usd,
                              "out": str(out), "message": summary.message,
                              "billed_attempts": summary.billed_attempts,
                              "lost_attempts": summary.lost_attempts,
                              "failures": [{"sku": s, "variant": v, "reason": r}
                                           for s, v, r in summary.failures],
                              "check_failures": summary.check_failures}), flush=True)
            return
        print(f"Batch job {summary.job_id} {summary.state}: {summary.done}/{summary.total} "
              f"images, {summary.failed} failed, {format_usd(summary.spent_usd)} spent → {out}")
        if summary.lost_attempts:
            print(f"  {summary.lost_attempts} attempts may have been billed without an image "
                  "(a timeout, a reset after sending, or a Batch Transform job's line without "
                  "output); they are counted in the amount spent")
        for sku, variant, reason in summary.failures:
            print(f"  failed {sku} {variant}: {reason}")
        if summary.check_failures:
            print(f"  {len(summary.check_failures)} of {summary.done} images fail the preset's "
                  "marketplace checks (manifest.csv's checks column says why):")
            for file, rules in list(summary.check_failures.items())[:10]:
                print(f"    {file}: {', '.join(rules)}")
            if len(summary.check_failures) > 10:
                print(f"    … and {len(summary.check_failures) - 10} more")
        if summary.message:
            print(f"  {summary.message}")
        if summary.state != "finished":
            print(f"  Continue with: studio batch --resume {summary.job_id}")


def _list_presets(as_json: bool) -> int:
    from studio.batch.presets import marketplace_presets

    for preset in marketplace_presets().values():
        if as_json:
            print(json.dumps({"name": preset.name, "label": preset.label, "width": preset.width,
                              "height": preset.height, "fit": preset.fit,
                              "format": preset.format, "pure_white": preset.pure_white,
                              "product_on_white": preset.product_on_white}))
        else:
            packshots = " · rows with a photo: a packshot on white" \
                if preset.product_on_white else ""
            print(f"{preset.name:<20} {preset.label}{packshots}")
    return 0


def _default_out(catalog: Path) -> Path:
    from studio import paths

    stamp = datetime.now(UTC).astimezone().strftime("%Y%m%d-%H%M%S")
    return paths.studio_home() / "exports" / f"{catalog.stem}-{stamp}"


def _settings_dict(settings: Any) -> dict[str, Any]:
    return dataclasses.asdict(settings)
