"""`studio stats`, `studio compare` and `studio pricing …`, plus the cost checks `studio
generate` makes before it runs (--dry-run, --budget and the daily budget in Settings)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from backends.errors import BackendUnavailable
from backends.types import Cost, GenerationRequest
from studio.backend_kinds import hourly_usd
from studio.formatting import format_usd

EXIT_OVER_BUDGET = 5


def add_cost_commands(subparsers: Any) -> None:
    stats = subparsers.add_parser("stats", help="latency percentiles and cost per image over "
                                                "history")
    stats.add_argument("--by", choices=["backend", "model"], help="one row per backend or model")
    stats.add_argument("--days", type=int, default=7, help="per-day totals for the last N "
                                                           "days that had runs (default 7)")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(handler=run_stats)

    compare = subparsers.add_parser(
        "compare", help="run one request on several backends and compare latency and cost")
    compare.add_argument("--prompt", required=True)
    compare.add_argument("--backends", required=True,
                         help="comma-separated: local, sagemaker:ENDPOINT, bedrock:MODEL_ID")
    compare.add_argument("--seed", type=int, help="default: a random seed, used on every run")
    compare.add_argument("--runs", type=int, default=1, help="runs per backend (default 1)")
    compare.add_argument("--model", help="the local backend's model (default: Settings)")
    compare.add_argument("--steps", type=int)
    compare.add_argument("--guidance", type=float)
    compare.add_argument("--width", type=int)
    compare.add_argument("--height", type=int)
    compare.add_argument("--device", choices=["cuda", "mps", "cpu"])
    compare.add_argument("--region", help="AWS region for the cloud backends")
    compare.add_argument("--profile", help="AWS profile for the cloud backends")
    compare.add_argument("--endpoint-url", help="the SageMaker endpoint's URL (a VPC endpoint "
                                                "or `studio endpoint serve`)")
    compare.add_argument("--budget", type=float, help="refuse to start if the estimates of "
                                                      "all runs pass this many dollars")
    compare.add_argument("--out", type=Path, help="contact sheet PNG path (default: "
                                                  "STUDIO_HOME/compare/compare-TIME.png)")
    compare.add_argument("--json", action="store_true")
    compare.set_defaults(handler=run_compare)

    pricing = subparsers.add_parser("pricing", help="show or refresh the price book")
    commands = pricing.add_subparsers(dest="pricing_command", metavar="COMMAND", required=True)
    refresh = commands.add_parser(
        "refresh", help="update SageMaker hosting prices from the AWS Price List API")
    refresh.add_argument("--region", help="only this region (default: every region in the "
                                          "price book)")
    refresh.add_argument("--profile", help="AWS profile (needs pricing:GetProducts)")
    refresh.add_argument("--json", action="store_true")
    refresh.set_defaults(handler=run_pricing_refresh)
    show = commands.add_parser("show", help="print the prices in use, with source and date")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=run_pricing_show)


# --- generate: estimate, budget, dry run ----------------------------------------------------

def before_generate(args: argparse.Namespace, settings: Any, backend: Any,
                    request: GenerationRequest, estimate: Cost) -> int | None:
    """Print the estimate for --dry-run (and stop), or refuse work over a budget.

    Returns an exit code to stop with, or None to go on generating.
    """
    from studio.costs.budget import Budget, BudgetExceeded

    dry_run = getattr(args, "dry_run", False)
    budget = getattr(args, "budget", None)
    burn = _burn_line(backend)
    if dry_run:
        data = {"dry_run": True, "backend": backend.name, "images": request.count,
                "estimate_usd": estimate.usd, "estimate_per_image_usd":
                estimate.usd / request.count, "estimate_basis": estimate.basis,
                "burn_usd_per_hour": hourly_usd(backend),
                "within_budget": None if budget is None else estimate.usd <= budget + 1e-12}
        if args.json:
            print(json.dumps(data))
        else:
            print(f"Estimate: {format_usd(estimate.usd)} for {request.count} image(s) on "
                  f"{backend.name} — {estimate.basis}")
            if burn:
                print(burn)
            print("Nothing was generated (--dry-run).")
        return 0
    try:
        if budget is not None:
            Budget(budget).check(0.0, estimate.usd, "this generation")
        daily = settings.costs.budget_usd_per_day
        if daily is not None:
            from studio.costs.spending import today_totals
            from studio.library import Library

            spent = today_totals(Library.open(settings.library_path())).usd
            Budget(daily).check(spent, estimate.usd, "this generation (daily budget)")
    except (BudgetExceeded, ValueError) as exc:
        print(f"studio: error: {exc}", file=sys.stderr)
        return EXIT_OVER_BUDGET if isinstance(exc, BudgetExceeded) else 2
    if burn and not args.json:
        print(burn, file=sys.stderr)
    return None


def _burn_line(backend: Any) -> str:
    fleet = hourly_usd(backend)
    if fleet is None:
        return ""
    return (f"The endpoint bills ${fleet:.3f}/h (${fleet * 24:.2f}/day) while it is up, "
            "used or not; delete it when done (studio endpoint delete).")


# --- stats ------------------------------------------------------------------------------------

def run_stats(args: argparse.Namespace) -> int:
    from studio.costs.spending import today_totals
    from studio.costs.stats import daily_totals, format_table, group_runs
    from studio.formatting import format_per_dollar
    from studio.library import Library
    from studio.settings.values import load_settings

    library = Library.open(load_settings().library_path())
    runs = library.run_rows()
    groups = group_runs(runs, args.by)
    days = daily_totals(runs)[-max(0, args.days):] if args.days > 0 else []
    today = today_totals(library)
    if args.json:
        print(json.dumps({"by": args.by, "groups": [g.to_dict() for g in groups],
                          "days": [dataclasses.asdict(d) for d in days],
                          "today": dataclasses.asdict(today)}))
        return 0
    if not groups:
        print("History is empty: generate something first.", file=sys.stderr)
        return 0
    headers = [args.by or "history", "runs", "images", "p50", "p95", "load", "queue",
               "network", "inference", "decode", "spent", "$/image", "images/$"]
    rows = [[g.key, str(g.runs), str(g.images), f"{g.p50_s:.2f}s", f"{g.p95_s:.2f}s",
             *(f"{g.mean_parts[p]:.2f}s" for p in ("load_s", "queue_s", "network_s",
                                                   "inference_s", "decode_s")),
             format_usd(g.usd), format_usd(g.usd_per_image), format_per_dollar(g.images_per_usd)]
            for g in groups]
    print(format_table(headers, rows))
    print("\nLatency is per run (p50/p95); load…decode are averages per run; cost per image.")
    if days:
        print("\n" + format_table(["day", "images", "spent"],
                                  [[d.day, str(d.images), format_usd(d.usd)] for d in days]))
    print(f"\nToday: {today.images} images, {format_usd(today.usd)}")
    return 0


# --- compare ----------------------------------------------------------------------------------

def run_compare(args: argparse.Namespace) -> int:
    from studio.backend_kinds import create_backend, request_model
    from studio.cli.running import open_loop
    from studio.compare.runs import burn_notes, comparison_rows, parse_backends, run_comparison
    from studio.costs.budget import Budget, BudgetExceeded
    from studio.costs.stats import format_table
    from studio.settings.values import load_settings

    choices = parse_backends(args.backends)
    settings = _compare_settings(load_settings(), args)
    request = GenerationRequest(
        prompt=args.prompt, model=request_model(settings), seed=args.seed,
        steps=args.steps if args.steps is not None else settings.default_steps,
        guidance=args.guidance if args.guidance is not None else settings.default_guidance,
        width=args.width or settings.default_width, height=args.height or settings.default_height,
    ).with_resolved_seed()
    if args.budget is not None:
        total = sum(create_backend(choice.settings(settings)).estimate_cost(
            request.replace(model=request_model(choice.settings(settings)))).usd
            for choice in choices) * args.runs
        try:
            Budget(args.budget).check(0.0, total, "this comparison")
        except BudgetExceeded as exc:
            print(f"studio: error: {exc}", file=sys.stderr)
            return EXIT_OVER_BUDGET
    loop = open_loop(settings)

    def progress(choice: Any, index: int) -> None:
        if not args.json:
            print(f"{choice.label}: run {index + 1} of {args.runs} …", file=sys.stderr,
                  flush=True)

    results = run_comparison(request, choices, settings, loop, runs=args.runs,
                             on_run=progress)
    sheet_path = args.out or _default_sheet_path()
    _write_sheet(results, sheet_path)
    if args.json:
        print(json.dumps({"prompt": request.prompt, "seed": request.seed, "runs": args.runs,
                          "backends": [r.to_dict() for r in results],
                          "contact_sheet": str(sheet_path)}))
        return 0
    headers, rows = comparison_rows(results)
    print(format_table(headers, rows))
    for note in burn_notes(results):
        print(note)
    print(f"Contact sheet: {sheet_path}")
    return 0


def _compare_settings(settings: Any, args: argparse.Namespace) -> Any:
    local = {k: v for k, v in {"model": args.model, "device": args.device}.items()
             if v is not None}
    if local:
        settings = settings.replace(local=dataclasses.replace(settings.local, **local))
    cloud = {k: v for k, v in {"region": args.region, "profile": args.profile}.items()
             if v is not None}
    sagemaker = dict(cloud)
    if args.endpoint_url is not None:
        sagemaker["endpoint_url"] = args.endpoint_url
    if sagemaker:
        settings = settings.replace(
            sagemaker=dataclasses.replace(settings.sagemaker, **sagemaker))
    if cloud:
        settings = settings.replace(bedrock=dataclasses.replace(settings.bedrock, **cloud))
    return settings


def _default_sheet_path() -> Path:
    from studio.paths import studio_home

    return studio_home() / "compare" / f"compare-{datetime.now():%Y%m%d-%H%M%S}.png"


def _write_sheet(results: Any, path: Path) -> None:
    from studio.compare.contact_sheet import contact_sheet, save_contact_sheet

    columns = []
    for outcome in results:
        images = [(record.path, f"{record.latency_s:.2f}s · {format_usd(record.cost.usd)}\n"
                                f"{record.model}"[:80])
                  for record in outcome.first_images]
        columns.append((outcome.choice.label, images))
    save_contact_sheet(contact_sheet(columns), path)


# --- pricing ----------------------------------------------------------------------------------

def run_pricing_refresh(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from studio.costs.price_refresh import book_regions, pricing_client, refresh
    from studio.costs.pricing import overrides_dir

    regions = [args.region] if args.region else book_regions()
    client = pricing_client(args.profile or "")
    try:
        changes = refresh(client, regions)
    except (ClientError, BotoCoreError) as exc:
        raise BackendUnavailable(
            f"The AWS Price List API did not answer: {exc}. It needs credentials allowed "
            "pricing:GetProducts (try --profile, or `aws sso login`).") from exc
    path = overrides_dir() / "sagemaker.json"
    if args.json:
        print(json.dumps({"regions": regions, "file": str(path),
                          "changes": [dataclasses.asdict(c) for c in changes]}))
        return 0
    known = [c for c in changes if c.before is not None]
    new = [c for c in changes if c.before is None]
    for change in known:
        print(change.describe())
    if new:
        print(f"{len(new)} new price(s) for instance types or regions not in the book.")
    if not changes:
        print(f"No SageMaker price changed in {', '.join(regions)}.")
    print(f"Saved to {path} (the shipped price book is unchanged).", file=sys.stderr)
    return 0


def run_pricing_show(args: argparse.Namespace) -> int:
    from studio.costs.pricing import price_file

    books = {name: price_file(name) for name in ("electricity", "sagemaker", "bedrock")}
    if args.json:
        print(json.dumps(books))
        return 0
    power = books["electricity"]["electricity"]
    print(f"Electricity: ${power['usd_per_kwh']}/kWh — {power['source']} (as of "
          f"{power['as_of']})")
    for instance, regions in sorted(books["sagemaker"].get("instances", {}).items()):
        for region, entry in sorted(regions.items()):
            print(f"SageMaker {instance} {region}: ${entry['usd_per_hour']}/h — "
                  f"{entry.get('source', '')} (as of {entry.get('as_of', '?')})")
    for model, entry in sorted(books["bedrock"].get("bedrock", {}).items()):
        tiers = ", ".join(f"${t['usd_per_image']}" + (f" {t.get('quality')}" if t.get("quality")
                                                        else "") + (f" {t['size']}" if
                                                                    t.get("size") else "")
                          for t in entry["per_image"])
        print(f"Bedrock {model}: {tiers} per image (as of {entry.get('as_of', '?')})")
    return 0

