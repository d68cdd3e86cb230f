"""A large catalog on SageMaker: real-time vs asynchronous (scale to zero) vs Batch Transform.

    python benchmarks/scale_out.py                                   # 100,000 images, g5.xlarge
    python benchmarks/scale_out.py --latency 2.4 --instances 8 --instance-type ml.inf2.xlarge
    python benchmarks/scale_out.py --usd-per-hour 1.50 --json

Simulates the run (studio/batch/scale_out.py) for a per-image latency you measured, an
instance type's price from Studio's price book (its source and date are printed) or your own,
an instance count and the scale-up delays, and prints wall time and cost side by side so you
can choose a mode for `studio batch --mode`. Nothing is called: no AWS account is needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import report as out  # noqa: E402
from studio.batch.scale_out import Outcome, Workload, compare  # noqa: E402
from studio.costs.pricing import sagemaker_price  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/scale_out.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=3.0,
                        help="seconds per image on one instance (default 3.0)")
    parser.add_argument("--instance-type", default="ml.g5.xlarge")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--usd-per-hour", type=float,
                        help="your price per instance-hour (default: the price book's)")
    parser.add_argument("--instances", type=int, default=4,
                        help="real-time and transform: instances; async: the most it scales to")
    parser.add_argument("--scale-up-delay", type=float, default=480.0,
                        help="seconds from a scale-out decision to a serving instance")
    parser.add_argument("--alarm-delay", type=float, default=180.0,
                        help="seconds the backlog alarm takes to fire")
    parser.add_argument("--scale-in-after", type=float, default=900.0,
                        help="seconds async instances stay after the backlog empties")
    parser.add_argument("--transform-startup", type=float, default=420.0,
                        help="seconds a transform job takes before its first record")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return parser.parse_args(argv)


def price(args: argparse.Namespace) -> tuple[float, str]:
    if args.usd_per_hour is not None:
        return args.usd_per_hour, "your --usd-per-hour"
    entry = sagemaker_price(args.instance_type, args.region)
    if entry is None:
        raise SystemExit(f"The price book has no {args.instance_type} in {args.region}; "
                         "give --usd-per-hour.")
    return entry.value, f"{entry.source} (as of {entry.as_of})"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return out.DASH
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def rows(outcomes: list[Outcome], images: int) -> list[list[str]]:
    table = []
    for item in outcomes:
        served = item.wall_s is not None
        table.append([
            item.mode, duration(item.wall_s),
            f"{item.instance_hours:,.1f}" if served else out.DASH,
            f"${item.usd:,.2f}" if served else out.DASH,
            f"${item.usd / images * 1000:,.3f}" if served else out.DASH,
            duration(item.first_image_s) if item.first_image_s is not None else "at the end",
            item.note])
    return table


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    usd_per_hour, source = price(args)
    try:
        work = Workload(images=args.images, latency_s=args.latency, usd_per_hour=usd_per_hour,
                        instances=args.instances, scale_up_delay_s=args.scale_up_delay,
                        alarm_delay_s=args.alarm_delay, scale_in_after_s=args.scale_in_after,
                        transform_startup_s=args.transform_startup)
    except ValueError as exc:
        raise SystemExit(f"benchmarks/scale_out.py: {exc}") from None
    outcomes = compare(work)
    result = {"workload": asdict(work), "instance_type": args.instance_type,
              "region": args.region, "price_source": source,
              "outcomes": [asdict(item) for item in outcomes]}
    if args.json:
        print(json.dumps(result, indent=2))
        return result
    print(f"{args.images:,} images × {args.latency:g} s on {args.instance_type} "
          f"({args.region}) at ${usd_per_hour:g} per instance-hour, up to {args.instances} "
          "instances")
    print(f"price: {source}")
    print(out.render("SageMaker modes, simulated (S3 requests, storage and transfer left out)",
                     ["mode", "wall time", "instance-h", "cost", "per 1000", "first image",
                      "note"], rows(outcomes, args.images), plain=not sys.stdout.isatty()))
    return result


if __name__ == "__main__":
    main()
