"""`studio bedrock models|tasks`: what Bedrock offers today, with lifecycle and prices."""

from __future__ import annotations

import argparse
from typing import Any

from studio.cli.options import with_cloud_overrides


def add_bedrock_commands(commands: Any) -> None:
    bedrock = commands.add_parser("bedrock", help="Bedrock's image models (with their "
                                  "lifecycle) and tasks (with their prices)")
    actions = bedrock.add_subparsers(dest="bedrock_command", metavar="ACTION", required=True)
    models = actions.add_parser("models", help="each image model: Active, Legacy or retired")
    models.add_argument("--refresh", action="store_true", help="read the lifecycle from "
                        "Bedrock now (needs bedrock:ListFoundationModels; free)")
    tasks = actions.add_parser("tasks", help="the tasks `studio generate --task` runs")
    for parser in (models, tasks):
        parser.add_argument("--region")
        parser.add_argument("--profile")
        parser.add_argument("--endpoint-url")
        parser.set_defaults(handler=run_bedrock, backend="bedrock", bedrock_model=None,
                            endpoint=None)


def run_bedrock(args: argparse.Namespace) -> int:
    from studio.backend_kinds import (
        bedrock_lifecycle_rows,
        bedrock_task_rows,
        refresh_bedrock_lifecycle,
    )
    from studio.settings.values import load_settings

    settings = with_cloud_overrides(load_settings().replace(backend="bedrock"), args)
    if args.bedrock_command == "tasks":
        _print_table(("TASK", "PER IMAGE", "WHAT IT DOES"),
                     [(name, price, what) for name, what, price in bedrock_task_rows(settings)])
        return 0
    if args.refresh:
        print(refresh_bedrock_lifecycle(settings))
    _print_table(("MODEL", "NAME", "LIFECYCLE", "SOURCE"), bedrock_lifecycle_rows())
    return 0


def _print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, str(row[-1])]))
