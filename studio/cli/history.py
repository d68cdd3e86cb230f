"""`studio history`: list and search what was generated."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from backends.errors import InvalidRequest


def add_history_command(commands: Any) -> None:
    history = commands.add_parser("history", help="list and search generated images")
    history.add_argument("--search", help="words to find in prompts")
    history.add_argument("--limit", type=int, default=20)
    history.add_argument("--json", action="store_true", help="one JSON object per image")
    history.set_defaults(handler=run_history)


def run_history(args: argparse.Namespace) -> int:
    from studio.cli.output import print_record
    from studio.library import Library
    from studio.settings.values import load_settings

    if args.limit < 1:
        raise InvalidRequest("--limit must be at least 1.")
    library = Library.open(load_settings().library_path())
    records = library.search(args.search or None, limit=args.limit)
    if not records and not args.json:
        print("No images found." if args.search else "History is empty.", file=sys.stderr)
    for record in records:
        print_record(record, args.json)
    return 0
